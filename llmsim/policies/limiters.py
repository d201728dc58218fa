"""Client-side limiters: decide before a call whether it goes now, waits, or is rejected locally.

``acquire(now, tokens, max_wait) -> float``: 0.0 = go now (permit taken); w > 0 = a permit is
reserved, go after w seconds (callers queue in FIFO order, no polling); inf = rejected (nothing
taken); -1 = wait in the concurrency queue. ``release(now, outcome, latency)`` when the call ends.

>>> lim = SreThrottle(k=2.0, window=120.0)
>>> lim.reject_probability(0.0)
0.0
"""

from __future__ import annotations

import math
from collections import deque

from llmsim.provider.buckets import TokenBucket

__all__ = ["TokenBucketLimiter", "ConcurrencyLimiter", "AimdLimiter", "SreThrottle", "AwsAdaptive", "from_config"]

INF = float("inf")
THROTTLED = frozenset({"rate_limited", "overloaded"})


class TokenBucketLimiter:
    """RPM and TPM buckets checked before sending (tokens = input + max_tokens); wait or reject."""

    def __init__(self, rpm=None, tpm=None, on_limit="wait", max_wait=None):
        self.rpm = None if rpm is None else TokenBucket(rpm / 60.0, rpm)
        self.tpm = None if tpm is None else TokenBucket(tpm / 60.0, tpm)
        self.reject = on_limit == "reject"
        self.max_wait = INF if max_wait is None else max_wait

    def acquire(self, now: float, tokens: int, max_wait: float = INF) -> float:
        wait = 0.0
        if self.rpm is not None:
            wait = self.rpm.wait_for(now, 1.0)
        if self.tpm is not None:
            wait = max(wait, self.tpm.wait_for(now, float(tokens)))
        if wait > 0.0 and (self.reject or wait > min(self.max_wait, max_wait)):
            return INF
        # take now (the level may go below zero: later callers wait behind this reservation)
        if self.rpm is not None:
            self.rpm.take(now, 1.0)
        if self.tpm is not None:
            self.tpm.take(now, float(tokens))
        return wait

    def release(self, now: float, outcome: str, latency: float) -> None:
        pass


class ConcurrencyLimiter:
    """At most ``limit`` calls in flight; up to ``queue`` callers wait (FIFO) for ``max_wait``.

    Waiting is done by the engine: acquire returns -1.0 to mean "queue me" and ``release`` returns
    True when a queued caller may go."""

    def __init__(self, limit=25, queue=0, max_wait=None):
        self.limit = limit
        self.queue_limit = queue
        self.max_wait = INF if max_wait is None else max_wait
        self.inflight = 0
        self.waiting = 0

    def acquire(self, now: float, tokens: int, max_wait: float = INF) -> float:
        if self.inflight < self.limit and self.waiting == 0:
            self.inflight += 1
            return 0.0
        if self.waiting < self.queue_limit and self.max_wait > 0:
            self.waiting += 1
            return -1.0
        return INF

    def release(self, now: float, outcome: str, latency: float) -> None:
        self.inflight -= 1

    def admit_waiter(self) -> bool:
        """Called after a release: a queued caller takes the free permit."""
        if self.waiting and self.inflight < self.limit:
            self.waiting -= 1
            self.inflight += 1
            return True
        return False

    def give_up_waiting(self) -> None:
        self.waiting -= 1


class AimdLimiter:
    """Netflix concurrency-limits AIMD: drop or rtt > timeout -> limit *= ratio; else if
    inflight * 2 >= limit -> limit += 1. Over the limit -> rejected."""

    def __init__(self, initial=20, min_limit=20, max_limit=200, backoff_ratio=0.9, timeout=5.0):
        self.limit = float(initial)
        self.min = min_limit
        self.max = max_limit
        self.ratio = backoff_ratio
        self.timeout = timeout
        self.inflight = 0

    def acquire(self, now: float, tokens: int, max_wait: float = INF) -> float:
        if self.inflight >= int(self.limit):
            return INF
        self.inflight += 1
        return 0.0

    def release(self, now: float, outcome: str, latency: float) -> None:
        inflight = self.inflight
        self.inflight -= 1
        if outcome in THROTTLED or outcome in ("timeout", "deadline") or latency > self.timeout:
            self.limit = max(self.min, self.limit * self.ratio)
        elif inflight * 2 >= self.limit:
            self.limit = min(self.max, self.limit + 1)


class SreThrottle:
    """Google SRE "Handling Overload": reject locally with probability
    max(0, (requests - k * accepts) / (requests + 1)) over the last ``window`` seconds, where
    accepts are calls the backend did not refuse as throttled or overloaded."""

    def __init__(self, k=2.0, window=120.0, u=None):
        self.k = k
        self.window = window
        self.requests: deque[float] = deque()
        self.accepts: deque[float] = deque()
        self.u = u  # callable -> U[0, 1), set by the engine

    def _trim(self, now: float) -> None:
        edge = now - self.window
        for q in (self.requests, self.accepts):
            while q and q[0] <= edge:
                q.popleft()

    def reject_probability(self, now: float) -> float:
        self._trim(now)
        req, acc = len(self.requests), len(self.accepts)
        return max(0.0, (req - self.k * acc) / (req + 1))

    def acquire(self, now: float, tokens: int, max_wait: float = INF) -> float:
        p = self.reject_probability(now)
        self.requests.append(now)
        if p > 0 and self.u() < p:
            return INF
        return 0.0

    def release(self, now: float, outcome: str, latency: float) -> None:
        if outcome not in THROTTLED and outcome not in ("rejected", "spend_blocked"):
            self.accepts.append(now)


class AwsAdaptive:
    """botocore adaptive retry mode (botocore/retries/adaptive.py, bucket.py, throttling.py): a
    token bucket enabled at the first throttle; its rate follows CUBIC: on a throttle
    w_max = rate, rate *= beta, K = cbrt(w_max (1 - beta) / scale); on success
    rate = scale (t - t_throttle - K)**3 + w_max; capped at 2 x the measured send rate (EMA 0.8 over
    0.5 s buckets), at least min_rate."""

    def __init__(self, beta=0.7, scale=0.4, min_rate=0.5, on_limit="wait"):
        self.beta = beta
        self.scale = scale
        self.min_rate = min_rate
        self.reject = on_limit == "reject"
        self.enabled = False
        self.rate = min_rate
        self.level = 0.0
        self.last = 0.0
        self.w_max = 0.0
        self.k = 0.0
        self.last_throttle = 0.0
        self.measured = 0.0
        self._bucket_start = 0.0
        self._count = 0

    def _refill(self, now: float) -> None:
        self.level = min(max(1.0, self.rate), self.level + (now - self.last) * self.rate)
        self.last = now

    def acquire(self, now: float, tokens: int, max_wait: float = INF) -> float:
        if not self.enabled:
            return 0.0
        self._refill(now)
        wait = 0.0 if self.level >= 1.0 else (1.0 - self.level) / self.rate
        if wait > 0.0 and (self.reject or wait > max_wait):
            return INF
        self.level -= 1.0  # reserve (may go below zero: callers queue behind)
        return wait

    def _measure(self, now: float) -> None:
        # RateClocker: requests per 0.5 s bucket, smoothed with factor 0.8
        bucket = math.floor(now * 2) / 2
        if bucket > self._bucket_start:
            current = self._count / max(bucket - self._bucket_start, 0.5)
            self.measured = current * 0.8 + self.measured * 0.2
            self._count = 0
            self._bucket_start = bucket
        self._count += 1

    def release(self, now: float, outcome: str, latency: float) -> None:
        self._measure(now)  # botocore's RateClocker counts responses
        if outcome in THROTTLED:
            rate = min(self.measured, self.rate) if self.enabled else self.measured
            self.w_max = rate
            self.k = (self.w_max * (1 - self.beta) / self.scale) ** (1 / 3)
            new = rate * self.beta
            self.last_throttle = now
            if not self.enabled:
                self.enabled = True
                self.last = now
                self.level = 0.0
        elif self.enabled:
            new = self.scale * (now - self.last_throttle - self.k) ** 3 + self.w_max
        else:
            return
        self._refill(now)
        self.rate = max(self.min_rate, min(new, 2 * self.measured))


def from_config(cfg, u=None):
    kind = cfg.kind
    if kind == "token_bucket":
        return TokenBucketLimiter(cfg.rpm, cfg.tpm, cfg.on_limit, cfg.max_wait)
    if kind == "concurrency":
        return ConcurrencyLimiter(cfg.limit, cfg.queue, cfg.max_wait)
    if kind == "aimd":
        return AimdLimiter(cfg.initial, cfg.min_limit, cfg.max_limit, cfg.backoff_ratio, cfg.timeout)
    if kind == "sre":
        return SreThrottle(cfg.k, cfg.window, u)
    return AwsAdaptive(cfg.beta, cfg.scale, cfg.min_rate, cfg.on_limit)
