"""How the engine schedules work in SimPy without touching its private attributes.

``later(env, delay, callback, value)`` calls ``callback(value, event)`` ``delay`` seconds from now,
after the events already due at that time (one SimPy ``Timeout``, no process). Handlers take the
event as an ignored second argument (``def handler(self, value, _event=None)``): binding the value
with ``functools.partial`` costs no Python frame and no read of the event's value, which matters at a
few events per simulated request. ``exact_delay`` gives the
delay that lands exactly on an absolute time.

>>> import simpy
>>> env = simpy.Environment()
>>> seen = []
>>> def note(value, _event=None):
...     seen.append(value)
>>> _ = later(env, 2.0, note, "b"); _ = later(env, 1.0, note, "a")
>>> env.run(); seen, env.now
(['a', 'b'], 2.0)
"""

from __future__ import annotations

import math
from functools import partial

from simpy.events import Timeout

__all__ = ["later", "exact_delay"]


def later(env, delay: float, callback, value=None) -> Timeout:
    """Call ``callback(value, event)`` after ``delay`` seconds of simulated time; returns the SimPy event."""
    ev = Timeout(env, delay)
    ev.callbacks.append(partial(callback, value))
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
