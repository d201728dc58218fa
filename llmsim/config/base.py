"""Shared pieces of the scenario models: a strict base class and unit-aware field types."""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from llmsim.core.units import UnitError, parse_duration, parse_rate

__all__ = ["Config", "Duration", "Rate", "Quantity"]


class Config(BaseModel):
    """Frozen, strict base: unknown keys are errors with a did-you-mean hint."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(cls.model_fields)
            for key in data:
                if key not in known:
                    close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
                    hint = (f" (did you mean '{close[0]}'?)" if close
                            else f" (known keys: {', '.join(sorted(known))})")
                    raise PydanticCustomError("unknown_key", "unknown key '{key}'{hint}",
                                              {"key": str(key), "hint": hint})
        return data


def _duration(value: Any) -> float:
    try:
        return parse_duration(value)
    except UnitError as exc:
        raise PydanticCustomError("duration", str(exc)) from None


def _rate(value: Any) -> float:
    try:
        return parse_rate(value)
    except UnitError as exc:
        raise PydanticCustomError("rate", str(exc)) from None


_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*([0-9]*\.?[0-9]+\s*(us|ms|s|sec|m|min|h|d|w)\s*)+$"},
    ],
    "description": "seconds, or a string such as 250ms, 30s, 5m, 2h, 1d, 1h30m",
}
_RATE_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9]*\.?[0-9]+(e[-+]?[0-9]+)?\s*(/\s*(s|sec|min|m|h|hour|d|day))?\s*$"},
    ],
    "description": "per second, or a string such as 12/s, 700/min, 40000/h",
}

#: Seconds; accepts "250ms", "30s", "5m", "2h", "1d", "1h30m" or a plain number of seconds.
Duration = Annotated[float, BeforeValidator(_duration), WithJsonSchema(_DURATION_SCHEMA)]
#: Events per second; accepts "12/s", "700/min", "40000/h" or a plain number per second.
Rate = Annotated[float, BeforeValidator(_rate), WithJsonSchema(_RATE_SCHEMA)]
#: A non-negative number that may also be written as a duration ("600ms" -> 0.6).
Quantity = Duration
