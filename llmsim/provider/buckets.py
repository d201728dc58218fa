"""Continuously refilled token buckets: the rate-limit half of the provider model (no SimPy).

>>> b = TokenBucket(rate=1.0, capacity=2.0)
>>> b.try_take(0.0, 2.0), b.try_take(0.0, 1.0)
(0.0, 1.0)
>>> b.try_take(0.0 + 1.0, 1.0)  # back exactly when told: admitted
0.0
"""

from __future__ import annotations

__all__ = ["TokenBucket", "RateLimiterSet", "EARLY"]

#: seconds a request may arrive before its tokens are there and still be admitted (rounding, not policy)
EARLY = 1e-7


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second; starts full."""

    __slots__ = ("rate", "capacity", "level", "last", "slack")

    def __init__(self, rate: float, capacity: float):
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self.last = 0.0
        # tokens a cost may lack and still fit: what 100 ns of refill brings (more than the rounding of
        # a time up to years, less than any real shortfall). A client that
        # comes back exactly when told (now + Retry-After) can land an ulp early in floating point;
        # without the slack it would be refused again with a Retry-After of 1e-16 s
        self.slack = rate * EARLY

    def level_at(self, now: float) -> float:
        level = self.level + (now - self.last) * self.rate
        return level if level < self.capacity else self.capacity

    def wait_for(self, now: float, cost: float) -> float:
        """Seconds until ``cost`` tokens are available (0 if now); inf if cost exceeds the capacity."""
        level = self.level + (now - self.last) * self.rate  # level_at(now), inlined: called per attempt
        if level >= self.capacity:
            level = self.capacity
        if level >= cost - self.slack:
            return 0.0
        if cost > self.capacity:
            return float("inf")
        return (cost - level) / self.rate

    def take(self, now: float, cost: float) -> None:
        level = self.level + (now - self.last) * self.rate  # level_at(now), inlined
        self.level = (level if level < self.capacity else self.capacity) - cost
        self.last = now

    def try_take(self, now: float, cost: float) -> float:
        """Take ``cost`` and return 0.0, or take nothing and return the wait until it would fit."""
        wait = self.wait_for(now, cost)
        if wait == 0.0:
            self.take(now, cost)
        return wait


class RateLimiterSet:
    """RPM / TPM / ITPM / OTPM buckets checked together: admitted only if every bucket has room.

    ``admit`` returns 0.0 when admitted (all buckets charged) or the exact Retry-After otherwise."""

    __slots__ = ("rpm", "tpm", "itpm", "otpm", "use_actual", "count_refused", "active")

    def __init__(self, rpm=None, tpm=None, itpm=None, otpm=None, *, window: float = 60.0,
                 admission: str = "max_tokens", count_refused: bool = False):
        def bucket(per_minute):
            return None if per_minute is None else TokenBucket(per_minute / 60.0, per_minute * window / 60.0)

        self.rpm, self.tpm, self.itpm, self.otpm = bucket(rpm), bucket(tpm), bucket(itpm), bucket(otpm)
        self.use_actual = admission == "actual"
        self.count_refused = count_refused
        # (bucket, which cost it charges) for the buckets there are: 0 a request, 1 all tokens, 2
        # uncached input, 3 output
        self.active = tuple((b, j) for j, b in enumerate((self.rpm, self.tpm, self.itpm, self.otpm)) if b is not None)

    def admit(self, now: float, input_tokens: int, cached_tokens: int, max_tokens: int, output_tokens: int) -> float:
        out = output_tokens if self.use_actual else max_tokens
        # what each bucket (rpm, tpm, itpm, otpm) would charge this attempt
        costs = (1.0, input_tokens + out, input_tokens - cached_tokens, out)
        wait = 0.0  # the longest wait of any bucket
        for b, j in self.active:  # TokenBucket.wait_for, inlined: every attempt passes here
            cost = costs[j]
            level = b.level + (now - b.last) * b.rate
            if level >= b.capacity:
                level = b.capacity
            if level < cost - b.slack:
                w = float("inf") if cost > b.capacity else (cost - level) / b.rate
                if w > wait:  # a comparison, not max(): a builtin call costs more
                    wait = w
        if wait == 0.0:
            for b, j in self.active:  # charge every bucket (TokenBucket.take, inlined)
                level = b.level + (now - b.last) * b.rate
                b.level = (level if level < b.capacity else b.capacity) - costs[j]
                b.last = now
        elif self.count_refused and self.rpm is not None:
            self.rpm.take(now, min(1.0, self.rpm.level_at(now)))
        return wait
