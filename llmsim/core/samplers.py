"""Runtime samplers for durations and sizes; each knows its mean analytically.

Samplers take an explicit ``numpy.random.Generator`` (no global random state) and draw in batches.

>>> import numpy as np
>>> d = LogNormal(median=1200, p95=6000)
>>> round(d.mean)
1937
>>> d.sample(np.random.default_rng(0), 3).shape
(3,)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Sampler", "Fixed", "Exponential", "LogNormal", "Gamma", "Empirical", "Z95"]

Z95 = 1.6448536269514722  # standard normal 95th percentile


class Sampler:
    mean: float

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Fixed(Sampler):
    value: float

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng, size):
        return np.full(size, self.value, dtype=float)


@dataclass(frozen=True, slots=True)
class Exponential(Sampler):
    mean: float

    def sample(self, rng, size):
        return rng.exponential(self.mean, size)


@dataclass(frozen=True, slots=True)
class LogNormal(Sampler):
    """Parameterised by its median and 95th percentile (p95 >= median)."""

    median: float
    p95: float

    @property
    def sigma(self) -> float:
        return math.log(self.p95 / self.median) / Z95

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    def sample(self, rng, size):
        return self.median * np.exp(self.sigma * rng.standard_normal(size))


@dataclass(frozen=True, slots=True)
class Gamma(Sampler):
    """Parameterised by mean and coefficient of variation (cv = std / mean)."""

    mean: float
    cv: float

    def sample(self, rng, size):
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean / shape, size)


@dataclass(frozen=True, slots=True)
class Empirical(Sampler):
    """Resamples the given values uniformly (bootstrap)."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    def sample(self, rng, size):
        return np.asarray(self.values, dtype=float)[rng.integers(0, len(self.values), size)]
