"""Human formatting of summary metrics and time series for terminals (rich tables).

>>> fmt_metric("latency_p95", 22.5), fmt_metric("success_rate", 0.9485), fmt_metric("cost_total", 45.69)
('22.5s', '94.85%', '$45.69')
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.table import Table

from llmsim.core.units import format_duration

if TYPE_CHECKING:  # annotations only: importing pandas costs `llmsim validate` a third of a second
    import pandas as pd

__all__ = ["fmt_metric", "summary_table", "period_table"]

_SECONDS = {"latency_p50", "latency_p95", "latency_p99", "latency_mean", "ttft_p50", "ttft_p95", "recovered_at",
            "time_to_recover"}
_SHARES = {"success_rate", "rate_limited_share", "overloaded_share", "timeout_share", "server_error_share",
           "rejected_share"}
_MONEY = {"cost_total", "wasted_cost", "cost_per_success", "cost_per_1k_requests", "cost_per_month"}
_COUNTS = {"requests", "breaker_opens", "invalid_delivered"}
_FLAGS = {"collapsed", "metastable"}  # 1/0 in a run, a share of runs when averaged


def _seconds(value: float) -> str:
    if abs(value) < 1:
        return f"{value * 1000:.0f}ms" if abs(value) >= 0.001 or value == 0 else f"{value * 1e6:.3g}us"
    if abs(value) < 60:
        return f"{value:.3g}s"
    return ("-" if value < 0 else "") + format_duration(round(abs(value)))


def _percent(value: float) -> str:
    return f"{value * 100:.2f}%" if abs(value) < 0.99995 else f"{value * 100:.4g}%"  # 100%, never 100.00%


def _dollars(value: float) -> str:
    """At most 4 significant digits: $0.000195, $0.34, $45.69, $123.4, $1,234, $20.02k, $1.5M.

    Below a hundredth of a cent, per million (a cost per request reads as the cost of a million of them):

    >>> [_dollars(v) for v in (0, 1.95e-4, 0.3442, 45.69, 123.45, 1234.5, 20019.0, 1.5e6, -34.2)]
    ['$0', '$0.000195', '$0.34', '$45.69', '$123.5', '$1,234', '$20.02k', '$1.5M', '-$34.20']
    >>> [_dollars(v) for v in (1.96e-7, -1.18e-8)]
    ['$0.196 per 1M', '-$0.0118 per 1M']
    """
    sign, v = ("-" if value < 0 else ""), abs(value)
    if v == 0:
        return "$0"
    if v < 1e-4:
        return f"{sign}${v * 1e6:.3g} per 1M"
    if v < 0.01:
        return f"{sign}${v:.{max(2, 2 - math.floor(math.log10(v)))}f}"
    if v < 100:
        return f"{sign}${v:.2f}"
    if v < 1000:
        return f"{sign}${v:.1f}"
    if v < 10_000:
        return f"{sign}${v:,.0f}"
    if v < 1e6:
        return f"{sign}${v / 1e3:.4g}k"
    return f"{sign}${v / 1e6:.4g}M"


def _whole(value: float) -> str:
    return f"{value:,.0f}" if abs(value) < 10_000 else _plain(value)


def _per_second(value: float) -> str:
    return f"{_plain(value)}/s"


def _plain(value: float) -> str:
    """4 significant digits, thousands as k and millions as M, small values with 2 significant digits
    (never an exponent for everyday sizes).

    >>> [_plain(v) for v in (0, 9.804e-05, -0.0009657, 0.5, 1234.5, 20019.0, 1.5e6)]
    ['0', '0.000098', '-0.00097', '0.5', '1,234', '20.02k', '1.5M']
    """
    v = abs(value)
    if 0 < v < 1e-3:
        return f"{value:.{1 - math.floor(math.log10(v))}f}"
    if v >= 1e6:
        return f"{value / 1e6:.4g}M"
    if v >= 1e4:
        return f"{value / 1e3:.4g}k"
    if v >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _flag(x: float) -> str:
    return "yes" if x == 1 else "no" if x == 0 else f"{x:.0%} of runs"


#: metric name -> how its value reads
_FORMATS = {**dict.fromkeys(_SECONDS, _seconds), **dict.fromkeys(_SHARES, _percent),
            **dict.fromkeys(_MONEY, _dollars), **dict.fromkeys(_COUNTS, _whole), **dict.fromkeys(_FLAGS, _flag),
            "goodput": _per_second}


def fmt_metric(name: str, value: float) -> str:
    """A metric's value for people: ms/s, percent, dollars, counts, or 4 significant digits; "-" when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return _FORMATS.get(name, _plain)(value)


def summary_table(summary: pd.Series, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in summary.items():
        table.add_row(str(name), fmt_metric(str(name), float(value)))
    return table


def _count(x: float) -> str:
    return f"{x / 1000:.1f}k" if x >= 10_000 else f"{x:,.0f}"


def period_table(ts: pd.DataFrame, title: str, label=None) -> Table:
    """One row per period of a ``Result.timeseries``: the day as it unfolded (shares are of attempts).
    ``label(t)`` names a period's start (e.g. ``StartTime.label``: 'Tue 09:00'); default: time since start."""
    table = Table(title=title, title_justify="left")
    for col in ("from", "reqs", "ok", "p50", "p95", "tries", "429", "529", "t/o", "slots"):
        table.add_column(col, justify="right", no_wrap=col == "from")
    cap_cols = [c for c in ts.columns if c.startswith("capacity_")]
    for t, row in ts.iterrows():
        if row["requests"] == 0:
            continue
        sent = max(1, row["attempts"])
        slots = "/".join(f"{row[c]:.0f}" for c in cap_cols)
        when = label(float(t)) if label else format_duration(float(t)) if t else "0s"
        table.add_row(
            when, _count(row["requests"]), f"{row['success_rate']:.1%}",
            fmt_metric("latency_p50", row["latency_p50"]), fmt_metric("latency_p95", row["latency_p95"]),
            _count(row["attempts"]), f"{row['attempts_rate_limited'] / sent:.1%}",
            f"{row['attempts_overloaded'] / sent:.1%}", f"{row['attempts_timeout'] / sent:.1%}", slots,
        )
    return table
