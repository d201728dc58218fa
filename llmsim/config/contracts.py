"""Output contract configs: the provider's output quality over time and the client's validation.

An attempt that returns 200 but whose output breaks the contract has outcome ``invalid``.

>>> q = Quality.model_validate({"invalid_rate": 0.001, "changes": [["3d", 0.08]]})
>>> q.schedule().at(0.0), q.schedule().at(3 * 86400.0)
(0.001, 0.08)
>>> Validation.model_validate({"on_invalid": "retry", "max_attempts": 3}).max_attempts
3
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, field_validator

from llmsim.config.base import Config, Duration
from llmsim.config.schedule_pairs import check_increasing
from llmsim.core.schedule import Schedule

__all__ = ["Quality", "ContractMonitor", "Validation"]

Share = Annotated[float, Field(ge=0, le=1)]


class Quality(Config):
    """Share of successful (200) answers that break the output contract: ``invalid_rate`` from time 0,
    then the rate of each [time, rate] in ``changes`` from that time (e.g. a model update at day 3)."""

    invalid_rate: Share = 0.0
    changes: list[tuple[Duration, Share]] = Field(default_factory=list)

    @field_validator("changes")
    @classmethod
    def _ordered(cls, v):
        check_increasing(v)
        return v

    def schedule(self) -> Schedule:
        pairs = [(0.0, self.invalid_rate)] + [(t, r) for t, r in self.changes if t > 0]
        if self.changes and self.changes[0][0] == 0:
            pairs[0] = (0.0, self.changes[0][1])
        return Schedule(tuple(float(t) for t, _ in pairs), tuple(float(r) for _, r in pairs))

    def onset(self) -> float:
        """The first change point where the rate goes up (nan if none)."""
        prev = self.invalid_rate
        for t, r in self.changes:
            if r > prev:
                return float(t)
            prev = r
        return float("nan")


class ContractMonitor(Config):
    """Fires when, over the last ``window``, at least ``min_outputs`` answers were validated and the
    invalid share reached ``threshold``; recorded ``delay`` later as an event ``contract_alert``."""

    window: Annotated[Duration, Field(gt=0)] = 3600.0
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.02
    delay: Duration = 0.0
    min_outputs: Annotated[int, Field(ge=1)] = 20


class Validation(Config):
    """The client checks every 200 answer against the contract. ``on_invalid``: ``retry`` (same
    provider), ``fallback`` (next provider of the route), or ``accept`` (deliver it, but count it
    for the monitor), while the request has made fewer than ``max_attempts`` attempts; otherwise the
    invalid answer is delivered. ``delay`` is waited before the new attempt."""

    on_invalid: Literal["retry", "fallback", "accept"] = "retry"
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 2
    delay: Duration = 0.0
    monitor: Optional[ContractMonitor] = None
