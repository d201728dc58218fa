"""Client policy configs: the policy library as pure data.

A client is an ordered stack of layers, outermost first (``layers:``); the flat form (``timeout``,
``retry``, ``route``, ``hedge``, ``limiter``) is shorthand for the common stack
``limiter -> hedge -> retry -> route -> provider``. Circuit breakers are per provider, below routing.

>>> c = Client.model_validate({"retry": {"max_attempts": 3, "retry_after": {"max": "60s"}}})
>>> c.retry.backoff.jitter, c.retry.retry_after.max
('full', 60.0)
>>> [type(layer).__name__ for layer in c.stack()]
['RetryLayer', 'RouteLayer']
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field, model_validator

from llmsim.config.base import Config, Duration
from llmsim.config.contracts import Validation
from llmsim.config.distribution_specs import DurationDistribution
from llmsim.config.guards import SpendGuards
from llmsim.config.service_tiers import ClassChoice
from llmsim.core.outcomes import Outcome

__all__ = [
    "Backoff", "AdditiveJitter", "MultiplicativeJitter", "HintHeader", "RetryAfterMax", "RetryAfterWindow",
    "RetryAfterClamp",
    "AwsQuota", "GrpcThrottle", "FinagleBudget", "EnvoyBudget", "RatioBudget", "Retry", "CircuitBreaker",
    "LiteLLMCooldown", "EnvoyOutlier", "Fallback", "Route", "Hedge", "TokenBucketLimiter", "ConcurrencyLimiter",
    "AimdLimiter", "SreThrottle", "AwsAdaptive", "RetryLayer", "RouteLayer", "HedgeLayer", "LimiterLayer",
    "TimeoutLayer", "Client", "RETRYABLE_DEFAULT",
]

RETRYABLE_DEFAULT: list[str] = ["rate_limited", "overloaded", "server_error", "timeout"]
Positive = Annotated[float, Field(gt=0)]
PositiveDuration = Annotated[Duration, Field(gt=0)]


# -- backoff --------------------------------------------------------------------------------------
class AdditiveJitter(Config):
    """delay + U(0, additive): tenacity's wait_exponential_jitter, gRPC-style."""

    additive: Duration


class MultiplicativeJitter(Config):
    """delay * U(lo, hi] (hi - (hi - lo) * u): OpenAI SDK (0.75, 1], LiteLLM [0, 0.75), Polly +-25 %."""

    multiplicative: tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]]

    @model_validator(mode="after")
    def _order(self):
        if self.multiplicative[1] < self.multiplicative[0]:
            raise ValueError("multiplicative jitter needs [lo, hi] with lo <= hi")
        return self


Jitter = Union[Literal["none", "full", "equal", "decorrelated", "polly-v2"], AdditiveJitter, MultiplicativeJitter]


class Backoff(Config):
    """Delay before retry n (n = 0 for the first retry).

    exponential: base * multiplier**n; linear: base * (n + 1); constant: base; envoy:
    base * (2**(n + 1) - 1) (Envoy's fully jittered [0, (2**N - 1) * base)); then clamped to
    [min, cap] and jittered (Brooker): none; full U(0, d); equal d/2 + U(0, d/2); decorrelated
    min(cap, U(base, 3 * previous)); additive d + U(0, j); multiplicative d * U(lo, hi); polly-v2
    (Polly's decorrelated jitter v2 around a median first delay of ``base``). ``portkey``-style fixed
    schedules are exponential with jitter none."""

    kind: Literal["exponential", "linear", "constant", "envoy"] = "exponential"
    base: Duration = 0.5
    multiplier: Annotated[float, Field(ge=1)] = 2.0
    cap: Duration = 8.0
    min: Duration = 0.0
    jitter: Jitter = "full"


# -- server hints ---------------------------------------------------------------------------------
class RetryAfterMax(Config):
    """Honour Retry-After, but never wait longer than ``max`` (cap)."""

    max: Duration


class RetryAfterWindow(Config):
    """Honour Retry-After only when it lies in (lo, hi]; otherwise use the backoff (OpenAI SDK: (0, 60]).
    ``jitter``: U(0, jitter) added to an honoured hint (LiteLLM's calculate_retry_after adds its JITTER,
    0.75 s, with the same draw the backoff would use)."""

    window: tuple[Duration, Duration]
    jitter: Duration = 0.0


class RetryAfterClamp(Config):
    """Wait clamp(Retry-After, backoff, backoff + clamp): the hint can add at most ``clamp`` (AWS 2026)."""

    clamp: Duration


RetryAfter = Union[Literal["honor", "ignore", "max_of"], RetryAfterMax, RetryAfterWindow, RetryAfterClamp]


# -- retry budgets --------------------------------------------------------------------------------
class AwsQuota(Config):
    """botocore standard mode retry quota: a retry takes ``retry_cost`` (``timeout_cost`` after a
    timeout); a success without retry refunds 1, a success after a retry refunds what it took."""

    kind: Literal["aws"]
    capacity: Annotated[int, Field(ge=1)] = 500
    retry_cost: Annotated[int, Field(ge=1)] = 5
    timeout_cost: Annotated[int, Field(ge=1)] = 10
    throttling_cost: Optional[Annotated[int, Field(ge=1)]] = None  # after a 429 (botocore 2026: 5, else 14)
    no_retry_increment: Annotated[int, Field(ge=0)] = 1


class GrpcThrottle(Config):
    """gRPC retry throttling (A6): tokens start at max_tokens; failure -1, success +token_ratio;
    retries only while tokens > max_tokens / 2."""

    kind: Literal["grpc"]
    max_tokens: Positive = 10.0
    token_ratio: Positive = 0.1


class FinagleBudget(Config):
    """Finagle RetryBudget: retries <= percent_can_retry * requests in the last ttl + min_retries_per_s * ttl."""

    kind: Literal["finagle"]
    ttl: PositiveDuration = 10.0
    min_retries_per_s: Annotated[float, Field(ge=0)] = 10.0
    percent_can_retry: Annotated[float, Field(ge=0)] = 0.2


class EnvoyBudget(Config):
    """Envoy retry budget: concurrent retries <= max(min_retry_concurrency, budget_percent % of active requests)."""

    kind: Literal["envoy"]
    budget_percent: Annotated[float, Field(ge=0, le=100)] = 20.0
    min_retry_concurrency: Annotated[int, Field(ge=0)] = 3


class RatioBudget(Config):
    """Plain cap: retries <= ratio * requests over a sliding window (no reserve)."""

    kind: Literal["ratio"]
    ratio: Annotated[float, Field(ge=0)] = 0.1
    window: PositiveDuration = 60.0


Budget = Annotated[Union[AwsQuota, GrpcThrottle, FinagleBudget, EnvoyBudget, RatioBudget], Field(discriminator="kind")]


#: which of the provider's rate-limit headers a client reads for its wait (see llmsim.policies.hints):
#: exact (the provider model's hint as a float, no header), retry-after (whole seconds, as real
#: providers send it: rounded up, at least 1 s), retry-after-ms (milliseconds, rounded up),
#: reset (x-ratelimit-reset-*: millisecond precision), none (reads no hint: always the backoff)
HintHeader = Literal["exact", "retry-after", "retry-after-ms", "reset", "none"]


class Retry(Config):
    """Retry failed calls whose outcome is in ``on``, up to ``max_attempts`` calls in all.

    ``backoff_for`` gives a different backoff after some outcomes (botocore: 1 s base after a
    throttle, 50 ms otherwise). ``statuses`` also retries attempts whose HTTP status is listed
    (e.g. [408, 409, 429, 500]);
    ``respect_should_retry`` obeys the provider's ``x-should-retry`` header when it sends one (the
    OpenAI and Anthropic SDKs do); ``context_window`` and ``quota_exhausted`` are not retried unless
    listed. ``timeout`` bounds each inner call (an SDK's per-attempt timeout); ``stop_after_delay`` stops once
    that long has passed since the first call, checked after a call (tenacity, may overshoot);
    ``stop_before_delay`` stops when the next sleep would end past it; ``give_up_retry_after_over``
    refuses to retry when the server asks for a longer wait (OpenAI SDK v3: 120 s);
    ``instant_if_alternative``: LiteLLM's Router (needs a route below): retry at once when the routing
    below has more than one deployment and any of them is healthy after this failure's cooldown (the
    one that just failed included), and give up on a 429 when none is healthy; ``hint_header``: which
    header the client parses for the Retry-After hint
    (openai-python, anthropic: retry-after-ms; LiteLLM: retry-after in whole seconds; see HintHeader)."""

    max_attempts: Annotated[int, Field(ge=1, le=100)] = 3
    on: list[Outcome] = Field(default_factory=lambda: list(RETRYABLE_DEFAULT))
    backoff: Backoff = Field(default_factory=Backoff)
    backoff_for: dict[Outcome, Backoff] = Field(default_factory=dict)
    retry_after: RetryAfter = "honor"
    hint_header: HintHeader = "exact"
    timeout: Optional[PositiveDuration] = None
    stop_after_delay: Optional[PositiveDuration] = None
    stop_before_delay: Optional[PositiveDuration] = None
    give_up_retry_after_over: Optional[Duration] = None
    statuses: list[Annotated[int, Field(ge=100, le=599)]] = Field(default_factory=list)
    respect_should_retry: bool = False
    instant_if_alternative: bool = False
    budget: Optional[Budget] = None


# -- circuit breakers -----------------------------------------------------------------------------
class CircuitBreaker(Config):
    """Per-provider breaker (resilience4j, Polly, consecutive-failure breakers).

    kind ``time`` (window seconds in 1 s buckets), ``count`` (last ``window`` calls) or
    ``consecutive`` (``min_calls`` failures in a row). CLOSED -> OPEN when calls >= min_calls and
    failure share >= failure_rate or slow share (calls longer than slow_call_duration) >=
    slow_call_rate. OPEN rejects for open_for (times open_growth**(openings - 1), at most max_open);
    then HALF_OPEN (at the next call, or by timer when ``automatic``) lets half_open_calls through
    and re-decides on their results."""

    kind: Literal["time", "count", "consecutive"] = "time"
    window: PositiveDuration = 30.0
    min_calls: Annotated[int, Field(ge=1)] = 20
    failure_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    slow_call_rate: Annotated[float, Field(gt=0, le=1)] = 1.0
    slow_call_duration: Optional[PositiveDuration] = None
    open_for: PositiveDuration = 30.0
    open_growth: Annotated[float, Field(ge=1)] = 1.0
    max_open: Optional[PositiveDuration] = None
    half_open_calls: Annotated[int, Field(ge=1)] = 3
    automatic: bool = False
    failure_on: list[Outcome] = Field(default_factory=lambda: list(RETRYABLE_DEFAULT))


# -- routing --------------------------------------------------------------------------------------
class LiteLLMCooldown(Config):
    """LiteLLM router cooldowns (litellm 1.110, router_utils/cooldown_handlers.py
    ``_should_cooldown_deployment``). ``mode`` ``rates`` (the Router built without ``allowed_fails``):
    a deployment cools down on a 429 when its group has > 1 deployment, when > ``failure_share`` of
    >= ``min_requests`` calls this minute failed (groups of > 1), or when every call of >= 1000 this
    minute failed. ``allowed_fails`` (the Router given ``allowed_fails``): when its failures counted
    since the first one within ``cooldown_time`` exceed ``allowed_fails``; a lone deployment never.
    The cooldown lasts the Retry-After if the response has one (read from ``hint_header``: LiteLLM
    reads only the whole-second ``retry-after``), else ``cooldown_time``. Recovery is passive; when
    every deployment cools down, calls fail at once."""

    kind: Literal["litellm"] = "litellm"
    mode: Literal["rates", "allowed_fails"] = "rates"
    cooldown_time: Duration = 5.0
    allowed_fails: Annotated[int, Field(ge=0)] = 3
    failure_share: Annotated[float, Field(gt=0, le=1)] = 0.5
    min_requests: Annotated[int, Field(ge=1)] = 5
    hint_header: HintHeader = "retry-after"
    failures: list[Outcome] = Field(default_factory=lambda: ["rate_limited", "server_error", "overloaded", "timeout"])


class EnvoyOutlier(Config):
    """Envoy outlier detection: eject after ``consecutive_5xx`` server errors in a row, for
    base_ejection_time * times ejected (at most max_ejection_time), at most max_ejection_percent of
    the deployments (at least one)."""

    kind: Literal["envoy"] = "envoy"
    consecutive_5xx: Annotated[int, Field(ge=1)] = 5
    base_ejection_time: Duration = 30.0
    max_ejection_time: Duration = 300.0
    max_ejection_percent: Annotated[float, Field(ge=0, le=100)] = 10.0
    failures: list[Outcome] = Field(default_factory=lambda: ["server_error", "overloaded"])


Ejection = Annotated[Union[LiteLLMCooldown, EnvoyOutlier], Field(discriminator="kind")]


class Fallback(Config):
    """When a call fails with an outcome in ``on``, try these providers next (in order)."""

    on: list[Outcome]
    to: Annotated[list[str], Field(min_length=1)]


class Route(Config):
    """Which provider each call goes to.

    fallback: the first healthy provider in ``order``; after a failure in ``failover_on`` the next
    call starts from the following one. weighted: random by ``weights`` (LiteLLM simple-shuffle).
    least_busy: fewest calls in flight from this client. lowest_latency: lowest mean of the last
    ``latency_window`` successful latencies. usage: lowest tokens this minute among providers within
    their ``usage_limits`` (LiteLLM usage-based). lowest_cost: cheapest expected call.
    Healthy = breaker admits and not cooling down / ejected. ``fallbacks`` add outcome-triggered chains.
    ``order: ["*"]`` means every provider of the scenario, in the order they are listed (presets use it)."""

    strategy: Literal["fallback", "weighted", "least_busy", "lowest_latency", "usage", "lowest_cost"] = "fallback"
    order: Annotated[list[str], Field(min_length=1)]
    failover_on: list[Outcome] = Field(default_factory=lambda: list(RETRYABLE_DEFAULT))
    weights: Optional[list[Annotated[float, Field(ge=0)]]] = None
    latency_window: Annotated[int, Field(ge=1)] = 10
    usage_limits: Optional[dict[str, dict[str, float]]] = None
    ejection: Optional[Ejection] = None
    fallbacks: list[Fallback] = Field(default_factory=list)

    @model_validator(mode="after")
    def _weights(self):
        if self.weights is not None and self.order != ["*"] and len(self.weights) != len(self.order):
            raise ValueError(f"weights has {len(self.weights)} entries for {len(self.order)} providers in order")
        if self.weights is not None and not 0 < sum(self.weights) < float("inf"):
            raise ValueError("weights must be finite with at least one above 0 (omit weights for an even split)")
        return self


class Hedge(Config):
    """Hedged calls: up to ``max_hedged`` extra calls, each ``delay`` after the previous (0 = all at
    once; null = only after a failure); the first good answer wins, the others are cancelled and
    billed for what they consumed (Polly hedging)."""

    max_hedged: Annotated[int, Field(ge=1, le=10)] = 1
    delay: Optional[Duration] = 2.0


# -- client-side limiters -------------------------------------------------------------------------
class TokenBucketLimiter(Config):
    """Client-side RPM/TPM pre-check (tokens = input + max_tokens): wait for room, or reject."""

    kind: Literal["token_bucket"]
    rpm: Optional[Positive] = None
    tpm: Optional[Positive] = None
    on_limit: Literal["wait", "reject"] = "wait"
    max_wait: Optional[Duration] = None


class ConcurrencyLimiter(Config):
    """At most ``limit`` calls in flight; others wait in a FIFO queue of ``queue`` places (resilience4j
    bulkhead: 25, max wait 0; Polly: 1000, queue 0), up to ``max_wait``, else rejected."""

    kind: Literal["concurrency"]
    limit: Annotated[int, Field(ge=1)] = 25
    queue: Annotated[int, Field(ge=0)] = 0
    max_wait: Optional[Duration] = None


class AimdLimiter(Config):
    """Netflix concurrency-limits AIMD: on a drop or a call slower than ``timeout`` limit *= backoff_ratio;
    else when in-flight * 2 >= limit, limit += 1. Calls over the limit are rejected."""

    kind: Literal["aimd"]
    initial: Annotated[int, Field(ge=1)] = 20
    min_limit: Annotated[int, Field(ge=1)] = 20
    max_limit: Annotated[int, Field(ge=1)] = 200
    backoff_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.9
    timeout: PositiveDuration = 5.0


class SreThrottle(Config):
    """Google SRE client-side adaptive throttling: reject locally with probability
    max(0, (requests - k * accepts) / (requests + 1)) over the last ``window``."""

    kind: Literal["sre"]
    k: Annotated[float, Field(gt=0)] = 2.0
    window: PositiveDuration = 120.0


class AwsAdaptive(Config):
    """botocore adaptive mode: a client-side token bucket switched on by the first throttle, its rate
    following CUBIC (beta 0.7, scale 0.4), capped at 2x the measured send rate, at least 0.5/s."""

    kind: Literal["aws_adaptive"]
    beta: Annotated[float, Field(gt=0, lt=1)] = 0.7
    scale: Positive = 0.4
    min_rate: Positive = 0.5
    on_limit: Literal["wait", "reject"] = "wait"


Limiter = Annotated[Union[TokenBucketLimiter, ConcurrencyLimiter, AimdLimiter, SreThrottle, AwsAdaptive],
                    Field(discriminator="kind")]


# -- layers ---------------------------------------------------------------------------------------
class RetryLayer(Config):
    retry: Retry


class RouteLayer(Config):
    route: Route


class HedgeLayer(Config):
    hedge: Hedge


class LimiterLayer(Config):
    limiter: Limiter


class TimeoutLayer(Config):
    """Give up on everything below after ``timeout`` (a router's per-call timeout around an SDK)."""

    timeout: PositiveDuration


Layer = Union[RetryLayer, RouteLayer, HedgeLayer, LimiterLayer, TimeoutLayer]


class Client(Config):
    """The caller's policy stack. No retry block = one attempt; no route = the first provider.

    ``instances``: requests are spread over N client instances (request id modulo N), each with its
    own breakers, budgets, limiters and cooldowns unless ``share_state`` is true.

    ``overhead``: client-side time spent before each attempt leaves (building the request, the SDK's
    own work), a distribution; default none (zero). Measured for openai-python against ``llmsim
    serve``: its retry waits were the Retry-After hint plus a median 24 ms (5th-95th percentile
    6-75 ms), about ``{dist: lognormal, median: 24ms, p95: 75ms}`` (issue 12)."""

    timeout: Optional[PositiveDuration] = None
    deadline: Optional[PositiveDuration] = None
    retry: Optional[Retry] = None
    circuit_breaker: Optional[CircuitBreaker] = None
    route: Optional[Route] = None
    hedge: Optional[Hedge] = None
    spend: Optional[SpendGuards] = None  # session caps, budgets, spend alert
    validation: Optional[Validation] = None  # output contract checks
    limiter: Optional[Limiter] = None
    layers: Optional[Annotated[list[Layer], Field(min_length=1)]] = None
    instances: Annotated[int, Field(ge=1)] = 1
    share_state: bool = False
    overhead: Optional[DurationDistribution] = None
    service_class: Optional[ClassChoice] = None  # each request's service class (docs/providers.md)

    @model_validator(mode="after")
    def _one_form(self):
        if self.layers is not None:
            flat = [n for n in ("retry", "route", "hedge", "limiter", "timeout") if getattr(self, n) is not None]
            if flat:
                raise ValueError(f"give either 'layers' or the flat {', '.join(flat)}, not both (with layers, "
                                 "put a timeout in a retry layer or add a {timeout: ...} layer)")
        return self

    def stack(self) -> list[Layer]:
        """The layers, outermost first (the flat form expanded)."""
        if self.layers is not None:
            return list(self.layers)
        out: list[Layer] = []
        if self.limiter is not None:
            out.append(LimiterLayer(limiter=self.limiter))
        if self.hedge is not None:
            out.append(HedgeLayer(hedge=self.hedge))
        retry = self.retry or Retry(max_attempts=1)
        if self.timeout is not None:
            retry = retry.model_copy(update={"timeout": self.timeout})
        out.append(RetryLayer(retry=retry))
        if self.route is not None:
            out.append(RouteLayer(route=self.route))
        else:
            out.append(RouteLayer.model_construct(route=None))
        return out
