"""The provider model over wall-clock time: an asyncio twin of the SimPy station (llmsim.engine.station).

Time 0 is when the runtime starts. Slots are a counter, the queue a FIFO of futures; admission,
capacity over the day, latency, errors and prices come from the same ``ProviderModel`` the
simulator uses, with draws from the scenario seed (one stream per provider, in arrival order).

A call goes ``open`` (rate limits, queue limit) -> ``await ticket.started()`` (waits for a slot, may
time out in the queue) -> the handler paces TTFT and tokens from ``ticket.plan`` -> ``finish()``.
If the client goes away first, ``abandon()`` frees the slot once the provider notices
(``abort_notice`` after the disconnect, or when the generation would have ended anyway).

>>> import asyncio
>>> from llmsim.config import Provider
>>> from llmsim.provider.model import ProviderModel
>>> async def demo():
...     rt = LiveProvider(ProviderModel(Provider.model_validate({"name": "p", "capacity": {"slots": 2},
...                       "latency": {"ttft": "10ms"}}), 0), seed=1)
...     t = rt.open(input_tokens=10, cached_tokens=0, max_tokens=50, output_tokens=20)
...     await t.started()
...     busy = rt.busy
...     t.finish()
...     return busy, rt.busy, round(t.plan.ttft, 3)
>>> asyncio.run(demo())
(1, 0, 0.01)
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque

from llmsim.core.streams import Streams
from llmsim.provider.model import Plan, ProviderModel

__all__ = ["LiveProvider", "Ticket", "Refused"]

INF = float("inf")
QUEUED, SERVING, DONE, ABANDONED, DROPPED = range(5)


class Refused(Exception):
    """The provider turns the call away without serving it: ``outcome`` rate_limited or overloaded."""

    def __init__(self, outcome: str, status: int, retry_after: float = math.nan):
        super().__init__(f"{outcome} ({status})")
        self.outcome = outcome
        self.status = status
        self.retry_after = retry_after


class Ticket:
    """One attempt on the live provider."""

    __slots__ = ("rt", "inp", "cached", "max_tokens", "out", "sent", "state", "fut", "start", "plan",
                 "left_at", "released", "timer", "generated", "cost", "end")

    def __init__(self, rt: LiveProvider, inp: int, cached: int, max_tokens: int, out: int, sent: float):
        self.rt = rt
        self.inp, self.cached, self.max_tokens, self.out = inp, cached, max_tokens, out
        self.sent = sent
        self.state = QUEUED
        self.fut: asyncio.Future | None = None
        self.start = math.nan
        self.plan: Plan | None = None
        self.left_at = INF
        self.released = False
        self.timer = None
        self.generated = 0
        self.cost = 0.0
        self.end = math.nan

    async def started(self) -> None:
        """Wait for a slot (returns at once if one was free); raises Refused(overloaded) on queue timeout."""
        if self.state == SERVING:
            return
        await self.fut

    def finish(self) -> None:
        """The provider delivered everything (or its error): bill and free the slot."""
        rt = self.rt
        now = rt.now()
        self.end = now
        self.state = DONE
        self.generated = 0 if self.plan.error else self.out
        self.cost = rt.model.cost(self.inp, self.cached, self.generated)
        rt._release(self)

    def abandon(self) -> None:
        """The client left (disconnect or timeout): the provider notices ``abort_notice`` later."""
        rt = self.rt
        now = rt.now()
        if self.state in (DONE, DROPPED, ABANDONED):
            return
        self.end = now
        self.left_at = now
        if self.state == QUEUED:
            self.state = ABANDONED
            if self.timer is not None:
                self.timer.cancel()
            rt._later(rt.notice, rt._drop, self)
            return
        self.state = ABANDONED
        self._settle_orphan(now)

    def _settle_orphan(self, now: float) -> None:
        """In service after the client left: keep the slot until the provider notices or finishes."""
        rt = self.rt
        release = min(self.start + self.plan.duration, self.left_at + rt.notice)
        self.generated = rt.model.generated_tokens(self.plan, self.out, release - self.start)
        self.cost = rt.model.cost(self.inp, self.cached, self.generated)
        rt._later(max(0.0, release - now), rt._release, self)


class LiveProvider:
    """Slots, FIFO queue, rate limits and timers of one provider, on the running asyncio loop."""

    def __init__(self, model: ProviderModel, seed: int, output_sampler=None, clock=time.monotonic):
        self.model = model
        self.name = model.name
        self.clock = clock
        self.t0 = clock()
        self.busy = 0
        self.queue: deque[Ticket] = deque()
        self.live_queue = 0
        self.notice = model.abort_notice
        streams = Streams(seed)
        self._draws = streams.rng("serve-provider", model.index)
        self._sizes = streams.rng("serve-sizes", model.index)
        self._output = output_sampler
        self._capacity_timers_set = False

    # -- clock ----------------------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the runtime started (the scenario's time)."""
        return self.clock() - self.t0

    def _later(self, delay: float, fn, *args) -> None:
        if delay == INF:
            return
        asyncio.get_running_loop().call_later(delay, fn, *args)

    def eff(self) -> int:
        return self.model.effective_slots(self.now())

    def output_tokens(self, max_tokens: int) -> int:
        """How long the answer is: the workload's output size distribution, capped by max_tokens."""
        if self._output is None:
            return max_tokens
        n = int(round(float(self._output.sample(self._sizes, 1)[0])))
        return max(1, min(max_tokens, n))

    # -- entry ----------------------------------------------------------------------------------
    def open(self, input_tokens: int, cached_tokens: int, max_tokens: int, output_tokens: int) -> Ticket:
        """Admit a call now (starts it if a slot is free, else queues it) or raise Refused."""
        self._arm_capacity_timers()
        now = self.now()
        wait = self.model.admit(now, input_tokens, cached_tokens, max_tokens, output_tokens)
        if wait > 0.0:
            raise Refused("rate_limited", 429, wait)
        t = Ticket(self, input_tokens, cached_tokens, max_tokens, output_tokens, now)
        if self.busy < self.eff() and not self.live_queue:
            self._start(t, now)
            return t
        limit = self.model.queue_limit
        if limit is not None and self.live_queue >= limit:
            raise Refused("overloaded", self.model.overload_status)
        t.fut = asyncio.get_running_loop().create_future()
        self.queue.append(t)
        self.live_queue += 1
        if self.model.queue_timeout < INF:
            t.timer = asyncio.get_running_loop().call_later(self.model.queue_timeout, self._queue_timeout, t)
        return t

    # -- internals ------------------------------------------------------------------------------
    def _arm_capacity_timers(self) -> None:
        if self._capacity_timers_set:
            return
        self._capacity_timers_set = True
        now = self.now()
        for t, _ in self.model.capacity_changes():
            if t > now:
                self._later(t - now, self._fill)

    def _start(self, t: Ticket, now: float) -> None:
        self.busy += 1
        t.start = now
        first, u = self.model.draw_table(self._draws, 1, 1)
        t.plan = self.model.plan(now, first.item(0, 0), u.item(0, 0), t.out, self.busy, self.eff())
        if t.state == QUEUED:
            t.state = SERVING
            if t.fut is not None and not t.fut.done():
                t.fut.set_result(None)
        else:  # the client already left; served until the provider notices
            t._settle_orphan(now)

    def _release(self, t: Ticket) -> None:
        if t.released:
            return
        t.released = True
        self.busy -= 1
        self._fill()

    def _fill(self) -> None:
        now = self.now()
        eff = self.eff()
        while self.busy < eff and self.queue:
            t = self.queue.popleft()
            if t.state == DROPPED:
                continue
            self.live_queue -= 1
            if t.timer is not None:
                t.timer.cancel()
            self._start(t, now)

    def _queue_timeout(self, t: Ticket) -> None:
        if t.state != QUEUED:
            return
        t.state = DROPPED
        t.end = self.now()
        self.live_queue -= 1
        if not t.fut.done():
            t.fut.set_exception(Refused("overloaded", self.model.overload_status))

    def _drop(self, t: Ticket) -> None:
        if t.state == ABANDONED and math.isnan(t.start):  # still waiting in the queue
            t.state = DROPPED
            self.live_queue -= 1

    def stats(self) -> dict:
        """Busy slots, effective slots and queue length now (``/llmsim/status``)."""
        return {"provider": self.name, "time": self.now(), "busy": self.busy, "slots": self.eff(),
                "queued": self.live_queue}
