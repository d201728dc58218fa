"""How the engine schedules work in SimPy without touching its private attributes.

``later(env, delay, handler, value)`` calls ``handler(event)`` ``delay`` seconds from now, after the
events already due at that time (one SimPy ``Timeout``, no process); the handler reads ``value`` as
``event.value`` (SimPy's public API). No wrapper sits between SimPy and the handler: a few of these
fire per simulated request. ``exact_delay`` gives the
delay that lands exactly on an absolute time.

>>> import simpy
>>> env = simpy.Environment()
>>> seen = []
>>> def note(event):
...     seen.append(event.value)
>>> _ = later(env, 2.0, note, "b"); _ = later(env, 1.0, note, "a")
>>> env.run(); seen, env.now
(['a', 'b'], 2.0)
"""

from __future__ import annotations

import math

from simpy.events import Timeout

__all__ = ["later", "exact_delay"]


def later(env, delay: float, handler, value=None) -> Timeout:
    """Call ``handler(event)`` after ``delay`` seconds of simulated time (``event.value`` is ``value``);
    returns the SimPy event."""
    ev = Timeout(env, delay, value)
    ev.callbacks.append(handler)
    return ev


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
