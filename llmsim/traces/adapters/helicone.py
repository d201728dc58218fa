"""Helicone request export as CSV (``npx @helicone/export --format csv``), columns named after
Helicone's request record: request_id, request_created_at, response_status, request_model / model,
provider, delay_ms (latency, ms), time_to_first_token (ms), prompt_tokens, completion_tokens,
prompt_cache_read_tokens, costUSD (or cost), request_user_id, and properties / request_properties
(JSON text; its Helicone-Session-Id is the session). response_status 2xx = ok, 429 = rate_limited,
503/529 = overloaded, other 5xx = server_error, other codes (and 0 / -1 = no response) = error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd

from llmsim.traces.adapters.common import Adapter, fill_failed_tokens, outcome_from_status, require_columns
from llmsim.traces.adapters.generic import raw_chunks
from llmsim.traces.build import Chunk, Context, parse_times
from llmsim.traces.readers import CHUNK_ROWS, Head

__all__ = ["HELICONE"]

_NEED = ["request_id", "request_created_at", "response_status", "prompt_tokens", "completion_tokens"]
_OPT = ["request_model", "model", "provider", "delay_ms", "time_to_first_token", "prompt_cache_read_tokens",
        "costUSD", "cost", "request_user_id", "properties", "request_properties", "target_url"]


def _session(text) -> str | None:
    if not isinstance(text, str) or not text.strip().startswith("{"):
        return None
    try:
        props = json.loads(text)
    except json.JSONDecodeError:
        return None
    return props.get("Helicone-Session-Id") if isinstance(props, dict) else None


def _either(raw: pd.DataFrame, name: str, alt: str) -> pd.Series | None:
    """Column ``name``, else column ``alt``, else None."""
    return raw[name] if name in raw else raw.get(alt)


def _outcomes(status: pd.Series) -> list[str]:
    """Outcome per response status (0, -1 or missing: no response)."""
    answered = [bool(s == s and s > 0) for s in status.to_numpy()]
    return [outcome_from_status(s if a else None, None, None if a else True)
            for s, a in zip(status.to_numpy(), answered, strict=True)]


def _read(head: Head, ctx: Context, options: dict) -> Iterator[pd.DataFrame]:
    require_columns(head, ctx, _NEED, "helicone")
    use = _NEED + [c for c in _OPT if c in head.columns]
    # exports list newest first: read the whole file, then sort by time
    raw = pd.concat(list(raw_chunks(head, use, options.get("chunksize", CHUNK_ROWS))), ignore_index=True)
    ch = Chunk(ctx, len(raw))
    status = ch.numbers(raw["response_status"], "response_status", integer=True, required=False)
    raw["outcome"] = _outcomes(status)
    raw = fill_failed_tokens(raw, ctx, inp="prompt_tokens", out="completion_tokens")
    ms = {c: ch.numbers(raw[c], c, integer=False, required=False) / 1000.0
          for c in ("delay_ms", "time_to_first_token") if c in raw}
    props = _either(raw, "properties", "request_properties")
    cols = {"request_id": (raw["request_id"], "request_id"),
            "arrival_s": (parse_times(raw["request_created_at"], "request_created_at", ctx), "request_created_at"),
            "input_tokens": (raw["prompt_tokens"], "prompt_tokens"),
            "output_tokens": (raw["completion_tokens"], "completion_tokens"),
            "http_status": (status.where(status > 0), "response_status"),
            "outcome": (raw["outcome"], "response_status"),
            "model": (_either(raw, "request_model", "model"), "request_model"),
            "provider": (raw.get("provider"), "provider"),
            "deployment": (raw.get("target_url"), "target_url"),
            "latency_s": (ms.get("delay_ms"), "delay_ms"),
            "ttft_s": (ms.get("time_to_first_token"), "time_to_first_token"),
            "cached_input_tokens": (raw.get("prompt_cache_read_tokens"), "prompt_cache_read_tokens"),
            "cost_usd": (_either(raw, "costUSD", "cost"), "costUSD"),
            "session_id": (None if props is None else props.map(_session), "properties")}
    frame = ch.frame(cols)
    order = np.argsort(frame["arrival_s"].to_numpy(), kind="stable")
    yield frame.iloc[order].reset_index(drop=True)


HELICONE = Adapter("helicone", ("csv",), "Helicone request export (CSV)",
                   lambda h: {"request_created_at", "prompt_tokens", "completion_tokens"} <= set(h.columns), _read,
                   sorted_input=False)
