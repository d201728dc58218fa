"""BurstGPT (HPMLL/BurstGPT): v1 columns Timestamp, Model, Request tokens, Response tokens, Total tokens,
Log Type; v3 adds Session ID and Elapsed time (s, submit to final response). Response tokens == 0
marks a failed request (cause unknown): kept, with outcome 'error'."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from llmsim.traces.adapters.common import Adapter, require_columns
from llmsim.traces.adapters.generic import raw_chunks
from llmsim.traces.build import Chunk, Context
from llmsim.traces.readers import CHUNK_ROWS, Head

__all__ = ["BURSTGPT"]

_BG = ["Timestamp", "Model", "Request tokens", "Response tokens"]
_BG_OPT = ["Session ID", "Elapsed time", "Log Type"]


def _burst_read(head: Head, ctx: Context, options: dict) -> Iterator[pd.DataFrame]:
    require_columns(head, ctx, _BG, "burstgpt")
    use = _BG + [c for c in _BG_OPT if c in head.columns]
    for raw in raw_chunks(head, use, options.get("chunksize", CHUNK_ROWS)):
        ch = Chunk(ctx, len(raw))
        out_tok = ch.numbers(raw["Response tokens"], "Response tokens", integer=True, required=True)
        # BurstGPT marks failed requests with Response tokens == 0: failures of unknown cause, kept
        outcome = pd.Series(np.where(out_tok.to_numpy() > 0, "ok", "error"))
        cols = {"arrival_s": (raw["Timestamp"], "Timestamp"),
                "input_tokens": (raw["Request tokens"], "Request tokens"),
                "output_tokens": (out_tok, "Response tokens"),
                "model": (raw["Model"], "Model"),
                "outcome": (outcome, "Response tokens")}
        if "Session ID" in raw:
            cols["session_id"] = (raw["Session ID"], "Session ID")
        if "Elapsed time" in raw:
            cols["latency_s"] = (raw["Elapsed time"], "Elapsed time")
        yield ch.frame(cols)


BURSTGPT = Adapter("burstgpt", ("csv", "parquet"), "BurstGPT v1/v3 (Timestamp s, Request/Response tokens; "
                   "Response tokens 0 = failed, kept as outcome 'error')",
                   lambda h: set(_BG) <= set(h.columns), _burst_read)


