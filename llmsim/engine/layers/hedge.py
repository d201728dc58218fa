"""Polly-style hedging: up to max_hedged extra calls, ``delay`` apart (0: all at once; None: only
after a failure); the first good answer wins and the calls still in flight are cancelled.

>>> from llmsim.engine.scripted import run_scripted
>>> cfg = {"hedge": {"max_hedged": 1, "delay": "1s"}}
>>> req, att = run_scripted(cfg, {"p": [("ok", 5.0), ("ok", 1.0)]})
>>> sorted(att["outcome"].tolist()), req["outcome"].tolist()
(['cancelled', 'ok'], ['ok'])
"""

from __future__ import annotations

from llmsim.config.client import HedgeLayer
from llmsim.engine.clock import later
from llmsim.engine.layers.call import Call, Context, Layer, Stage

__all__ = ["HedgeStage", "HedgeGroup"]


class HedgeGroup(Call):
    """One hedged call: the call every hedge of it makes below (its own ``group``), and how the
    hedges stand (launched, pending, finished; the attempts they sent, ``inflight``)."""

    __slots__ = ("cancelled", "finished", "inflight", "launched", "pending", "last")


class HedgeStage(Stage):
    """The ``Hedge`` of a ``HedgeLayer`` config over the layer ``inner``."""

    def __init__(self, layer: HedgeLayer, inner: Layer, ctx: Context):
        super().__init__(inner, ctx)
        self.cfg = layer.hedge
        self.total = 1 + self.cfg.max_hedged
        self.delay = self.cfg.delay  # read on every call (a plain attribute is cheaper than the model's)

    def call(self, c: Call) -> None:
        g = HedgeGroup(c.req, c.station, c.cut, c.kind, None, self, c)
        g.group = g
        g.cancelled = g.finished = False
        g.inflight = []
        g.launched = g.pending = 0
        g.last = None
        self._launch(g)

    def _launch(self, g: HedgeGroup) -> None:
        g.launched += 1
        g.pending += 1
        delay = self.delay
        if g.launched < self.total and delay is not None:
            # the next hedge goes ``delay`` after this launch, unless a failure launched it earlier
            later(self.ctx.env, delay, self._timer, (g, g.launched))
        self.inner.call(g)

    def _timer(self, event) -> None:
        g, launched = event.value
        if g.launched == launched and not g.finished and g.launched < self.total and self.ctx.env.now < g.cut:
            self._launch(g)

    def done(self, g: HedgeGroup, att) -> None:
        g.pending -= 1
        if g.finished:
            return
        if att.outcome == "ok":
            g.finished = g.cancelled = True
            for other in g.inflight:
                if other is not att and other.in_flight:
                    self.inner.cancel(other)
            g.outer.done(att)
            return
        g.last = att
        now = self.ctx.env.now
        if g.launched < self.total and (self.delay is None or g.pending == 0) and now < g.cut:
            self._launch(g)  # a failure starts the next hedge at once
            return
        if g.pending == 0 and (g.launched >= self.total or now >= g.cut):
            g.finished = True
            g.outer.done(att)
