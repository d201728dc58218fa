"""Spend guards as a pure object (no SimPy): per-session caps, budgets per window, a spend-rate alert.

The engine asks ``admit(now, session)`` before every attempt (a reason string means the attempt is
``spend_blocked``), reports every bill with ``bill(now, cost, tokens, session)``, and calls
``fire(now)`` when an alert condition, seen ``delay`` later, takes effect.

>>> from llmsim.config.guards import SpendGuards
>>> g = SpendGuard(SpendGuards.model_validate({"budgets": [{"window": 10, "limit": 1.0}]}))
>>> g.admit(0.0, None), g.bill(1.0, 1.2, 100, None), g.admit(2.0, None), g.admit(10.0, None)
(None, False, 'budget', None)
"""

from __future__ import annotations

from llmsim.config.guards import Budget, SpendGuards
from llmsim.policies.windows import FixedWindow, TimeWindow

__all__ = ["SpendGuard", "SessionSpend"]


class SessionSpend:
    """What a guard needs to know about a session: steps started, billed tokens and cost."""

    __slots__ = ("steps", "tokens", "cost")

    def __init__(self):
        self.steps = 0  # steps started so far, including the current one
        self.tokens = 0
        self.cost = 0.0


class _SpendWindow:
    """One budget of ``SpendGuards.budgets``: spend in the current fixed window (aligned to time 0)."""

    __slots__ = ("cfg", "sessions_only", "window", "spent", "announced")

    def __init__(self, cfg: Budget):
        self.cfg = cfg
        self.sessions_only = cfg.scope == "sessions"
        self.window = FixedWindow(cfg.window, index=0)
        self.spent = 0.0
        self.announced = -1  # the window whose exhaustion was recorded last

    def roll(self, now: float) -> None:
        if self.window.roll(now):
            self.spent = 0.0


class SpendGuard:
    """The ``SpendGuards`` of a client: decides whether an attempt may be sent, from the spend billed
    so far. ``on_event(now, kind, subject, value)`` records what happens (budget exhausted, alert)."""

    def __init__(self, cfg: SpendGuards, on_event=None):
        self.cfg = cfg
        self.budgets = [_SpendWindow(b) for b in cfg.budgets]
        a = cfg.alert
        self.alert = a
        self.alert_sessions_only = a is not None and a.scope == "sessions"
        self._recent = TimeWindow(a.window) if a is not None else None
        self.triggered = False  # the alert condition held once (it fires once per run)
        self.triggered_at = float("nan")  # when the alert condition first held (NaN: not yet)
        self.fired_at = float("nan")  # when it was seen (triggered + delay) and its action began
        self.active = False
        self._next_allowed = 0.0
        self.on_event = on_event

    # -- before an attempt ----------------------------------------------------------------------
    def admit(self, now: float, session: SessionSpend | None) -> str | None:
        """None if the attempt may go, else why it is blocked."""
        if session is not None:
            reason = self._session_cap(session)
            if reason is not None:
                return reason
        for b in self.budgets:
            if b.sessions_only and session is None:
                continue
            b.roll(now)
            if b.spent >= b.cfg.limit:
                return "budget"
        if self.active and (session is not None or not self.alert_sessions_only):
            return self._alert_action(now)
        return None

    def _session_cap(self, session: SessionSpend) -> str | None:
        caps = self.cfg.session
        if caps is None:
            return None
        if caps.max_steps is not None and session.steps > caps.max_steps:
            return "session_steps"
        if caps.max_tokens is not None and session.tokens >= caps.max_tokens:
            return "session_tokens"
        if caps.max_cost is not None and session.cost >= caps.max_cost:
            return "session_cost"
        return None

    def _alert_action(self, now: float) -> str | None:
        action = self.alert.action
        if action == "block":
            return "alert_block"
        if action == "throttle":
            if now < self._next_allowed:
                return "alert_throttle"
            self._next_allowed = now + 1.0 / self.alert.throttle_rate
        return None

    # -- after a bill ---------------------------------------------------------------------------
    def bill(self, now: float, cost: float, tokens: int, session: SessionSpend | None) -> bool:
        """Account a bill; True when the alert condition holds for the first time (now)."""
        for i, b in enumerate(self.budgets):
            if b.sessions_only and session is None:
                continue
            b.roll(now)
            b.spent += cost
            if b.spent >= b.cfg.limit and b.announced != b.window.index:
                b.announced = b.window.index
                if self.on_event is not None:
                    self.on_event(now, "budget_exhausted", f"budgets[{i}]", number=b.spent)
        a = self.alert
        if a is None or self.triggered:  # no alert, or already triggered
            return False
        if self.alert_sessions_only and session is None:
            return False
        recent = self._recent
        recent.add(now, cost)
        recent.trim(now)
        if recent.total >= a.threshold * a.window:
            self.triggered = True
            self.triggered_at = now
            return True
        return False

    def fire(self, now: float) -> None:
        """The alert is seen now: record it and start its action."""
        self.fired_at = now
        self.active = self.alert.action != "page"
        if self.on_event is not None:
            self.on_event(now, "spend_alert", self.alert.action, number=self.triggered_at)
