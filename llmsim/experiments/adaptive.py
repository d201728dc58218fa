"""Adaptive replications (``-r auto``): add paired replications until every reported interval is narrow
enough or clearly away from zero, up to a maximum.

A rule ``AutoReplications(target, start, most)`` runs ``start`` replications (10: the same runs as a
fixed ``-r 10``, same seeds, so it stops with exactly those intervals or goes on), then grows the count
by half (at least by one) while an interval is still too wide, never past ``most`` (40). An interval is narrow
enough when its half-width is at most ``target`` times the size of what it measures (the baseline's mean
for a difference, the mean itself for a point), and a paired difference is settled when its interval
lies on one side of zero with room to spare (half-width at most half the difference). The decision
depends only on the runs' metrics, which depend only on the seeds, so a given seed and rule always
stops at the same count.

>>> rule = parse_replications("auto:0.02")
>>> rule.target, rule.start, rule.most
(0.02, 10, 40)
>>> rule.counts()
[10, 15, 23, 35, 40]
>>> parse_replications("7")
7
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from llmsim.core.errors import InputError
from llmsim.experiments.stats import mean_ci, paired_diff

__all__ = ["AutoReplications", "parse_replications", "difference_settled", "mean_settled", "metric_matrix",
           "AUTO_METRICS", "Settled"]

#: what ``-r auto`` must settle unless told otherwise: the figures a decision is usually made on
AUTO_METRICS = ("success_rate", "latency_p50", "latency_p95", "attempts_per_request", "cost_total",
                "cost_per_success", "goodput")
#: ``settled(records, n)``: are the first ``n`` replications of every point enough?
Settled = Callable[[Mapping[tuple[int, int], dict], int], bool]


@dataclass(frozen=True)
class AutoReplications:
    """Replicate until every interval is narrow (``target``: half-width / scale) or, for a difference,
    clearly excludes zero; from ``start`` replications to at most ``most``."""

    target: float = 0.05
    start: int = 10
    most: int = 40
    confidence: float = 0.95

    def __post_init__(self):
        if not (self.target > 0 and math.isfinite(self.target)):
            raise InputError("replications", f"the auto target must be a number > 0, got {self.target!r}")
        if not 2 <= self.start <= self.most:
            raise InputError("replications", f"auto needs 2 <= start <= most, got {self.start} and {self.most}")

    def counts(self) -> list[int]:
        """The replication counts tried, in order: start, then +50 % (at least +1), up to ``most``."""
        out = [self.start]
        while out[-1] < self.most:
            out.append(min(self.most, max(out[-1] + 1, math.ceil(out[-1] * 1.5))))
        return out

    def describe(self) -> dict:
        return {"auto": True, "target": self.target, "start": self.start, "most": self.most,
                "confidence": self.confidence}


def parse_replications(value: int | str | AutoReplications | None, default: int | str = 1) -> int | AutoReplications:
    """An integer >= 1, or ``"auto"`` / ``"auto:TARGET"`` / ``"auto:TARGET:MOST"`` (e.g. ``auto:0.02:40``)."""
    if value is None:
        value = default
    if isinstance(value, AutoReplications):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 1:
            raise InputError("replications", f"must be an integer >= 1 or 'auto', got {value!r}")
        return int(value)
    text = str(value).strip().lower()
    if text.isdigit():
        return parse_replications(int(text))
    parts = text.split(":")
    if parts[0] != "auto" or len(parts) > 3:
        raise InputError("replications", f"must be an integer >= 1 or 'auto[:TARGET[:MOST]]', got {value!r}")
    try:
        target = float(parts[1].rstrip("%")) / (100 if parts[1].endswith("%") else 1) if len(parts) > 1 else 0.05
        most = int(parts[2]) if len(parts) > 2 else AutoReplications.most
    except ValueError:
        raise InputError("replications", f"cannot read {value!r}: expected auto:TARGET:MOST, e.g. auto:0.05:30"
                         ) from None
    return AutoReplications(target=target, most=most, start=min(AutoReplications.start, max(most, 2)))


def _narrow(half: float, scale: float, target: float) -> bool:
    """A half-width within ``target`` of ``scale`` (a zero half-width always is; NaN never is)."""
    return half == 0.0 or half <= target * abs(scale)


def difference_settled(base: np.ndarray, other: np.ndarray, rule: AutoReplications) -> bool:
    """Is the paired difference ``other - base`` known well enough: narrow relative to the baseline's mean
    (or the other's, when the baseline's is 0), or clearly on one side of zero? Metrics with no values
    (NaN on every run, e.g. no successes) cannot improve and count as settled."""
    d = paired_diff(base, other, rule.confidence)
    if d["n"] == 0:
        return True
    if d["n"] < 2 or math.isnan(d["ci"]):
        return False
    scale = mean_ci(base)[0] or mean_ci(other)[0]
    return _narrow(d["ci"], scale, rule.target) or d["ci"] <= abs(d["diff"]) / 2


def mean_settled(values: np.ndarray, rule: AutoReplications) -> bool:
    """Is a mean known to within ``target`` of itself (all-NaN metrics count as settled)?"""
    mean, half, n = mean_ci(values, rule.confidence)
    if n == 0:
        return True
    return n >= 2 and not math.isnan(half) and _narrow(half, mean, rule.target)


def metric_matrix(records: Mapping[tuple[int, int], dict], points: Sequence[int], replications: int,
                  metric: str) -> np.ndarray:
    """Replications x points of one metric (NaN for failed runs)."""
    return np.array([[records[(p, r)]["metrics"].get(metric, np.nan) if (p, r) in records else np.nan
                      for p in points] for r in range(replications)], dtype=float)
