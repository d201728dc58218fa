"""Service classes within one provider (``priority``, ``standard``, ``flex``, ``batch``) and the client's
choice of class per request. Pure data; the behaviour is in llmsim.provider.tiers and
llmsim.engine.tiered_station. Sources of the defaults: docs/providers.md, "Service classes".

>>> sc = ServiceClasses.model_validate({"priority": {}, "flex": {}})
>>> sc.priority.price_factor, sc.priority.ramp.min_tpm, sc.flex.price_factor, sc.flex.queue_limit
(2.0, 1000000.0, 0.5, 0)
>>> ClassChoice.model_validate({"shares": {"flex": 0.3}, "groups": {"chat": "priority"}}).default
'standard'
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import Field, model_validator

from llmsim.config.base import Config, Duration
from llmsim.config.distribution_specs import DurationDistribution

__all__ = ["CLASS_NAMES", "ClassName", "Ramp", "Acceleration", "PriorityClass", "FlexClass", "BatchClass",
           "ServiceClasses", "ClassChoice"]

#: the classes, in the order the provider serves its queue (batch runs on its own deferred capacity)
CLASS_NAMES = ("priority", "standard", "flex", "batch")
ClassName = Literal["priority", "standard", "flex", "batch"]
Factor = Annotated[float, Field(ge=0)]
Speed = Annotated[float, Field(gt=0)]


class Ramp(Config):
    """A ramp-rate rule: above ``min_tpm``, the tokens per minute may not exceed ``1 + max_increase`` times
    the lowest whole minute of the last ``window`` (OpenAI priority processing: at 1M TPM or more, an
    increase of more than 50 % within 15 minutes).

    >>> Ramp().window, Ramp(min_tpm=0, max_increase=1).max_increase
    (900.0, 1.0)
    """

    min_tpm: Annotated[float, Field(ge=0)] = 1_000_000.0
    max_increase: Annotated[float, Field(ge=0)] = 0.5
    window: Annotated[Duration, Field(ge=60)] = 900.0


class Acceleration(Ramp):
    """An acceleration limit on a provider's rate limits: tokens admitted beyond the ramp rule are refused
    with ``status`` (429: Anthropic's acceleration limits, ``rate_limited``; 503: OpenAI's "Slow Down",
    ``overloaded``) and a Retry-After to the next whole minute. Opt-in; the defaults are OpenAI's published
    priority ramp rule (no provider publishes figures for standard traffic).

    >>> Acceleration(status=503).min_tpm
    1000000.0
    """

    status: Literal[429, 503] = 429


class PriorityClass(Config):
    """Served ahead of every other class, at its speed target whatever the load; every price times
    ``price_factor`` (OpenAI gpt-5 family: 2.0, gpt-4.1: 1.75). ``min_tokens_per_s``: the speed target
    (OpenAI: 50 tok/s for gpt-5, 80 for gpt-4.1); ``speed_factor``: faster than standard (Bedrock: up to
    1.25). ``ramp``: past it a request is downgraded: served and billed as standard, marked in the
    attempts table (``downgraded``); ``null``: no ramp rule."""

    price_factor: Factor = 2.0
    min_tokens_per_s: Optional[Speed] = None
    speed_factor: Speed = 1.0
    ramp: Optional[Ramp] = Field(default_factory=Ramp)


class FlexClass(Config):
    """Cheaper (every price times ``price_factor``; OpenAI and Bedrock: half price), served after every
    other class and refused first: when no slot is free and ``queue_limit`` flex requests already wait, it
    is refused at once with ``status`` (OpenAI: 429 "Resource Unavailable", not billed; recorded as
    ``overloaded``: shared capacity, not your quota). A refused flex attempt is not charged to the rate
    limits (an assumption: the capacity check comes first). ``speed_factor``: its speed relative to
    standard (OpenAI says "slower"; no figure is published)."""

    price_factor: Factor = 0.5
    speed_factor: Speed = 1.0
    queue_limit: Annotated[int, Field(ge=0)] = 0
    status: Literal[429, 503, 529] = 429


class BatchClass(Config):
    """Deferred capacity with its own latency: a batch request waits for one of ``slots`` (None: no
    limit), is done ``turnaround`` later (a distribution: no provider publishes one), and expires unbilled
    (``overloaded``, status 503) if it would finish after ``window`` (OpenAI and Bedrock: 24 h). Half
    price by default. Batch requests skip the provider's rate limits (batch queues have their own)."""

    price_factor: Factor = 0.5
    turnaround: DurationDistribution
    window: Annotated[Duration, Field(gt=0)] = 86400.0
    slots: Optional[Annotated[int, Field(ge=1)]] = None


class ServiceClasses(Config):
    """The classes a provider offers besides ``standard`` (always offered). A request for a class the
    provider does not offer is served as standard."""

    priority: Optional[PriorityClass] = None
    flex: Optional[FlexClass] = None
    batch: Optional[BatchClass] = None

    @model_validator(mode="after")
    def _some(self):
        if self.priority is None and self.flex is None and self.batch is None:
            raise ValueError("service_classes offers nothing: give priority, flex or batch")
        return self


class ClassChoice(Config):
    """How the client picks each request's class: by session ``groups`` (group name -> class; ``open``
    names the open-loop arrivals), else by ``shares`` (share of requests sent as each class, drawn per
    request), else ``default``. ``flex_fallback``: after a flex attempt is refused, the request's later
    attempts go as this class (OpenAI's advice: fall back to the default tier; the retry layer must retry
    ``overloaded``)."""

    default: ClassName = "standard"
    shares: dict[ClassName, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    groups: dict[str, ClassName] = Field(default_factory=dict)
    flex_fallback: Optional[ClassName] = None

    @model_validator(mode="after")
    def _consistent(self):
        total = sum(self.shares.values())
        if total > 1 + 1e-9:
            raise ValueError(f"shares add up to {total:g}: they may not exceed 1 (the rest goes as the default)")
        if self.flex_fallback == "flex":
            raise ValueError("flex_fallback cannot be flex itself: give standard, priority or batch")
        return self

    def classes(self) -> set[str]:
        """Every class this choice can send."""
        return {self.default, *self.shares, *self.groups.values(), *([self.flex_fallback] if self.flex_fallback
                                                                      else [])}
