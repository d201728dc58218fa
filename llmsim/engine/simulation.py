"""Build the SimPy model from a Scenario and run it: ``run_model(scenario, seed) -> tables``.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday", {"horizon": "2m", "warmup": 0})
>>> requests, attempts, events = run_model(sc, seed=1)
>>> len(requests) > 0, set(attempts["request_id"]) <= set(requests["request_id"])
(True, True)
"""

from __future__ import annotations

import gc
import math
from contextlib import contextmanager
from itertools import chain

import simpy
from simpy.events import Timeout

from llmsim.config.scenario import Scenario
from llmsim.core.streams import Streams
from llmsim.engine.arrivals import CHUNK, ExplicitArrivals, RequestChunks, iter_arrival_times
from llmsim.engine.clock import exact_delay
from llmsim.engine.pipeline import ClientPipeline, Request
from llmsim.engine.recorder import Recorder
from llmsim.engine.session_driver import SessionDriver
from llmsim.engine.station import Station
from llmsim.engine.tiered_station import TieredStation
from llmsim.provider.incidents import with_drawn_incidents
from llmsim.provider.model import DRAW_COLUMNS, ProviderModel
from llmsim.provider.tiers import ClassChooser

__all__ = ["run_model", "run_recorded", "ChunkDraws"]


class ChunkDraws:
    """Provider draws for one chunk of requests, made lazily per provider from a stream keyed by
    (provider, chunk): request i's draws on a provider depend only on the seed and i."""

    __slots__ = ("chunk", "streams", "tables", "qtables")

    def __init__(self, chunk: int, streams: Streams, n_providers: int):
        self.chunk = chunk
        self.streams = streams
        self.tables = [None] * n_providers
        self.qtables = None  # output-contract uniforms, made on first use

    def table(self, station: Station):
        t = self.tables[station.index]
        if t is None:
            t = self.tables[station.index] = station.model.draw_table(
                self.streams.rng("provider", station.index, self.chunk), CHUNK)
        return t

    def quality_table(self, station: Station):
        """U[0,1) per (request, attempt on this provider): is a 200 answer invalid?"""
        if self.qtables is None:
            self.qtables = [None] * len(self.tables)
        t = self.qtables[station.index]
        if t is None:
            t = self.qtables[station.index] = self.streams.rng("quality", station.index, self.chunk).random(
                (CHUNK, DRAW_COLUMNS))
        return t


def _arrivals(scenario: Scenario, streams: Streams, arrivals: ExplicitArrivals | None):
    """(batches of arrival times, sizes of chunk c): given arrivals (trace replay), the scenario's
    Poisson arrivals, or none (sessions only)."""
    wl = scenario.workload
    if arrivals is not None:
        return arrivals.batches(), lambda c: arrivals.sizes(c, wl.max_tokens)
    sizes = RequestChunks(streams, wl.input_tokens.build(), wl.output_tokens.build(), wl.max_tokens,
                          wl.cached_input_share)
    if wl.arrivals is None:
        return (), sizes.sizes
    return iter_arrival_times(wl.arrivals.rate_schedule(), scenario.horizon, streams.rng("arrivals")), sizes.sizes


class _Source:
    """The open-loop workload: each request starts at its arrival time. A timer per arrival whose
    handler starts the request and sets the next timer (no SimPy process: its resume is a frame and
    a generator switch per request)."""

    def __init__(self, env, client: ClientPipeline, streams: Streams, n_prov: int, batches, sizes_of):
        self.env = env
        self.client = client
        self.streams = streams
        self.n_prov = n_prov
        self.sizes_of = sizes_of
        self.times = chain.from_iterable(batch.tolist() for batch in batches)
        self.rid = 0
        self.chunk = None
        self.inp = self.cached = self.out = None
        t = next(self.times, None)
        if t is not None:
            Timeout(self.env, exact_delay(self.env.now, t), t).callbacks.append(self._arrive)

    def _arrive(self, event) -> None:
        t = event.value
        rid = self.rid
        row = rid % CHUNK
        if row == 0:
            c = rid // CHUNK
            self.chunk = ChunkDraws(c, self.streams, self.n_prov)
            self.inp, self.cached, self.out = self.sizes_of(c)
        self.client.start(Request(rid, t, self.inp[row], self.cached[row], self.out[row], self.chunk, row,
                                  self.n_prov))
        self.rid = rid + 1
        nxt = next(self.times, None)  # the next arrival's timer (exact_delay(now, nxt), inlined)
        if nxt is not None:
            now = self.env.now
            d = nxt - now
            if now + d < nxt:
                d += math.ulp(nxt)
            Timeout(self.env, d, nxt).callbacks.append(self._arrive)


@contextmanager
def _fewer_gc_passes(young: int = 20_000):
    """Collect the youngest generation every ``young`` net allocations instead of Python's 700 while
    the run goes: its objects are freed by reference counting (the engine breaks its cycles), so the
    frequent passes only re-walk the requests in flight. The thresholds are restored afterwards."""
    old = gc.get_threshold()
    gc.set_threshold(young, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def run_model(scenario: Scenario, seed: int, arrivals: ExplicitArrivals | None = None):
    """Run one simulation; returns (requests, attempts, events) DataFrames. No I/O.

    ``arrivals`` replaces the scenario's Poisson arrivals and size distributions (trace replay)."""
    return run_recorded(scenario, seed, arrivals, Recorder([p.name for p in scenario.providers])).tables()


def _tiered(scenario: Scenario) -> bool:
    """Does any provider offer service classes or have an acceleration limit?"""
    return any(p.service_classes is not None or (p.rate_limits is not None and p.rate_limits.acceleration is not None)
               for p in scenario.providers)


def _stations(env, models: list[ProviderModel], rec, streams: Streams, scenario: Scenario) -> list[Station]:
    """One station per provider: a ``TieredStation`` where it offers classes or limits acceleration (they
    share the client's class chooser)."""
    if not _tiered(scenario):
        return [Station(env, m, rec, streams, scenario.workload.max_tokens) for m in models]
    choice = scenario.client.service_class
    chooser = None if choice is None else ClassChooser(
        choice, [g.name for g in scenario.workload.sessions], lambda b: streams.rng("service-class", b))
    return [TieredStation(env, m, rec, streams, scenario.workload.max_tokens, chooser)
            if m.cfg.service_classes is not None or (m.cfg.rate_limits is not None and m.cfg.rate_limits.acceleration)
            else Station(env, m, rec, streams, scenario.workload.max_tokens) for m in models]


def run_recorded(scenario: Scenario, seed: int, arrivals: ExplicitArrivals | None, rec):
    """Run one simulation into the recorder ``rec`` (a ``Recorder`` or a ``StreamingRecorder``); returns it."""
    env = simpy.Environment()
    streams = Streams(seed)
    if _tiered(scenario) and hasattr(rec, "track_tiers"):
        rec.track_tiers()
    wl = scenario.workload
    models = [ProviderModel(with_drawn_incidents(p, i, streams, scenario.horizon), i)
              for i, p in enumerate(scenario.providers)]
    stations = _stations(env, models, rec, streams, scenario)
    by_name = {s.model.name: s for s in stations}
    for s in stations:  # provisioned capacity spilling over to a standard deployment
        if s.model.cfg.spill_over is not None:
            s.spill = by_name[s.model.cfg.spill_over]
    client = ClientPipeline(env, scenario.client, stations, None, rec, streams, wl.max_tokens)
    # closed-loop sessions; spend guards hear every bill (nothing on the hot path when there are none)
    driver = None
    if wl.sessions:
        driver = SessionDriver(env, wl.sessions, client, rec, streams, scenario.horizon, len(stations),
                               wl.max_tokens)
    if client.guard is not None:
        for s in stations:
            s.add_meter(client.guard.bill)
    batches, sizes_of = _arrivals(scenario, streams, arrivals)
    _Source(env, client, streams, len(stations), batches, sizes_of)
    with _fewer_gc_passes():
        env.run(until=scenario.horizon + scenario.drain)
    if driver is not None:
        driver.close()
    client.close_open()
    return rec
