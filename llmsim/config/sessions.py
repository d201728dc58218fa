"""Closed-loop workload configs: sessions and agents (chains of calls with think time between them).

A session is a chain of steps; each step is one logical request sent when the previous one ended
plus a think time. Its input is the step's new tokens plus the conversation so far (history),
capped at ``context_limit``. With ``agents`` (two or more), steps alternate between the agents:
each reply triggers the other (agent-to-agent conversations).

>>> g = SessionGroup.model_validate({"name": "chat", "starts": {"rate": "100/h"}, "stop_probability": 0.25})
>>> g.mean_steps()
4.0
>>> SessionGroup.model_validate({"name": "loop", "starts": {"at": ["3d"]}, "runaway": 1}).starts.at
[259200.0]
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Optional

from pydantic import Field, model_validator

from llmsim.config.base import Config, Duration, Rate
from llmsim.config.distribution_specs import Distribution, DurationDistribution, TokenDistribution
from llmsim.config.schedule_pairs import RateOrSchedule

__all__ = ["SessionStarts", "Agent", "SessionGroup"]

Share = Annotated[float, Field(ge=0, le=1)]


class SessionStarts(RateOrSchedule):
    """When sessions start: Poisson at a ``rate`` or a ``schedule`` of [start, rate] pairs, or at the
    listed times ``at`` (scheduled starts, e.g. ``[3d]`` for one session on day 3)."""

    choices: ClassVar[tuple[str, ...]] = ("rate", "schedule", "at")
    rate: Optional[Rate] = None
    schedule: Optional[Annotated[list[tuple[Duration, Rate]], Field(min_length=1)]] = None
    at: Optional[Annotated[list[Duration], Field(min_length=1)]] = None


class Agent(Config):
    """One participant of an agent-to-agent conversation: its new tokens per step and its answers."""

    name: str = "agent"
    input_tokens: TokenDistribution = Field(default_factory=lambda: {"dist": "fixed", "value": 1000})
    output_tokens: TokenDistribution = Field(default_factory=lambda: {"dist": "fixed", "value": 300})


class SessionGroup(Config):
    """A family of sessions with the same shape.

    Length: ``steps`` (a distribution of the number of steps, rounded, at least 1) or
    ``stop_probability`` p (after each step the session stops with probability p: geometric length,
    mean 1/p). ``runaway``: probability that a session never stops by itself (it runs until the
    horizon, a guard, or a failure with ``on_failure: stop``). Step j's input tokens are
    ``new_j + history_j`` capped at ``context_limit``, where history_j is the sum of the new and
    output tokens of the earlier steps (0 with ``history: false``); ``history_cached_share`` of the
    history is billed at the cached-input price."""

    name: Annotated[str, Field(min_length=1)]
    starts: SessionStarts
    steps: Optional[Distribution] = None
    stop_probability: Optional[Annotated[float, Field(gt=0, le=1)]] = None
    runaway: Share = 0.0
    think_time: DurationDistribution = Field(default_factory=lambda: {"dist": "fixed", "value": 5.0})
    input_tokens: TokenDistribution = Field(default_factory=lambda: {"dist": "fixed", "value": 1000})
    output_tokens: TokenDistribution = Field(default_factory=lambda: {"dist": "fixed", "value": 300})
    agents: Optional[Annotated[list[Agent], Field(min_length=2)]] = None
    history: bool = True
    context_limit: Optional[Annotated[int, Field(ge=1)]] = None
    history_cached_share: Share = 0.0
    on_failure: Literal["stop", "continue"] = "stop"

    @model_validator(mode="after")
    def _length(self):
        if self.steps is not None and self.stop_probability is not None:
            raise ValueError("give at most one of 'steps' or 'stop_probability'")
        if self.steps is None and self.stop_probability is None and self.runaway < 1:
            raise ValueError("give 'steps' or 'stop_probability' (or runaway: 1 for sessions that never stop)")
        return self

    def participants(self) -> list[Agent]:
        """The agents taking turns (one agent built from the group's token sizes when ``agents`` is absent)."""
        if self.agents is not None:
            return list(self.agents)
        return [Agent(name=self.name, input_tokens=self.input_tokens, output_tokens=self.output_tokens)]

    def mean_steps(self) -> float:
        """Expected steps of a session that is not runaway (before any guard)."""
        if self.stop_probability is not None:
            return 1.0 / self.stop_probability
        if self.steps is None:
            return float("inf")
        return max(1.0, self.steps.build().mean)
