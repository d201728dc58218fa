"""One script of calls (arrival, answer length, when the client disconnects) played on the provider
state machine twice: in the simulator (``llmsim.engine.station.Station`` on SimPy) and in the live
endpoint's runtime (``llmsim.bridges.serve.runtime.LiveProvider`` on asyncio, on a virtual clock so
that no test waits or depends on the machine's speed).

The asyncio side plays what ``llmsim.bridges.serve.server`` does with a call: ``open`` (a refusal
answers 429/529 at once), ``await wait_for_slot()``, sleep until ``started + plan.duration``,
``finish()``; a client that disconnects cancels the handler's task, which then calls ``abandon()``
unless the call is already done or dropped (server ``_abandoned``).

Each call ends as a ``Fate``: the client's outcome (``ok``, ``overloaded`` or ``left``), when it
ended for the client, when its service started (NaN: never, including orphans dropped unserved;
an orphan served after its client left has a start) and the output tokens billed.

>>> cfg = {"name": "p", "capacity": {"slots": 1}, "latency": {"ttft": "100ms", "tokens_per_s": 10}}
>>> calls = [Call(0.0, 9), Call(0.5, 9, leave=0.7)]
>>> simulated(cfg, calls) == served(cfg, calls)
True
>>> served(cfg, calls)[1]  # an orphan: served from 1.0 until dropped at 0.7 + abort_notice (1 s)
Fate(outcome='left', end=0.7, started=1.0, billed=6)
"""

from __future__ import annotations

import asyncio
import math
import selectors
from dataclasses import dataclass

import numpy as np
import simpy

from llmsim.bridges.serve.runtime import LiveProvider, Refused
from llmsim.config import Provider
from llmsim.core.streams import Streams
from llmsim.engine.clock import later
from llmsim.engine.pipeline import Request
from llmsim.engine.recorder import Recorder
from llmsim.engine.station import Attempt, Station
from llmsim.provider.model import DRAW_COLUMNS, ProviderModel
from llmsim.provider.slots import DONE, DROPPED

__all__ = ["Call", "Fate", "simulated", "served", "VirtualClockLoop"]

INPUT_TOKENS = 10
MAX_TOKENS = 4096


@dataclass(frozen=True)
class Call:
    """Sent at ``arrival`` asking for ``out`` tokens; the client disconnects at ``leave`` (inf: never)."""

    arrival: float
    out: int
    leave: float = math.inf


@dataclass(frozen=True)
class Fate:
    outcome: str
    end: float
    started: float
    billed: int

    def rounded(self) -> tuple:
        """Comparable across the two clocks (a timer may fire an ulp apart)."""
        r = (lambda x: None if math.isnan(x) else round(x, 6))
        return str(getattr(self.outcome, "value", self.outcome)), r(self.end), r(self.started), int(self.billed)

    def __eq__(self, other):
        return isinstance(other, Fate) and self.rounded() == other.rounded()

    def __repr__(self):
        o, e, s, b = self.rounded()
        return f"Fate(outcome={o!r}, end={e}, started={math.nan if s is None else s}, billed={b})"


# -- the simulator -------------------------------------------------------------------------------
class _Draws:
    """The provider draws of the script's calls (what a run's chunk of draws gives the station)."""

    def __init__(self, model: ProviderModel, n: int):
        self.first, self.u = model.draw_table(np.random.default_rng(0), n, DRAW_COLUMNS)
        self.tables = [(self.first, self.u)]  # by station index: the one station of the script

    def table(self, station):
        return self.first, self.u


def simulated(provider: dict, calls: list[Call]) -> list[Fate]:
    """The calls' fates on the simulator's station (a client that leaves = the attempt's cut)."""
    model = ProviderModel(Provider.model_validate(provider), 0)
    env = simpy.Environment()
    rec = Recorder([model.name])
    station = Station(env, model, rec, Streams(0), MAX_TOKENS)
    draws = _Draws(model, len(calls))
    atts = []
    for i, c in enumerate(calls):
        req = Request(i, c.arrival, INPUT_TOKENS, 0, c.out, draws, i, 1)
        att = Attempt(req, 0, 0, c.arrival, c.leave, "timeout", station, cb=lambda a: None)
        atts.append(att)
        later(env, c.arrival, lambda ev: station.submit(ev.value), att)
    env.run()
    return [Fate("left" if a.outcome == "timeout" else a.outcome, a.end, a.started, rec.billed_output(a.row))
            for a in atts]


# -- the live runtime on a virtual clock ---------------------------------------------------------
class _SkipAheadSelector(selectors.DefaultSelector):
    """Polls without waiting; where the loop would sleep until its next timer, moves the clock there."""

    def __init__(self, loop: VirtualClockLoop):
        super().__init__()
        self.loop = loop

    def select(self, timeout=None):
        events = super().select(0)
        if not events:
            if timeout is None:
                raise RuntimeError("nothing scheduled and nothing ready: the script would wait forever")
            self.loop.virtual_now += timeout
        return events


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is virtual: it starts at 0 and jumps to the next timer.

    >>> async def nap():
    ...     await asyncio.sleep(3600)
    ...     return asyncio.get_running_loop().time()
    >>> with asyncio.Runner(loop_factory=VirtualClockLoop) as r:
    ...     r.run(nap())
    3600.0
    """

    def __init__(self):
        self.virtual_now = 0.0
        super().__init__(selector=_SkipAheadSelector(self))

    def time(self) -> float:
        return self.virtual_now


async def _handler(rt: LiveProvider, c: Call, box: list) -> None:
    """What the server's handler does with a call, the answer's pacing reduced to its end."""
    ticket = None
    try:
        ticket = rt.open(INPUT_TOKENS, 0, MAX_TOKENS, c.out)
        box.append(ticket)
        await ticket.wait_for_slot()
        delay = ticket.started + ticket.plan.duration - rt.now()
        if delay > 0:
            await asyncio.sleep(delay)
        ticket.finish()
        box.append(("ok", rt.now()))
    except Refused as r:
        box.append((r.outcome, rt.now()))
    except asyncio.CancelledError:
        if ticket is not None and ticket.state not in (DONE, DROPPED):
            ticket.abandon()
        box.append(("left", rt.now()))


async def _play(provider: dict, calls: list[Call]) -> list[list]:
    loop = asyncio.get_running_loop()
    rt = LiveProvider(ProviderModel(Provider.model_validate(provider), 0), seed=0, clock=loop.time)
    boxes: list[list] = [[] for _ in calls]
    tasks: list[asyncio.Task] = []

    def arrive(i: int) -> None:
        task = loop.create_task(_handler(rt, calls[i], boxes[i]))
        tasks.append(task)
        if calls[i].leave < math.inf:
            loop.call_later(calls[i].leave - rt.now(), lambda: task.done() or task.cancel())

    for i, c in enumerate(calls):
        loop.call_later(c.arrival, arrive, i)
    while len(tasks) < len(calls):
        await asyncio.sleep(max(c.arrival for c in calls) + 1.0)
    await asyncio.gather(*tasks)
    await asyncio.sleep(3600.0)  # timers still armed (drops, releases of orphans) run out
    return boxes


def served(provider: dict, calls: list[Call]) -> list[Fate]:
    """The calls' fates on the live runtime (a client that leaves = its handler's task cancelled)."""
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        boxes = runner.run(_play(provider, calls))
    fates = []
    for box in boxes:
        (outcome, end) = box[-1]
        ticket = box[0] if len(box) == 2 else None
        started = math.nan if ticket is None else ticket.started
        fates.append(Fate(outcome, end, started, 0 if ticket is None else ticket.generated))
    return fates
