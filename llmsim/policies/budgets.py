"""Retry budgets: shared per client instance, they decide whether a retry may go out at all.

Every budget implements ``llmsim.policies.protocols.RetryBudget``: ``allow(now, outcome) -> bool``
(takes what a retry costs when it says yes), ``on_request(now)`` / ``request_done()`` around a
logical call, ``on_success(now, retried, taken)`` / ``on_failure(now)`` when an attempt ends,
``retry_done(now)`` when an allowed retry's call ends (Envoy counts those in flight).

>>> from llmsim.config.client import AwsQuota
>>> q = build(AwsQuota(kind="aws"))
>>> sum(q.allow(0.0, "server_error") for _ in range(200))   # 500 tokens / 5 per retry
100
"""

from __future__ import annotations

from llmsim.config import client as C
from llmsim.policies.protocols import RetryBudget
from llmsim.policies.windows import TimeWindow

__all__ = ["AwsRetryQuota", "GrpcRetryThrottle", "FinagleRetryBudget", "EnvoyRetryBudget", "RatioRetryBudget",
           "build"]


class _Quiet:
    """What a budget does at the steps it does not care about: nothing."""

    taken = 0

    def on_request(self, now: float) -> None:
        pass

    def request_done(self) -> None:
        pass

    def on_success(self, now: float, retried: bool, taken: int = 0) -> None:
        pass

    def on_failure(self, now: float) -> None:
        pass

    def retry_done(self, now: float) -> None:
        pass


class AwsRetryQuota(_Quiet):
    """botocore standard mode (botocore/retries/quota.py, standard.py): 500 tokens; a retry costs 5
    (10 after a timeout); an empty quota means no retry; a success without retry refunds 1, a success
    after a retry refunds the cost of that retry."""

    def __init__(self, cfg: C.AwsQuota):
        self.cfg = cfg
        self.level = cfg.capacity
        self.taken = 0  # what the last allowed retry took (the caller keeps it with its request)

    def allow(self, now: float, outcome: str) -> bool:
        cfg = self.cfg
        if cfg.throttling_cost is not None and outcome == "rate_limited":
            cost = cfg.throttling_cost
        else:
            cost = cfg.timeout_cost if outcome in ("timeout", "deadline") else cfg.retry_cost
        if cost > self.level:
            return False
        self.level -= cost
        self.taken = cost
        return True

    def on_success(self, now: float, retried: bool, taken: int = 0) -> None:
        """``taken``: what this request's last retry took from the quota (botocore keeps it per request)."""
        self.level = min(self.cfg.capacity, self.level + (taken if retried else self.cfg.no_retry_increment))


class GrpcRetryThrottle(_Quiet):
    """gRPC retry throttling (proposal A6): failure -1, success +token_ratio, retries only while
    tokens > max_tokens / 2."""

    def __init__(self, cfg: C.GrpcThrottle):
        self.cfg = cfg
        self.tokens = cfg.max_tokens

    def allow(self, now: float, outcome: str) -> bool:
        return self.tokens > self.cfg.max_tokens / 2

    def on_success(self, now: float, retried: bool, taken: int = 0) -> None:
        self.tokens = min(self.cfg.max_tokens, self.tokens + self.cfg.token_ratio)

    def on_failure(self, now: float) -> None:
        self.tokens = max(0.0, self.tokens - 1.0)


class _WindowedBudget(_Quiet):
    """retries in the last ``span`` <= share * requests in the last ``span`` + reserve."""

    def __init__(self, span: float, share: float, reserve: float):
        self.requests = TimeWindow(span)
        self.retries = TimeWindow(span)
        self.share = share
        self.reserve = reserve

    def on_request(self, now: float) -> None:
        self.requests.add(now)

    def allow(self, now: float, outcome: str) -> bool:
        if self.retries.count(now) + 1 > self.share * self.requests.count(now) + self.reserve:
            return False
        self.retries.add(now)
        return True


class FinagleRetryBudget(_WindowedBudget):
    """Finagle RetryBudget: retries in the last ttl <= percent_can_retry * requests in the last ttl
    + min_retries_per_s * ttl."""

    def __init__(self, cfg: C.FinagleBudget):
        super().__init__(cfg.ttl, cfg.percent_can_retry, cfg.min_retries_per_s * cfg.ttl)
        self.cfg = cfg


class RatioRetryBudget(_WindowedBudget):
    """retries <= ratio * requests in the last ``window`` seconds (no reserve)."""

    def __init__(self, cfg: C.RatioBudget):
        super().__init__(cfg.window, cfg.ratio, 0.0)
        self.cfg = cfg


class EnvoyRetryBudget(_Quiet):
    """Envoy: retries in flight <= max(min_retry_concurrency, budget_percent % of requests in flight)."""

    def __init__(self, cfg: C.EnvoyBudget):
        self.cfg = cfg
        self.share = cfg.budget_percent / 100.0
        self.active = 0
        self.retries = 0

    def on_request(self, now: float) -> None:
        self.active += 1

    def request_done(self) -> None:
        self.active -= 1

    def allow(self, now: float, outcome: str) -> bool:
        if self.retries + 1 > max(self.cfg.min_retry_concurrency, self.share * self.active):
            return False
        self.retries += 1
        return True

    def retry_done(self, now: float) -> None:
        self.retries -= 1


_KINDS = {C.AwsQuota: AwsRetryQuota, C.GrpcThrottle: GrpcRetryThrottle, C.FinagleBudget: FinagleRetryBudget,
          C.EnvoyBudget: EnvoyRetryBudget, C.RatioBudget: RatioRetryBudget}


def build(cfg) -> RetryBudget:
    """The runtime budget of a budget config (one of the ``kind``s of ``config.client.Budget``)."""
    return _KINDS[type(cfg)](cfg)
