"""Slots, a FIFO queue and abandonment: the one state machine of a provider's concurrency.

It has no clock and schedules nothing. The simulator's station (SimPy, llmsim.engine.station) and
the live endpoint (asyncio on the wall clock, llmsim.bridges.serve.runtime) subclass ``SlotQueue``:
they pass ``now`` in, arm the timers its methods name, and say how a call starts service
(``_serve``) and how a call whose client already left is served (``_serve_orphan``).

A call's provider-side record is a ``Service``; its ``state`` moves

    QUEUED --slot--> SERVING --end--> DONE
    QUEUED --client leaves--> ORPHANED --slot--> DONE (served until the provider notices)
                                       --drop_at--> DROPPED
    QUEUED --queue timeout--> DROPPED
    SERVING --client will leave before the end (the simulator knows the cut)--> LEAVING
    SERVING / LEAVING --client cancels--> CANCELLED
    (sent) --refused at arrival--> REFUSING --answer reaches the client--> DONE
                                            --client cancels--> CANCELLED   (never holds a slot)

>>> from llmsim.config import Provider
>>> from llmsim.provider.model import ProviderModel
>>> class Desk(SlotQueue):
...     def _serve(self, s, now):
...         self.occupy(s, now)
...     def _serve_orphan(self, s, now):
...         self.occupy(s, now)
...         s.state = DONE
>>> d = Desk(ProviderModel(Provider.model_validate({"name": "p", "capacity": {"slots": 1},
...                                                  "queue": {"timeout": "10s"}, "abort_notice": "2s"}), 0))
>>> a, b = Service(0.0), Service(0.0)
>>> d.has_free_slot(), d._serve(a, 0.0), d.has_free_slot(), d.queue_full()
(True, None, False, False)
>>> d.wait(b), d.live_queue
(None, 1)
>>> d.leave_queue(b, 1.0)  # the client left at 1 s: dropped when the provider notices (1 s + 2 s)
3.0
>>> d.free(5.0), b.state == DONE, d.busy, d.live_queue  # a slot freed first: b is served as an orphan
(None, True, 1, 0)
"""

from __future__ import annotations

from collections import deque

from llmsim.provider.model import ProviderModel

__all__ = ["Service", "SlotQueue", "QUEUED", "SERVING", "LEAVING", "ORPHANED", "DROPPED", "DONE", "CANCELLED",
           "REFUSING"]

INF = float("inf")
NAN = float("nan")
QUEUED, SERVING, LEAVING, ORPHANED, DROPPED, DONE, CANCELLED, REFUSING = range(8)


class Service:
    """The provider's record of one call: where it is, when it was sent and started, its plan, and when
    its slot frees (``release_at``) or, once its client left the queue, when it is dropped (``drop_at``)."""

    __slots__ = ("state", "sent", "started", "plan", "end_at", "release_at", "drop_at")

    def __init__(self, sent: float):
        self.state = QUEUED
        self.sent = sent
        self.started = NAN
        self.plan = None
        self.end_at = INF  # when service would end (set at the start)
        self.release_at = INF
        self.drop_at = INF


class SlotQueue:
    """``busy`` of ``eff`` slots (the effective count changes over time), a FIFO queue of waiting calls
    (``live_queue`` of them still wanted), an optional queue limit, queue timeout and abort notice."""

    def __init__(self, model: ProviderModel):
        self.model = model
        self.busy = 0
        self.eff = model.effective_slots(0.0)
        self.queue: deque = deque()
        self.live_queue = 0
        self.limit = model.queue_limit
        self.queue_timeout = model.queue_timeout
        self.notice = model.abort_notice

    # -- what the adapters implement ----------------------------------------------------------
    def _serve(self, s: Service, now: float) -> None:  # pragma: no cover - abstract
        """Start serving a waiting call whose client still waits (call ``occupy`` first)."""
        raise NotImplementedError

    def _serve_orphan(self, s: Service, now: float) -> None:  # pragma: no cover - abstract
        """Serve a call whose client left the queue, until ``orphan_release`` (call ``occupy`` first)."""
        raise NotImplementedError

    # -- arrival --------------------------------------------------------------------------------
    def has_free_slot(self) -> bool:
        """A slot is free now (then nobody waits: the queue is empty of live calls)."""
        return self.busy < self.eff

    def queue_full(self) -> bool:
        return self.limit is not None and self.live_queue >= self.limit

    def wait(self, s: Service) -> None:
        """Queue a call; the caller arms the queue timer at ``s.sent + queue_timeout`` if finite."""
        self.queue.append(s)
        self.live_queue += 1

    def occupy(self, s: Service, now: float) -> None:
        """Take a slot for ``s`` now."""
        self.busy += 1
        s.state = SERVING
        s.started = now

    # -- slots freeing and capacity -------------------------------------------------------------
    def free(self, now: float) -> None:
        """A slot frees now: serve the next waiting calls."""
        self.busy -= 1
        self.fill(now)

    def set_capacity(self, eff: int, now: float) -> None:
        self.eff = eff
        self.fill(now)

    def fill(self, now: float) -> None:
        """Serve waiting calls in FIFO order while slots are free (dropped ones are skipped)."""
        queue = self.queue
        while self.busy < self.eff and queue:
            s = queue.popleft()
            if s.state == DROPPED:
                continue
            self.live_queue -= 1
            if s.state == QUEUED:
                self._serve(s, now)
            else:
                self._serve_orphan(s, now)

    # -- leaving the queue ----------------------------------------------------------------------
    def leave_queue(self, s: Service, left_at: float) -> float:
        """The client of a waiting call left at ``left_at``: the provider drops the call at its queue
        timeout or when it notices (``abort_notice`` later), whichever is first; returns that time
        (inf: never, so it may still be served as an orphan)."""
        s.state = ORPHANED
        s.drop_at = min(s.sent + self.queue_timeout, left_at + self.notice)
        return s.drop_at

    def drop(self, s: Service) -> None:
        """``drop_at`` has come: the call leaves the queue unless a slot took it first."""
        if s.state == ORPHANED:
            s.state = DROPPED
            self.live_queue -= 1

    def time_out(self, s: Service) -> None:
        """The queue timeout of a call whose client still waits: it is dropped (``overloaded``)."""
        s.state = DROPPED
        self.live_queue -= 1

    # -- leaving service ------------------------------------------------------------------------
    def release_time(self, s: Service, left_at: float) -> float:
        """When the slot of a call in service frees if its client leaves at ``left_at``: at the end of
        the generation, or when the provider notices, whichever is first."""
        return min(s.end_at, left_at + self.notice)

    @staticmethod
    def orphan_release(s: Service, now: float) -> float:
        """When an orphan served from ``now`` frees its slot: at its end, or when it is dropped."""
        return min(now + s.plan.duration, s.drop_at)
