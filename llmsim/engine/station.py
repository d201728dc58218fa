"""A provider in the simulation: slots, queue and timers wired to SimPy around the pure ProviderModel.

An attempt's fate is computed, not raced: when service starts its duration is known, so a client
timeout is a comparison, and only the earliest of the events that matter is scheduled.
"""

from __future__ import annotations

from collections import deque

from simpy.events import Timeout

from llmsim.core.streams import Streams
from llmsim.engine.recorder import Recorder
from llmsim.provider.model import DRAW_COLUMNS, ProviderModel

__all__ = ["Attempt", "Station"]

INF = float("inf")
NAN = float("nan")
QUEUED, IN_SERVICE, DONE, ABANDONED, DROPPED, CANCELLED = range(6)


class Attempt:
    """One attempt of a request on one provider; the client reads ``outcome`` etc. when it ends."""

    __slots__ = ("req", "k", "pk", "sent", "cut", "cut_outcome", "started", "first", "end", "outcome",
                 "status", "retry_after", "state", "drop_at", "row", "station", "cb", "up", "permit", "group",
                 "plan", "end_at", "release_at", "should_retry")

    def __init__(self, req, k: int, pk: int, sent: float, cut: float, cut_outcome: str, station=None, cb=None,
                 up=None, permit=None, group=None):
        self.req = req
        self.k = k  # attempt number within the request (0 = first)
        self.pk = pk  # attempt number of this request on this provider (keys the provider's draws)
        self.sent = sent
        self.cut = cut  # absolute time at which the client gives up
        self.cut_outcome = cut_outcome  # "timeout" or "deadline"
        self.started = NAN
        self.first = NAN
        self.end = NAN
        self.outcome = ""
        self.status = 0
        self.retry_after = NAN
        self.state = QUEUED
        self.drop_at = INF
        self.row = -1
        self.station = station
        self.cb = cb  # station -> cb(att) once, when the attempt ends for the client
        self.up = up  # the layer callback the leaf hands the result to
        self.permit = permit
        self.group = group
        self.plan = None
        self.end_at = INF
        self.release_at = INF
        self.should_retry = None  # the provider's x-should-retry header, when it sends one


class Station:
    """Concurrency slots (effective count varies over time), a FIFO queue, admission and billing."""

    def __init__(self, env, model: ProviderModel, recorder: Recorder, streams: Streams, max_tokens: int):
        self.env = env
        self.model = model
        self.index = model.index
        self.rec = recorder
        self.streams = streams
        self.max_tokens = max_tokens
        self.busy = 0
        self.eff = model.effective_slots(0.0)
        self.queue: deque[Attempt] = deque()
        self.live_queue = 0
        self.limit = model.queue_limit
        self.queue_timeout = model.queue_timeout
        self.notice = model.abort_notice
        self.breaker = None  # set by the client wiring
        self.meter = None  # [agents] callback(now, cost, tokens, req) on every bill (spend guards, sessions)
        cfg = model.cfg
        self.context_window = cfg.context_window
        self.spend_cap = cfg.spend_cap
        self.should_retry = cfg.should_retry
        self.spent = 0.0
        if self.spend_cap is not None:
            self.add_meter(self._count_spend)
        self.quality = model.quality  # [agents] invalid-answer rate schedule, or None
        self._overflow = streams.rng("provider-overflow", model.index)
        for t, eff in model.capacity_changes():
            Timeout(env, t, eff).callbacks.append(self._on_capacity)
        recorder.event(0.0, "capacity", model.name, str(self.eff))
        for inc in model.cfg.incidents:
            recorder.event(inc.start, "incident_start", model.name, inc.name)
            recorder.event(inc.start + inc.duration, "incident_end", model.name, inc.name)

    # -- entry point ----------------------------------------------------------------------------
    def add_meter(self, meter) -> None:
        """Also call ``meter(now, cost, tokens, req)`` on every bill."""
        old = self.meter
        if old is None:
            self.meter = meter
        else:
            def both(now, cost, tokens, req):
                old(now, cost, tokens, req)
                meter(now, cost, tokens, req)
            self.meter = both

    def _count_spend(self, now, cost, tokens, req) -> None:
        self.spent += cost

    def submit(self, att: Attempt) -> None:
        """Send an attempt now; ``att.cb(att)`` is called when it ends for the client (maybe at once)."""
        now = self.env.now
        req = att.req
        if self.context_window is not None and req.inp + self.max_tokens > self.context_window:
            self._end_unserved(att, now, "context_window", 400, NAN)
            return
        if self.spend_cap is not None and self.spent >= self.spend_cap:
            att.should_retry = False  # insufficient_quota: not retryable, whatever the status says
            self._end_unserved(att, now, "quota_exhausted", 429, NAN)
            return
        limits = self.model.limits
        if limits is not None:
            wait = limits.admit(now, req.inp, req.cached, self.max_tokens, req.out)
            if wait > 0.0:
                self._end_unserved(att, now, "rate_limited", 429, wait)
                return
        if self.busy < self.eff:
            self._start(att, now)
            return
        if self.limit is not None and self.live_queue >= self.limit:
            att.should_retry = self.should_retry
            self._end_unserved(att, now, "overloaded", self.model.overload_status, NAN)
            return
        self.queue.append(att)
        self.live_queue += 1
        wake = min(now + self.queue_timeout, att.cut)
        if wake < INF:
            Timeout(self.env, wake - now, att).callbacks.append(self._on_queue_timer)

    # -- service --------------------------------------------------------------------------------
    def _draws(self, att: Attempt) -> tuple[float, float]:
        req = att.req
        pk = att.pk
        if pk < DRAW_COLUMNS:
            first, u = req.chunk.table(self)
            row = req.row_in_chunk
            return first.item(row, pk), u.item(row, pk)
        first, u = self.model.draw_table(self._overflow, 1, 1)
        return first.item(0, 0), u.item(0, 0)

    def _start(self, att: Attempt, now: float) -> None:
        self.busy += 1
        att.state = IN_SERVICE
        att.started = now
        first_draw, u = self._draws(att)
        req = att.req
        plan = self.model.plan(now, first_draw, u, req.out, self.busy, self.eff)
        end = now + plan.duration
        att.plan = plan
        att.end_at = end
        if end <= att.cut:
            Timeout(self.env, plan.duration, (att, plan)).callbacks.append(self._on_complete)
            return
        # the client gives up before the provider is done: settle everything now
        release = min(end, att.cut + self.notice)
        generated = self.model.generated_tokens(plan, req.out, release - now)
        if not plan.error and now + plan.ttft <= att.cut:
            att.first = now + plan.ttft
        att.state = ABANDONED
        cost = self.model.cost(req.inp, req.cached, generated)
        Timeout(self.env, att.cut - now, (att, release, generated, cost)).callbacks.append(self._on_abandon)

    def _on_complete(self, ev) -> None:
        att, plan = ev._value
        if att.state == CANCELLED:
            if att.release_at >= att.end_at:
                self._release()
            return
        now = self.env.now
        req = att.req
        att.state = DONE
        att.end = now
        if plan.error:
            att.outcome, att.status = "server_error", self.model.error_status
            att.should_retry = self.should_retry
            billed_out = 0
        else:
            att.outcome, att.status = "ok", 200
            att.first = att.started + plan.ttft
            billed_out = req.out
            if self.quality is not None and self._invalid(att):  # [agents] 200 OK, contract broken
                att.outcome = "invalid"
        cost = self.model.cost(req.inp, req.cached, billed_out)
        att.row = self.rec.attempt(req.rid, att.k, self.index, att.sent, att.started, att.first, now, att.outcome,
                                   att.status, NAN, req.inp, billed_out, cost)
        self._billed(att, now, cost, billed_out)
        self._release()
        att.cb(att)

    def _on_abandon(self, ev) -> None:
        att, release, generated, cost = ev._value
        if att.state == CANCELLED:
            return
        now = self.env.now
        req = att.req
        att.end = now
        att.outcome = att.cut_outcome
        att.row = self.rec.attempt(req.rid, att.k, self.index, att.sent, att.started, att.first, now, att.outcome,
                                   0, NAN, req.inp, generated, cost)
        self._billed(att, now, cost, generated)
        if release <= now:
            self._release()
        elif release < INF:
            Timeout(self.env, release - now).callbacks.append(self._release_cb)
        else:  # pragma: no cover - an abandoned finite service always ends
            raise AssertionError("unbounded service")
        att.cb(att)

    def _release_cb(self, ev) -> None:
        self._release()

    def _release(self) -> None:
        self.busy -= 1
        self._fill()

    def _fill(self) -> None:
        queue = self.queue
        now = self.env.now
        while self.busy < self.eff and queue:
            att = queue.popleft()
            if att.state == DROPPED:
                continue
            self.live_queue -= 1
            if att.state == QUEUED:
                self._start(att, now)
            else:
                self._start_orphan(att, now)

    def _start_orphan(self, att: Attempt, now: float) -> None:
        """Serve an attempt whose client already left, until the provider notices (billed, wasted)."""
        self.busy += 1
        att.state = DONE
        first_draw, u = self._draws(att)
        req = att.req
        plan = self.model.plan(now, first_draw, u, req.out, self.busy, self.eff)
        release = min(now + plan.duration, att.drop_at)
        generated = self.model.generated_tokens(plan, req.out, release - now)
        cost = self.model.cost(req.inp, req.cached, generated)
        self.rec.settle(att.row, req.inp, generated, cost)
        self._billed(att, now, cost, generated)
        Timeout(self.env, release - now).callbacks.append(self._release_cb)

    def _billed(self, att: Attempt, now: float, cost: float, output_tokens: int) -> None:
        """What goes with every bill: cached input in the attempts table, and the spend meter."""
        req = att.req
        if req.cached:
            self.rec.cached(att.row, req.cached)
        if self.meter is not None:
            self.meter(now, cost, req.inp + output_tokens, req)

    def cancel(self, att: Attempt) -> None:
        """The client cancels an attempt in flight now (a hedge that lost): the provider notices after
        ``abort_notice``; the attempt is billed for its input (if it started) and the tokens made by then."""
        now = self.env.now
        req = att.req
        state = att.state
        att.end = now
        att.outcome = "cancelled"
        if state == QUEUED:
            att.state = ABANDONED
            att.drop_at = min(att.sent + self.queue_timeout, now + self.notice)
            att.row = self.rec.attempt(req.rid, att.k, self.index, att.sent, NAN, NAN, now, "cancelled", 0, NAN,
                                       0, 0, 0.0)
            if att.drop_at < INF:
                Timeout(self.env, att.drop_at - now, att).callbacks.append(self._on_drop)
            return
        if state not in (IN_SERVICE, ABANDONED) or att.plan is None:
            return
        plan = att.plan
        completes = state == IN_SERVICE  # _on_complete is scheduled (else the abandon path was)
        att.state = CANCELLED
        release = min(att.end_at, now + self.notice)
        att.release_at = release
        generated = self.model.generated_tokens(plan, req.out, release - att.started)
        first = att.started + plan.ttft
        cost = self.model.cost(req.inp, req.cached, generated)
        att.row = self.rec.attempt(req.rid, att.k, self.index, att.sent, att.started,
                                   first if not plan.error and first <= now else NAN, now, "cancelled", 0, NAN,
                                   req.inp, generated, cost)
        self._billed(att, now, cost, generated)
        if release < att.end_at or not completes:  # else _on_complete releases the slot at end_at
            Timeout(self.env, release - now).callbacks.append(self._release_cb)

    def _invalid(self, att: Attempt) -> bool:
        """[agents] Whether a 200 answer breaks the output contract: a uniform keyed by (request, attempt)
        against the invalid rate when service began."""
        rate = self.quality.at(att.started)
        if rate <= 0.0:
            return False
        pk = att.pk
        if pk < DRAW_COLUMNS:
            return att.req.chunk.quality_table(self).item(att.req.row_in_chunk, pk) < rate
        return self._overflow.random() < rate

    # -- timers ---------------------------------------------------------------------------------
    def _on_queue_timer(self, ev) -> None:
        att = ev._value
        if att.state != QUEUED:
            return
        now = self.env.now
        req = att.req
        queue_drop = att.sent + self.queue_timeout
        if queue_drop <= att.cut:
            att.state = DROPPED
            self.live_queue -= 1
            att.should_retry = self.should_retry
            self._end_unserved(att, now, "overloaded", self.model.overload_status, NAN)
        else:
            att.state = ABANDONED
            att.drop_at = min(queue_drop, att.cut + self.notice)
            att.end = now
            att.outcome = att.cut_outcome
            att.row = self.rec.attempt(req.rid, att.k, self.index, att.sent, NAN, NAN, now, att.outcome, 0, NAN,
                                       0, 0, 0.0)
            if att.drop_at < INF:
                Timeout(self.env, att.drop_at - now, att).callbacks.append(self._on_drop)
            att.cb(att)

    def _on_drop(self, ev) -> None:
        att = ev._value
        if att.state == ABANDONED:  # still waiting in the queue
            att.state = DROPPED
            self.live_queue -= 1

    def _on_capacity(self, ev) -> None:
        self.eff = ev._value
        self.rec.event(self.env.now, "capacity", self.model.name, str(self.eff))
        self._fill()

    def _end_unserved(self, att: Attempt, now: float, outcome: str, status: int, retry_after: float) -> None:
        att.end = now
        att.outcome = outcome
        att.status = status
        att.retry_after = retry_after
        att.row = self.rec.attempt(att.req.rid, att.k, self.index, att.sent, NAN, NAN, now, outcome, status,
                                   retry_after, 0, 0, 0.0)
        att.cb(att)
