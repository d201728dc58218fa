"""A station whose provider offers service classes (priority, flex, batch beside standard) or an
acceleration limit: used only for such providers, so every other station keeps its lean path.

The class of an attempt is decided when it is sent (``ClassChooser``, then what the provider offers,
then the ramp rule); ``att.tier`` holds it while the provider works on it. Prices and speed are the
class's: the model's per-token prices and speed are set to the attempt's class around every handler
that plans or bills it, and put back after (handlers nest: a bill can start the next call's service).
"""

from __future__ import annotations

from collections import deque

from llmsim.core.outcomes import Outcome
from llmsim.engine.clock import later
from llmsim.engine.station import Station, end_attempt
from llmsim.provider.answer_times import AnswerTimes
from llmsim.provider.slots import DONE, DROPPED, QUEUED, REFUSING, SERVING
from llmsim.provider.tiers import (
    BATCH,
    DOWNGRADED,
    FLEX,
    PRIORITY,
    STANDARD,
    ClassQueue,
    RampRule,
    class_profiles,
    offered_codes,
)

__all__ = ["TieredStation"]

NAN = float("nan")


def _lane(att) -> int:
    return att.tier


def _ramp(cfg) -> RampRule | None:
    return None if cfg is None else RampRule(cfg.min_tpm, cfg.max_increase, cfg.window)


class TieredStation(Station):
    """``Station`` plus service classes: a class-ordered queue, flex refused first, the priority ramp
    rule, batch as deferred capacity, an acceleration limit; each attempt's class is recorded."""

    def __init__(self, env, model, recorder, streams, max_tokens: int, chooser=None):
        super().__init__(env, model, recorder, streams, max_tokens)
        cfg = model.cfg
        classes = cfg.service_classes
        self.chooser = chooser
        self.offered = offered_codes(classes)
        self.profiles = class_profiles(classes, (model.price_in, model.price_cached, model.price_out),
                                       model.tokens_per_s, model.slow_extra)
        self.queue = ClassQueue(_lane)  # batch never waits here
        self.flex = None if classes is None else classes.flex
        self.ramp = _ramp(None if classes is None or classes.priority is None else classes.priority.ramp)
        accel = None if cfg.rate_limits is None else cfg.rate_limits.acceleration
        self.accel = _ramp(accel)
        self.accel_status = 0 if accel is None else accel.status
        self.note_tier = getattr(recorder, "tier", None)  # summary-only recorders keep no tier column
        batch = None if classes is None else classes.batch
        self.batch = batch
        if batch is not None:
            self.batch_times = AnswerTimes(batch.turnaround.build(), streams.rng("provider-batch", model.index))
            self.batch_slots = batch.slots if batch.slots is not None else float("inf")
            self.batch_busy = 0
            self.batch_queue: deque = deque()

    # -- the class of an attempt ----------------------------------------------------------------
    def submit(self, att) -> None:
        req = att.req
        now = att.sent
        asked = self.chooser.of(req) if self.chooser is not None else STANDARD
        tier = self.offered[asked]
        tokens = req.inp + req.out
        if tier == BATCH:
            self._note(att, BATCH)
            self._batch_arrive(att, now)
            return
        if tier == FLEX and self.busy >= self.eff and self._flex_waiting() >= self.flex.queue_limit:
            att.tier = FLEX
            self._note(att, FLEX)
            if self.chooser is not None:
                self.chooser.refused(req)
            self._refuse(att, now, Outcome.OVERLOADED, self.flex.status)  # capacity refusal: not billed
            return
        if self.accel is not None and not self.accel.allows(now, tokens):
            att.tier = tier
            self._note(att, tier)
            outcome = Outcome.RATE_LIMITED if self.accel_status == 429 else Outcome.OVERLOADED
            self._refuse(att, now, outcome, self.accel_status, RampRule.retry_after(now))
            return
        noted = tier
        if tier == PRIORITY and self.ramp is not None and not self.ramp.allows(now, tokens):
            tier, noted = STANDARD, DOWNGRADED  # served and billed as standard, marked in the attempts table
        att.tier = tier
        self._note(att, noted)
        super().submit(att)
        if att.station is self and att.state != REFUSING and att.in_flight:  # admitted here
            if tier == PRIORITY and self.ramp is not None:
                self.ramp.count(now, tokens)
            if self.accel is not None:
                self.accel.count(now, tokens)

    def _note(self, att, code: int) -> None:
        if self.note_tier is not None:
            self.note_tier(att.req.rid, att.k, code)

    def _flex_waiting(self) -> int:
        return sum(1 for a in self.queue.lane(FLEX) if a.state == QUEUED)

    # -- the class's prices and speed around every handler that plans or bills an attempt --------
    def _use(self, tier: int) -> tuple:
        m = self.model
        old = (m.price_in, m.price_cached, m.price_out, m.tokens_per_s, m.slow_extra)
        m.price_in, m.price_cached, m.price_out, m.tokens_per_s, m.slow_extra = self.profiles[tier]
        return old

    def _put_back(self, old: tuple) -> None:
        m = self.model
        m.price_in, m.price_cached, m.price_out, m.tokens_per_s, m.slow_extra = old

    def _serve(self, att, now: float) -> None:
        old = self._use(att.tier)
        try:
            super()._serve(att, now)
        finally:
            self._put_back(old)

    def _serve_orphan(self, att, now: float) -> None:
        old = self._use(att.tier)
        try:
            super()._serve_orphan(att, now)
        finally:
            self._put_back(old)

    def _on_complete(self, event) -> None:
        old = self._use(event.value.tier)
        try:
            super()._on_complete(event)
        finally:
            self._put_back(old)

    def cancel(self, att) -> None:
        if getattr(att, "tier", STANDARD) == BATCH:
            self._batch_cancel(att)
            return
        old = self._use(att.tier)
        try:
            super().cancel(att)
        finally:
            self._put_back(old)

    # -- batch: deferred capacity with its own turnaround ---------------------------------------
    def _batch_arrive(self, att, now: float) -> None:
        att.tier = BATCH
        if self.batch_busy < self.batch_slots:
            self._batch_start(att, now)
            return
        self.batch_queue.append(att)
        if att.cut < float("inf"):
            later(self.env, att.cut - now, self._batch_cut, att)

    def _batch_start(self, att, now: float) -> None:
        self.batch_busy += 1
        att.state = SERVING
        att.started = now
        expires = att.sent + self.batch.window
        done = now + self.batch_times.next()
        att.end_at = min(done, expires)
        if att.cut < att.end_at:  # the client gives up first: nothing billed (the job is cancelled)
            later(self.env, att.cut - now, self._batch_cut, att)
        later(self.env, att.end_at - now, self._batch_done, (att, done <= expires))

    def _batch_done(self, event) -> None:
        att, finished = event.value
        now = self.env.now
        self.batch_busy -= 1
        if att.in_flight and att.state == SERVING:
            att.state = DONE
            if finished:
                req = att.req
                att.first = now
                old = self._use(BATCH)
                cost = self.model.cost(req.inp, req.cached, req.out)
                self._put_back(old)
                end_attempt(self.rec, self.index, att, now, Outcome.OK, 200, NAN, att.started, req.inp, req.out, cost)
                if req.cached:
                    self.rec.cached(att.row, req.cached)
                if self.meter is not None:
                    self.meter(now, cost, req.inp + req.out, req)
            else:  # expired at the end of the window: not billed
                end_attempt(self.rec, self.index, att, now, Outcome.OVERLOADED, 503, NAN, att.started)
            att.cb(att)
        self._batch_next(now)

    def _batch_next(self, now: float) -> None:
        q = self.batch_queue
        while q and self.batch_busy < self.batch_slots:
            att = q.popleft()
            if att.state == QUEUED:
                self._batch_start(att, now)

    def _batch_cut(self, event) -> None:
        att = event.value
        if not att.in_flight or att.state not in (QUEUED, SERVING):
            return
        if att.state == QUEUED:
            att.state = DROPPED
        end_attempt(self.rec, self.index, att, self.env.now, att.cut_outcome, 0, NAN, att.started)
        att.cb(att)

    def _batch_cancel(self, att) -> None:
        if att.state == QUEUED:
            att.state = DROPPED
        end_attempt(self.rec, self.index, att, self.env.now, Outcome.CANCELLED, 0, NAN, att.started)
