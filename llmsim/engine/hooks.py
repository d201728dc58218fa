"""Spend guards and output-contract checks wired to SimPy: the client pipeline asks them before
each attempt and after each 200 answer; stations report every bill to the meter.

The decisions live in the pure policies (llmsim.policies.spend, llmsim.policies.validation); this
module adds the timers (alert delays) and the events they record.

>>> import simpy
>>> from llmsim.config.client import Client
>>> cfg = Client.model_validate({"validation": {"on_invalid": "fallback", "max_attempts": 3}})
>>> guard, contract = build_hooks(simpy.Environment(), cfg, recorder=None)
>>> guard is None, contract.cfg.on_invalid
(True, 'fallback')
"""

from __future__ import annotations

from llmsim.config.client import Client
from llmsim.config.contracts import Validation
from llmsim.config.guards import SpendGuards
from llmsim.engine.clock import later
from llmsim.policies.spend import SpendGuard
from llmsim.policies.validation import InvalidShareMonitor, next_step

__all__ = ["GuardHook", "ContractHook", "build_hooks"]


class GuardHook:
    """The client's spend guards: ``blocks`` before an attempt, ``bill`` after the provider bills."""

    def __init__(self, env, cfg: SpendGuards, recorder):
        self.env = env
        self.policy = SpendGuard(cfg, on_event=recorder.event)
        self.delay = cfg.alert.delay if cfg.alert is not None else 0.0

    def blocks(self, req, now: float) -> bool:
        session = req.session
        reason = self.policy.admit(now, session)
        if reason is None:
            return False
        if session is not None:
            session.block_reason = reason
        return True

    def bill(self, now: float, cost: float, tokens: int, req) -> None:
        """The stations' bill callback: the session's running totals (for its caps), then the guards."""
        s = req.session
        if s is not None:
            s.tokens += tokens
            s.cost += cost
        if self.policy.bill(now, cost, tokens, s):
            later(self.env, self.delay, self._fire)

    def _fire(self, _event=None) -> None:
        self.policy.fire(self.env.now)


class ContractHook:
    """The client's ``Validation`` of 200 answers and its contract monitor."""

    def __init__(self, env, cfg: Validation, recorder):
        self.env = env
        self.rec = recorder
        self.cfg = cfg
        self.monitor = None if cfg.monitor is None else InvalidShareMonitor(cfg.monitor)

    def check(self, now: float, req, outcome: str) -> str | None:
        """After a 200 answer: 'retry', 'fallback', or None to deliver it."""
        invalid = outcome == "invalid"
        if self.monitor is not None and self.monitor.observe(now, invalid):
            later(self.env, self.monitor.cfg.delay, self._fire)
        if not invalid:
            return None
        return next_step(self.cfg.on_invalid, req.k, self.cfg.max_attempts)

    def _fire(self, _event=None) -> None:
        self.rec.event(self.env.now, "contract_alert", "validation", number=self.monitor.triggered_at)


def build_hooks(env, cfg: Client, recorder) -> tuple[GuardHook | None, ContractHook | None]:
    """The hooks a client config asks for (None when off: nothing on the hot path)."""
    return (None if cfg.spend is None else GuardHook(env, cfg.spend, recorder),
            None if cfg.validation is None else ContractHook(env, cfg.validation, recorder))
