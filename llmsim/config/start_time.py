"""When a scenario's clock starts: a date and time (``"2026-11-24T00:00"``) or a weekday and a time
(``"Tue 09:00"``), so charts can read 09:00 or Tue 09:00 instead of hours since start.

>>> s = parse_start("Tue 09:00")
>>> s.weekday, s.seconds, s.date
(1, 32400.0, None)
>>> parse_start("2026-11-24T08:30").label(3600)
'Tue 09:30'
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from llmsim.core.errors import InputError

__all__ = ["StartTime", "parse_start", "WEEKDAYS"]

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
#: A Monday: weekday-only starts are drawn on the week of this date (only weekday and time are shown).
_REFERENCE_MONDAY = dt.datetime(2024, 1, 1)
_WEEKDAY = re.compile(r"^\s*([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class StartTime:
    """The wall-clock time of simulated second 0: ``date`` (a datetime) when the scenario names one, else
    a ``weekday`` (0 = Monday) and ``seconds`` after midnight."""

    weekday: int
    seconds: float
    date: dt.datetime | None = None

    def at(self, t: float) -> dt.datetime:
        """The wall-clock datetime of simulated second ``t`` (weekday-only starts use a reference week)."""
        origin = self.date or (_REFERENCE_MONDAY + dt.timedelta(days=self.weekday, seconds=self.seconds))
        return origin + dt.timedelta(seconds=float(t))

    def epoch_ms(self, t: float) -> float:
        """``at(t)`` as milliseconds since 1970 (UTC), what a Vega time axis reads."""
        return (self.at(t) - dt.datetime(1970, 1, 1)).total_seconds() * 1000.0

    def label(self, t: float) -> str:
        """'Tue 09:30'."""
        return self.at(t).strftime("%a %H:%M")


def parse_start(text: str | None, where: str = "start") -> StartTime | None:
    """A StartTime from ``YYYY-MM-DDTHH:MM`` (seconds optional) or ``Tue 09:00``; None for None."""
    if text is None:
        return None
    s = str(text).strip()
    m = _WEEKDAY.match(s)
    if m:
        day = m.group(1).capitalize()
        if day not in WEEKDAYS:
            raise InputError(where, f"unknown weekday {m.group(1)!r} (use Mon, Tue, ... Sun)")
        hour, minute = int(m.group(2)), int(m.group(3))
        if hour > 23 or minute > 59:
            raise InputError(where, f"no such time of day {m.group(2)}:{m.group(3)}")
        return StartTime(WEEKDAYS.index(day), hour * 3600.0 + minute * 60.0)
    try:
        when = dt.datetime.fromisoformat(s)
    except ValueError:
        raise InputError(where, f"cannot read {s!r}: use a date and time (2026-11-24T09:00) "
                                "or a weekday and time (Tue 09:00)") from None
    when = when.replace(tzinfo=None)
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return StartTime(when.weekday(), (when - midnight).total_seconds(), when)
