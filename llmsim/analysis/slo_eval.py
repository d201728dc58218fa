"""A run's summary against its service-level objectives: pass or fail per target, and the derived
metrics an SLO may name (``cost_per_1k_requests``) and a report projects (``cost_per_month``).

>>> from llmsim.config.slo import parse_slo
>>> summary = {"requests": 2000, "success_rate": 0.985, "latency_p95": 4.0, "cost_total": 0.8}
>>> slo = parse_slo({"success_rate": "99%", "latency_p95": "10s", "cost_per_1k_requests": "$0.50"})
>>> table = slo_table(summary, slo)
>>> table[["target", "met"]].values.tolist()
[['success_rate >= 99%', False], ['latency_p95 <= 10s', True], ['cost_per_1k_requests <= $0.5', True]]
>>> round(monthly_factor(3600), 1)   # 30 days of a 1-hour window
720.0

Over replications a target is judged with confidence, not on the mean (``judge``): it is met when the
one-sided 95 % bound is on the right side, "likely" when only the mean is, "uncertain" when the mean is on
the wrong side but the interval still reaches the right one, missed otherwise.

>>> j = judge([0.990, 0.993, 0.995, 0.992, 0.996], Target("success_rate", ">=", 0.99))
>>> j.status, round(j.bound, 5), round(j.confidence, 3)
('meets', 0.99092, 0.98)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from llmsim.config.slo import Target

__all__ = ["with_derived", "derived_value", "DERIVED_METRICS",
           "slo_table", "meets_all", "monthly_factor", "DAYS_PER_MONTH", "projection_note",
           "judge", "Judgement", "STATUS_WORDS"]

#: Metrics computed from a run's summary rather than measured by it (an SLO or a tune constraint may name them).
DERIVED_METRICS = ("cost_per_1k_requests",)

#: A month, for $/month projections (a 30-day month: what a monthly bill covers, near enough).
DAYS_PER_MONTH = 30.0


def with_derived(summary: Mapping[str, float]) -> dict[str, float]:
    """The summary plus ``cost_per_1k_requests`` (cost_total / requests x 1000; NaN with no requests)."""
    out = {str(k): float(v) for k, v in summary.items()}
    requests = out.get("requests", float("nan"))
    cost = out.get("cost_total", float("nan"))
    out["cost_per_1k_requests"] = cost / requests * 1000.0 if requests and requests == requests else float("nan")
    return out


def derived_value(summary: Mapping[str, float], metric: str) -> float:
    """One metric of a run's summary, derived ones (``DERIVED_METRICS``) computed from it; NaN when absent.

    >>> derived_value({"requests": 400, "cost_total": 0.2}, "cost_per_1k_requests")
    0.5
    """
    if metric in DERIVED_METRICS:
        return with_derived(summary)[metric]
    return float(summary.get(metric, float("nan")))


def derived_columns(table: pd.DataFrame) -> pd.DataFrame:
    """A table of runs (one row per run, summary-metric columns) with ``cost_per_1k_requests`` added."""
    out = table.copy()
    if "cost_total" in out and "requests" in out:
        req = out["requests"].astype(float)
        out["cost_per_1k_requests"] = (out["cost_total"].astype(float) / req.where(req > 0)) * 1000.0
    return out


def slo_table(summary: Mapping[str, float], targets: Iterable[Target]) -> pd.DataFrame:
    """One row per target: ``target`` (as text), ``metric``, ``op``, ``bound``, ``value``, ``met``."""
    values = with_derived(summary)
    rows = []
    for t in targets:
        v = values.get(t.metric, float("nan"))
        rows.append({"target": str(t), "metric": t.metric, "op": t.op, "bound": t.bound, "value": v,
                     "met": t.holds(v)})
    return pd.DataFrame(rows, columns=["target", "metric", "op", "bound", "value", "met"])


def meets_all(summary: Mapping[str, float], targets: Iterable[Target]) -> bool:
    """Whether every target holds (True when there are none)."""
    return bool(slo_table(summary, targets)["met"].all())


def monthly_factor(window_seconds: float) -> float:
    """How many measured windows make a 30-day month: a cost over the window times this is $/month
    if every window of the month looked like the simulated one."""
    if not window_seconds or not math.isfinite(window_seconds) or window_seconds <= 0:
        return float("nan")
    return DAYS_PER_MONTH * 86400.0 / window_seconds


def projection_note(window_seconds: float) -> str:
    """How a $/month figure was projected, in one line for the page."""
    hours = window_seconds / 3600.0
    span = f"{hours:.3g} h" if hours >= 1 else f"{window_seconds / 60:.3g} min"
    factor = monthly_factor(window_seconds)
    return (f"$/month = cost over the measured window ({span}, warm-up excluded) x {factor:,.0f} "
            f"(30 days / window): the month as if every {span} were like the simulated one")


#: How each judgement reads on a page: met with confidence, likely (the mean only), uncertain, missed.
STATUS_WORDS = {"meets": "met", "likely": "likely", "uncertain": "uncertain", "misses": "missed"}


@dataclass(frozen=True)
class Judgement:
    """A target judged over replications: ``status`` ("meets", "likely", "uncertain", "misses"), the ``mean``,
    the one-sided ``bound`` on the side the target constrains (the upper bound for ``<=``, the lower for
    ``>=``; NaN with fewer than two replications), ``confidence`` that the true mean meets the target
    (one-sided t-test: 1 - its p-value) and ``n`` replications."""

    status: str
    mean: float
    bound: float
    confidence: float
    n: int


def _t():
    from scipy import stats  # deferred: scipy.stats takes a second to import; only verdicts over runs need it

    return stats.t


def judge(values: Sequence[float], target: Target, level: float = 0.95) -> Judgement:
    """Judge ``target`` on the replications' ``values`` (NaN ignored) with a one-sided Student t bound at
    ``level``: met when the bound on the target's side holds (e.g. for ``success_rate >= 99%``: the mean minus
    t(level, n-1) x s / sqrt(n) is at least 99 %)."""
    a = np.asarray(values, dtype=float)
    a = a[~np.isnan(a)]
    n = len(a)
    if n == 0:
        return Judgement("misses", float("nan"), float("nan"), 0.0, 0)
    mean = float(a.mean())
    if n < 2:
        return Judgement("likely" if target.holds(mean) else "misses", mean, float("nan"), float("nan"), n)
    se = float(a.std(ddof=1)) / math.sqrt(n)
    half = float(_t().ppf(level, n - 1)) * se
    near, far = (mean + half, mean - half) if target.upper else (mean - half, mean + half)
    if se == 0:
        confidence = 1.0 if target.holds(mean) else 0.0
    else:
        margin = (target.bound - mean) if target.upper else (mean - target.bound)
        confidence = float(_t().cdf(margin / se, n - 1))
    if target.holds(near):
        status = "meets"
    elif target.holds(mean):
        status = "likely"
    elif target.holds(far):
        status = "uncertain"
    else:
        status = "misses"
    return Judgement(status, mean, near, confidence, n)
