"""Client policy configs: timeouts, retries with backoff, circuit breaker, routing.

>>> c = Client.model_validate({"retry": {"max_attempts": 3, "retry_after": {"max": "60s"}}})
>>> c.retry.backoff.jitter, c.retry.retry_after.max
('full', 60.0)
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field

from ..outcomes import Outcome
from .base import Config, Duration
from .contracts import Validation  # [agents]
from .guards import SpendGuards  # [agents]

__all__ = ["Backoff", "RetryAfterMax", "Retry", "CircuitBreaker", "Route", "Client", "RETRYABLE_DEFAULT"]

RETRYABLE_DEFAULT: list[str] = ["rate_limited", "overloaded", "server_error", "timeout"]


class Backoff(Config):
    """Delay before retry n (n = 0 for the first retry): expo(n) = min(cap, base * multiplier**n), then jitter.

    jitter (Brooker): none = expo; full = U(0, expo); equal = expo/2 + U(0, expo/2);
    decorrelated = min(cap, U(base, 3 * previous)). ``kind: constant`` uses base every time."""

    kind: Literal["exponential", "constant"] = "exponential"
    base: Duration = 0.5
    multiplier: Annotated[float, Field(ge=1)] = 2.0
    cap: Duration = 8.0
    jitter: Literal["none", "full", "equal", "decorrelated"] = "full"


class RetryAfterMax(Config):
    """Honour the server's Retry-After, but never wait longer than ``max``."""

    max: Duration


class Retry(Config):
    """Retry failed attempts whose outcome is listed in ``on``, up to ``max_attempts`` in all."""

    max_attempts: Annotated[int, Field(ge=1, le=100)] = 3
    on: list[Outcome] = Field(default_factory=lambda: list(RETRYABLE_DEFAULT))
    backoff: Backoff = Field(default_factory=Backoff)
    retry_after: Union[Literal["honor", "ignore"], RetryAfterMax] = "honor"


class CircuitBreaker(Config):
    """Per-provider breaker over a time window (resilience4j TIME_BASED, 1 s buckets).

    CLOSED -> OPEN when calls >= min_calls and failure share >= failure_rate; OPEN rejects for
    ``open_for``; then HALF_OPEN lets ``half_open_calls`` through and re-decides on their results."""

    window: Annotated[Duration, Field(gt=0)] = 30.0
    min_calls: Annotated[int, Field(ge=1)] = 20
    failure_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    open_for: Annotated[Duration, Field(gt=0)] = 30.0
    half_open_calls: Annotated[int, Field(ge=1)] = 3
    failure_on: list[Outcome] = Field(default_factory=lambda: list(RETRYABLE_DEFAULT))


class Route(Config):
    """Which provider each attempt goes to.

    ``fallback``: the first provider in ``order`` whose breaker admits the call; after an attempt
    fails with an outcome in ``failover_on`` the next attempt starts from the following provider."""

    strategy: Literal["fallback"] = "fallback"
    order: Annotated[list[str], Field(min_length=1)]
    failover_on: list[Outcome] = Field(default_factory=lambda: list(RETRYABLE_DEFAULT))


class Client(Config):
    """The caller's policy stack. No retry block = one attempt; no route = the first provider."""

    timeout: Optional[Annotated[Duration, Field(gt=0)]] = None
    deadline: Optional[Annotated[Duration, Field(gt=0)]] = None
    retry: Optional[Retry] = None
    circuit_breaker: Optional[CircuitBreaker] = None
    route: Optional[Route] = None
    spend: Optional[SpendGuards] = None  # [agents] session caps, budgets, spend alert
    validation: Optional[Validation] = None  # [agents] output contract checks
