"""Mooncake traces (kvcache-ai/Mooncake): JSONL with timestamp (ms), input_length, output_length, hash_ids.
Many requests share a millisecond: ties are kept in file order."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from llmsim.traces.adapters.common import Adapter, require_columns
from llmsim.traces.adapters.generic import raw_chunks
from llmsim.traces.build import Chunk, Context
from llmsim.traces.readers import CHUNK_ROWS, Head

__all__ = ["MOONCAKE"]

_MC = ["timestamp", "input_length", "output_length"]


def _mooncake_read(head: Head, ctx: Context, options: dict) -> Iterator[pd.DataFrame]:
    require_columns(head, ctx, _MC, "mooncake")
    for raw in raw_chunks(head, _MC, options.get("chunksize", CHUNK_ROWS)):
        ch = Chunk(ctx, len(raw))
        ms = ch.numbers(raw["timestamp"], "timestamp", integer=False, required=True)
        yield ch.frame({"arrival_s": (ms / 1000.0, "timestamp"),
                        "input_tokens": (raw["input_length"], "input_length"),
                        "output_tokens": (raw["output_length"], "output_length")})


MOONCAKE = Adapter("mooncake", ("jsonl", "csv", "parquet"), "Mooncake (timestamp ms, input_length, output_length)",
                   lambda h: set(_MC) <= set(h.columns), _mooncake_read)
