"""The provider model over wall-clock time: the simulator's slot/queue state machine
(llmsim.provider.slots) driven by asyncio timers instead of SimPy's.

Time 0 is when the runtime starts, or ``at`` seconds into the scenario (``llmsim serve --at 08:30``), and
the scenario's clock runs ``speed`` times faster than wall time (``--speed``): every timer and pause
(queue timeouts, capacity changes, TTFT and token pacing) is the scenario's time divided by ``speed``
(``wall()``). Admission, capacity over the day, latency, errors and prices come
from the same ``ProviderModel`` the simulator uses, with draws from the scenario seed (one stream
per provider, in arrival order); slots, the FIFO queue and what happens to calls whose client left
come from the same ``SlotQueue``.

A call goes ``open`` (rate limits, queue limit) -> ``await ticket.wait_for_slot()`` (may time out
in the queue) -> the handler paces TTFT and tokens from ``ticket.plan`` -> ``finish()``. If the
client goes away first, ``abandon()`` frees the slot once the provider notices (``abort_notice``
after the disconnect, or when the generation would have ended anyway).

>>> import asyncio
>>> from llmsim.config import Provider
>>> from llmsim.provider.model import ProviderModel
>>> async def demo():
...     rt = LiveProvider(ProviderModel(Provider.model_validate({"name": "p", "capacity": {"slots": 2},
...                       "latency": {"ttft": "10ms"}}), 0), seed=1)
...     t = rt.open(input_tokens=10, cached_tokens=0, max_tokens=50, output_tokens=20)
...     await t.wait_for_slot()
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

from llmsim.core.outcomes import Outcome
from llmsim.core.streams import Streams
from llmsim.provider.answer_times import AnswerTimes
from llmsim.provider.model import ProviderModel
from llmsim.provider.slots import DONE, LEAVING, QUEUED, SERVING, Service, SlotQueue

__all__ = ["LiveProvider", "Ticket", "Refused"]

INF = float("inf")


class Refused(Exception):
    """The provider turns the call away without serving it: ``outcome`` rate_limited or overloaded."""

    def __init__(self, outcome: str, status: int, retry_after: float = math.nan):
        super().__init__(f"{outcome} ({status})")
        self.outcome = outcome
        self.status = status
        self.retry_after = retry_after


class Ticket(Service):
    """One call on the live provider: its ``Service`` record plus its sizes, the future its handler
    awaits, the queue timer, and what it was billed (``generated`` output tokens, ``cost``)."""

    __slots__ = ("rt", "inp", "cached", "out", "fut", "timer", "released", "generated", "cost")

    def __init__(self, rt: LiveProvider, inp: int, cached: int, out: int, sent: float):
        Service.__init__(self, sent)
        self.rt = rt
        self.inp, self.cached, self.out = inp, cached, out
        self.fut: asyncio.Future | None = None
        self.timer = None
        self.released = False
        self.generated = 0
        self.cost = 0.0

    async def wait_for_slot(self) -> None:
        """Wait for a slot (returns at once if one was free); raises Refused(overloaded) on queue timeout."""
        if self.state == SERVING:
            return
        await self.fut

    def finish(self) -> None:
        """The provider delivered everything (or its error): bill and free the slot."""
        rt = self.rt
        self.state = DONE
        self._bill(self.plan.streamed if self.plan.error else self.out)  # a mid-stream error: what was sent
        rt._release(self)

    def abandon(self) -> None:
        """The client left (disconnect or timeout): the provider notices ``abort_notice`` later."""
        self.rt._abandon(self)

    def _bill(self, generated: int) -> None:
        self.generated = generated
        self.cost = self.rt.model.cost(self.inp, self.cached, generated)


class LiveProvider(SlotQueue):
    """Slots, FIFO queue, rate limits and timers of one provider, on the running asyncio loop."""

    def __init__(self, model: ProviderModel, seed: int, output_sampler=None, clock=time.monotonic,
                 at: float = 0.0, speed: float = 1.0):
        super().__init__(model)
        self.name = model.name
        self.clock = clock
        self.t0 = clock()
        self.at, self.speed = at, speed
        streams = Streams(seed)
        self._draws = streams.rng("serve-provider", model.index)
        self._sizes = streams.rng("serve-sizes", model.index)
        self._output = output_sampler
        self._capacity_timers_set = False
        lat = model.cfg.latency  # how long a refusal's answer takes, as in the simulator (engine/station.py)
        self._refusal_times = AnswerTimes(lat.refusal.build(), streams.rng("serve-refusal", model.index))
        self._error_times = self._refusal_times if lat.error is None else AnswerTimes(
            lat.error.build(), streams.rng("serve-error-answer", model.index))

    # -- clock ----------------------------------------------------------------------------------
    def now(self) -> float:
        """The scenario's time: ``at`` plus ``speed`` times the wall-clock seconds since the runtime started."""
        return self.at + (self.clock() - self.t0) * self.speed

    def wall(self, seconds: float) -> float:
        """Wall-clock seconds that ``seconds`` of the scenario's time take."""
        return seconds / self.speed

    def _later(self, delay: float, fn, *args) -> None:
        if delay == INF:
            return
        asyncio.get_running_loop().call_later(self.wall(max(0.0, delay)), fn, *args)

    def answer_time(self, outcome: str) -> float:
        """Seconds before a refusal's answer reaches the client: ``latency.refusal`` for a 429,
        ``latency.error`` (else ``refusal``) for a 529/503."""
        times = self._refusal_times if outcome == Outcome.RATE_LIMITED else self._error_times
        return 0.0 if times.instant else times.next()

    def output_tokens(self, max_tokens: int) -> int:
        """How long the answer is: the workload's output size distribution, capped by max_tokens."""
        if self._output is None:
            return max_tokens
        n = int(round(float(self._output.sample(self._sizes, 1)[0])))
        return max(1, min(max_tokens, n))

    # -- entry ----------------------------------------------------------------------------------
    def open(self, input_tokens: int, cached_tokens: int, max_tokens: int, output_tokens: int) -> Ticket:
        """Admit a call now (starts it if a slot is free, else queues it) or raise Refused."""
        now = self.now()
        self._arm_capacity_timers(now)
        wait = self.model.admit(now, input_tokens, cached_tokens, max_tokens, output_tokens)
        if wait > 0.0:
            raise Refused(Outcome.RATE_LIMITED, 429, wait)
        t = Ticket(self, input_tokens, cached_tokens, output_tokens, now)
        if self.has_free_slot():
            self._serve(t, now)
            return t
        if self.queue_full():
            raise Refused(Outcome.OVERLOADED, self.model.overload_status)
        loop = asyncio.get_running_loop()
        t.fut = loop.create_future()
        self.wait(t)
        if self.queue_timeout < INF:
            t.timer = loop.call_later(self.wall(self.queue_timeout), self._queue_timeout, t)
        return t

    # -- the state machine's hooks --------------------------------------------------------------
    def _plan(self, t: Ticket, now: float) -> None:
        first, u = self.model.draw_table(self._draws, 1, 1)
        t.plan = self.model.plan(now, first.item(0, 0), u.item(0, 0), t.out, self.busy, self.eff)
        t.end_at = now + t.plan.duration

    def _serve(self, t: Ticket, now: float) -> None:
        if t.timer is not None:
            t.timer.cancel()
        self.occupy(t, now)
        self._plan(t, now)
        if t.fut is not None and not t.fut.done():
            t.fut.set_result(None)

    def _serve_orphan(self, t: Ticket, now: float) -> None:
        """Served after its client left the queue, until the provider notices or it ends (billed, wasted)."""
        self.occupy(t, now)
        t.state = DONE
        self._plan(t, now)
        release = self.orphan_release(t, now)
        t._bill(self.model.generated_tokens(t.plan, t.out, release - now))
        self._later(release - now, self._release, t)

    # -- internals ------------------------------------------------------------------------------
    def _arm_capacity_timers(self, now: float) -> None:
        if self._capacity_timers_set:
            return
        self._capacity_timers_set = True
        self.eff = self.model.effective_slots(now)
        for t, eff in self.model.capacity_changes():
            if t > now:
                self._later(t - now, self._on_capacity, eff)

    def _on_capacity(self, eff: int) -> None:
        self.set_capacity(eff, self.now())

    def _release(self, t: Ticket) -> None:
        if t.released:
            return
        t.released = True
        self.free(self.now())

    def _abandon(self, t: Ticket) -> None:
        if t.state != QUEUED and t.state != SERVING:  # already ended or already left
            return
        now = self.now()
        if t.state == QUEUED:
            if t.timer is not None:
                t.timer.cancel()
            drop_at = self.leave_queue(t, now)
            self._later(drop_at - now, self.drop, t)
            return
        t.state = LEAVING
        release = self.release_time(t, now)
        t._bill(self.model.generated_tokens(t.plan, t.out, release - t.started))
        self._later(release - now, self._release, t)

    def _queue_timeout(self, t: Ticket) -> None:
        if t.state != QUEUED:
            return
        self.time_out(t)
        if not t.fut.done():
            t.fut.set_exception(Refused(Outcome.OVERLOADED, self.model.overload_status))

    def stats(self) -> dict:
        """Busy slots, effective slots and queue length now (``/llmsim/status``)."""
        return {"provider": self.name, "time": self.now(), "busy": self.busy, "slots": self.eff,
                "queued": self.live_queue}
