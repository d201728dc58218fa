"""What every layer shares: the ``Call`` value, the per-client ``Context``, the ``Stage`` base.

>>> class Top:
...     def done(self, call, att):
...         print("decided by", att)
>>> c = Call("req", None, 30.0, "deadline", None, Top(), None)
>>> c.done("attempt 0")
decided by attempt 0
"""

from __future__ import annotations

from typing import Protocol

from llmsim.core.outcomes import Outcome
from llmsim.core.streams import UniformPool
from llmsim.engine.recorder import Recorder
from llmsim.engine.station import refused_locally

__all__ = ["Call", "Caller", "Layer", "Context", "Stage"]

NAN = float("nan")


class Caller(Protocol):
    def done(self, call: Call, att) -> None:
        """``call``, made by this caller, was decided by the attempt ``att``."""


class Call:
    """One call of a layer: ``req``; ``station``, the provider a route above chose (None: the leaf's
    default); ``cut``, the absolute time by which the caller gives up, and ``kind``, what that cut is
    ("timeout" or "deadline"); ``group``, the hedge group (None outside a hedge); ``caller``, who hears
    the result (``done``); ``outer``, the call the caller is serving (None at the top)."""

    __slots__ = ("req", "station", "cut", "kind", "group", "caller", "outer")

    def __init__(self, req, station, cut: float, kind: str, group, caller: Caller, outer: Call | None):
        self.req = req
        self.station = station
        self.cut = cut
        self.kind = kind
        self.group = group
        self.caller = caller
        self.outer = outer

    def done(self, att) -> None:
        """The call is decided by ``att``: tell the caller."""
        self.caller.done(self, att)


class Layer(Protocol):
    """A layer of the client pipeline (a stage, or the leaf at the bottom)."""

    def call(self, c: Call) -> None:
        """Work for one call; ``c.done(att)`` when it is decided."""

    def cancel(self, att) -> None:
        """Cancel an attempt in flight (a hedge that lost)."""

    def peek(self, req, now: float):
        """The provider the next call will go to, when already decided (None: it is not)."""

    def has_alternative(self, req, now: float, station) -> bool:
        """Is another healthy provider available below?"""

    def choices(self, now: float) -> tuple[int, int]:
        """(healthy providers, providers) the layer below chooses from (LiteLLM's retry rule reads both)."""

    def advance(self, req) -> None:
        """The next call starts from the next provider (fallback order)."""


class Context:
    """What every layer of one client instance shares: the clock, recorder, random numbers."""

    __slots__ = ("env", "rec", "jitter", "max_tokens", "guard")

    def __init__(self, env, rec: Recorder, jitter: UniformPool, max_tokens: int, guard=None):
        self.env = env
        self.rec = rec
        self.jitter = jitter
        self.max_tokens = max_tokens
        self.guard = guard  # spend guards (llmsim.engine.hooks), or None

    def reject(self, req, station_index: int, c: Call, outcome: Outcome = Outcome.REJECTED) -> None:
        """A call refused locally (no provider saw it): one attempt row, then ``c.done``."""
        att = refused_locally(self.rec, req, station_index, self.env.now, outcome)
        req.k += 1
        c.done(att)


class Stage:
    """A layer over ``inner``: what the layers above ask about routing or cancelling goes down."""

    __slots__ = ("inner", "ctx")

    def __init__(self, inner: Layer, ctx: Context):
        self.inner = inner
        self.ctx = ctx

    def peek(self, req, now: float):
        return self.inner.peek(req, now)

    def has_alternative(self, req, now: float, station) -> bool:
        return self.inner.has_alternative(req, now, station)

    def choices(self, now: float) -> tuple[int, int]:
        return self.inner.choices(now)

    def cancel(self, att) -> None:
        self.inner.cancel(att)

    def advance(self, req) -> None:
        self.inner.advance(req)
