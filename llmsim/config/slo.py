"""Service-level objectives as input: targets a run must meet, in the words a team writes them.

A scenario's ``slo`` maps a metric to a bound: ``{success_rate: 99%, latency_p95: 10s,
cost_per_1k_requests: $0.50}``. A bare bound means "at least" for metrics where more is better
(``success_rate``, ``goodput``) and "at most" for the rest; an explicit operator (``">= 99.5%"``,
``"<= 2s"``) says it outright. The same text works on the command line: ``--slo latency_p95<=10s``.

>>> slo = parse_slo({"success_rate": "99%", "latency_p95": "10s", "cost_per_1k_requests": "$0.50"})
>>> [str(t) for t in slo]
['success_rate >= 99%', 'latency_p95 <= 10s', 'cost_per_1k_requests <= $0.5']
>>> parse_slo_option("latency_p99<=1500ms")
Target(metric='latency_p99', op='<=', bound=1.5)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmsim.core.errors import InputError
from llmsim.core.units import UnitError, format_duration, parse_duration

__all__ = ["Target", "parse_slo", "parse_slo_option", "parse_bound", "SLO_METRICS", "LOWER_BOUND_METRICS"]

#: Metrics where a bare bound is a floor (more is better); every other metric's bare bound is a ceiling.
LOWER_BOUND_METRICS = frozenset({"success_rate", "goodput"})
#: Metrics an SLO may name: the run summary's metrics plus the derived ``cost_per_1k_requests``.
SLO_METRICS = ("success_rate", "latency_p50", "latency_p95", "latency_p99", "latency_mean", "ttft_p50", "ttft_p95",
               "attempts_per_request", "rate_limited_share", "overloaded_share", "timeout_share",
               "server_error_share", "rejected_share", "cost_total", "cost_per_success", "cost_per_1k_requests",
               "wasted_cost", "goodput", "breaker_opens", "invalid_delivered")
_SHARES = frozenset({"success_rate", "rate_limited_share", "overloaded_share", "timeout_share", "server_error_share",
                     "rejected_share"})
_SECONDS = frozenset({"latency_p50", "latency_p95", "latency_p99", "latency_mean", "ttft_p50", "ttft_p95"})
_MONEY = frozenset({"cost_total", "cost_per_success", "cost_per_1k_requests", "wasted_cost"})
_OPERATOR = re.compile(r"^\s*(<=|>=|<|>)?\s*(.+?)\s*$")
_OPTION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*(.+?)\s*$")


@dataclass(frozen=True)
class Target:
    """One objective: ``metric op bound`` (op one of <=, <, >=, >; bound in the metric's base unit:
    seconds, a fraction, dollars)."""

    metric: str
    op: str
    bound: float

    @property
    def upper(self) -> bool:
        """True for a ceiling (<=, <)."""
        return self.op.startswith("<")

    def holds(self, value: float | None) -> bool:
        """Whether ``value`` meets the target (a missing value never does).

        >>> Target("success_rate", ">=", 0.99).holds(0.995), Target("latency_p95", "<", 2.0).holds(2.0)
        (True, False)
        """
        if value is None or math.isnan(value):
            return False
        return {"<=": value <= self.bound, "<": value < self.bound,
                ">=": value >= self.bound, ">": value > self.bound}[self.op]

    def bound_text(self) -> str:
        """The bound as people write it: 99%, 10s, $0.5."""
        return format_bound(self.metric, self.bound)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound_text()}"


def format_bound(metric: str, value: float) -> str:
    """A bound in the metric's unit, at most 4 significant digits.

    >>> format_bound("success_rate", 0.995), format_bound("latency_p95", 0.25), format_bound("wasted_cost", 12)
    ('99.5%', '250ms', '$12')
    """
    if metric in _SHARES:
        return f"{value * 100:.4g}%"
    if metric in _SECONDS:
        return format_duration(value)
    if metric in _MONEY:
        return f"${value:.4g}"
    return f"{value:.4g}"


def parse_bound(metric: str, text: Any, where: str | None = None) -> float:
    """A bound from a number, a percentage ("99.5%" -> 0.995), dollars ("$0.50") or a duration ("10s").

    >>> parse_bound("success_rate", "99.5%"), parse_bound("cost_total", "$1,200"), parse_bound("latency_p95", "2m")
    (0.995, 1200.0, 120.0)
    """
    where = where or f"slo.{metric}"
    if isinstance(text, bool):
        raise InputError(where, f"expected a bound such as 99%, 10s or $0.50, got {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        value = _bound_text(str(text).strip(), where)
    if not math.isfinite(value) or value < 0:
        raise InputError(where, f"a bound must be a finite number >= 0, got {text!r}")
    return value


def _bound_text(s: str, where: str) -> float:
    try:
        if s.endswith("%"):
            return float(s[:-1]) / 100
        if s.startswith("$"):
            return float(s[1:].replace(",", ""))
        return float(s)
    except ValueError:
        pass
    try:
        return parse_duration(s)
    except UnitError:
        raise InputError(where, f"cannot read the bound {s!r} (use e.g. 99%, 10s, 500ms, $0.50 or a number)") from None


def _target(metric: str, spec: Any, where: str) -> Target:
    """One target from a metric name and a bound with an optional operator."""
    if metric not in SLO_METRICS:
        raise InputError(where, f"no metric {metric!r} to set an objective on (known: {', '.join(SLO_METRICS)})")
    if isinstance(spec, str):
        m = _OPERATOR.match(spec)
        if m and m.group(1):
            return Target(metric, m.group(1), parse_bound(metric, m.group(2), where))
    return Target(metric, ">=" if metric in LOWER_BOUND_METRICS else "<=", parse_bound(metric, spec, where))


def parse_slo(spec: Mapping[str, Any] | Iterable[Target] | None, where: str = "slo") -> list[Target]:
    """Targets from a mapping metric -> bound (or from targets already parsed); [] for None."""
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        return [_target(str(k), v, f"{where}.{k}") for k, v in spec.items()]
    out = list(spec)
    for t in out:
        if not isinstance(t, Target):
            raise InputError(where, f"expected a mapping metric -> bound, got {spec!r}")
    return out


def parse_slo_option(text: str) -> Target:
    """One ``--slo`` item: ``METRIC<=BOUND`` or ``METRIC>=BOUND`` (a bare ``METRIC=BOUND`` takes the
    metric's usual direction)."""
    m = _OPTION.match(text)
    if m:
        return _target(m.group(1), f"{m.group(2)} {m.group(3)}", "--slo")
    name, sep, bound = text.partition("=")
    if sep and re.fullmatch(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*", name):
        return _target(name.strip(), bound.strip(), "--slo")
    raise InputError("--slo", f"expected METRIC<=BOUND or METRIC>=BOUND (e.g. latency_p95<=10s), got {text!r}")


def merge_slo(base: Iterable[Target], extra: Iterable[Target]) -> list[Target]:
    """``base`` with ``extra`` replacing targets on the same metric and direction (command line over scenario).

    >>> [str(t) for t in merge_slo(parse_slo({"latency_p95": "10s"}), [parse_slo_option("latency_p95<=5s")])]
    ['latency_p95 <= 5s']
    """
    extra = list(extra)
    keys = {(t.metric, t.upper) for t in extra}
    return [t for t in base if (t.metric, t.upper) not in keys] + extra
