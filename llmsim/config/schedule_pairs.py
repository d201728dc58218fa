"""Piecewise-constant schedules written as [[start, value], ...] pairs in scenario files.

>>> rate_schedule(None, [(0.0, 4.0), (1800.0, 12.0)]).at(1900.0)
12.0
>>> rate_schedule(3.0, None).at(1e6)
3.0
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from llmsim.config.base import Config
from llmsim.core.schedule import Schedule

__all__ = ["check_increasing", "schedule_from_pairs", "rate_schedule", "RateOrSchedule"]


def check_increasing(pairs) -> None:
    """Raise ValueError unless schedule times strictly increase."""
    for i in range(1, len(pairs)):
        if pairs[i][0] <= pairs[i - 1][0]:
            raise ValueError(
                f"schedule times must increase: entry {i} at {pairs[i][0]:g}s is not after "
                f"entry {i - 1} at {pairs[i - 1][0]:g}s"
            )


def schedule_from_pairs(pairs) -> Schedule:
    """A Schedule from validated [time, value] pairs."""
    return Schedule(tuple(float(t) for t, _ in pairs), tuple(float(v) for _, v in pairs))


def rate_schedule(rate, schedule) -> Schedule:
    """A constant ``rate`` or the piecewise ``schedule`` (exactly one is given)."""
    return Schedule.constant(rate) if rate is not None else schedule_from_pairs(schedule)


class RateOrSchedule(Config):
    """Base of the configs that take a constant ``rate`` or a ``schedule`` of [start, rate] pairs (or
    another alternative named in ``choices``): exactly one is given, and a schedule's times increase."""

    choices: ClassVar[tuple[str, ...]] = ("rate", "schedule")

    @model_validator(mode="after")
    def _exactly_one(self):
        if sum(getattr(self, name) is not None for name in self.choices) != 1:
            names = [f"'{name}'" for name in self.choices]
            raise ValueError(f"give exactly one of {', '.join(names[:-1])} or {names[-1]}")
        if getattr(self, "schedule", None) is not None:
            check_increasing(self.schedule)
        return self

    def rate_schedule(self) -> Schedule:
        return rate_schedule(self.rate, self.schedule)
