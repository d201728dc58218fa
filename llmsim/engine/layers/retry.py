"""Retries of the calls of the layer below: classifier, backoff with jitter, Retry-After policy,
stop conditions, per-call timeout, retry budget.

>>> from llmsim.engine.scripted import run_scripted
>>> cfg = {"retry": {"max_attempts": 3, "backoff": {"base": "1s", "jitter": "none"}}}
>>> req, att = run_scripted(cfg, {"p": [("server_error", 0.5), ("ok", 1.0)]})
>>> att["outcome"].tolist(), att["sent"].tolist()
(['server_error', 'ok'], [0.0, 1.5])
"""

from __future__ import annotations

from llmsim.config.client import RetryLayer
from llmsim.engine.clock import later
from llmsim.engine.layers.call import Call, Context, Layer, Stage
from llmsim.policies import budgets
from llmsim.policies.backoff import BackoffPolicy
from llmsim.policies.hints import RetryAfterPolicy, read_hint

__all__ = ["RetryStage"]

INF = float("inf")


def _inf(x: float | None) -> float:
    return INF if x is None else x


class _Retrying(Call):
    """The retry stage's call to the layer below, reused for every attempt of one call from above:
    attempts made (``n``), when the first went (``first``), the backoff state (``prev``), and what
    the last allowed retry holds of the budget (``retried``, ``taken``)."""

    __slots__ = ("n", "first", "prev", "retried", "taken")


class RetryStage(Stage):
    """The ``Retry`` of a ``RetryLayer`` config over the layer ``inner``."""

    def __init__(self, layer: RetryLayer, inner: Layer, ctx: Context):
        super().__init__(inner, ctx)
        cfg = self.cfg = layer.retry
        self.on = frozenset(cfg.on)
        self.statuses = frozenset(cfg.statuses)
        self.backoff = BackoffPolicy(cfg.backoff)
        self.backoff_for = {k: BackoffPolicy(v) for k, v in cfg.backoff_for.items()}
        self.hint = RetryAfterPolicy(cfg.retry_after)
        self.read_hint = read_hint(cfg.hint_header)
        self.timeout = _inf(cfg.timeout)
        self.stop_after = _inf(cfg.stop_after_delay)
        self.stop_before = _inf(cfg.stop_before_delay)
        self.give_up_over = _inf(cfg.give_up_retry_after_over)
        self.budget = None if cfg.budget is None else budgets.build(cfg.budget)
        # read on every failed attempt: plain attributes (a pydantic model's cost several times as much)
        self.max_attempts = cfg.max_attempts
        self.respect_should_retry = cfg.respect_should_retry
        self.instant_if_alternative = cfg.instant_if_alternative

    def call(self, c: Call) -> None:
        now = self.ctx.env.now
        limit = now + self.timeout  # the first attempt's cut: _go(r, now), inlined
        if limit < c.cut:
            r = _Retrying(c.req, c.station, limit, "timeout", c.group, self, c)
        else:
            r = _Retrying(c.req, c.station, c.cut, c.kind, c.group, self, c)
        r.n = 1
        r.first = now
        r.prev = None
        r.retried = False
        r.taken = 0
        if self.budget is not None:
            self.budget.on_request(now)
        self.inner.call(r)

    def _go(self, r: _Retrying, now: float) -> None:
        outer = r.outer
        limit = now + self.timeout
        r.n += 1
        if limit < outer.cut:
            r.cut, r.kind = limit, "timeout"
        else:
            r.cut, r.kind = outer.cut, outer.kind
        self.inner.call(r)

    def done(self, r: _Retrying, att) -> None:
        outcome = att.outcome
        b = self.budget
        if b is None and outcome == "ok":
            outer = r.outer
            outer.caller.done(outer, att)  # outer.done(att), one call less on the per-request path
            return
        now = self.ctx.env.now
        if b is not None:
            self._account(b, r, now, outcome)
        if self._final(r, att):
            self._finish(r, att)
            return
        if r.group is not None and r.group.cancelled:
            self._drop(r)
            return
        delay = self._wait(r, att, now)
        if delay is None or (b is not None and not b.allow(now, outcome)):
            self._finish(r, att)
            return
        if b is not None:
            r.retried = True
            r.taken = b.taken
        later(self.ctx.env, delay, self._wake, r)

    def _account(self, b, r: _Retrying, now: float, outcome: str) -> None:
        """What the budget hears of an attempt's end."""
        if r.retried:
            b.retry_done(now)
            r.retried = False
        if outcome == "ok":
            b.on_success(now, r.n > 1, r.taken)
        elif outcome in self.on:
            b.on_failure(now)

    def _final(self, r: _Retrying, att) -> bool:
        """Does this attempt decide the call (success, deadline, not retryable, no attempts left)?"""
        outcome = att.outcome
        if outcome == "ok" or outcome == "deadline" or r.n >= self.max_attempts:
            return True
        if self.respect_should_retry and att.should_retry is not None:
            return not att.should_retry  # x-should-retry: the server decides
        return not (outcome in self.on or att.status in self.statuses)

    def _wait(self, r: _Retrying, att, now: float) -> float | None:
        """The wait before the next attempt, or None to give up now."""
        ra = att.retry_after
        if self.read_hint is not None and ra == ra and ra > 0:
            ra = self.read_hint(ra)  # the header this client parses, at its precision
        hinted = ra == ra  # NaN: the provider sent no Retry-After (or the client reads none)
        if hinted and ra > self.give_up_over:
            return None  # the server asks for longer than this client will wait
        if now - r.first >= self.stop_after:
            return None
        backoff = self.backoff_for.get(att.outcome, self.backoff) if self.backoff_for else self.backoff
        u = self.ctx.jitter.next()
        delay, r.prev = backoff.step(r.n - 1, u, r.prev)
        station = att.station
        nxt = self.inner.peek(r.req, now) if r.station is None else r.station
        if hinted and station is not None and nxt is station:
            delay = self.hint.delay(delay, ra, u)  # the hint is about the provider we are going back to
        if self.instant_if_alternative and station is not None:  # LiteLLM's Router
            healthy, size = self.inner.choices(now)  # after this failure's cooldown
            if healthy == 0:
                if att.outcome == "rate_limited":
                    return None  # a 429 with every deployment cooling down is raised, not retried
            elif size > 1:
                delay = 0.0  # any healthy deployment, the one that just failed included: retry at once
        if (now - r.first) + delay >= self.stop_before or now + delay >= r.outer.cut:
            return None  # the wait would pass the deadline or the stop: give up now
        return delay

    def _finish(self, r: _Retrying, att) -> None:
        if self.budget is not None:
            self.budget.request_done()
        outer = r.outer
        outer.caller.done(outer, att)  # outer.done(att), one call less per request

    def _wake(self, event) -> None:
        r = event.value
        if r.group is not None and r.group.cancelled:
            if r.retried and self.budget is not None:
                self.budget.retry_done(self.ctx.env.now)  # the allowed retry is never sent
                r.retried = False
            self._drop(r)
            return
        self._go(r, self.ctx.env.now)

    def _drop(self, r: _Retrying) -> None:
        """A hedge that lost: stop quietly (nobody waits for the result), but settle the budget."""
        if self.budget is not None:
            self.budget.request_done()
