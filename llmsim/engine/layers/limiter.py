"""A client-side limiter before the layers below: go, wait (token bucket, concurrency queue), or
reject locally (outcome ``rejected``).

>>> from llmsim.engine.scripted import run_scripted
>>> cfg = {"limiter": {"kind": "concurrency", "limit": 1}}
>>> req, att = run_scripted(cfg, {"p": [("ok", 2.0)]}, arrivals=[0.0, 1.0])
>>> att["outcome"].tolist()
['ok', 'rejected']
"""

from __future__ import annotations

from llmsim.config.client import LimiterLayer
from llmsim.engine.clock import later
from llmsim.engine.layers.call import Call, Context, Layer, Stage
from llmsim.policies import limiters
from llmsim.policies.protocols import Admit

__all__ = ["LimiterStage"]

INF = float("inf")


class _Limited(Call):
    """The limiter stage's call below: when it went (``start``) and whether it waits in the queue."""

    __slots__ = ("start", "waiting")


class LimiterStage(Stage):
    """The limiter of a ``LimiterLayer`` config over the layer ``inner``."""

    def __init__(self, layer: LimiterLayer, inner: Layer, ctx: Context):
        super().__init__(inner, ctx)
        self.limiter = limiters.build(layer.limiter, ctx.jitter.next)
        self.queue: list[_Limited] = []

    def call(self, c: Call) -> None:
        f = _Limited(c.req, c.station, c.cut, c.kind, c.group, self, c)
        f.waiting = False
        now = self.ctx.env.now
        d = self.limiter.acquire(now, f.req.inp + self.ctx.max_tokens, f.cut - now)
        kind = d.kind
        if kind is Admit.GO:
            self._go(f)
        elif kind is Admit.WAIT:  # a permit is reserved: go when its time comes
            later(self.ctx.env, d.delay, self._go_when_due, f)
        elif kind is Admit.QUEUE:
            self._queue(f, now)
        else:
            self.ctx.reject(f.req, -1, c)

    def _queue(self, f: _Limited, now: float) -> None:
        """Wait in the concurrency limiter's queue, at most its max_wait and until the cut."""
        f.waiting = True
        self.queue.append(f)
        wait = min(self.limiter.max_wait, f.cut - now)
        if wait < INF:
            later(self.ctx.env, wait, self._give_up, f)

    def _give_up(self, event) -> None:
        f = event.value
        if f.waiting:
            f.waiting = False
            self.queue.remove(f)
            self.limiter.give_up_waiting()
            if f.group is None or not f.group.cancelled:
                self.ctx.reject(f.req, -1, f.outer)

    def _go_when_due(self, event) -> None:
        self._go(event.value)

    def _go(self, f: _Limited) -> None:
        if f.group is not None and f.group.cancelled:  # a hedge already won: hand the permit back
            self.limiter.release(self.ctx.env.now, "cancelled", 0.0)
            return
        f.start = self.ctx.env.now
        self.inner.call(f)

    def done(self, f: _Limited, att) -> None:
        now = self.ctx.env.now
        self.limiter.release(now, att.outcome, now - f.start)
        while self.queue and self.limiter.admit_waiter():
            nxt = self.queue.pop(0)
            nxt.waiting = False
            self._go(nxt)  # (a waiter whose hedge was won returns the permit at once)
        f.outer.done(att)
