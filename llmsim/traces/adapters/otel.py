"""OpenTelemetry GenAI spans from an OTLP JSON export (one document, or one export per line as the
collector's file exporter writes).

Spans with ``gen_ai.*`` attributes become attempts: spanId -> request_id, startTimeUnixNano ->
arrival, end - start -> latency, gen_ai.usage.input_tokens / output_tokens (or the older
prompt_tokens / completion_tokens), gen_ai.usage.cache_read.input_tokens, gen_ai.request.model /
gen_ai.response.model, gen_ai.provider.name (or gen_ai.system), server.address -> deployment,
gen_ai.conversation.id -> session, error.type, http.response.status_code, and
http.request.resend_count -> attempt (the conventions set it only on resends, so a file that records
it anywhere gets attempt 0 where it is absent). Attempts of one logical request share a parent
span: logical_request_id = traceId/parentSpanId. Other spans are skipped and counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from llmsim.core.errors import TraceError
from llmsim.traces.adapters.common import Adapter, fill_failed_tokens, outcome_from_status, sorted_frame
from llmsim.traces.build import Context
from llmsim.traces.readers import Head, open_text, read_json_doc, stream_errors

__all__ = ["OTEL", "otlp_attributes"]


def _value(v: dict) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in v:
            return v[key]
    if "intValue" in v:
        return int(v["intValue"])
    if "arrayValue" in v:
        return [_value(x) for x in v["arrayValue"].get("values", [])]
    return None


def otlp_attributes(attrs: list | None) -> dict:
    """OTLP JSON ``[{key, value: {stringValue|intValue|...}}]`` as a plain dict.

    >>> otlp_attributes([{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}}])
    {'gen_ai.usage.input_tokens': 12}
    """
    return {a["key"]: _value(a.get("value", {})) for a in (attrs or []) if "key" in a}


def _documents(head: Head) -> Iterator[dict]:
    if head.container == "json":
        doc = read_json_doc(head.path)
        yield from (doc if isinstance(doc, list) else [doc])
    else:
        with stream_errors(head.path), open_text(head.path) as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise TraceError(head.path, f"not valid JSON ({exc.msg})", line=lineno, row=lineno) from None


def _spans(head: Head, ctx: Context) -> tuple[list[dict], int]:
    """The spans with gen_ai.* attributes (``span`` and merged attributes ``a``), and how many others there were."""
    rows, skipped = [], 0
    for doc in _documents(head):
        if not isinstance(doc, dict) or "resourceSpans" not in doc:
            raise TraceError(ctx.file, "not an OTLP JSON trace export (no 'resourceSpans')")
        for rs in doc["resourceSpans"] or []:
            for sp, a in _resource_spans(rs):
                if any(k.startswith("gen_ai.") for k in a):
                    rows.append({"span": sp, "a": a})
                else:
                    skipped += 1
    return rows, skipped


def _resource_spans(rs: dict) -> Iterator[tuple[dict, dict]]:
    """Each span of a resource, with the resource's attributes overridden by the span's."""
    res = otlp_attributes((rs.get("resource") or {}).get("attributes"))
    for ss in rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans") or []:
        for sp in ss.get("spans") or []:
            yield sp, {**res, **otlp_attributes(sp.get("attributes"))}


def _record(sp: dict, a: dict, has_resend: bool) -> dict:
    """A span's trace fields (times still in nanoseconds as ``start`` and ``end``)."""
    parent = sp.get("parentSpanId") or ""
    status = a.get("http.response.status_code")
    err = a.get("error.type")
    failed = (sp.get("status") or {}).get("code") in (2, "STATUS_CODE_ERROR") or err is not None
    resend = a.get("http.request.resend_count")
    return {
        "request_id": sp.get("spanId"),
        "start": sp.get("startTimeUnixNano"), "end": sp.get("endTimeUnixNano"),
        "logical_request_id": f"{sp.get('traceId')}/{parent or sp.get('spanId')}",
        "attempt": resend if resend is not None else (0 if has_resend else None),
        "session_id": a.get("gen_ai.conversation.id", a.get("session.id")),
        "model": a.get("gen_ai.response.model", a.get("gen_ai.request.model")),
        "provider": a.get("gen_ai.provider.name", a.get("gen_ai.system")),
        "deployment": a.get("server.address"),
        "outcome": outcome_from_status(status, err, failed),
        "http_status": status,
        "error_type": err,
        "ttft_s": a.get("gen_ai.response.time_to_first_chunk", a.get("gen_ai.server.time_to_first_token")),
        "input_tokens": a.get("gen_ai.usage.input_tokens", a.get("gen_ai.usage.prompt_tokens")),
        "output_tokens": a.get("gen_ai.usage.output_tokens", a.get("gen_ai.usage.completion_tokens")),
        "cached_input_tokens": a.get("gen_ai.usage.cache_read.input_tokens"),
        "stream": a.get("gen_ai.request.stream"),
    }


_SOURCE_NAMES = {"input_tokens": "gen_ai.usage.input_tokens", "output_tokens": "gen_ai.usage.output_tokens",
                 "cached_input_tokens": "gen_ai.usage.cache_read.input_tokens",
                 "attempt": "http.request.resend_count", "http_status": "http.response.status_code",
                 "ttft_s": "gen_ai.response.time_to_first_chunk"}


def _read(head: Head, ctx: Context, options: dict) -> Iterator[pd.DataFrame]:
    spans, ctx.skipped = _spans(head, ctx)
    if not spans:
        raise TraceError(ctx.file, "no spans with gen_ai.* attributes")
    has_resend = any("http.request.resend_count" in r["a"] for r in spans)
    df = pd.DataFrame.from_records([_record(r["span"], r["a"], has_resend) for r in spans])
    df = fill_failed_tokens(df, ctx, logical="logical_request_id")
    start_ns = _start_ns(df, ctx)
    ctx.origin = pd.Timestamp(int(start_ns.min()), unit="ns", tz="UTC")
    end = pd.to_numeric(df["end"], errors="coerce").to_numpy()
    cols = {k: (df[k], _SOURCE_NAMES.get(k, k)) for k in df.columns if k not in ("start", "end")}
    cols["arrival_s"] = ((start_ns - ctx.origin.value) / 1e9, "startTimeUnixNano")
    cols["latency_s"] = (pd.Series((end - start_ns) / 1e9), "endTimeUnixNano")
    cols["stream"] = (df["stream"].astype("boolean"), "gen_ai.request.stream")
    yield sorted_frame(cols, ctx, len(df))


def _start_ns(df: pd.DataFrame, ctx: Context) -> np.ndarray:
    """The spans' start times in nanoseconds (an error naming the first missing or bad one)."""
    start = pd.to_numeric(df["start"], errors="coerce")
    bad = np.flatnonzero(start.isna().to_numpy())
    if len(bad):
        raise ctx.error(f"missing or bad startTimeUnixNano ({df['start'].iloc[bad[0]]!r})", int(bad[0]),
                        "startTimeUnixNano")
    return df["start"].astype("int64").to_numpy()


OTEL = Adapter("otel", ("json", "jsonl"), "OpenTelemetry GenAI spans, OTLP JSON export",
               lambda h: "resourceSpans" in h.columns or '"resourceSpans"' in h.text[:2000], _read,
               sorted_input=False)
