"""A mergeable log-bucket histogram: quantiles of a stream in fixed memory, within a stated relative error.

Bucket i holds the values in (gamma^(i-1), gamma^i] with gamma = (1 + a) / (1 - a); reporting a bucket by
2 gamma^i / (gamma + 1) is then within a relative error ``a`` (the ``rel_error``, 0.5 % by default) of
every value in it (the DDSketch construction). Buckets cover 1e-9 to 1e9 (about 4,200 counters for
0.5 %); smaller positive values are counted with the smallest, larger ones with the largest, zero and
negative values in a bucket of their own (reported as 0). Two histograms with the same ``rel_error``
merge by adding counts, so replications or chunks of a long run can be summed.

Quantiles follow numpy's default (linear interpolation between the order statistics at rank
q (n - 1)); each order statistic is read from its bucket, so the result is within ``rel_error`` of
``numpy.quantile`` of the same values.

>>> import numpy as np
>>> values = np.random.default_rng(1).lognormal(0.0, 1.0, 100_000)
>>> h = LogHistogram()
>>> h.add(values)
>>> bool(abs(h.quantile(0.95) / np.quantile(values, 0.95) - 1) <= h.rel_error)
True
>>> len(h), float(round(h.mean() / values.mean(), 12))
(100000, 1.0)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["LogHistogram"]

_LOW, _HIGH = 1e-9, 1e9


class LogHistogram:
    """Counts of values in log-spaced buckets (``rel_error``: the half-width of a bucket, relative), plus
    the exact count, sum, minimum and maximum."""

    def __init__(self, rel_error: float = 0.005):
        if not 0 < rel_error < 1:
            raise ValueError("rel_error must be in (0, 1)")
        self.rel_error = rel_error
        self.gamma = (1 + rel_error) / (1 - rel_error)
        self._log_gamma = math.log(self.gamma)
        self._offset = math.ceil(math.log(_LOW) / self._log_gamma)  # index of the bucket holding _LOW
        top = math.ceil(math.log(_HIGH) / self._log_gamma)
        # slot 0: zero and negative values; slot k >= 1: bucket index k - 1 + offset
        self.counts = np.zeros(top - self._offset + 2, dtype=np.int64)
        self.total = 0.0
        self.low = math.inf
        self.high = -math.inf

    def __len__(self) -> int:
        return int(self.counts.sum())

    def add(self, values) -> None:
        """Count ``values`` (NaN values are ignored)."""
        v = np.asarray(values, dtype=float)
        v = v[~np.isnan(v)]
        if not len(v):
            return
        slots = np.zeros(len(v), dtype=np.intp)
        pos = v > 0
        idx = np.ceil(np.log(np.clip(v[pos], _LOW, _HIGH)) / self._log_gamma).astype(np.intp)
        slots[pos] = np.clip(idx - self._offset + 1, 1, len(self.counts) - 1)
        self.counts += np.bincount(slots, minlength=len(self.counts))
        self.total += float(v.sum())
        self.low = min(self.low, float(v.min()))
        self.high = max(self.high, float(v.max()))

    def merge(self, other: LogHistogram) -> LogHistogram:
        """Add ``other``'s counts (same ``rel_error``) into this histogram; returns it."""
        if other.rel_error != self.rel_error:
            raise ValueError("histograms with different rel_error do not merge")
        self.counts += other.counts
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        return self

    def _value(self, slot: int) -> float:
        if slot == 0:
            return 0.0
        i = slot - 1 + self._offset
        return 2 * self.gamma ** i / (self.gamma + 1)

    def quantile(self, q: float) -> float:
        """The q-quantile (0 <= q <= 1) within ``rel_error``; NaN when empty. The minimum and maximum are exact."""
        n = len(self)
        if n == 0:
            return float("nan")
        h = q * (n - 1)
        lo, frac = int(math.floor(h)), h - math.floor(h)
        cum = np.cumsum(self.counts)
        a = self._order_stat(cum, lo, n)
        b = self._order_stat(cum, min(lo + 1, n - 1), n) if frac else a
        return a + (b - a) * frac

    def _order_stat(self, cum: np.ndarray, k: int, n: int) -> float:
        """The k-th smallest value (0-based), read from its bucket (exact at both ends)."""
        if k == 0:
            return self.low
        if k == n - 1:
            return self.high
        v = self._value(int(np.searchsorted(cum, k, side="right")))
        return min(max(v, self.low), self.high)

    def mean(self) -> float:
        """The exact mean of the values counted (NaN when empty)."""
        n = len(self)
        return self.total / n if n else float("nan")
