"""LiteLLM StandardLoggingPayload, one JSON object per line (the payload itself, or a log line that
holds it under ``standard_logging_object``).

id -> request_id, trace_id -> logical_request_id (LiteLLM: "trace multiple LLM calls belonging to
the same overall request"; attempt = order of start within it), startTime (epoch s) -> arrival,
endTime - startTime -> latency, completionStartTime - startTime -> ttft, prompt_tokens /
completion_tokens, response_cost, model, custom_llm_provider, api_base, status
("success"/"failure"), error_information.error_code -> http_status and error_class -> error_type,
metadata.usage_object.prompt_tokens_details.cached_tokens -> cached input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from llmsim.core.errors import TraceError
from llmsim.traces.adapters.common import Adapter, fill_failed_tokens, get_path, outcome_from_status, sorted_frame
from llmsim.traces.build import Context
from llmsim.traces.readers import Head, iter_jsonl

__all__ = ["LITELLM"]

_KEYS = {"id", "trace_id", "call_type", "startTime", "prompt_tokens", "completion_tokens"}


def _http_status(err: dict) -> Any:
    """The error's code when it is an HTTP status (digits), else None."""
    code = err.get("error_code")
    return code if code not in (None, "") and str(code).isdigit() else None


def _flatten(rec: dict) -> dict:
    """One LiteLLM log record (or its ``standard_logging_object``) as trace fields."""
    p = rec.get("standard_logging_object", rec)
    err = p.get("error_information") or {}
    status = _http_status(err)
    failed = None if p.get("status") is None else p.get("status") != "success"
    return {
        "request_id": p.get("id"),
        "logical_request_id": p.get("trace_id"),
        "start": p.get("startTime"), "end": p.get("endTime"), "first": p.get("completionStartTime"),
        "input_tokens": p.get("prompt_tokens"), "output_tokens": p.get("completion_tokens"),
        "cached_input_tokens": get_path(p, "metadata", "usage_object", "prompt_tokens_details", "cached_tokens"),
        "cost_usd": p.get("response_cost"),
        "model": p.get("model"),
        "provider": p.get("custom_llm_provider") or get_path(p, "model_map_information", "model_map_value",
                                                               "litellm_provider"),
        "deployment": p.get("api_base") or p.get("model_id"),
        "session_id": get_path(p, "metadata", "user_api_key_end_user_id") or p.get("end_user") or None,
        "http_status": status,
        "error_type": err.get("error_class") or None,
        "outcome": outcome_from_status(status, err.get("error_class"), failed),
        "stream": p.get("stream"),
    }


def _read(head: Head, ctx: Context, options: dict) -> Iterator[pd.DataFrame]:
    df = pd.concat(list(iter_jsonl(head.path, _flatten)), ignore_index=True)
    df = fill_failed_tokens(df, ctx, logical="logical_request_id")
    start = pd.to_numeric(df["start"], errors="coerce")
    bad = np.flatnonzero(start.isna().to_numpy())
    if len(bad):
        raise ctx.error(f"missing or bad startTime ({df['start'].iloc[bad[0]]!r})", int(bad[0]), "startTime")
    t = start.to_numpy(dtype=float)
    ctx.origin = pd.Timestamp(float(t.min()), unit="s", tz="UTC")
    end = pd.to_numeric(df["end"], errors="coerce").to_numpy(dtype=float)
    first = pd.to_numeric(df["first"], errors="coerce").to_numpy(dtype=float)
    if df["logical_request_id"].notna().any():
        order = pd.Series(t).groupby(df["logical_request_id"]).rank(method="first") - 1
        df["attempt"] = order.where(df["logical_request_id"].notna())
    names = {"input_tokens": "prompt_tokens", "output_tokens": "completion_tokens", "cost_usd": "response_cost",
             "request_id": "id", "logical_request_id": "trace_id", "http_status": "error_information.error_code"}
    cols = {k: (df[k], names.get(k, k)) for k in df.columns if k not in ("start", "end", "first")}
    cols["arrival_s"] = (t - t.min(), "startTime")
    cols["latency_s"] = (pd.Series(end - t), "endTime")
    cols["ttft_s"] = (pd.Series(first - t), "completionStartTime")
    cols["stream"] = (df["stream"].astype("boolean"), "stream")
    if not len(df):
        raise TraceError(ctx.file, "no records")
    yield sorted_frame(cols, ctx, len(df))


def _detect(h: Head) -> bool:
    first = h.first if isinstance(h.first, dict) else {}
    return "standard_logging_object" in first or len(_KEYS & set(first)) >= 4


LITELLM = Adapter("litellm", ("jsonl",), "LiteLLM StandardLoggingPayload JSONL", _detect, _read, sorted_input=False)
