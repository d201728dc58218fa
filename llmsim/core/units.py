"""Parse human units: durations ("250ms", "1h30m", plain seconds) and rates ("12/s", "700/min").

>>> parse_duration("1h30m")
5400.0
>>> parse_rate("700/min")
11.666666666666666
>>> format_duration(5400)
'1h30m'
>>> parse_offset("08:30"), parse_offset("1d 09:00"), parse_offset("90m")
(30600.0, 118800.0, 5400.0)
"""

from __future__ import annotations

import difflib
import math
import re

__all__ = ["parse_duration", "parse_rate", "parse_offset", "format_duration", "UnitError"]


class UnitError(ValueError):
    """A value whose unit is missing, unknown or malformed."""


_DURATION_UNITS = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_RATE_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hour": 3600.0, "d": 86400.0, "day": 86400.0}
_PART = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*")


#: spelled-out units people write -> the unit to suggest
_WORDS = {"hour": "h", "hours": "h", "hr": "h", "hrs": "h", "minute": "m", "minutes": "m", "mins": "min",
          "second": "s", "seconds": "s", "secs": "sec", "day": "d", "days": "d", "week": "w", "weeks": "w",
          "millisecond": "ms", "milliseconds": "ms", "msec": "ms"}


def _suggest(unit: str, known) -> str:
    word = _WORDS.get(unit.lower())
    if word in known:
        return f" (did you mean '{word}'?)"
    close = difflib.get_close_matches(unit, list(known), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def parse_duration(value) -> float:
    """Seconds from a number or a string such as "250ms", "30s", "5m", "2h", "1d", "1h30m".

    Raises UnitError for an unknown unit, a malformed string or a negative or non-finite value.
    """
    return _parse(value, "duration", "'30s' or a number of seconds", _duration_text)


_CLOCK = re.compile(r"^\s*(?:(\d+)d\s*)?(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?\s*$")


def parse_offset(value) -> float:
    """Seconds after a scenario's start from a clock time ("08:30", "08:30:15", "1d 09:00": day 1, that
    is the second day) or a duration ("90m", plain seconds).

    A scenario's time 0 is midnight of its first day, so "08:30" is 8.5 hours in.
    """
    text = str(value)
    m = _CLOCK.match(text)
    if not m:
        return parse_duration(value)
    days, hours, minutes, seconds = m.groups()
    if int(hours) > 23 or int(minutes) > 59 or float(seconds or 0) >= 60:
        raise UnitError(f"not a clock time: {text!r} (expected HH:MM or HH:MM:SS, e.g. '08:30')")
    return int(days or 0) * 86400.0 + int(hours) * 3600.0 + int(minutes) * 60.0 + float(seconds or 0)


def parse_rate(value) -> float:
    """Events per second from a number (per second) or "12/s", "700/min", "40000/h", "1e6/d".

    A negative or non-finite rate raises UnitError.
    """
    return _parse(value, "rate", "'12/s'", _rate_text)


def _parse(value, what: str, example: str, from_text) -> float:
    """A number as it is, a string through ``from_text``; either must be finite and >= 0."""
    if isinstance(value, bool):
        raise UnitError(f"expected a {what}, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        number = from_text(value)
    else:
        raise UnitError(f"expected a {what} such as {example}, got {value!r}")
    if not math.isfinite(number) or number < 0:
        raise UnitError(f"{what} must be finite and >= 0, got {value!r}")
    return number


def _duration_text(value: str) -> float:
    """Seconds of "1h30m": the sum of its number-unit parts (a lone number is seconds)."""
    text = value.strip()
    if not text:
        raise UnitError("empty duration")
    if text.startswith("-"):
        raise UnitError(f"duration must be >= 0, got {value!r}")
    seconds = 0.0
    pos = 0
    while pos < len(text):
        m = _PART.match(text, pos)
        if not m or m.end() == pos:
            raise UnitError(f"cannot read duration {value!r} (use e.g. 250ms, 30s, 5m, 2h, 1d, 1h30m)")
        seconds += float(m.group(1)) * _duration_factor(m, text, value)
        pos = m.end()
    return seconds


def _duration_factor(part: re.Match, text: str, value: str) -> float:
    """Seconds per unit of one part of a duration; no unit is allowed only for a lone number."""
    unit = part.group(2).lower()
    if unit == "":
        if part.start() != 0 or part.end() != len(text):
            raise UnitError(f"missing unit in duration {value!r}")
        return 1.0
    if unit not in _DURATION_UNITS:
        raise UnitError(f"unknown duration unit '{unit}' in {value!r}{_suggest(unit, _DURATION_UNITS)}")
    return _DURATION_UNITS[unit]


def _rate_text(value: str) -> float:
    """Events per second of "700/min" (a lone number is per second)."""
    text = value.strip().replace(" ", "")
    number, unit = text.split("/", 1) if "/" in text else (text, "s")
    unit = unit.lower()
    if unit not in _RATE_UNITS:
        raise UnitError(f"unknown rate unit '/{unit}' in {value!r}{_suggest(unit, _RATE_UNITS)}")
    try:
        return float(number) / _RATE_UNITS[unit]
    except ValueError:
        raise UnitError(f"cannot read rate {value!r} (use e.g. 12/s, 700/min, 40000/h)") from None


def format_duration(seconds: float) -> str:
    """A compact human string: 0.25 -> '250ms', 5400 -> '1h30m', 90061 -> '1d1h1m1s'."""
    if seconds is None or not math.isfinite(seconds):
        return str(seconds)
    if seconds < 1:
        return f"{seconds * 1000:.4g}ms"
    if seconds < 60:
        return f"{seconds:.4g}s"
    out = []
    rest = seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        n = int(rest // size)
        if n:
            out.append(f"{n}{unit}")
            rest -= n * size
    if rest >= 0.0005:
        out.append(f"{rest:.3g}s")
    return "".join(out)
