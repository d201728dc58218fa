"""Routing strategies: the order in which a router tries providers for one call.

Every strategy returns candidate indices (into the route's provider list), best first; the router
then takes the first healthy one (breaker admits, not cooling down or ejected).

>>> from llmsim.config.client import Route
>>> r = StrategyRouter(Route(order=["a", "b", "c"]))
>>> r.candidates(now=0.0, start=1, u=0.5, sizes=(100, 10))
[1, 2, 0]
>>> weighted = StrategyRouter(Route(strategy="weighted", order=["a", "b"], weights=[0.0, 1.0]))
>>> weighted.candidates(0.0, 0, 0.3, (100, 10))[0]
1
"""

from __future__ import annotations

from collections import deque

from llmsim.config.client import Route
from llmsim.policies.windows import FixedWindow

__all__ = ["StrategyRouter"]


def _cumulative_shares(weights: list[float] | None, n: int) -> list[float]:
    """Running totals of the weights' shares (equal shares without weights or when they sum to 0)."""
    w = list(weights) if weights is not None else [1.0] * n
    total = sum(w)
    cum, acc = [], 0.0
    for x in w:
        acc += x / total if total > 0 else 1.0 / n
        cum.append(acc)
    return cum


def _usage_limits(limits: dict, names: list[str]) -> list[tuple | None]:
    """(rpm, tpm) of each provider that has usage limits, None for the others."""
    return [(limits[m].get("rpm"), limits[m].get("tpm")) if m in limits else None for m in names]


class StrategyRouter:
    """The ``config.client.Route`` state of one client instance: calls in flight, recent latencies,
    usage this minute. ``names``: the providers of the route (``order`` with ``*`` resolved);
    ``prices``: (input, output) price per token of each, for ``lowest_cost``."""

    def __init__(self, cfg: Route, names: list[str] | None = None, prices=None):
        names = list(cfg.order) if names is None else names
        n = len(names)
        self.cfg = cfg
        self.strategy = cfg.strategy
        self.n = n
        self.cum = _cumulative_shares(cfg.weights, n)
        self.inflight = [0] * n
        self.latencies = [deque(maxlen=cfg.latency_window) for _ in range(n)]
        self.prices = prices or [(0.0, 0.0)] * n
        self.usage_limits = _usage_limits(cfg.usage_limits or {}, names)
        self.minutes = [FixedWindow(60.0) for _ in range(n)]
        self.used_tokens = [0] * n
        self.used_requests = [0] * n
        self._order = self._fallback if n == 1 else {
            "fallback": self._fallback, "weighted": self._weighted, "least_busy": self._least_busy,
            "lowest_latency": self._lowest_latency, "lowest_cost": self._lowest_cost, "usage": self._usage,
        }[cfg.strategy]

    def candidates(self, now: float, start: int, u: float, sizes: tuple[int, int]) -> list[int]:
        """Provider indices to try, best first."""
        return self._order(now, start, u, sizes)

    def _fallback(self, now, start, u, sizes) -> list[int]:
        n = self.n
        return [(start + j) % n for j in range(n)]

    def _weighted(self, now, start, u, sizes) -> list[int]:
        n = self.n
        first = next((i for i, c in enumerate(self.cum) if u < c), n - 1)
        return [first] + [i for i in range(n) if i != first]

    def _least_busy(self, now, start, u, sizes) -> list[int]:
        return sorted(range(self.n), key=lambda i: (self.inflight[i], i))

    def _lowest_latency(self, now, start, u, sizes) -> list[int]:
        def mean_latency(i):
            lat = self.latencies[i]
            return sum(lat) / len(lat) if lat else 0.0  # unknown: try it first
        return sorted(range(self.n), key=lambda i: (mean_latency(i), i))

    def _lowest_cost(self, now, start, u, sizes) -> list[int]:
        inp, out = sizes
        return sorted(range(self.n), key=lambda i: (self.prices[i][0] * inp + self.prices[i][1] * out, i))

    def _usage(self, now, start, u, sizes) -> list[int]:
        """Within their RPM/TPM this minute, fewest tokens first (over every limit: nothing to try)."""
        for i in range(self.n):
            self._roll(now, i)
        inp, out = sizes
        ok = (i for i in range(self.n) if self._within(i, inp + out))
        return sorted(ok, key=lambda i: (self.used_tokens[i], i))

    def _within(self, i: int, tokens: int) -> bool:
        lim = self.usage_limits[i]
        if lim is None:
            return True
        rpm, tpm = lim
        return (rpm is None or self.used_requests[i] + 1 <= rpm) and (
            tpm is None or self.used_tokens[i] + tokens <= tpm)

    def _roll(self, now: float, i: int) -> None:
        """A new minute: provider i's usage starts from zero."""
        if self.minutes[i].roll(now):
            self.used_tokens[i] = self.used_requests[i] = 0

    def sent(self, now: float, i: int, tokens: int) -> None:
        self.inflight[i] += 1
        if self.strategy == "usage":
            self._roll(now, i)
            self.used_tokens[i] += tokens
            self.used_requests[i] += 1

    def done(self, i: int, outcome: str, latency: float) -> None:
        self.inflight[i] -= 1
        if outcome == "ok":
            self.latencies[i].append(latency)
