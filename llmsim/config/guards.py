"""Spend guard configs: per-session caps, budgets per window, and a spend-rate alert.

Requests (and their retries) that a guard stops end with outcome ``spend_blocked``: nothing is
sent, nothing is billed.

>>> g = SpendGuards.model_validate({"session": {"max_steps": 50}, "budgets": [{"window": "1d", "limit": 200}],
...                                 "alert": {"threshold": "20/h", "window": "1h", "delay": "15m"}})
>>> g.budgets[0].window, round(g.alert.threshold * 3600, 6), g.alert.action
(86400.0, 20.0, 'page')
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BeforeValidator, Field, model_validator

from llmsim.config.base import Config, Duration, Rate

__all__ = ["SessionCaps", "Budget", "SpendAlert", "SpendGuards"]

Scope = Literal["all", "sessions"]
_WINDOWS = {"hourly": "1h", "daily": "1d", "weekly": "7d"}


def _named_window(value):
    """``hourly``, ``daily`` and ``weekly`` are accepted as budget windows."""
    return _WINDOWS.get(value, value) if isinstance(value, str) else value


class SessionCaps(Config):
    """Per-session limits, checked before every attempt of a session's step; the step that would
    pass one is ``spend_blocked`` and the session ends. ``max_steps``: steps per session;
    ``max_tokens``: billed input + output tokens; ``max_cost``: USD billed to the session."""

    max_steps: Optional[Annotated[int, Field(ge=1)]] = None
    max_tokens: Optional[Annotated[int, Field(ge=1)]] = None
    max_cost: Optional[Annotated[float, Field(gt=0)]] = None

    @model_validator(mode="after")
    def _some(self):
        if self.max_steps is None and self.max_tokens is None and self.max_cost is None:
            raise ValueError("give at least one of max_steps, max_tokens, max_cost")
        return self


class Budget(Config):
    """At most ``limit`` USD billed per fixed window (aligned to time 0: ``1h`` or ``hourly``, ``1d``
    or ``daily``, ``7d`` or ``weekly``). Once the window's spend reaches the limit, attempts get ``spend_blocked`` until
    the next window. Attempts already in flight still complete and are billed (spend can overshoot
    by them). ``scope: sessions`` counts and blocks only session traffic."""

    window: Annotated[Duration, BeforeValidator(_named_window), Field(gt=0)]
    limit: Annotated[float, Field(ge=0)]
    scope: Scope = "all"


class SpendAlert(Config):
    """Fires when the spend over the last ``window`` reaches ``threshold`` x window (threshold is a
    rate, USD per second, e.g. ``25/h``); it is seen ``delay`` later (billing dashboards lag), and an
    event ``spend_alert`` is recorded at that time. ``action`` at firing: ``page`` (record only),
    ``block`` (every later attempt in scope is spend_blocked), ``throttle`` (at most
    ``throttle_rate`` attempts per second in scope, the others spend_blocked). Fires once per run."""

    threshold: Annotated[Rate, Field(gt=0)]
    window: Annotated[Duration, Field(gt=0)] = 3600.0
    delay: Duration = 0.0
    action: Literal["page", "block", "throttle"] = "page"
    throttle_rate: Optional[Annotated[Rate, Field(gt=0)]] = None
    scope: Scope = "all"

    @model_validator(mode="after")
    def _throttle(self):
        if self.action == "throttle" and self.throttle_rate is None:
            raise ValueError("action 'throttle' needs throttle_rate (e.g. 1/min)")
        return self


class SpendGuards(Config):
    """The client's spend guards (all optional)."""

    session: Optional[SessionCaps] = None
    budgets: list[Budget] = Field(default_factory=list)
    alert: Optional[SpendAlert] = None
