"""Langfuse observations export: a JSON array, an API page ``{"data": [...]}``, or JSON Lines.

Only observations of type GENERATION are attempts (others are skipped and counted). id ->
request_id, startTime (ISO 8601) -> arrival, endTime -> latency, completionStartTime -> ttft,
usageDetails.input / output (or usage.input / output, or promptTokens / completionTokens),
usageDetails.cache_read_input_tokens -> cached input, calculatedTotalCost (or costDetails.total) ->
cost, model, level ERROR -> failed (cause read from statusMessage), statusMessage -> error_type,
traceId -> session_id (a Langfuse trace groups the calls of one user action; generations in it are
not retries of each other, so logical_request_id stays null).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from llmsim.core.errors import TraceError
from llmsim.traces.adapters.common import Adapter, fill_failed_tokens, get_path, outcome_from_status
from llmsim.traces.build import Chunk, Context, parse_times, to_ns
from llmsim.traces.readers import Head, iter_jsonl, read_json_doc

__all__ = ["LANGFUSE"]


def _first(*values):
    for v in values:
        if v is not None:
            return v
    return None


def _flatten(o: dict) -> dict:
    level = o.get("level")
    msg = o.get("statusMessage")
    failed = None if level is None else level == "ERROR"
    return {
        "type": o.get("type"),
        "request_id": o.get("id"),
        "session_id": o.get("traceId"),
        "start": o.get("startTime"), "end": o.get("endTime"), "first": o.get("completionStartTime"),
        "input_tokens": _first(get_path(o, "usageDetails", "input"), get_path(o, "usage", "input"),
                               o.get("promptTokens")),
        "output_tokens": _first(get_path(o, "usageDetails", "output"), get_path(o, "usage", "output"),
                                o.get("completionTokens")),
        "cached_input_tokens": get_path(o, "usageDetails", "cache_read_input_tokens"),
        "cost_usd": _first(o.get("calculatedTotalCost"), get_path(o, "costDetails", "total")),
        "model": o.get("model"),
        "error_type": msg if failed else None,
        "outcome": outcome_from_status(None, msg if failed else None, failed),
    }


def _records(head: Head) -> list[dict]:
    if head.container == "jsonl":
        return pd.concat(list(iter_jsonl(head.path, _flatten)), ignore_index=True).to_dict("records")
    doc = read_json_doc(head.path)
    if isinstance(doc, dict):
        doc = doc.get("data", doc.get("observations"))
    if not isinstance(doc, list):
        raise TraceError(head.path, "expected a JSON array of observations (or {\"data\": [...]})")
    return [_flatten(o) for o in doc if isinstance(o, dict)]


def _read(head: Head, ctx: Context, options: dict) -> Iterator[pd.DataFrame]:
    all_rows = pd.DataFrame.from_records(_records(head))
    if not len(all_rows):
        raise TraceError(ctx.file, "no observations")
    gen = (all_rows["type"] == "GENERATION").to_numpy()
    ctx.skipped = int((~gen).sum())
    pos = np.flatnonzero(gen)
    df = all_rows[gen].reset_index(drop=True)
    if not len(df):
        raise TraceError(ctx.file, "no GENERATION observations")
    df = fill_failed_tokens(df, ctx)
    t = parse_times(df["start"], "startTime", ctx, pos)
    base = ctx.origin.value

    def rel(col):
        s = df[col]
        ok = s.notna().to_numpy()
        out = np.full(len(s), np.nan)
        if ok.any():
            out[ok] = (to_ns(pd.to_datetime(s[ok], format="ISO8601", utc=True)) - base) / 1e9
        return out

    names = {"input_tokens": "usageDetails.input", "output_tokens": "usageDetails.output",
             "cost_usd": "calculatedTotalCost", "request_id": "id", "session_id": "traceId", "outcome": "level"}
    cols = {k: (df[k], names.get(k, k)) for k in df.columns if k not in ("start", "end", "first", "type")}
    cols["arrival_s"] = (t, "startTime")
    cols["latency_s"] = (pd.Series(rel("end") - t), "endTime")
    cols["ttft_s"] = (pd.Series(rel("first") - t), "completionStartTime")
    frame = Chunk(ctx, len(df), positions=pos, source_rows=len(all_rows)).frame(cols)
    order = np.argsort(frame["arrival_s"].to_numpy(), kind="stable")
    yield frame.iloc[order].reset_index(drop=True)


def _detect(h: Head) -> bool:
    keys = set(h.columns)
    if {"traceId", "startTime", "type"} <= keys:
        return True
    txt = h.text[:4000]
    return '"traceId"' in txt and '"startTime"' in txt and ('"usageDetails"' in txt or '"GENERATION"' in txt)


LANGFUSE = Adapter("langfuse", ("json", "jsonl"), "Langfuse observations export (GENERATION observations)",
                   _detect, _read, sorted_input=False)
