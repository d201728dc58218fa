"""Generate the sample traces in the project's ``traces/`` folder (synthetic, owned by the project).

    python -m llmsim.experiments.sample_traces [--out traces]

A 10-minute simulated production window (``SAMPLE_SCENARIO``, seed 11): 1.2 to 2 requests/s to one
provider with RPM/TPM limits, a 2-minute incident (40 % server errors, capacity cut), and an
SDK-like client (30 s timeout, 3 attempts with jittered backoff, Retry-After honoured). Its attempts
are written as a canonical trace (``sample.csv``, ``sample.parquet``) and in two source formats:
LiteLLM StandardLoggingPayload JSONL (``sample-litellm.jsonl``) and an OpenTelemetry GenAI OTLP JSON
export (``sample-otel.json``). Origin: 2024-06-04 09:00 UTC. Same code, same files.

>>> tr = make_sample_trace()
>>> len(tr) > 1000, tr["arrival_s"].is_monotonic_increasing
(True, True)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from llmsim.config.scenario import Scenario
from llmsim.core.atomic import atomic_write
from llmsim.simulator import simulate
from llmsim.traces.from_result import trace_from_result
from llmsim.traces.load import convert
from llmsim.traces.samples import FILES, ROOT, SAMPLE_SCENARIO, to_litellm, to_otel

__all__ = ["make_sample_trace", "write_samples"]


def make_sample_trace() -> pd.DataFrame:
    """The canonical sample trace (simulated; deterministic)."""
    tr = trace_from_result(simulate(Scenario.model_validate(SAMPLE_SCENARIO)))
    tr["session_id"] = ("s" + (tr["logical_request_id"].astype(int) // 5).astype(str)).astype("string")
    tr["stream"] = pd.array(np.ones(len(tr), bool), dtype="boolean")
    tr["arrival_s"] = tr["arrival_s"].round(6)
    for c in ("latency_s", "ttft_s", "retry_after_s"):
        tr[c] = tr[c].round(6)
    tr["cost_usd"] = tr["cost_usd"].round(9)
    return tr


def write_samples(out: str | Path) -> dict[str, int]:
    """Write the four sample files into ``out``; returns rows per file."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tr = make_sample_trace()
    csv_path = out / FILES["csv"]
    atomic_write(csv_path, lambda p: tr.to_csv(p, index=False, float_format="%.9g"))
    convert(csv_path, out / FILES["parquet"])
    atomic_write(out / FILES["litellm"], lambda p: Path(p).write_text(
        "".join(json.dumps(r) + "\n" for r in to_litellm(tr)), encoding="utf-8"))
    atomic_write(out / FILES["otel"], lambda p: Path(p).write_text(json.dumps(to_otel(tr)), encoding="utf-8"))
    return {name: len(tr) for name in FILES}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write llmsim's sample traces.")
    ap.add_argument("--out", default=str(ROOT / "traces"), help="folder (default: the project's traces/)")
    args = ap.parse_args(argv)
    rows = write_samples(args.out)
    print(f"wrote {', '.join(FILES.values())} to {args.out} ({rows['csv']} attempts each)")


if __name__ == "__main__":
    main()
