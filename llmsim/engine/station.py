"""A provider in the simulation: the slot/queue state machine (llmsim.provider.slots) and the pure
ProviderModel, driven by SimPy timers.

An attempt's fate is computed, not raced: when service starts its duration is known, so a client
timeout is a comparison, and only the earliest of the events that matter is scheduled.

How an attempt ends for its client is written once, in ``end_attempt``: the station, the scripted
test double (llmsim.engine.scripted) and the client's local refusals all end attempts through it.
"""

from __future__ import annotations

from simpy.events import Timeout

from llmsim.core.outcomes import Outcome
from llmsim.core.streams import Streams
from llmsim.engine.clock import later
from llmsim.engine.recorder import Recorder
from llmsim.provider.answer_times import AnswerTimes
from llmsim.provider.model import DRAW_COLUMNS, ProviderModel
from llmsim.provider.slots import CANCELLED, DONE, DROPPED, LEAVING, QUEUED, REFUSING, SERVING, Service, SlotQueue

__all__ = ["Attempt", "Station", "end_attempt", "refused_locally", "cut_off"]

INF = float("inf")
NAN = float("nan")
# the members as module constants: reading ``Outcome.X`` costs a descriptor call on every use
_OK, _INVALID, _SERVER_ERROR, _CANCELLED = Outcome.OK, Outcome.INVALID, Outcome.SERVER_ERROR, Outcome.CANCELLED
_RATE_LIMITED, _OVERLOADED, _TIMEOUT = Outcome.RATE_LIMITED, Outcome.OVERLOADED, Outcome.TIMEOUT


class Attempt(Service):
    """One attempt of a request on one provider.

    The provider's part is the ``Service`` record it extends (state, sent, started, plan, release
    and drop times), which only the station touches. The client's part is below: who sent it and
    where its answer goes, and the answer itself (``first``, ``end``, ``outcome``, ``status``,
    ``retry_after``, ``should_retry``, ``row``), written once by ``end_attempt``; ``in_flight`` is
    True until then."""

    __slots__ = ("req", "k", "pk", "cut", "cut_outcome", "station", "cb", "up", "permit", "group",
                 "in_flight", "first", "end", "outcome", "status", "retry_after", "should_retry", "row",
                 "tier")  # tier: set (and read) only by llmsim.engine.tiered_station

    def __init__(self, req, k: int, pk: int, sent: float, cut: float, cut_outcome: str, station=None, cb=None,
                 up=None, permit=None, group=None):
        # the provider's part: Service.__init__, inlined (one call less per attempt; a test keeps them equal)
        self.state = QUEUED
        self.sent = sent
        self.started = NAN
        self.plan = None
        self.end_at = INF
        self.release_at = INF
        self.drop_at = INF
        self.req = req
        self.k = k  # attempt number within the request (0 = first)
        self.pk = pk  # attempt number of this request on this provider (keys the provider's draws)
        self.cut = cut  # absolute time at which the client gives up
        self.cut_outcome = cut_outcome  # "timeout" or "deadline"
        self.station = station
        self.cb = cb  # station -> cb(att) once, when the attempt ends for the client
        self.up = up  # the layer callback the leaf hands the result to
        self.permit = permit
        self.group = group
        self.in_flight = True
        self.first = NAN
        self.end = NAN
        self.outcome = None
        self.status = 0
        self.retry_after = NAN
        self.should_retry = None  # the provider's x-should-retry header, when it sends one
        self.row = -1


def end_attempt(rec: Recorder, prov: int, att: Attempt, now: float, outcome: str, status: int = 0,
                retry_after: float = NAN, started: float = NAN, billed_in: int = 0, billed_out: int = 0,
                cost: float = 0.0) -> None:
    """The attempt ends for its client now: its answer, then its row (provider ``prov``; -1: none)."""
    att.in_flight = False
    att.end = now
    att.outcome = outcome
    att.status = status
    att.retry_after = retry_after
    att.row = rec.attempt_row(att, prov, started, billed_in, billed_out, cost)


def refused_locally(rec: Recorder, req, prov: int, now: float, outcome: str = Outcome.REJECTED) -> Attempt:
    """An attempt the client refuses itself (no provider saw it), ended now; the caller counts it
    (``req.k += 1``) and hands it on."""
    att = Attempt(req, req.k, 0, now, now, _TIMEOUT)
    end_attempt(rec, prov, att, now, outcome)
    return att


def cut_off(rec: Recorder, att: Attempt, now: float) -> None:
    """An attempt still in flight when the run ends: its client gives up now (``timeout``, no further
    billing; what service started stays in ``started``)."""
    att.first = NAN
    end_attempt(rec, att.station.index if att.station is not None else -1, att, now, _TIMEOUT,
                started=att.started)


class Station(SlotQueue):
    """Concurrency slots (effective count varies over time), a FIFO queue, admission and billing."""

    def __init__(self, env, model: ProviderModel, recorder: Recorder, streams: Streams, max_tokens: int):
        super().__init__(model)
        self.env = env
        self.index = model.index
        self.rec = recorder
        self.streams = streams
        self.max_tokens = max_tokens
        self.meter = None  # callback(now, cost, tokens, req) on every bill (spend guards, sessions)
        cfg = model.cfg
        self.context_window = cfg.context_window
        self.spend_cap = cfg.spend_cap
        self.should_retry = cfg.should_retry
        self.spent = 0.0
        if self.spend_cap is not None:
            self.add_meter(self._count_spend)
        self.quality = model.quality  # invalid-answer rate schedule, or None
        # rate_limits.admission "reserve": the max_tokens reservation is corrected when the attempt is billed
        self.corrects = model.limits is not None and model.limits.corrects
        self.spill: Station | None = None  # provider.spill_over's station, linked by the simulation
        self._overflow = streams.rng("provider-overflow", model.index)
        lat = cfg.latency
        # how long an answer without service takes to reach the client (429/400; 529/503)
        self.refusal_times = AnswerTimes(lat.refusal.build(), streams.rng("provider-refusal", model.index))
        self.error_times = self.refusal_times if lat.error is None else AnswerTimes(
            lat.error.build(), streams.rng("provider-error-answer", model.index))
        for t, eff in model.capacity_changes():
            later(env, t, self._on_capacity, eff)
        recorder.event(0.0, "capacity", model.name, number=self.eff)
        for inc in model.cfg.incidents:
            recorder.event(inc.start, "incident_start", model.name, inc.name)
            recorder.event(inc.start + inc.duration, "incident_end", model.name, inc.name)

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

    # -- entry point ----------------------------------------------------------------------------
    def submit(self, att: Attempt) -> None:
        """Send an attempt now; ``att.cb(att)`` is called when it ends for the client (maybe at once)."""
        now = att.sent  # it is sent now
        req = att.req
        if self.context_window is not None and req.inp + self.max_tokens > self.context_window:
            self._refuse(att, now, Outcome.CONTEXT_WINDOW, 400)
            return
        if self.spend_cap is not None and self.spent >= self.spend_cap:
            att.should_retry = False  # insufficient_quota: not retryable, whatever the status says
            self._refuse(att, now, Outcome.QUOTA_EXHAUSTED, 429)
            return
        limits = self.model.limits
        if limits is not None:
            wait = limits.admit(now, req.inp, req.cached, self.max_tokens, req.out)
            if wait > 0.0:
                if self.spill is not None:
                    self._spill(att)
                    return
                self._refuse(att, now, _RATE_LIMITED, 429, wait)
                return
        if self.busy < self.eff:  # has_free_slot(), inlined on the hot path
            self._serve(att, now)
            return
        if self.queue_full():
            self._refuse_full(att, now)
            return
        self.wait(att)
        wake = min(now + self.queue_timeout, att.cut)
        if wake < INF:
            later(self.env, wake - now, self._on_queue_timer, att)

    def _refuse_full(self, att: Attempt, now: float) -> None:
        """No slot and the queue is full: spill over, or refuse (overloaded); never served, so an
        ``admission: reserve`` reservation is released."""
        self._unreserve(now)
        if self.spill is not None:
            self._spill(att)
            return
        att.should_retry = self.should_retry
        self._refuse(att, now, _OVERLOADED, self.model.overload_status, NAN, self.error_times)

    def _spill(self, att: Attempt) -> None:
        """What this provider would refuse goes to its ``spill_over`` provider instead, at once (server-side:
        the client sees one attempt, recorded on the provider that answers it)."""
        att.station = self.spill
        self.spill.submit(att)

    def _refuse(self, att: Attempt, now: float, outcome: str, status: int, retry_after: float = NAN,
                times: AnswerTimes | None = None) -> None:
        """Turned away without service (nothing billed; the buckets were charged or not at arrival): the
        answer reaches the client an answer time later (``latency.refusal``, or ``latency.error`` for
        ``times=self.error_times``), unless the client gives up first. No slot is held meanwhile."""
        if times is None:
            times = self.refusal_times
        if times.instant:
            end_attempt(self.rec, self.index, att, now, outcome, status, retry_after)
            att.cb(att)
            return
        at = now + times.next()
        if att.state == QUEUED:  # refused at arrival (a queue timeout leaves it DROPPED: the queue skips it)
            att.state = REFUSING
        if at <= att.cut:  # a tie goes to the provider
            later(self.env, at - now, self._on_answer, (att, outcome, status, retry_after))
            return
        att.should_retry = None  # the client never saw the answer
        later(self.env, att.cut - now, self._on_answer, (att, att.cut_outcome, 0, NAN))

    def _on_answer(self, event) -> None:
        """A refusal reaches its client (or the client gave up waiting for it)."""
        att, outcome, status, retry_after = event.value
        if not att.in_flight:  # cancelled (a hedge won) or cut off at the end of the run
            return
        end_attempt(self.rec, self.index, att, self.env.now, outcome, status, retry_after)
        att.cb(att)

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

    def _serve(self, att: Attempt, now: float) -> None:
        self.busy += 1  # occupy(att, now), inlined on the hot path
        att.state = SERVING
        att.started = now
        req = att.req
        pk = att.pk
        table = req.chunk.tables[self.index] if pk < DRAW_COLUMNS else None
        if table is not None:  # _draws(att), inlined for the common case (the chunk's table is made)
            row = req.row_in_chunk
            first_draw, u = table[0].item(row, pk), table[1].item(row, pk)
        else:
            first_draw, u = self._draws(att)
        plan = self.model.plan(now, first_draw, u, req.out, self.busy, self.eff)
        end = now + plan.duration
        att.plan = plan
        att.end_at = end
        if end <= att.cut:
            Timeout(self.env, plan.duration, att).callbacks.append(self._on_complete)  # later(), inlined
            return
        # the client gives up before the provider is done: settle everything now
        release = self.release_time(att, att.cut)
        generated = self.model.generated_tokens(plan, req.out, release - now)
        if not plan.error and now + plan.ttft <= att.cut:
            att.first = now + plan.ttft
        att.state = LEAVING
        cost = self.model.cost(req.inp, req.cached, generated)
        later(self.env, att.cut - now, self._on_abandon, (att, release, generated, cost))

    def _on_complete(self, event) -> None:
        att = event.value
        if att.state == CANCELLED:
            if att.release_at >= att.end_at:
                self.free(self.env.now)
            return
        now = self.env.now
        req = att.req
        plan = att.plan
        att.state = DONE
        if plan.error:
            outcome, status = _SERVER_ERROR, self.model.error_status
            att.should_retry = self.should_retry
            billed_out = plan.streamed  # 0 unless the error came inside the stream, after a 200
            if billed_out:
                att.first = att.started + plan.ttft
        else:
            outcome, status = _OK, 200
            att.first = att.started + plan.ttft
            billed_out = req.out
            if self.quality is not None and self._invalid(att):  # 200 OK, contract broken
                outcome = _INVALID
        cost = self.model.cost(req.inp, req.cached, billed_out)
        # end_attempt(...), inlined: every served attempt ends here
        att.in_flight = False
        att.end = now
        att.outcome = outcome
        att.status = status
        att.row = self.rec.attempt_row(att, self.index, att.started, req.inp, billed_out, cost)
        if req.cached or self.meter is not None or self.corrects:
            self._billed(att, now, cost, billed_out)
        self.busy -= 1  # free(now), inlined: the queue is served only when someone waits
        if self.queue:
            self.fill(now)
        att.cb(att)

    def _on_abandon(self, event) -> None:
        att, release, generated, cost = event.value
        if att.state == CANCELLED:
            return
        now = self.env.now
        req = att.req
        end_attempt(self.rec, self.index, att, now, att.cut_outcome, 0, NAN, att.started, req.inp, generated, cost)
        self._billed(att, now, cost, generated)
        if release <= now:
            self.free(now)
        elif release < INF:
            later(self.env, release - now, self._release)
        else:  # pragma: no cover - an abandoned finite service always ends
            raise AssertionError("unbounded service")
        att.cb(att)

    def _release(self, _event=None) -> None:
        self.free(self.env.now)

    def _serve_orphan(self, att: Attempt, now: float) -> None:
        """Serve an attempt whose client already left, until the provider notices (billed, wasted)."""
        self.occupy(att, now)
        att.state = DONE
        first_draw, u = self._draws(att)
        req = att.req
        att.plan = self.model.plan(now, first_draw, u, req.out, self.busy, self.eff)
        release = self.orphan_release(att, now)
        generated = self.model.generated_tokens(att.plan, req.out, release - now)
        cost = self.model.cost(req.inp, req.cached, generated)
        self.rec.settle(att.row, req.inp, generated, cost)
        self._billed(att, now, cost, generated)
        later(self.env, release - now, self._release)

    def _billed(self, att: Attempt, now: float, cost: float, output_tokens: int) -> None:
        """What goes with every bill: cached input in the attempts table, and the spend meter."""
        req = att.req
        if req.cached:
            self.rec.cached(att.row, req.cached)
        if self.corrects:
            self.model.limits.settle(now, self.max_tokens, output_tokens)
        if self.meter is not None:
            self.meter(now, cost, req.inp + output_tokens, req)

    def cancel(self, att: Attempt) -> None:
        """The client cancels an attempt in flight now (a hedge that lost): the provider notices after
        ``abort_notice``; the attempt is billed for its input (if it started) and the tokens made by then."""
        now = self.env.now
        state = att.state
        if state == QUEUED:
            end_attempt(self.rec, self.index, att, now, _CANCELLED)
            self._left_queue(att, now, now)
            return
        if state == REFUSING or state == DROPPED:  # its refusal is on the way: nothing to bill, no slot to free
            att.should_retry = None
            end_attempt(self.rec, self.index, att, now, _CANCELLED)
            return
        if state != SERVING and state != LEAVING:  # pragma: no cover - the client cancels only attempts in flight
            return
        req = att.req
        plan = att.plan
        att.state = CANCELLED
        release = self.release_time(att, now)
        att.release_at = release
        generated = self.model.generated_tokens(plan, req.out, release - att.started)
        first = att.started + plan.ttft
        att.first = first if not plan.error and first <= now else NAN
        cost = self.model.cost(req.inp, req.cached, generated)
        end_attempt(self.rec, self.index, att, now, _CANCELLED, 0, NAN, att.started, req.inp, generated, cost)
        self._billed(att, now, cost, generated)
        if release < att.end_at or state == LEAVING:  # else _on_complete releases the slot at end_at
            later(self.env, release - now, self._release)

    def _invalid(self, att: Attempt) -> bool:
        """Whether a 200 answer breaks the output contract: a uniform keyed by (request, attempt)
        against the invalid rate when service began."""
        rate = self.quality.at(att.started)
        if rate <= 0.0:
            return False
        pk = att.pk
        if pk < DRAW_COLUMNS:
            return att.req.chunk.quality_table(self).item(att.req.row_in_chunk, pk) < rate
        return self._overflow.random() < rate

    # -- timers ---------------------------------------------------------------------------------
    def _on_queue_timer(self, event) -> None:
        att = event.value
        if att.state != QUEUED:
            return
        now = self.env.now
        if att.sent + self.queue_timeout <= att.cut:  # the provider's queue timeout came first
            self.time_out(att)
            self._unreserve(now)
            att.should_retry = self.should_retry
            self._refuse(att, now, _OVERLOADED, self.model.overload_status, NAN, self.error_times)
            return
        end_attempt(self.rec, self.index, att, now, att.cut_outcome)
        self._left_queue(att, att.cut, now)
        att.cb(att)

    def _left_queue(self, att: Attempt, left_at: float, now: float) -> None:
        """The client of a waiting attempt left at ``left_at``: the provider drops it later (or serves it
        as an orphan first)."""
        drop_at = self.leave_queue(att, left_at)
        if drop_at < INF:
            later(self.env, drop_at - now, self._on_drop, att)

    def _on_drop(self, event) -> None:
        att = event.value
        self.drop(att)
        if att.state == DROPPED:  # never served, never billed
            self._unreserve(self.env.now)

    def _unreserve(self, now: float) -> None:
        """An attempt admitted under ``admission: reserve`` left the queue without a bill: its max_tokens
        reservation goes back to the buckets (nothing was generated)."""
        if self.corrects:
            self.model.limits.settle(now, self.max_tokens, 0)

    def _on_capacity(self, event) -> None:
        eff = event.value
        now = self.env.now
        self.rec.event(now, "capacity", self.model.name, number=eff)
        self.set_capacity(eff, now)
