"""A piecewise-constant value over simulated time.

>>> s = Schedule((0.0, 1800.0), (4.0, 12.0))
>>> s.at(100.0), s.at(1800.0)
(4.0, 12.0)
>>> Schedule.constant(3.0).at(1e9)
3.0
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

__all__ = ["Schedule"]


@dataclass(frozen=True, slots=True)
class Schedule:
    """Value ``values[i]`` holds from ``times[i]`` until ``times[i+1]``; before ``times[0]`` it is ``before``."""

    times: tuple[float, ...]
    values: tuple[float, ...]
    before: float = 0.0

    @classmethod
    def constant(cls, value: float) -> Schedule:
        return cls((0.0,), (float(value),))

    def at(self, t: float) -> float:
        i = bisect_right(self.times, t) - 1
        return self.values[i] if i >= 0 else self.before

    def integral(self, t0: float, t1: float) -> float:
        """Integral of the value over [t0, t1]."""
        edges = [t0] + [x for x in self.times if t0 < x < t1] + [t1]
        return sum(self.at(a) * (b - a) for a, b in zip(edges, edges[1:]))
