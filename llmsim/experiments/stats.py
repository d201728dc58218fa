"""Statistics over replications: means with t confidence intervals, paired and unpaired differences,
metric directions, and SLO constraints such as ``"latency_p95 <= 10s"``.

>>> m, h, n = mean_ci([1.0, 2.0, 3.0])
>>> m, round(h, 3), n
(2.0, 2.484, 3)
>>> Constraint.parse("success_rate", ">= 99.5%").bound
0.995
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from llmsim.core.errors import InputError
from llmsim.core.units import UnitError, parse_duration

__all__ = ["mean_ci", "paired_diff", "welch_ci", "direction", "Constraint", "HIGHER_IS_BETTER", "NEUTRAL"]

#: Metrics where more is better; ``NEUTRAL`` ones (fixed by the workload) have no winner; the rest: less is better.
HIGHER_IS_BETTER = frozenset({"success_rate", "goodput"})
NEUTRAL = frozenset({"requests"})


def direction(metric: str) -> int:
    """+1 when higher is better, -1 when lower is better, 0 when neither (e.g. ``requests``)."""
    if metric in NEUTRAL:
        return 0
    return 1 if metric in HIGHER_IS_BETTER else -1


def _clean(values: Sequence[float]) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a[~np.isnan(a)]


def _student_t():
    """scipy's Student t distribution."""
    from scipy import stats  # deferred: scipy.stats takes a second to import; only CIs and p-values need it

    return stats.t


def _tq(confidence: float, df: float) -> float:
    return float(_student_t().ppf(0.5 + confidence / 2, df))


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, int]:
    """(mean, half-width of the t confidence interval, n) over the non-NaN values; half-width NaN if n < 2."""
    a = _clean(values)
    n = len(a)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = float(a.mean())
    if n < 2:
        return mean, float("nan"), n
    return mean, _tq(confidence, n - 1) * float(a.std(ddof=1)) / math.sqrt(n), n


def paired_diff(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> dict:
    """Mean of ``b - a`` over replications where both exist, its CI half-width and two-sided p-value
    (paired t-test). Identical inputs give exactly 0 with half-width 0 and p-value 1."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = ~(np.isnan(x) | np.isnan(y))
    d = y[ok] - x[ok]
    n = len(d)
    if n == 0:
        return {"diff": float("nan"), "ci": float("nan"), "p_value": float("nan"), "n": 0}
    mean = float(d.mean())
    if n < 2:
        return {"diff": mean, "ci": float("nan"), "p_value": float("nan"), "n": n}
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        return {"diff": mean, "ci": 0.0, "p_value": 1.0 if mean == 0.0 else 0.0, "n": n}
    se = sd / math.sqrt(n)
    p = float(2 * _student_t().sf(abs(mean) / se, n - 1))
    return {"diff": mean, "ci": _tq(confidence, n - 1) * se, "p_value": p, "n": n}


def welch_ci(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> float:
    """Half-width of the CI of ``mean(b) - mean(a)`` treating the samples as independent (Welch), i.e.
    what the interval would be without common random numbers."""
    x, y = _clean(a), _clean(b)
    if len(x) < 2 or len(y) < 2:
        return float("nan")
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se2 = vx + vy
    if se2 == 0:
        return 0.0
    df = se2 ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1))
    return _tq(confidence, df) * math.sqrt(se2)


_CONSTRAINT = re.compile(r"^\s*(<=|>=|<|>|==)?\s*(.+?)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``: op is <=, <, >= or >; bound a number, a duration ("10s") or a percentage."""

    metric: str
    op: str
    bound: float

    @classmethod
    def parse(cls, metric: str, spec: str | float | int) -> Constraint:
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            raise InputError(f"constraints.{metric}", "give an operator and a bound, e.g. '<= 10s'")
        m = _CONSTRAINT.match(str(spec))
        if not m or m.group(1) in (None, "=="):
            raise InputError(f"constraints.{metric}", f"expected '<= BOUND' or '>= BOUND', got {spec!r}")
        return cls(metric, m.group(1), _bound(metric, m.group(2)))

    @property
    def upper(self) -> bool:
        """True for an upper bound (<=, <)."""
        return self.op.startswith("<")

    def holds(self, value: float) -> bool:
        if value is None or math.isnan(value):
            return False
        return {"<=": value <= self.bound, "<": value < self.bound,
                ">=": value >= self.bound, ">": value > self.bound}[self.op]

    def violation(self, value: float) -> float:
        """How far ``value`` is on the wrong side, relative to the bound (0 when it holds)."""
        if value is None or math.isnan(value):
            return math.inf
        if self.holds(value):
            return 0.0
        scale = abs(self.bound) or 1.0
        return abs(value - self.bound) / scale

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


def _bound(metric: str, text: str) -> float:
    """A constraint's bound: a number, a percentage (99.5% -> 0.995) or a duration (10s)."""
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        pass
    try:
        return parse_duration(text)
    except UnitError:
        raise InputError(f"constraints.{metric}", f"cannot read the bound {text!r}") from None
