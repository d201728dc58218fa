"""Output-contract validation: every delivered answer is checked (outcome ``invalid`` = 200 but
broken); retry on the same provider, fall back to the next, or accept (llmsim.engine.hooks).

>>> from llmsim.engine.scripted import run_scripted
>>> cfg = {"validation": {"on_invalid": "retry", "max_attempts": 2}}
>>> req, att = run_scripted(cfg, {"p": [("invalid", 1.0), ("ok", 1.0)]})
>>> att["outcome"].tolist(), req["outcome"].tolist()
(['invalid', 'ok'], ['ok'])
"""

from __future__ import annotations

from llmsim.engine.clock import later
from llmsim.engine.hooks import ContractHook
from llmsim.engine.layers.call import Call, Context, Layer, Stage

__all__ = ["ValidationStage"]


class ValidationStage(Stage):
    """The client's ``Validation`` (through its ``ContractHook``) over the layer ``inner``."""

    def __init__(self, contract: ContractHook, inner: Layer, ctx: Context):
        super().__init__(inner, ctx)
        self.contract = contract

    def call(self, c: Call) -> None:
        self.inner.call(Call(c.req, c.station, c.cut, c.kind, c.group, self, c))

    def done(self, v: Call, att) -> None:
        outcome = att.outcome
        if outcome == "ok" or outcome == "invalid":
            step = self.contract.check(att.end, v.req, outcome)
            delay = self.contract.cfg.delay
            if step is not None and att.end + delay < v.cut:
                if step != "retry":
                    self.inner.advance(v.req)  # fall back to the next provider of the route
                later(self.ctx.env, delay, self._resend, v)
                return
        v.outer.done(att)

    def _resend(self, event) -> None:
        self.inner.call(event.value)
