"""Routing strategies: the order in which a router tries providers for one call.

Every strategy returns candidate indices (into the route's provider list), best first; the router
then takes the first healthy one (breaker admits, not cooling down or ejected).

>>> r = Router("fallback", n=3)
>>> r.candidates(now=0.0, start=1, u=0.5, sizes=(100, 10))
[1, 2, 0]
>>> Router("weighted", n=2, weights=[0.0, 1.0]).candidates(0.0, 0, 0.3, (100, 10))[0]
1
"""

from __future__ import annotations

from collections import deque

__all__ = ["Router"]


class Router:
    """Per client instance state of one route: calls in flight, recent latencies, usage this minute."""

    def __init__(self, strategy: str, n: int, weights=None, latency_window: int = 10, prices=None,
                 usage_limits=None):
        self.strategy = strategy
        self.n = n
        w = list(weights) if weights is not None else [1.0] * n
        total = sum(w)
        self.cum = []
        acc = 0.0
        for x in w:
            acc += x / total if total > 0 else 1.0 / n
            self.cum.append(acc)
        self.inflight = [0] * n
        self.latencies = [deque(maxlen=latency_window) for _ in range(n)]
        self.prices = prices or [(0.0, 0.0)] * n  # (input, output) per token
        self.usage_limits = usage_limits or [None] * n  # (rpm, tpm) per provider or None
        self.minute = [-1] * n
        self.used_tokens = [0] * n
        self.used_requests = [0] * n

    def candidates(self, now: float, start: int, u: float, sizes: tuple[int, int]) -> list[int]:
        n = self.n
        s = self.strategy
        if s == "fallback" or n == 1:
            return [(start + j) % n for j in range(n)]
        if s == "weighted":
            first = next((i for i, c in enumerate(self.cum) if u < c), n - 1)
            return [first] + [i for i in range(n) if i != first]
        if s == "least_busy":
            return sorted(range(n), key=lambda i: (self.inflight[i], i))
        if s == "lowest_latency":
            def mean_latency(i):
                lat = self.latencies[i]
                return sum(lat) / len(lat) if lat else 0.0  # unknown: try it first
            return sorted(range(n), key=lambda i: (mean_latency(i), i))
        if s == "lowest_cost":
            inp, out = sizes
            return sorted(range(n), key=lambda i: (self.prices[i][0] * inp + self.prices[i][1] * out, i))
        if s == "usage":
            m = int(now // 60)
            for i in range(n):
                if self.minute[i] != m:
                    self.minute[i], self.used_tokens[i], self.used_requests[i] = m, 0, 0
            inp, out = sizes

            def within(i):
                lim = self.usage_limits[i]
                if lim is None:
                    return True
                rpm, tpm = lim
                return (rpm is None or self.used_requests[i] + 1 <= rpm) and (
                    tpm is None or self.used_tokens[i] + inp + out <= tpm)
            ok = sorted((i for i in range(n) if within(i)), key=lambda i: (self.used_tokens[i], i))
            return ok  # over every limit: nothing to try
        raise ValueError(f"unknown routing strategy {s!r}")

    def sent(self, now: float, i: int, tokens: int) -> None:
        self.inflight[i] += 1
        if self.strategy == "usage":
            m = int(now // 60)
            if self.minute[i] != m:
                self.minute[i], self.used_tokens[i], self.used_requests[i] = m, 0, 0
            self.used_tokens[i] += tokens
            self.used_requests[i] += 1

    def done(self, i: int, outcome: str, latency: float) -> None:
        self.inflight[i] -= 1
        if outcome == "ok":
            self.latencies[i].append(latency)
