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

    def give_back(self, now: float, amount: float) -> None:
        """Return ``amount`` tokens taken earlier (a reservation corrected), up to the capacity."""
        level = self.level_at(now) + amount
        self.level = level if level < self.capacity else self.capacity
        self.last = now

    def try_take(self, now: float, cost: float) -> float:
        """Take ``cost`` and return 0.0, or take nothing and return the wait until it would fit."""
        wait = self.wait_for(now, cost)
        if wait == 0.0:
            self.take(now, cost)
        return wait


class RateLimiterSet:
    """RPM / TPM / ITPM / OTPM buckets checked together: admitted only if every bucket has room.

    ``admit`` returns 0.0 when admitted (all buckets charged) or the exact Retry-After otherwise.
    ITPM is charged for uncached input only (cache reads free, cache writes counted) unless
    ``itpm_counts_cache_reads``; output is charged ``output_burn`` times over to TPM and OTPM.

    >>> aware = RateLimiterSet(itpm=2_000_000)
    >>> aware.admit(0.0, 10_000_000, 8_000_000, 0, 0)  # 10M input, 80 % cache reads: 2M counted
    0.0
    >>> RateLimiterSet(itpm=2_000_000, itpm_counts_cache_reads=True).admit(0.0, 10_000_000, 8_000_000, 0, 0)
    inf
    """

    __slots__ = ("rpm", "tpm", "itpm", "otpm", "use_actual", "corrects", "count_refused", "cache_reads_count", "burn",
                 "active")

    def __init__(self, rpm=None, tpm=None, itpm=None, otpm=None, *, window: float = 60.0,
                 admission: str = "max_tokens", count_refused: bool = False,
                 itpm_counts_cache_reads: bool = False, output_burn: float = 1.0):
        def bucket(per_minute):
            return None if per_minute is None else TokenBucket(per_minute / 60.0, per_minute * window / 60.0)

        self.rpm, self.tpm, self.itpm, self.otpm = bucket(rpm), bucket(tpm), bucket(itpm), bucket(otpm)
        self.use_actual = admission == "actual"
        self.corrects = admission == "reserve"  # max_tokens reserved, corrected by ``settle`` at the bill
        self.count_refused = count_refused
        self.cache_reads_count = itpm_counts_cache_reads  # older models: cache reads charged to ITPM too
        self.burn = output_burn  # output tokens charged this many times over (Bedrock Claude 4: 5)
        # (bucket, which cost it charges) for the buckets there are: 0 a request, 1 all tokens, 2
        # uncached input, 3 output
        self.active = tuple((b, j) for j, b in enumerate((self.rpm, self.tpm, self.itpm, self.otpm)) if b is not None)

    def admit(self, now: float, input_tokens: int, cached_tokens: int, max_tokens: int, output_tokens: int) -> float:
        out = output_tokens if self.use_actual else max_tokens
        if self.burn != 1.0:
            out = out * self.burn
        if self.cache_reads_count:
            cached_tokens = 0
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

    def settle(self, now: float, max_tokens: int, output_tokens: int) -> None:
        """The attempt is billed for ``output_tokens``: give back what its ``max_tokens`` reservation took
        beyond them (``admission: reserve``; the caller checks ``corrects``).

        >>> s = RateLimiterSet(otpm=6000, admission="reserve")
        >>> s.admit(0.0, 10, 0, 4000, 500), s.otpm.level_at(0.0)
        (0.0, 2000.0)
        >>> s.settle(0.0, 4000, 500); s.otpm.level_at(0.0)
        5500.0
        """
        unused = (max_tokens - output_tokens) * self.burn
        if unused <= 0:
            return
        if self.tpm is not None:
            self.tpm.give_back(now, unused)
        if self.otpm is not None:
            self.otpm.give_back(now, unused)
