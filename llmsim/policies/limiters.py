"""Client-side limiters ("gates"): decide before a call whether it goes now, waits, or is rejected.

Every gate implements ``llmsim.policies.protocols.Limiter``: ``acquire(now, tokens, max_wait)``
answers a ``Decision`` (GO: permit taken; WAIT: a permit is reserved, go after ``delay`` seconds,
callers queue in FIFO order, no polling; QUEUE: wait in the concurrency queue; REJECT: nothing
taken); ``release(now, outcome, latency)`` when the call ends.

>>> from llmsim.config.client import SreThrottle
>>> gate = SreThrottleGate(SreThrottle(kind="sre"), u=lambda: 0.5)
>>> gate.reject_probability(0.0), gate.acquire(0.0, 100)
(0.0, Decision(kind=<Admit.GO: 'go'>, delay=0.0))
"""

from __future__ import annotations

import math

from llmsim.config import client as C
from llmsim.policies.protocols import GO, QUEUE, REJECT, Decision, Limiter, wait
from llmsim.policies.windows import TimeWindow
from llmsim.provider.buckets import TokenBucket

__all__ = ["TokenBucketGate", "ConcurrencyGate", "AimdGate", "SreThrottleGate", "AwsAdaptiveGate", "build"]

INF = float("inf")
THROTTLED = frozenset({"rate_limited", "overloaded"})


class _NoQueue:
    """The queue part of the protocol for gates without a queue."""

    max_wait = INF

    def admit_waiter(self) -> bool:
        return False

    def give_up_waiting(self) -> None:
        pass


class TokenBucketGate(_NoQueue):
    """RPM and TPM buckets checked before sending (tokens = input + max_tokens); wait or reject."""

    def __init__(self, cfg: C.TokenBucketLimiter):
        self.cfg = cfg
        self.rpm = None if cfg.rpm is None else TokenBucket(cfg.rpm / 60.0, cfg.rpm)
        self.tpm = None if cfg.tpm is None else TokenBucket(cfg.tpm / 60.0, cfg.tpm)
        self.reject = cfg.on_limit == "reject"
        self.max_wait = INF if cfg.max_wait is None else cfg.max_wait

    def acquire(self, now: float, tokens: int, max_wait: float = INF) -> Decision:
        delay = 0.0
        if self.rpm is not None:
            delay = self.rpm.wait_for(now, 1.0)
        if self.tpm is not None:
            delay = max(delay, self.tpm.wait_for(now, float(tokens)))
        if delay > 0.0 and (self.reject or delay > min(self.max_wait, max_wait)):
            return REJECT
        # take now (the level may go below zero: later callers wait behind this reservation)
        if self.rpm is not None:
            self.rpm.take(now, 1.0)
        if self.tpm is not None:
            self.tpm.take(now, float(tokens))
        return wait(delay)

    def release(self, now: float, outcome: str, latency: float) -> None:
        pass


class ConcurrencyGate:
    """At most ``limit`` calls in flight; up to ``queue`` callers wait (FIFO) for ``max_wait``.

    Waiting is done by the engine: acquire answers QUEUE, and after a release ``admit_waiter`` says
    whether the first queued caller may go."""

    def __init__(self, cfg: C.ConcurrencyLimiter):
        self.cfg = cfg
        self.max_wait = INF if cfg.max_wait is None else cfg.max_wait
        self.inflight = 0
        self.waiting = 0

    def acquire(self, now: float, tokens: int, max_wait: float = INF) -> Decision:
        if self.inflight < self.cfg.limit and self.waiting == 0:
            self.inflight += 1
            return GO
        if self.waiting < self.cfg.queue and self.max_wait > 0:
            self.waiting += 1
            return QUEUE
        return REJECT

    def release(self, now: float, outcome: str, latency: float) -> None:
        self.inflight -= 1

    def admit_waiter(self) -> bool:
        """Called after a release: a queued caller takes the free permit."""
        if self.waiting and self.inflight < self.cfg.limit:
            self.waiting -= 1
            self.inflight += 1
            return True
        return False

    def give_up_waiting(self) -> None:
        self.waiting -= 1


class AimdGate(_NoQueue):
    """Netflix concurrency-limits AIMD: drop or rtt > timeout -> limit *= ratio; else if
    inflight * 2 >= limit -> limit += 1. Over the limit -> rejected."""

    def __init__(self, cfg: C.AimdLimiter):
        self.cfg = cfg
        self.limit = float(cfg.initial)
        self.inflight = 0

    def acquire(self, now: float, tokens: int, max_wait: float = INF) -> Decision:
        if self.inflight >= int(self.limit):
            return REJECT
        self.inflight += 1
        return GO

    def release(self, now: float, outcome: str, latency: float) -> None:
        cfg = self.cfg
        inflight = self.inflight
        self.inflight -= 1
        if outcome in THROTTLED or outcome in ("timeout", "deadline") or latency > cfg.timeout:
            self.limit = max(cfg.min_limit, self.limit * cfg.backoff_ratio)
        elif inflight * 2 >= self.limit:
            self.limit = min(cfg.max_limit, self.limit + 1)


class SreThrottleGate(_NoQueue):
    """Google SRE "Handling Overload": reject locally with probability
    max(0, (requests - k * accepts) / (requests + 1)) over the last ``window`` seconds, where
    accepts are calls the backend did not refuse as throttled or overloaded. ``u``: a callable
    giving U[0, 1) draws (drawn only when the probability is positive)."""

    def __init__(self, cfg: C.SreThrottle, u):
        self.cfg = cfg
        self.requests = TimeWindow(cfg.window)
        self.accepts = TimeWindow(cfg.window)
        self.u = u

    def reject_probability(self, now: float) -> float:
        req, acc = self.requests.count(now), self.accepts.count(now)
        return max(0.0, (req - self.cfg.k * acc) / (req + 1))

    def acquire(self, now: float, tokens: int, max_wait: float = INF) -> Decision:
        p = self.reject_probability(now)
        self.requests.add(now)
        if p > 0 and self.u() < p:
            return REJECT
        return GO

    def release(self, now: float, outcome: str, latency: float) -> None:
        if outcome not in THROTTLED and outcome not in ("rejected", "spend_blocked"):
            self.accepts.add(now)


class AwsAdaptiveGate(_NoQueue):
    """botocore adaptive retry mode (botocore/retries/adaptive.py, bucket.py, throttling.py): a
    token bucket enabled at the first throttle; its rate follows CUBIC: on a throttle
    w_max = rate, rate *= beta, K = cbrt(w_max (1 - beta) / scale); on success
    rate = scale (t - t_throttle - K)**3 + w_max; capped at 2 x the measured send rate (EMA 0.8 over
    0.5 s buckets), at least min_rate."""

    def __init__(self, cfg: C.AwsAdaptive):
        self.cfg = cfg
        self.reject = cfg.on_limit == "reject"
        self.enabled = False
        self.rate = cfg.min_rate
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

    def acquire(self, now: float, tokens: int, max_wait: float = INF) -> Decision:
        if not self.enabled:
            return GO
        self._refill(now)
        delay = 0.0 if self.level >= 1.0 else (1.0 - self.level) / self.rate
        if delay > 0.0 and (self.reject or delay > max_wait):
            return REJECT
        self.level -= 1.0  # reserve (may go below zero: callers queue behind)
        return wait(delay)

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
        cfg = self.cfg
        if outcome in THROTTLED:
            rate = min(self.measured, self.rate) if self.enabled else self.measured
            self.w_max = rate
            self.k = (self.w_max * (1 - cfg.beta) / cfg.scale) ** (1 / 3)
            new = rate * cfg.beta
            self.last_throttle = now
            if not self.enabled:
                self.enabled = True
                self.last = now
                self.level = 0.0
        elif self.enabled:
            new = cfg.scale * (now - self.last_throttle - self.k) ** 3 + self.w_max
        else:
            return
        self._refill(now)
        self.rate = max(cfg.min_rate, min(new, 2 * self.measured))


_KINDS = {C.TokenBucketLimiter: TokenBucketGate, C.ConcurrencyLimiter: ConcurrencyGate, C.AimdLimiter: AimdGate,
          C.AwsAdaptive: AwsAdaptiveGate}


def build(cfg, u) -> Limiter:
    """The runtime gate of a limiter config; ``u`` gives the uniforms of the gates that draw (SRE)."""
    if isinstance(cfg, C.SreThrottle):
        return SreThrottleGate(cfg, u)
    return _KINDS[type(cfg)](cfg)
