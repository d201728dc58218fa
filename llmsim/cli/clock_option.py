"""The ``--at`` option of ``run``, ``serve`` and ``trace replay``: a time of the scenario's day.

``--at 08:30`` is 8.5 hours after the scenario's time 0 (its midnight), ``--at '1d 09:00'`` 09:00 of
its second day, ``--at 90m`` a duration (see ``llmsim.core.units.parse_offset``).

>>> clock_offset("08:30"), clock_offset(None)
(30600.0, 0.0)
>>> import llmsim
>>> clock_text(llmsim.load_scenario("tuesday"), 30600.0, 10.0)
'clock starts at Tue 08:30, 10x wall time'
"""

from __future__ import annotations

from typing import Optional

from llmsim.core.errors import InputError
from llmsim.core.units import UnitError, format_duration, parse_offset

__all__ = ["clock_offset", "clock_text", "AT_HELP"]

AT_HELP = "a clock time (08:30, '1d 09:00' for the second day) or a duration after the scenario's start"


def clock_offset(at: Optional[str], option: str = "--at") -> float:
    """Seconds after the scenario's start from ``--at`` (a clock time or a duration); 0 when not given."""
    if at is None:
        return 0.0
    try:
        return parse_offset(at)
    except UnitError as exc:
        raise InputError(option, str(exc)) from None


def clock_label(scenario, t: float) -> str:
    """The scenario's time ``t`` as its clock reads it ('Tue 08:30'), or as time since its start ('8h30m')."""
    start = scenario.start_time()
    return start.label(t) if start is not None else f"{format_duration(t) if t else '0s'} after the start"


def clock_text(scenario, at: float, speed: float) -> str:
    """'clock starts at Tue 08:30, 10x wall time' (what ``llmsim serve`` says when it is ready)."""
    pace = "real time" if speed == 1 else f"{speed:g}x wall time"
    return f"clock starts at {clock_label(scenario, at)}, {pace}"
