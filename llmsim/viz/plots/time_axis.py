"""The time axis of a run's charts in the words people use: clock time (09:00, Tue 09:00) when the scenario
says when it starts (``start:``), elapsed h:mm otherwise; never decimal hours. Runs longer than a day get
a line at every midnight (every 24 h when unlabelled).

Charts keep a numeric ``time`` field (minutes or hours since start, so brushes and domains stay simple);
the axis writes its labels with a Vega expression and ``clock_labels`` gives the tooltip text.

>>> ax = TimeAxis(horizon=10 * 3600, start=None)
>>> ax.div, ax.clock_labels([0, 9.5 * 3600]), ax.tick_values()[:3]
(3600.0, ['0:00', '9:30'], [0.0, 1.0, 2.0])
>>> from llmsim.config.start_time import parse_start
>>> TimeAxis(7 * 86400, parse_start("Mon 00:00")).clock_labels([3 * 86400 + 9 * 3600])
['Thu 09:00']
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import altair as alt
import pandas as pd

from llmsim.config.start_time import StartTime

__all__ = ["TimeAxis"]

_STEPS_H = tuple(x / 3600 for x in (1, 5, 10, 15, 30, 60, 120, 300, 600)) + (0.25, 0.5, 1, 2, 3, 6, 12, 24, 48)


class TimeAxis:
    """``div`` (seconds per axis unit: 60 up to 2 h, 3600 beyond), ``domain``, labels and day lines."""

    def __init__(self, horizon: float, start: StartTime | None, end: float | None = None):
        self.horizon = float(horizon)
        self.start = start
        self.div = 60.0 if horizon <= 2 * 3600 else 3600.0
        self.domain = [0.0, round(max(self.horizon, end or 0.0) / self.div, 6)]
        self.multi_day = horizon > 86400
        self.short = horizon <= 600  # ten minutes or less: labels in seconds (m:ss, 09:00:30)
        if start is None:
            self.title = "time since start (" + ("m:ss" if self.short else "h:mm") + ")"
        else:
            self.title = "clock time" + (" (day and time)" if self.multi_day else "")

    # -- labels ----------------------------------------------------------------------------------------
    def _fmt(self) -> str:
        return "%a %H:%M" if self.multi_day else "%H:%M:%S" if self.short else "%H:%M"

    def label_expr(self) -> str:
        """A Vega expression turning an axis value (``datum.value``) into its label."""
        seconds = f"round(datum.value * {self.div:g} * 1000) / 1000"
        if self.start is None and self.short:
            return f"floor(({seconds}) / 60) + ':' + pad('' + floor(({seconds}) % 60), 2, '0', 'left')"
        if self.start is None:
            return (f"floor(({seconds}) / 3600) + ':' + "
                    f"pad('' + floor((({seconds}) % 3600) / 60), 2, '0', 'left')")
        return f"utcFormat(round({self.start.epoch_ms(0):.1f} + datum.value * {self.div * 1000:g}), '{self._fmt()}')"

    def clock_labels(self, seconds: Iterable[float]) -> list[str]:
        """Tooltip text for simulated seconds: 'Tue 09:00' / '09:00', or elapsed 'h:mm'."""
        out = []
        for s in seconds:
            s = float(s)
            if s != s:
                out.append("-")
            elif self.start is not None:
                out.append(self.start.at(s).strftime(self._fmt()))
            elif self.short:
                out.append(f"{int(s // 60)}:{int(s % 60):02d}")
            else:
                total = int(round(s / 60.0))
                out.append(f"{total // 60}:{total % 60:02d}")
        return out

    def with_clock(self, df: pd.DataFrame, seconds_column: str | None = None) -> pd.DataFrame:
        """``df`` with a ``clock`` column (tooltip text) from its ``time`` column (axis units) or a column of
        seconds."""
        secs = df[seconds_column] if seconds_column else df["time"] * self.div
        return df.assign(clock=self.clock_labels(secs))

    def tooltip(self, title: str = "time") -> alt.Tooltip:
        return alt.Tooltip("clock:N", title=title)

    # -- ticks and day lines ---------------------------------------------------------------------------
    def tick_values(self, max_ticks: int = 12) -> list[float]:
        """Ticks on round clock instants (whole hours, midnights for multi-day runs; seconds for short runs),
        at most about ``max_ticks``."""
        span_h = (self.domain[1] * self.div) / 3600.0
        step_h = next((s for s in _STEPS_H if span_h / s <= max_ticks), 24 * math.ceil(span_h / 24 / max_ticks))
        step = step_h * 3600.0
        first = 0.0 if self.start is None else (-self.start.seconds) % step
        ticks, t = [], first
        while t <= self.domain[1] * self.div + 1e-9:
            ticks.append(round(t / self.div, 9))
            t += step
        return ticks

    def day_starts(self) -> list[float]:
        """Axis positions of each midnight inside the run (every 24 h when unlabelled); [] for a day or less."""
        if not self.multi_day:
            return []
        first = (-self.start.seconds) % 86400.0 if self.start is not None else 86400.0
        out, t = [], first
        while t < self.domain[1] * self.div:
            if t > 0:
                out.append(t / self.div)
            t += 86400.0
        return out

    def x(self, field: str = "time", title: bool = True) -> alt.X:
        """The x encoding every time chart of a run shares."""
        return alt.X(f"{field}:Q", title=self.title if title else None,
                     scale=alt.Scale(domain=self.domain, nice=False),
                     axis=alt.Axis(labelExpr=self.label_expr(), values=self.tick_values(), labelOverlap=True))

    def day_lines(self) -> alt.Chart | None:
        """Dashed rules at each day boundary (None when the run is a day or shorter)."""
        days = self.day_starts()
        if not days:
            return None
        df = self.with_clock(pd.DataFrame({"time": days}))
        return alt.Chart(df).mark_rule(color="#888", strokeDash=[2, 4], strokeWidth=1).encode(
            x=self.x(), tooltip=[self.tooltip("day starts")])
