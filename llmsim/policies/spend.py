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

from collections import deque

from llmsim.config.guards import SpendGuards

__all__ = ["SpendGuard", "SessionSpend"]


class SessionSpend:
    """What a guard needs to know about a session: steps started, billed tokens and cost."""

    __slots__ = ("steps", "tokens", "cost")

    def __init__(self):
        self.steps = 0  # steps started so far, including the current one
        self.tokens = 0
        self.cost = 0.0


class _Budget:
    __slots__ = ("window", "limit", "sessions_only", "index", "spent", "announced")

    def __init__(self, window: float, limit: float, sessions_only: bool):
        self.window = window
        self.limit = limit
        self.sessions_only = sessions_only
        self.index = 0
        self.spent = 0.0
        self.announced = -1

    def roll(self, now: float) -> None:
        idx = int(now // self.window)
        if idx != self.index:
            self.index = idx
            self.spent = 0.0


class SpendGuard:
    """Decides whether an attempt may be sent, from the spend billed so far."""

    def __init__(self, cfg: SpendGuards, on_event=None):
        caps = cfg.session
        self.max_steps = caps.max_steps if caps is not None else None
        self.max_tokens = caps.max_tokens if caps is not None else None
        self.max_cost = caps.max_cost if caps is not None else None
        self.budgets = [_Budget(b.window, b.limit, b.scope == "sessions") for b in cfg.budgets]
        a = cfg.alert
        self.alert = a
        self.alert_sessions_only = a is not None and a.scope == "sessions"
        self._recent: deque[tuple[float, float]] = deque()
        self._recent_sum = 0.0
        self.triggered_at = float("nan")  # when the alert condition first held
        self.fired_at = float("nan")  # when it was seen (triggered + delay) and its action began
        self.active = False
        self._next_allowed = 0.0
        self.on_event = on_event

    # -- before an attempt ----------------------------------------------------------------------
    def admit(self, now: float, session: SessionSpend | None) -> str | None:
        """None if the attempt may go, else why it is blocked."""
        if session is not None:
            if self.max_steps is not None and session.steps > self.max_steps:
                return "session_steps"
            if self.max_tokens is not None and session.tokens >= self.max_tokens:
                return "session_tokens"
            if self.max_cost is not None and session.cost >= self.max_cost:
                return "session_cost"
        for b in self.budgets:
            if b.sessions_only and session is None:
                continue
            b.roll(now)
            if b.spent >= b.limit:
                return "budget"
        if self.active and (session is not None or not self.alert_sessions_only):
            if self.alert.action == "block":
                return "alert_block"
            if self.alert.action == "throttle":
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
            if b.spent >= b.limit and b.announced != b.index:
                b.announced = b.index
                if self.on_event is not None:
                    self.on_event(now, "budget_exhausted", f"budgets[{i}]", f"{b.spent:.6g}")
        a = self.alert
        if a is None or self.triggered_at == self.triggered_at:  # no alert, or already triggered
            return False
        if self.alert_sessions_only and session is None:
            return False
        recent = self._recent
        recent.append((now, cost))
        self._recent_sum += cost
        horizon = now - a.window
        while recent and recent[0][0] <= horizon:
            self._recent_sum -= recent.popleft()[1]
        if self._recent_sum >= a.threshold * a.window:
            self.triggered_at = now
            return True
        return False

    def fire(self, now: float) -> None:
        """The alert is seen now: record it and start its action."""
        self.fired_at = now
        self.active = self.alert.action != "page"
        if self.on_event is not None:
            self.on_event(now, "spend_alert", self.alert.action, f"{self.triggered_at:.6g}")
