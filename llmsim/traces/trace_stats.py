"""What a trace says: span, rate over time, token distributions, outcome mix, retries, missing fields.

>>> import pandas as pd
>>> tr = pd.DataFrame({"arrival_s": [0.0, 30.0, 90.0], "input_tokens": [10, 20, 30], "output_tokens": [1, 2, 3]})
>>> s = describe(tr, bin_s=60)
>>> s["rows"], s["rate_per_bin"]
(3, [2, 1])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["describe", "rate_curve", "auto_bin", "has_values"]


def auto_bin(span: float) -> float:
    """A bin width giving 30-200 bins: 1 s, 10 s, 1 min, 10 min or 1 h."""
    for w in (1.0, 10.0, 60.0, 600.0, 3600.0):
        if span / w <= 200:
            return w
    return 86400.0


def rate_curve(arrivals: np.ndarray, bin_s: float, span: float | None = None) -> np.ndarray:
    """Counts per bin of width ``bin_s`` from time 0 (arrivals in seconds)."""
    t = np.asarray(arrivals, dtype=float)
    end = float(t.max()) if span is None and len(t) else (span or 0.0)
    n = max(1, int(np.floor(end / bin_s)) + 1)
    return np.bincount(np.minimum((t / bin_s).astype(np.int64), n - 1), minlength=n)


def _q(x: np.ndarray) -> dict:
    if not len(x):
        return {}
    qs = np.quantile(x, [0.5, 0.9, 0.99])
    return {"mean": float(np.mean(x)), "p50": float(qs[0]), "p90": float(qs[1]), "p99": float(qs[2]),
            "max": float(np.max(x)), "sum": float(np.sum(x))}


_ATTRS = ("source", "format", "origin", "skipped", "notes")
_REQUIRED = ("request_id", "arrival_s", "input_tokens", "output_tokens")


def describe(trace: pd.DataFrame, bin_s: float | None = None) -> dict:
    """A plain dict of the trace's statistics (JSON-serialisable)."""
    t = trace["arrival_s"].to_numpy(dtype=float)
    t = t - t.min() if len(t) else t
    out = {
        "rows": int(len(trace)), **_rates(t, bin_s),
        "input_tokens": _q(trace["input_tokens"].to_numpy(dtype=float)),
        "output_tokens": _q(trace["output_tokens"].to_numpy(dtype=float)),
        "attrs": {k: v for k, v in trace.attrs.items() if k in _ATTRS},
        "missing": {c: int(trace[c].isna().sum()) for c in trace.columns if c not in _REQUIRED},
    }
    return {**out, **_recorded(trace)}


def _recorded(trace: pd.DataFrame) -> dict:
    """Latency and TTFT quantiles, outcome counts and retries, for the traces that record them."""
    out = {col: _q(trace[col].dropna().to_numpy(dtype=float)) for col in ("latency_s", "ttft_s")
           if has_values(trace, col)}
    if has_values(trace, "outcome"):
        out["outcomes"] = {str(k): int(v) for k, v in trace["outcome"].value_counts(dropna=False).items()}
    if has_values(trace, "logical_request_id"):
        out.update(_retries(trace))
    return out


def has_values(trace: pd.DataFrame, col: str) -> bool:
    """The trace has the column and at least one value in it."""
    return col in trace and trace[col].notna().any()


def _rates(t: np.ndarray, bin_s: float | None) -> dict:
    """Span, bin width, mean and peak rates, rate per bin and inter-arrival CV of arrival offsets."""
    span = float(t.max()) if len(t) else 0.0
    w = bin_s or auto_bin(span)
    counts = rate_curve(t, w)
    gaps = np.diff(t)
    return {
        "span_s": span, "bin_s": w,
        "rate_mean_per_s": float(len(t) / span) if span > 0 else float("nan"),
        "rate_per_bin": counts.tolist(),
        "rate_peak_per_s": float(counts.max() / w) if len(counts) else 0.0,
        "interarrival_cv": float(gaps.std() / gaps.mean()) if len(gaps) > 1 and gaps.mean() > 0 else float("nan"),
    }


def _retries(trace: pd.DataFrame) -> dict:
    """Logical requests, attempts per logical request and the histogram of their retries."""
    per = trace.groupby("logical_request_id").size()
    return {
        "logical_requests": int(len(per) + trace["logical_request_id"].isna().sum()),
        "attempts_per_logical_request": float(per.mean()),
        "retries_histogram": {int(k - 1): int(v) for k, v in per.value_counts().sort_index().items()},
    }
