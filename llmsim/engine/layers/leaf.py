"""The bottom of the pipeline: one attempt on one provider, through its circuit breaker.

>>> from llmsim.engine.scripted import run_scripted
>>> req, att = run_scripted({}, {"p": [("server_error", 0.5)]})
>>> att["outcome"].tolist(), req["outcome"].tolist()
(['server_error'], ['server_error'])
"""

from __future__ import annotations

from llmsim.core.outcomes import Outcome
from llmsim.engine.clock import later
from llmsim.engine.layers.call import Call, Context
from llmsim.engine.station import Attempt, Station, end_attempt
from llmsim.policies.breaker import CLOSED

__all__ = ["Leaf"]


class Leaf:
    """Sends an attempt to a station (the call's, else ``default``), through that provider's circuit
    breaker (one per client instance); the attempt's result goes back to the call (``att.up``)."""

    def __init__(self, ctx: Context, default: Station, breaker_of: dict, failures: frozenset, overhead=None):
        self.ctx = ctx
        self.default = default
        self.breaker_of = breaker_of  # station index -> BreakerPolicy (none: no breakers)
        self.failures = failures  # outcomes a breaker counts as failures
        self.overhead = overhead  # client.overhead draws (AnswerTimes), or None: attempts leave at once

    def call(self, c: Call) -> None:
        station = c.station
        if station is None:
            station = self.default
        req = c.req
        idx = station.index
        ctx = self.ctx
        now = ctx.env.now
        if ctx.guard is not None and ctx.guard.blocks(req, now):  # spend guard: nothing is sent
            ctx.reject(req, -1, c, "spend_blocked")
            return
        permit = None
        if self.breaker_of:
            br = self.breaker_of[idx]
            permit = br.epoch if br.state == CLOSED else br.allow(now)  # closed: allow(now), inlined
            if permit is None:  # open: nothing is sent to the provider
                ctx.reject(req, idx, c)
                return
        sent = now if self.overhead is None else now + self.overhead.next()
        att = Attempt(req, req.k, req.tries[idx], sent, c.cut, c.kind, station, self._finished, c, permit, c.group)
        req.k += 1
        req.tries[idx] += 1
        req.last_index = idx
        req.current = att
        if c.group is not None:
            c.group.inflight.append(att)
        if sent > now:  # the client's own overhead first: in flight, not at the provider yet
            later(ctx.env, min(sent, c.cut) - now, self._send, att)
            return
        station.submit(att)

    def _send(self, event) -> None:
        att = event.value
        if not att.in_flight:  # cancelled meanwhile, or cut off at the end of the run
            return
        if att.sent >= att.cut:  # the client's timeout came before the attempt left (now == cut)
            end_attempt(self.ctx.rec, att.station.index, att, self.ctx.env.now, att.cut_outcome)
            att.cb(att)
            return
        att.station.submit(att)

    def _finished(self, att: Attempt) -> None:
        permit = att.permit
        if permit is not None:
            br = self.breaker_of[att.station.index]
            end = att.end
            if br.state != CLOSED or permit != br.epoch:
                br.record(end, permit, att.outcome in self.failures, end - att.sent)
            elif br.trips(br, end, att.outcome in self.failures, end - att.sent > br.slow_duration):
                br.trip(end)  # closed: br.record(...), inlined
        c = att.up
        att.up = None
        c.caller.done(c, att)  # c.done(att), one call less on the per-attempt path

    def cancel(self, att: Attempt) -> None:
        """Cancel an attempt in flight (a hedge that lost); the layers of its branch then see it end
        as ``cancelled``, so they settle what they hold (budgets, limiter permits, calls in flight)."""
        now = self.ctx.env.now
        if att.sent > now:  # still in the client's overhead: the provider never sees it
            att.sent = now
            end_attempt(self.ctx.rec, att.station.index, att, now, Outcome.CANCELLED)
        else:
            att.station.cancel(att)
        if att.permit is not None:
            self.breaker_of[att.station.index].record(att.end, att.permit, False, 0.0)
        c = att.up
        att.up = None
        if c is not None:
            c.done(att)

    def peek(self, req, now: float):
        return self.default

    def advance(self, req) -> None:
        pass  # a single provider: nowhere to move on to

    def has_alternative(self, req, now: float, station) -> bool:
        return False

    def choices(self, now: float) -> tuple[int, int]:
        return 1, 1  # one provider, never ejected here
