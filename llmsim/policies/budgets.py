"""Retry budgets: shared per client instance, they decide whether a retry may go out at all.

Interface: ``allow(now, outcome) -> bool`` (takes what a retry costs when it says yes),
``on_request(now)`` when a logical call starts, ``on_success(now, retried)`` / ``on_failure(now)``
when an attempt ends, ``retry_done(now)`` when an allowed retry's call ends (Envoy counts those in flight).

>>> q = AwsRetryQuota()
>>> sum(q.allow(0.0, "server_error") for _ in range(200))   # 500 tokens / 5 per retry
100
"""

from __future__ import annotations

from collections import deque

__all__ = ["AwsRetryQuota", "GrpcThrottle", "FinagleBudget", "EnvoyBudget", "RatioBudget", "from_config"]


class _Budget:
    def on_request(self, now: float) -> None:
        pass

    def on_success(self, now: float, retried: bool, taken: int = 0) -> None:
        pass

    def on_failure(self, now: float) -> None:
        pass

    def retry_done(self, now: float) -> None:
        pass


class AwsRetryQuota(_Budget):
    """botocore standard mode (botocore/retries/quota.py, standard.py): 500 tokens; a retry costs 5
    (10 after a timeout); an empty quota means no retry; a success without retry refunds 1, a success
    after a retry refunds the cost of that retry."""

    def __init__(self, capacity: int = 500, retry_cost: int = 5, timeout_cost: int = 10, no_retry_increment: int = 1,
                 throttling_cost: int | None = None):
        self.capacity = capacity
        self.throttling_cost = throttling_cost
        self.level = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.increment = no_retry_increment
        self.taken = 0  # what the last allowed retry took (the caller keeps it with its request)

    def allow(self, now: float, outcome: str) -> bool:
        if self.throttling_cost is not None and outcome == "rate_limited":
            cost = self.throttling_cost
        else:
            cost = self.timeout_cost if outcome in ("timeout", "deadline") else self.retry_cost
        if cost > self.level:
            return False
        self.level -= cost
        self.taken = cost
        return True

    def on_success(self, now: float, retried: bool, taken: int = 0) -> None:
        """``taken``: what this request's last retry took from the quota (botocore keeps it per request)."""
        self.level = min(self.capacity, self.level + (taken if retried else self.increment))


class GrpcThrottle(_Budget):
    """gRPC retry throttling (proposal A6): failure -1, success +token_ratio, retries only while
    tokens > max_tokens / 2."""

    def __init__(self, max_tokens: float = 10.0, token_ratio: float = 0.1):
        self.max_tokens = max_tokens
        self.tokens = max_tokens
        self.ratio = token_ratio

    def allow(self, now: float, outcome: str) -> bool:
        return self.tokens > self.max_tokens / 2

    def on_success(self, now: float, retried: bool, taken: int = 0) -> None:
        self.tokens = min(self.max_tokens, self.tokens + self.ratio)

    def on_failure(self, now: float) -> None:
        self.tokens = max(0.0, self.tokens - 1.0)


class _Window:
    """Event counts over a sliding time window."""

    __slots__ = ("span", "times")

    def __init__(self, span: float):
        self.span = span
        self.times: deque[float] = deque()

    def add(self, now: float) -> None:
        self.times.append(now)

    def count(self, now: float) -> int:
        t = self.times
        edge = now - self.span
        while t and t[0] <= edge:
            t.popleft()
        return len(t)


class FinagleBudget(_Budget):
    """Finagle RetryBudget: retries in the last ttl <= percent_can_retry * requests in the last ttl
    + min_retries_per_s * ttl."""

    def __init__(self, ttl: float = 10.0, min_retries_per_s: float = 10.0, percent_can_retry: float = 0.2):
        self.requests = _Window(ttl)
        self.retries = _Window(ttl)
        self.reserve = min_retries_per_s * ttl
        self.percent = percent_can_retry

    def on_request(self, now: float) -> None:
        self.requests.add(now)

    def allow(self, now: float, outcome: str) -> bool:
        if self.retries.count(now) + 1 > self.percent * self.requests.count(now) + self.reserve:
            return False
        self.retries.add(now)
        return True


class RatioBudget(FinagleBudget):
    """retries <= ratio * requests in the last ``window`` seconds (no reserve)."""

    def __init__(self, ratio: float = 0.1, window: float = 60.0):
        super().__init__(ttl=window, min_retries_per_s=0.0, percent_can_retry=ratio)


class EnvoyBudget(_Budget):
    """Envoy: retries in flight <= max(min_retry_concurrency, budget_percent % of requests in flight)."""

    def __init__(self, budget_percent: float = 20.0, min_retry_concurrency: int = 3):
        self.percent = budget_percent / 100.0
        self.min = min_retry_concurrency
        self.active = 0
        self.retries = 0

    def on_request(self, now: float) -> None:
        self.active += 1

    def request_done(self) -> None:
        self.active -= 1

    def allow(self, now: float, outcome: str) -> bool:
        if self.retries + 1 > max(self.min, self.percent * self.active):
            return False
        self.retries += 1
        return True

    def retry_done(self, now: float) -> None:
        self.retries -= 1


def from_config(cfg):
    """Build from a budget config (see config.client)."""
    kind = cfg.kind
    if kind == "aws":
        return AwsRetryQuota(cfg.capacity, cfg.retry_cost, cfg.timeout_cost, cfg.no_retry_increment,
                             cfg.throttling_cost)
    if kind == "grpc":
        return GrpcThrottle(cfg.max_tokens, cfg.token_ratio)
    if kind == "finagle":
        return FinagleBudget(cfg.ttl, cfg.min_retries_per_s, cfg.percent_can_retry)
    if kind == "envoy":
        return EnvoyBudget(cfg.budget_percent, cfg.min_retry_concurrency)
    return RatioBudget(cfg.ratio, cfg.window)
