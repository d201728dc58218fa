"""Per-deployment cooldown (LiteLLM router) and outlier ejection (Envoy): which providers a router
must skip for a while after they failed. Both implement ``llmsim.policies.protocols.Ejection``.

>>> from llmsim.config.client import LiteLLMCooldown
>>> c = LiteLLMCooldownEjection(LiteLLMCooldown(), n=2)
>>> c.record(10.0, 0, "rate_limited", 6.2); c.healthy(16.5, 0), c.healthy(17.0, 0)   # retry-after: 7 (whole s)
(False, True)
>>> c = LiteLLMCooldownEjection(LiteLLMCooldown(mode="allowed_fails", allowed_fails=1), n=2)
>>> c.record(20.0, 1, "rate_limited", 0.3); c.healthy(20.0, 1)      # 1 failure: allowed
True
>>> c.record(21.0, 1, "server_error"); c.healthy(21.0, 1), c.healthy(26.0, 1)   # 2 > 1: cooldown_time
(False, True)
"""

from __future__ import annotations

from llmsim.config import client as C
from llmsim.policies.hints import read_hint
from llmsim.policies.protocols import Ejection
from llmsim.policies.windows import FixedWindow

__all__ = ["LiteLLMCooldownEjection", "EnvoyOutlierEjection", "build"]

NAN = float("nan")


class _Ejection:
    """Deployments skipped until ``until[i]``; ``on_change(now, i, what)`` when one is taken out."""

    def __init__(self, n: int, on_change):
        self.n = n
        self.until = [0.0] * n
        self.on_change = on_change

    def healthy(self, now: float, i: int) -> bool:
        return now >= self.until[i]

    def _out(self, now: float, i: int, until: float, what: str) -> None:
        self.until[i] = until
        if self.on_change is not None:
            self.on_change(now, i, what)


#: litellm constants.SINGLE_DEPLOYMENT_TRAFFIC_FAILURE_THRESHOLD: calls a minute before "all failed" cools down
ALL_FAILED_MIN_CALLS = 1000


class LiteLLMCooldownEjection(_Ejection):
    """litellm 1.110 router_utils/cooldown_handlers.py ``_should_cooldown_deployment``. Mode ``rates``
    (no allowed_fails given to the Router): cool a deployment down on a 429 when the group has more
    than one deployment; when more than failure_share of >= min_requests calls this minute failed
    (groups of > 1); or when all of >= 1000 calls this minute failed. Mode ``allowed_fails``: when its
    failures, counted in a window of cooldown_time opened by the first one, exceed allowed_fails (the
    router core increments ``deployment:<id>:allowed_fails`` with ttl cooldown_time, set when the counter
    is created and not renewed: measured 1, 2, ... 5, then 1 again 5 s after the first); never a lone
    deployment.
    The cooldown lasts the Retry-After as the client reads it (``hint_header``), else cooldown_time.
    Recovery is passive (no probe)."""

    def __init__(self, cfg: C.LiteLLMCooldown, n: int, on_change=None):
        super().__init__(n, on_change)
        self.cfg = cfg
        self.failures = frozenset(cfg.failures)
        self.minutes = [FixedWindow(60.0) for _ in range(n)]
        self.calls = [0] * n
        self.fails = [0] * n
        self.counted = [0] * n  # allowed_fails mode: failures in the window opened at opened[i]
        self.opened = [-float("inf")] * n
        self.read_hint = read_hint(cfg.hint_header)
        self.by_count = cfg.mode == "allowed_fails"

    def record(self, now: float, i: int, outcome: str, retry_after: float = NAN) -> None:
        if self.minutes[i].roll(now):  # calls and failures this minute
            self.calls[i] = self.fails[i] = 0
        self.calls[i] += 1
        if outcome not in self.failures:
            return
        self.fails[i] += 1
        if self._cools(now, i, outcome):
            if self.read_hint is not None and retry_after == retry_after and retry_after > 0:
                retry_after = self.read_hint(retry_after)
            span = retry_after if retry_after == retry_after and retry_after > 0 else self.cfg.cooldown_time
            if now + span > self.until[i]:
                self._out(now, i, now + span, "cooldown")

    def _cools(self, now: float, i: int, outcome: str) -> bool:
        cfg = self.cfg
        multi = self.n > 1
        if self.by_count:
            if now >= self.opened[i] + cfg.cooldown_time:  # the counter expired: a new window
                self.opened[i], self.counted[i] = now, 0
            self.counted[i] += 1
            return multi and self.counted[i] > cfg.allowed_fails
        calls, fails = self.calls[i], self.fails[i]
        return (outcome == "rate_limited" and multi) or (fails == calls and calls >= ALL_FAILED_MIN_CALLS) or (
            multi and calls >= cfg.min_requests and fails > cfg.failure_share * calls)


class EnvoyOutlierEjection(_Ejection):
    """Envoy outlier detection: consecutive_5xx server errors in a row eject a host for
    base_ejection_time * times ejected (<= max_ejection_time); at most max_ejection_percent of the
    hosts are ejected at once (at least one)."""

    def __init__(self, cfg: C.EnvoyOutlier, n: int, on_change=None):
        super().__init__(n, on_change)
        self.cfg = cfg
        self.max_ejected = max(1, int(n * cfg.max_ejection_percent / 100.0))
        self.failures = frozenset(cfg.failures)
        self.streak = [0] * n
        self.times = [0] * n

    def record(self, now: float, i: int, outcome: str, retry_after: float = NAN) -> None:
        if outcome not in self.failures:
            if outcome == "ok":
                self.streak[i] = 0
            return
        self.streak[i] += 1
        if self.streak[i] >= self.cfg.consecutive_5xx and self.healthy(now, i):
            ejected = sum(1 for j in range(self.n) if not self.healthy(now, j))
            if ejected < self.max_ejected:
                self.times[i] += 1
                self.streak[i] = 0
                self._out(now, i, now + min(self.cfg.max_ejection_time, self.cfg.base_ejection_time * self.times[i]),
                          "ejected")


_KINDS = {C.LiteLLMCooldown: LiteLLMCooldownEjection, C.EnvoyOutlier: EnvoyOutlierEjection}


def build(cfg, n: int, on_change=None) -> Ejection:
    """The runtime ejection of a route's ``ejection`` config over its ``n`` providers."""
    return _KINDS[type(cfg)](cfg, n, on_change)
