"""Workload configs: who sends what, when.

>>> Workload.model_validate({"arrivals": {"rate": "12/s"}}).arrivals.rate_schedule().at(0)
12.0
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, model_validator

from llmsim.config.base import Config, Duration, Rate
from llmsim.config.distribution_specs import TokenDistribution
from llmsim.config.schedule_pairs import RateOrSchedule
from llmsim.config.sessions import SessionGroup

__all__ = ["Arrivals", "TraceReplay", "Workload"]


class Arrivals(RateOrSchedule):
    """Poisson arrivals at a constant ``rate`` or a piecewise-constant ``schedule`` of [start, rate] pairs."""

    kind: Literal["poisson"] = "poisson"
    rate: Optional[Rate] = None
    schedule: Optional[Annotated[list[tuple[Duration, Rate]], Field(min_length=1)]] = None


class ReplayOptions(Config):
    """How to turn a trace into arrivals: ``window`` is [start, end) seconds after the trace's first
    arrival; ``time_scale`` multiplies time offsets; ``rate_multiplier`` thins (< 1) or superposes
    copies shifted by ``copy_shift`` (> 1); ``loop`` repeats the window until the horizon;
    ``first_attempts`` replays only the first attempt of each recorded logical request.

    >>> ReplayOptions(window=(1.0, 10.0)).rate_multiplier
    1.0
    """

    window: Optional[tuple[Duration, Duration]] = None
    time_scale: Annotated[float, Field(gt=0)] = 1.0
    rate_multiplier: Annotated[float, Field(gt=0)] = 1.0
    copy_shift: Duration = 60.0
    loop: bool = False
    first_attempts: bool = True

    @model_validator(mode="after")
    def _window(self):
        if self.window is not None and self.window[0] < 0:
            raise ValueError(f"window start must be >= 0, got {self.window[0]:g}s")
        if self.window is not None and self.window[1] <= self.window[0]:
            raise ValueError(f"window end ({self.window[1]:g}s) must be after its start ({self.window[0]:g}s)")
        return self


class TraceReplay(ReplayOptions):
    """Replay a recorded trace instead of Poisson arrivals (see llmsim.traces.replay and docs/traces.md):
    the trace file (``path``, relative to the working directory; ``format``, ``mapping`` and
    ``time_unit`` as for llmsim.load_trace) and the ReplayOptions."""

    path: Annotated[str, Field(min_length=1)]
    format: Optional[str] = None
    mapping: Optional[dict[str, str]] = None
    time_unit: Optional[Literal["s", "ms", "us", "ns", "datetime"]] = None

    def options(self) -> ReplayOptions:
        """The replay options alone (without the file)."""
        return ReplayOptions(**{k: getattr(self, k) for k in ReplayOptions.model_fields})


class Workload(Config):
    """Open-loop requests: arrival process (Poisson ``arrivals`` or a replayed ``trace``), prompt and
    answer sizes (ignored when a trace gives them), and the max_tokens sent; plus closed-loop
    ``sessions`` (chains of calls, agents; see llmsim.config.sessions), alone or beside them."""

    arrivals: Optional[Arrivals] = None
    trace: Optional[TraceReplay] = None
    input_tokens: TokenDistribution = Field(default_factory=lambda: {"dist": "fixed", "value": 1000})
    output_tokens: TokenDistribution = Field(default_factory=lambda: {"dist": "fixed", "value": 300})
    max_tokens: Annotated[int, Field(ge=1)] = 4096
    cached_input_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    sessions: list[SessionGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _source(self):
        if self.sessions and self.arrivals is None and self.trace is None:  # sessions only
            return self
        if (self.arrivals is None) == (self.trace is None):
            raise ValueError("give exactly one of 'arrivals' (Poisson) or 'trace' (replay a recorded trace)")
        return self

