"""A timeout around everything below (e.g. a router's timeout around an SDK).

>>> from llmsim.engine.scripted import run_scripted
>>> cfg = {"layers": [{"timeout": "2s"}, {"retry": {"max_attempts": 1}}]}
>>> req, att = run_scripted(cfg, {"p": [("ok", 5.0)]})
>>> att["outcome"].tolist(), att["end"].tolist()
(['timeout'], [2.0])
"""

from __future__ import annotations

from llmsim.config.client import TimeoutLayer
from llmsim.engine.layers.call import Call, Context, Layer, Stage

__all__ = ["TimeoutStage"]


class TimeoutStage(Stage):
    """The ``TimeoutLayer`` config over the layer ``inner``: the calls below are cut ``timeout`` after
    they start, unless the caller's own cut comes first."""

    def __init__(self, layer: TimeoutLayer, inner: Layer, ctx: Context):
        super().__init__(inner, ctx)
        self.cfg = layer
        self.timeout = layer.timeout  # read on every call (a plain attribute is cheaper than the model's)

    def call(self, c: Call) -> None:
        t = self.ctx.env.now + self.timeout
        if t < c.cut:
            c = Call(c.req, c.station, t, "timeout", c.group, self, c)
        self.inner.call(c)

    def done(self, c: Call, att) -> None:
        c.outer.done(att)
