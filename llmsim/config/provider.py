"""Provider configs: capacity, contention, queue, rate limits, latency, errors, incidents, pricing.

>>> p = Provider.model_validate({"name": "primary", "capacity": {"slots": 8}})
>>> p.capacity.contention_schedule().at(0.0), p.queue.status
(0.0, 529)
>>> Provider.model_validate({"preset": "openai/gpt-4o", "tier": 4, "name": "main"}).rate_limits.tpm
2000000.0
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from llmsim.config.base import Config, Duration
from llmsim.config.contracts import Quality
from llmsim.config.distribution_specs import Distribution, DurationDistribution
from llmsim.config.incident_model import IncidentModelConfig
from llmsim.config.provider_catalogue import expand_provider
from llmsim.config.schedule_pairs import check_increasing, schedule_from_pairs
from llmsim.config.service_tiers import Acceleration, ServiceClasses
from llmsim.core.schedule import Schedule

__all__ = ["DEFAULT_REFUSAL", "Capacity", "Queue", "RateLimits", "Latency", "Errors", "Incident", "Pricing",
           "Provisioned", "Provider"]

Share = Annotated[float, Field(ge=0, le=1)]


class Capacity(Config):
    """``slots`` concurrent generations at full capacity; ``contention`` = share other tenants hold."""

    slots: Annotated[int, Field(ge=1)]
    contention: Union[Share, Annotated[list[tuple[Duration, Share]], Field(min_length=1)]] = 0.0

    @field_validator("contention")
    @classmethod
    def _ordered(cls, v):
        if isinstance(v, list):
            check_increasing(v)
        return v

    def contention_schedule(self) -> Schedule:
        if isinstance(self.contention, list):
            return schedule_from_pairs(self.contention)
        return Schedule.constant(self.contention)


class Queue(Config):
    """Waiting room in front of the slots; full or waited past ``timeout`` -> overloaded."""

    limit: Optional[Annotated[int, Field(ge=0)]] = None
    timeout: Optional[Duration] = None
    status: Literal[529, 503] = 529


class RateLimits(Config):
    """Per-minute quotas enforced as continuously refilled token buckets (-> 429 + retry_after).

    Bucket capacity is ``limit * window / 60s`` (window 60s: the per-minute limit itself)."""

    rpm: Optional[Annotated[float, Field(gt=0)]] = None
    tpm: Optional[Annotated[float, Field(gt=0)]] = None
    itpm: Optional[Annotated[float, Field(gt=0)]] = None
    otpm: Optional[Annotated[float, Field(gt=0)]] = None
    # what output costs at admission: the max_tokens reservation, the reservation corrected to the tokens
    # generated when the attempt is billed ("reserve"), or the answer's actual tokens
    admission: Literal["max_tokens", "actual", "reserve"] = "max_tokens"
    count_refused: bool = False
    window: Annotated[Duration, Field(gt=0)] = 60.0
    # opt-in limit semantics (docs/providers.md): cache reads charged to ITPM (older Anthropic models),
    # and output tokens charged this many times over to TPM/OTPM (Bedrock, Claude 4 family: 5)
    itpm_counts_cache_reads: bool = False
    output_burn: Annotated[float, Field(ge=1)] = 1.0
    # opt-in: how fast the admitted tokens per minute may grow (llmsim.config.service_tiers.Acceleration)
    acceleration: Optional[Acceleration] = None


#: How long a refusal takes to reach the client: one network round trip on a kept-alive HTTPS
#: connection plus the gateway's work. Median 60 ms: same-continent round trips measured between
#: cities are 20-80 ms (WonderProxy's ping table, Reinheimer 2011; Martinez et al., "Round Trip Time
#: (RTT) Delay in the Internet", arXiv:2301.07788), plus a few ms of gateway work (assumed: no
#: provider publishes it). p95 200 ms: a transcontinental round trip (100-175 ms in the same table)
#: plus queueing in the path. See docs/model.md section 3.
DEFAULT_REFUSAL = {"dist": "lognormal", "median": 0.06, "p95": 0.2}


class Latency(Config):
    """Time to first token plus output_tokens / speed, where speed drops with load.

    speed = tokens_per_s / (1 + (load_slowdown - 1) * busy / effective_slots), busy counted at start.
    Or ``service``: a total service time that ignores tokens (queueing-theory checks).

    ``refusal``: time from sending to receiving an answer refused without service (a 429, a 400 for
    the context window); default lognormal, median 60 ms, p95 200 ms (``DEFAULT_REFUSAL``; ``0``:
    answered at the instant it is sent). ``error``: the same for a 529/503 overload answer (queue
    full or queue timeout); ``None`` (default): the ``refusal`` distribution.

    >>> Latency().refusal.median, Latency.model_validate({"refusal": 0}).refusal.value, Latency().error
    (0.06, 0.0, None)
    """

    ttft: DurationDistribution = Field(default_factory=lambda: {"dist": "fixed", "value": 0.5})
    tokens_per_s: Annotated[float, Field(gt=0)] = 80.0
    load_slowdown: Annotated[float, Field(ge=1)] = 1.0
    service: Optional[Distribution] = None
    refusal: DurationDistribution = Field(default_factory=lambda: dict(DEFAULT_REFUSAL))
    error: Optional[DurationDistribution] = None

    @field_validator("refusal", "error")
    @classmethod
    def _not_negative(cls, v):
        if v is not None and min(getattr(v, "values", None) or [getattr(v, "value", 0.0)]) < 0:
            raise ValueError("an answer time cannot be negative")
        return v


class Errors(Config):
    """Baseline failures: an attempt fails at its first token with ``status``; a ``mid_stream_share`` of them
    instead come inside the stream after a 200, at a uniform point of the answer, billed for the output
    tokens sent before the error (Anthropic's ``error`` events in an SSE stream)."""

    server_error_rate: Share = 0.0
    status: Annotated[int, Field(ge=500, le=599)] = 500
    mid_stream_share: Share = 0.0


class Incident(Config):
    """A window [start, start + duration) that changes the provider's behaviour."""

    name: str = "incident"
    start: Duration
    duration: Annotated[Duration, Field(gt=0)]
    server_error_rate: Optional[Share] = None
    capacity: Optional[Annotated[float, Field(ge=0, le=1)]] = None
    extra_latency: Optional[Duration] = None
    slowdown: Optional[Annotated[float, Field(ge=1)]] = None  # service takes this many times longer


class Pricing(Config):
    """USD per million tokens; cached input defaults to the input price. ``discount``: share taken off
    every price (batch or flex tiers: 0.5). See docs/agents-and-cost.md for what each outcome bills."""

    input_per_mtok: Annotated[float, Field(ge=0)] = 0.0
    output_per_mtok: Annotated[float, Field(ge=0)] = 0.0
    cached_input_per_mtok: Optional[Annotated[float, Field(ge=0)]] = None
    discount: Annotated[float, Field(ge=0, le=1)] = 0.0  # batch/flex tier


class Provisioned(Config):
    """Dedicated capacity (Azure PTU, Bedrock reserved, Vertex provisioned throughput) billed by the hour
    whether used or not; the tokens it serves cost nothing more. Either ``usd_per_hour`` for the whole
    reservation (its size: the provider's ``capacity`` and ``rate_limits``), or ``units`` of
    ``usd_per_unit_hour`` each, where each unit brings ``slots_per_unit`` slots and ``tpm_per_unit`` TPM
    (the provider's ``capacity.slots`` and ``rate_limits.tpm`` then follow from ``units``, so a sweep or
    ``tune`` over ``provisioned.units`` resizes and reprices it together).

    >>> Provisioned(usd_per_hour=10).fee(7200.0)
    20.0
    >>> Provisioned(units=3, usd_per_unit_hour=2, slots_per_unit=4).fee(3600.0)
    6.0
    """

    usd_per_hour: Optional[Annotated[float, Field(ge=0)]] = None
    units: Optional[Annotated[int, Field(ge=1)]] = None
    usd_per_unit_hour: Optional[Annotated[float, Field(ge=0)]] = None
    slots_per_unit: Optional[Annotated[int, Field(ge=1)]] = None
    tpm_per_unit: Optional[Annotated[float, Field(gt=0)]] = None

    @model_validator(mode="after")
    def _priced(self):
        if (self.usd_per_hour is None) == (self.units is None or self.usd_per_unit_hour is None):
            raise ValueError("give usd_per_hour, or units and usd_per_unit_hour")
        if self.units is None and (self.slots_per_unit is not None or self.tpm_per_unit is not None):
            raise ValueError("slots_per_unit and tpm_per_unit size the provider by units: give units")
        return self

    def fee(self, seconds: float) -> float:
        """USD billed for ``seconds`` of reservation."""
        rate = self.usd_per_hour if self.usd_per_hour is not None else self.units * self.usd_per_unit_hour
        return rate * seconds / 3600.0


def _sized_by_units(value):
    """Provider data whose ``provisioned`` gives units and per-unit sizes -> the same with ``capacity.slots``
    and ``rate_limits.tpm`` set from them."""
    prov = value.get("provisioned") if isinstance(value, dict) else None
    if not isinstance(prov, dict) or not isinstance(prov.get("units"), int):
        return value
    value = dict(value)
    if isinstance(prov.get("slots_per_unit"), int):
        value["capacity"] = {**(value.get("capacity") or {}), "slots": prov["units"] * prov["slots_per_unit"]}
    if isinstance(prov.get("tpm_per_unit"), (int, float)):
        value["rate_limits"] = {**(value.get("rate_limits") or {}), "tpm": prov["units"] * prov["tpm_per_unit"]}
    return value


class Provider(Config):
    """One provider account (model endpoint) as the client sees it."""

    name: Annotated[str, Field(min_length=1)]
    model: str = ""
    capacity: Capacity
    queue: Queue = Field(default_factory=Queue)
    rate_limits: Optional[RateLimits] = None
    latency: Latency = Field(default_factory=Latency)
    errors: Errors = Field(default_factory=Errors)
    incidents: list[Incident] = Field(default_factory=list)
    incident_model: Optional[IncidentModelConfig] = None  # random incidents drawn per run (llmsim.provider.incidents)
    pricing: Pricing = Field(default_factory=Pricing)
    abort_notice: Union[Duration, Literal["never"]] = 1.0
    context_window: Optional[Annotated[int, Field(ge=1)]] = None  # input + max_tokens above it -> 400
    spend_cap: Optional[Annotated[float, Field(ge=0)]] = None  # USD billed before 429 insufficient_quota
    should_retry: Optional[bool] = None  # the x-should-retry header on errors (None: not sent)
    quality: Optional[Quality] = None  # output contract: invalid answers (200 OK) over time
    provisioned: Optional[Provisioned] = None  # billed per hour, not per token (docs/providers.md)
    # the provider that takes, at once and server-side, what this one would refuse (429 or queue full)
    spill_over: Optional[Annotated[str, Field(min_length=1)]] = None
    # priority / flex / batch beside standard (llmsim.config.service_tiers; docs/providers.md)
    service_classes: Optional[ServiceClasses] = None

    @model_validator(mode="before")
    @classmethod
    def _catalogue_preset(cls, value):
        """``{preset: anthropic/claude-sonnet-4.5, tier: 2, name: primary, ...}``: the catalogue's provider
        data with the other keys merged over it (llmsim.config.provider_catalogue); provisioned units size it."""
        return _sized_by_units(expand_provider(value))

    @model_validator(mode="after")
    def _incidents_ordered(self):
        for i, inc in enumerate(self.incidents):
            if all(getattr(inc, k) is None for k in ("server_error_rate", "capacity", "extra_latency", "slowdown")):
                raise ValueError(f"incidents[{i}] changes nothing: give server_error_rate, capacity, extra_latency "
                                 "or slowdown")
        return self
