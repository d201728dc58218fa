"""Per-deployment cooldown (LiteLLM router) and outlier ejection (Envoy): which providers a router
must skip for a while after they failed.

>>> c = LiteLLMCooldown(n_deployments=2)
>>> c.record(10.0, 0, "rate_limited", 7.0); c.healthy(12.0, 0), c.healthy(17.5, 0)
(False, True)
"""

from __future__ import annotations

__all__ = ["LiteLLMCooldown", "EnvoyOutlier", "from_config"]


class LiteLLMCooldown:
    """litellm router_utils/cooldown_handlers.py: cool a deployment down on a 429 when the group has
    more than one deployment; when its failures this minute exceed allowed_fails; or when more than
    failure_share of >= min_requests calls this minute failed (groups of > 1). The cooldown lasts the
    Retry-After if given, else cooldown_time. Recovery is passive (no probe)."""

    def __init__(self, n_deployments: int, cooldown_time: float = 5.0, allowed_fails: int = 3,
                 failure_share: float = 0.5, min_requests: int = 5,
                 failures=("rate_limited", "server_error", "overloaded", "timeout"), on_change=None):
        self.n = n_deployments
        self.cooldown_time = cooldown_time
        self.allowed_fails = allowed_fails
        self.failure_share = failure_share
        self.min_requests = min_requests
        self.failures = frozenset(failures)
        self.until = [0.0] * n_deployments
        self.minute = [-1] * n_deployments
        self.calls = [0] * n_deployments
        self.fails = [0] * n_deployments
        self.on_change = on_change

    def healthy(self, now: float, i: int) -> bool:
        return now >= self.until[i]

    def record(self, now: float, i: int, outcome: str, retry_after: float = float("nan")) -> None:
        m = int(now // 60)
        if self.minute[i] != m:
            self.minute[i], self.calls[i], self.fails[i] = m, 0, 0
        self.calls[i] += 1
        if outcome not in self.failures:
            return
        self.fails[i] += 1
        multi = self.n > 1
        cool = (outcome == "rate_limited" and multi) or self.fails[i] > self.allowed_fails or (
            multi and self.calls[i] >= self.min_requests and self.fails[i] > self.failure_share * self.calls[i])
        if cool:
            span = retry_after if retry_after == retry_after and retry_after > 0 else self.cooldown_time
            if now + span > self.until[i]:
                self.until[i] = now + span
                if self.on_change is not None:
                    self.on_change(now, i, "cooldown")


class EnvoyOutlier:
    """Envoy outlier detection: consecutive_5xx server errors in a row eject a host for
    base_ejection_time * times ejected (<= max_ejection_time); at most max_ejection_percent of the
    hosts are ejected at once (at least one)."""

    def __init__(self, n_deployments: int, consecutive_5xx: int = 5, base_ejection_time: float = 30.0,
                 max_ejection_time: float = 300.0, max_ejection_percent: float = 10.0,
                 failures=("server_error", "overloaded"), on_change=None):
        self.n = n_deployments
        self.threshold = consecutive_5xx
        self.base = base_ejection_time
        self.max_time = max_ejection_time
        self.max_ejected = max(1, int(n_deployments * max_ejection_percent / 100.0))
        self.failures = frozenset(failures)
        self.streak = [0] * n_deployments
        self.times = [0] * n_deployments
        self.until = [0.0] * n_deployments
        self.on_change = on_change

    def healthy(self, now: float, i: int) -> bool:
        return now >= self.until[i]

    def record(self, now: float, i: int, outcome: str, retry_after: float = float("nan")) -> None:
        if outcome not in self.failures:
            if outcome == "ok":
                self.streak[i] = 0
            return
        self.streak[i] += 1
        if self.streak[i] >= self.threshold and self.healthy(now, i):
            ejected = sum(1 for j in range(self.n) if not self.healthy(now, j))
            if ejected < self.max_ejected:
                self.times[i] += 1
                self.until[i] = now + min(self.max_time, self.base * self.times[i])
                self.streak[i] = 0
                if self.on_change is not None:
                    self.on_change(now, i, "ejected")


def from_config(cfg, n: int, on_change=None):
    if cfg.kind == "litellm":
        return LiteLLMCooldown(n, cfg.cooldown_time, cfg.allowed_fails, cfg.failure_share, cfg.min_requests,
                               cfg.failures, on_change)
    return EnvoyOutlier(n, cfg.consecutive_5xx, cfg.base_ejection_time, cfg.max_ejection_time,
                        cfg.max_ejection_percent, cfg.failures, on_change)
