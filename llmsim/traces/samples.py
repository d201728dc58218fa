"""The sample traces in the project's ``traces/`` folder: where they are, the scenario they were simulated
from, and the writers of two source formats (LiteLLM StandardLoggingPayload JSONL and OpenTelemetry
GenAI OTLP JSON). ``python -m llmsim.experiments.sample_traces`` regenerates the files.

>>> sample_path("csv").endswith("sample.csv")
True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["SAMPLE_SCENARIO", "SAMPLE_ORIGIN", "FILES", "sample_path", "to_litellm", "to_otel"]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_ORIGIN = pd.Timestamp("2024-06-04T09:00:00Z")
FILES = {"csv": "sample.csv", "parquet": "sample.parquet", "litellm": "sample-litellm.jsonl",
         "otel": "sample-otel.json"}

SAMPLE_SCENARIO = {
    "name": "sample-production-window",
    "horizon": "10m",
    "seed": 11,
    "workload": {"arrivals": {"schedule": [[0, "1.2/s"], ["3m", "2/s"], ["7m", "1.2/s"]]},
                 "input_tokens": {"dist": "lognormal", "median": 900, "p95": 4000},
                 "output_tokens": {"dist": "lognormal", "median": 120, "p95": 600}, "max_tokens": 1024},
    "providers": [{"name": "openai", "model": "gpt-4o-mini", "capacity": {"slots": 24},
                   "queue": {"limit": 40, "timeout": "20s", "status": 529},
                   "rate_limits": {"rpm": 100, "tpm": 500000},
                   "latency": {"ttft": {"dist": "lognormal", "median": "450ms", "p95": "1.4s"}, "tokens_per_s": 90,
                               "load_slowdown": 1.5},
                   "errors": {"server_error_rate": 0.002},
                   "incidents": [{"start": "4m", "duration": "2m", "server_error_rate": 0.4, "capacity": 0.5}],
                   "pricing": {"input_per_mtok": 0.15, "output_per_mtok": 0.60}}],
    "client": {"timeout": "30s", "retry": {"max_attempts": 3, "backoff": {"base": "500ms", "cap": "8s"},
                                           "retry_after": {"max": "60s"}}},
}


def sample_path(kind: str = "csv", root: str | Path | None = None) -> str:
    """Path of a sample trace: kind csv, parquet, litellm or otel."""
    return str(Path(root or ROOT / "traces") / FILES[kind])


def _epoch(tr: pd.DataFrame, col: str) -> np.ndarray:
    return SAMPLE_ORIGIN.timestamp() + tr[col].to_numpy(dtype=float, na_value=np.nan)


def to_litellm(tr: pd.DataFrame) -> list[dict]:
    """StandardLoggingPayload dicts (the fields llmsim reads, with LiteLLM's names)."""
    start = _epoch(tr, "arrival_s")
    out = []
    for i, r in enumerate(tr.itertuples(index=False)):
        ok = r.outcome == "ok"
        lat = float(r.latency_s) if pd.notna(r.latency_s) else 0.0
        rec = {"id": f"chatcmpl-{r.request_id}", "trace_id": f"req-{r.logical_request_id}",
               "call_type": "acompletion", "status": "success" if ok else "failure",
               "startTime": round(float(start[i]), 6), "endTime": round(float(start[i]) + lat, 6),
               "completionStartTime": round(float(start[i]) + float(r.ttft_s), 6) if pd.notna(r.ttft_s) else None,
               "model": r.model, "custom_llm_provider": r.provider, "api_base": "https://api.openai.com/v1",
               "prompt_tokens": int(r.input_tokens), "completion_tokens": int(r.output_tokens),
               "total_tokens": int(r.input_tokens) + int(r.output_tokens),
               "response_cost": float(r.cost_usd) if pd.notna(r.cost_usd) else 0.0, "stream": True,
               "metadata": {"user_api_key_end_user_id": r.session_id}, "cache_hit": None,
               "error_information": None if ok else {
                   "error_code": str(int(r.http_status)) if pd.notna(r.http_status) else "",
                   "error_class": {"rate_limited": "RateLimitError", "overloaded": "InternalServerError",
                                   "server_error": "InternalServerError", "timeout": "Timeout"}.get(r.outcome,
                                                                                                   "APIError"),
                   "llm_provider": r.provider}}
        out.append(rec)
    return out


def _attr(key, value):
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, (int, np.integer)):
        return {"key": key, "value": {"intValue": str(int(value))}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    return {"key": key, "value": {"stringValue": str(value)}}


def to_otel(tr: pd.DataFrame) -> dict:
    """An OTLP JSON export: one parent span per logical request, one gen_ai chat span per attempt."""
    t0 = int(SAMPLE_ORIGIN.value)
    spans = []
    parents = {}
    for r in tr.itertuples(index=False):
        lid = int(r.logical_request_id)
        trace_id = f"{lid + 1:032x}"
        start = t0 + int(round(float(r.arrival_s) * 1e9))
        end = start + int(round(float(r.latency_s) * 1e9))
        if lid not in parents:
            parents[lid] = {"traceId": trace_id, "spanId": f"{(lid + 1) << 8:016x}", "name": "handle_request",
                            "kind": 1, "startTimeUnixNano": str(start), "endTimeUnixNano": str(end),
                            "attributes": [], "status": {}}
            spans.append(parents[lid])
        parents[lid]["endTimeUnixNano"] = str(max(int(parents[lid]["endTimeUnixNano"]), end))
        attrs = [_attr("gen_ai.operation.name", "chat"), _attr("gen_ai.provider.name", r.provider),
                 _attr("gen_ai.request.model", r.model), _attr("server.address", "api.openai.com")]
        if r.attempt > 0:
            attrs.append(_attr("http.request.resend_count", int(r.attempt)))
        if pd.notna(r.http_status):
            attrs.append(_attr("http.response.status_code", int(r.http_status)))
        ok = r.outcome == "ok"
        if ok:
            attrs += [_attr("gen_ai.usage.input_tokens", int(r.input_tokens)),
                      _attr("gen_ai.usage.output_tokens", int(r.output_tokens))]
        else:
            attrs.append(_attr("error.type", str(int(r.http_status)) if pd.notna(r.http_status) else "timeout"))
        spans.append({"traceId": trace_id, "spanId": f"{((lid + 1) << 8) + int(r.attempt) + 1:016x}",
                      "parentSpanId": parents[lid]["spanId"], "name": f"chat {r.model}", "kind": 3,
                      "startTimeUnixNano": str(start), "endTimeUnixNano": str(end), "attributes": attrs,
                      "status": {} if ok else {"code": 2, "message": r.outcome}})
    return {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "sample-app")]},
                               "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_v2"},
                                               "spans": spans}]}]}
