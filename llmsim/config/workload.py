"""Workload configs: who sends what, when.

>>> Workload.model_validate({"arrivals": {"rate": "12/s"}}).arrivals.rate_schedule().at(0)
12.0
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, model_validator

from ..schedule import Schedule
from .base import Config, Duration, Rate
from .distributions import DistributionOrDuration

__all__ = ["Arrivals", "Workload", "schedule_from_pairs"]


def schedule_from_pairs(pairs) -> Schedule:
    """A Schedule from validated [time, value] pairs."""
    times = tuple(float(t) for t, _ in pairs)
    values = tuple(float(v) for _, v in pairs)
    return Schedule(times, values)


def check_increasing(pairs) -> None:
    """Raise ValueError unless schedule times strictly increase."""
    for i in range(1, len(pairs)):
        if pairs[i][0] <= pairs[i - 1][0]:
            raise ValueError(
                f"schedule times must increase: entry {i} at {pairs[i][0]:g}s is not after "
                f"entry {i - 1} at {pairs[i - 1][0]:g}s"
            )


class Arrivals(Config):
    """Poisson arrivals at a constant ``rate`` or a piecewise-constant ``schedule`` of [start, rate] pairs."""

    kind: Literal["poisson"] = "poisson"
    rate: Optional[Rate] = None
    schedule: Optional[Annotated[list[tuple[Duration, Rate]], Field(min_length=1)]] = None

    @model_validator(mode="after")
    def _one_of(self):
        if (self.rate is None) == (self.schedule is None):
            raise ValueError("give exactly one of 'rate' or 'schedule'")
        if self.schedule is not None:
            check_increasing(self.schedule)
        return self

    def rate_schedule(self) -> Schedule:
        if self.rate is not None:
            return Schedule.constant(self.rate)
        return schedule_from_pairs(self.schedule)


class Workload(Config):
    """Open-loop requests: arrival process, prompt and answer sizes, and the max_tokens sent."""

    arrivals: Arrivals
    input_tokens: DistributionOrDuration = Field(default_factory=lambda: {"dist": "fixed", "value": 1000})
    output_tokens: DistributionOrDuration = Field(default_factory=lambda: {"dist": "fixed", "value": 300})
    max_tokens: Annotated[int, Field(ge=1)] = 4096
    cached_input_share: Annotated[float, Field(ge=0, le=1)] = 0.0

