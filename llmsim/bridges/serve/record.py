"""Every attempt the live server saw, as the canonical trace table (llmsim.traces.schema).

Rows are kept in memory while the server runs; ``frame()`` builds the canonical DataFrame (costs of
abandoned attempts settle when the provider notices, so they are read at that time) and ``write``
saves it as Parquet, CSV or JSONL by the file's suffix, atomically.

>>> log = AttemptLog()
>>> log.add(sent=0.0, end=0.4, first=0.3, outcome="ok", status=200, retry_after=float("nan"), key="r1",
...         attempt=0, api="openai", model="gpt-4o", provider="p", stream=False, input_tokens=10,
...         output_tokens=5, cost=0.001)
>>> df = log.frame()
>>> df.loc[0, "logical_request_id"], float(df.loc[0, "latency_s"]), int(df.loc[0, "http_status"])
('r1', 0.4, 200)
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from llmsim.core.atomic import atomic_write
from llmsim.traces.schema import arrow_schema, conform, empty_trace

__all__ = ["AttemptLog"]


class AttemptLog:
    """Append-only attempt rows (thread-safe), with per-logical-request attempt numbering."""

    def __init__(self):
        self._rows: list[dict] = []
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def next_attempt(self, key: str) -> int:
        """0, 1, 2, ... for successive attempts of the logical request ``key``."""
        with self._lock:
            k = self._counts.get(key, 0)
            self._counts[key] = k + 1
            return k

    def add(self, **row) -> None:
        with self._lock:
            self._rows.append(row)

    def __len__(self) -> int:
        return len(self._rows)

    def frame(self) -> pd.DataFrame:
        """The canonical trace of the attempts so far, sorted by send time."""
        with self._lock:
            rows = list(self._rows)
        recs = [_record(i, r) for i, r in enumerate(rows)]
        df = pd.DataFrame(recs)
        if df.empty:
            return empty_trace()
        for c in ("ttft_s", "retry_after_s"):
            df[c] = pd.array([None if v != v else v for v in df[c]], dtype="Float64")
        df["http_status"] = pd.array([None if v is None or v != v else int(v) for v in df["http_status"]],
                                     dtype="Int64")
        df = df.sort_values("arrival_s", kind="stable", ignore_index=True)
        return conform(df)

    def write(self, path: str | Path) -> int:
        """Write the canonical table (.parquet, .csv or .jsonl); returns the number of rows."""
        df = self.frame()
        target = Path(path)
        suffix = target.suffix.lower()

        def write(tmp: str) -> None:
            if suffix == ".parquet":
                pq.write_table(pa.Table.from_pandas(df, schema=arrow_schema(), preserve_index=False), tmp)
            elif suffix == ".csv":
                df.to_csv(tmp, index=False)
            else:
                df.to_json(tmp, orient="records", lines=True)

        atomic_write(target, write)
        return len(df)


def _record(i: int, r: dict) -> dict:
    """The trace fields of the ``i``-th attempt logged (tokens and cost from its ticket when it has one)."""
    t = r.get("ticket")
    first = r["first"]
    status = r["status"]
    return {
        "request_id": f"{r['key']}-{r['attempt']}" if r["key"] else str(i),
        "arrival_s": r["sent"],
        "input_tokens": r["input_tokens"],
        "output_tokens": r["output_tokens"] if t is None else t.generated,
        "logical_request_id": r["key"],
        "attempt": r["attempt"],
        "model": r["model"],
        "provider": r["provider"],
        "deployment": r["api"],
        "outcome": str(r["outcome"]),
        "http_status": status if status else None,
        "error_type": r.get("error_type"),
        "latency_s": r["end"] - r["sent"],
        "ttft_s": first - r["sent"] if first == first else math.nan,
        "retry_after_s": r["retry_after"],
        "cost_usd": r["cost"] if t is None else t.cost,
        "stream": r["stream"],
    }
