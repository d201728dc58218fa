"""The client pipeline: one SimPy process per logical request, applying timeouts, retries with
backoff and Retry-After, per-provider circuit breakers, and fallback routing.

Retries and failover are the client's, never the provider's.
"""

from __future__ import annotations

from simpy.events import Timeout

from ..config.client import Client
from ..policies.backoff import from_config as backoff_from_config
from ..policies.breaker import CircuitBreaker
from .recorder import Recorder
from .station import Attempt, Station
from .streams import Streams, UniformPool

__all__ = ["Request", "ClientPipeline"]

INF = float("inf")
NAN = float("nan")


class Request:
    """A logical request: arrival, sizes, and where its provider draws live."""

    __slots__ = ("rid", "arrival", "inp", "cached", "out", "chunk", "row_in_chunk", "tries")

    def __init__(self, rid, arrival, inp, cached, out, chunk, row_in_chunk, n_providers):
        self.rid = rid
        self.arrival = arrival
        self.inp = inp
        self.cached = cached
        self.out = out
        self.chunk = chunk
        self.row_in_chunk = row_in_chunk
        self.tries = [0] * n_providers


class ClientPipeline:
    """Applies the client policy to every request; one instance shares breaker state across requests."""

    def __init__(self, env, cfg: Client, stations: list[Station], order: list[str], recorder: Recorder,
                 streams: Streams):
        self.env = env
        self.rec = recorder
        by_name = {s.model.name: s for s in stations}
        self.order = [by_name[n] for n in order]
        self.timeout = INF if cfg.timeout is None else cfg.timeout
        self.deadline = INF if cfg.deadline is None else cfg.deadline
        retry = cfg.retry
        if retry is None:
            self.max_attempts, self.retry_on, self.backoff = 1, frozenset(), None
            self.ra_mode, self.ra_max = "ignore", INF
        else:
            self.max_attempts = retry.max_attempts
            self.retry_on = frozenset(retry.on)
            self.backoff = backoff_from_config(retry.backoff)
            if isinstance(retry.retry_after, str):
                self.ra_mode, self.ra_max = retry.retry_after, INF
            else:
                self.ra_mode, self.ra_max = "honor", retry.retry_after.max
        route = cfg.route
        self.failover_on = frozenset(route.failover_on) if route is not None else frozenset()
        br = cfg.circuit_breaker
        self.breaker_failures = frozenset(br.failure_on) if br is not None else frozenset()
        if br is not None:
            for s in self.order:
                s.breaker = CircuitBreaker(br.window, br.min_calls, br.failure_rate, br.open_for, br.half_open_calls,
                                           on_change=self._breaker_event(s.model.name))
        self.jitter = UniformPool(streams.rng("client-jitter"))

    def _breaker_event(self, name: str):
        rec = self.rec

        def on_change(now: float, state: str) -> None:
            rec.event(now, "breaker", name, state)
        return on_change

    def _pick(self, pos: int, now: float):
        """(station, permit) of the first provider from ``pos`` in route order whose breaker admits a call."""
        order = self.order
        n = len(order)
        for j in range(n):
            s = order[(pos + j) % n]
            br = s.breaker
            if br is None:
                return s, None
            permit = br.allow(now)
            if permit is not None:
                return s, permit
        return None, None

    def run(self, req: Request):
        """The request's life as a SimPy process."""
        env = self.env
        rec = self.rec
        order = self.order
        n = len(order)
        deadline_at = req.arrival + self.deadline
        k = 0
        pos = 0
        prev_delay = None
        last_index = -1
        while True:
            now = env.now
            station, permit = self._pick(pos, now)
            retry_after = NAN
            if station is None:
                rec.attempt(req.rid, k, -1, now, NAN, NAN, now, "rejected", 0, NAN, 0, 0, 0.0)
                k += 1
                outcome = "rejected"
            else:
                idx = station.index
                last_index = idx
                cut = now + self.timeout
                if cut > deadline_at:
                    att = Attempt(req, k, req.tries[idx], now, deadline_at, "deadline")
                else:
                    att = Attempt(req, k, req.tries[idx], now, cut, "timeout")
                req.tries[idx] += 1
                wait = station.submit(att)
                if wait is not None:
                    yield wait
                k += 1
                outcome = att.outcome
                if permit is not None:
                    station.breaker.record(env.now, permit, outcome in self.breaker_failures
                                           or (outcome == "deadline" and "timeout" in self.breaker_failures))
                if outcome == "ok":
                    rec.request(req.rid, req.arrival, env.now, "ok", k, idx, att.first - req.arrival, req.inp,
                                req.out)
                    return
                if outcome == "deadline":
                    break
                retry_after = att.retry_after
                here = order.index(station) if n > 1 else 0
                pos = (here + 1) % n if outcome in self.failover_on else here
            if outcome not in self.retry_on or k >= self.max_attempts:
                break
            delay = self.backoff.delay(k - 1, self.jitter.next(), prev_delay)
            prev_delay = delay
            if retry_after == retry_after and self.ra_mode == "honor" and station is order[pos]:
                delay = min(retry_after, self.ra_max)
            now = env.now
            if now + delay >= deadline_at:
                break
            yield Timeout(env, delay)
        rec.request(req.rid, req.arrival, env.now, outcome, k, last_index, NAN, req.inp, req.out)
