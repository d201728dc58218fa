"""How the engine schedules work in SimPy without touching its private attributes.

``later(env, delay, callback, value)`` calls ``callback(value)`` ``delay`` seconds from now, after
the events already due at that time (one SimPy ``Timeout``, no process). ``exact_delay`` gives the
delay that lands exactly on an absolute time.

>>> import simpy
>>> env = simpy.Environment()
>>> seen = []
>>> _ = later(env, 2.0, seen.append, "b"); _ = later(env, 1.0, seen.append, "a")
>>> env.run(); seen, env.now
(['a', 'b'], 2.0)
"""

from __future__ import annotations

import math

from simpy.events import Timeout

__all__ = ["later", "exact_delay"]


def later(env, delay: float, callback, value=None) -> Timeout:
    """Call ``callback(value)`` after ``delay`` seconds of simulated time; returns the SimPy event."""
    ev = Timeout(env, delay, (callback, value))
    ev.callbacks.append(_fire)
    return ev


def _fire(ev: Timeout) -> None:
    callback, value = ev.value
    callback(value)


def exact_delay(now: float, t: float) -> float:
    """A delay d with now + d >= t in floating point: the event fires at t (rarely one ulp after),
    never before the recorded arrival time.

    >>> now, t = 0.1, 0.3
    >>> now + exact_delay(now, t) == t
    True
    """
    d = t - now
    if now + d < t:
        d += math.ulp(t)
    return d
