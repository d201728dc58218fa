"""The client pipeline: applies timeouts, retries with backoff and Retry-After, per-provider circuit
breakers and fallback routing to every logical request. Retries and failover are the client's, never
the provider's.

Each request is a small state machine driven by SimPy events: an attempt ends (the station calls
``_on_attempt_done``) or a backoff timer fires (``_on_backoff_done``). No generator per request: at
hundreds of thousands of requests per run the saved process switches are most of the cost.
"""

from __future__ import annotations

from simpy.events import Timeout

from ..config.client import Client
from ..policies.backoff import from_config as backoff_from_config
from ..policies.breaker import CircuitBreaker
from .guards import build_hooks  # [agents]
from .recorder import Recorder
from .station import Attempt, Station
from .streams import Streams, UniformPool

__all__ = ["Request", "ClientPipeline"]

INF = float("inf")
NAN = float("nan")


class Request:
    """A logical request: arrival, sizes, where its provider draws live, and its retry state."""

    __slots__ = ("rid", "arrival", "inp", "cached", "out", "chunk", "row_in_chunk", "tries", "k", "pos",
                 "prev_delay", "last_index", "deadline_at", "permit", "last_retry_after", "last_station", "current",
                 "session")  # [agents]

    def __init__(self, rid, arrival, inp, cached, out, chunk, row_in_chunk, n_providers):
        self.rid = rid
        self.arrival = arrival
        self.inp = inp
        self.cached = cached
        self.out = out
        self.chunk = chunk
        self.row_in_chunk = row_in_chunk
        self.tries = [0] * n_providers  # attempts made on each provider (keys the provider's draws)
        self.k = 0  # attempts made so far
        self.pos = 0  # route position the next attempt starts from
        self.prev_delay = None
        self.last_index = -1
        self.deadline_at = INF
        self.permit = None
        self.last_retry_after = NAN
        self.last_station = None
        self.current = None  # the attempt in flight, if any
        self.session = None  # [agents] the Session this request is a step of (None: open-loop)


class ClientPipeline:
    """Applies the client policy to every request; one instance shares breaker state across requests."""

    def __init__(self, env, cfg: Client, stations: list[Station], order: list[str], recorder: Recorder,
                 streams: Streams):
        self.env = env
        self.rec = recorder
        by_name = {s.model.name: s for s in stations}
        self.order = [by_name[n] for n in order]
        self.position = {s: i for i, s in enumerate(self.order)}
        for s in stations:
            s.done = self._on_attempt_done
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
        failures = set(br.failure_on) if br is not None else set()
        if "timeout" in failures:
            failures.add("deadline")  # an attempt cut by the request deadline timed out too
        self.breaker_failures = frozenset(failures)
        if br is not None:
            for s in self.order:
                s.breaker = CircuitBreaker(br.window, br.min_calls, br.failure_rate, br.open_for, br.half_open_calls,
                                           on_change=self._breaker_event(s.model.name))
        self.jitter = UniformPool(streams.rng("client-jitter"))
        self.open: dict[int, Request] = {}  # requests not finished yet
        # [agents] spend guards and output-contract validation (llmsim.engine.guards); session driver hook
        self.guard, self.contract = build_hooks(env, cfg, recorder)
        self.on_end = None  # callback(req, outcome) when a request ends

    def _breaker_event(self, name: str):
        rec = self.rec

        def on_change(now: float, state: str) -> None:
            rec.event(now, "breaker", name, state)
        return on_change

    # -- the request state machine --------------------------------------------------------------
    def start(self, req: Request) -> None:
        """A request arrives now."""
        req.deadline_at = req.arrival + self.deadline
        self.open[req.rid] = req
        self._attempt(req)

    def _attempt(self, req: Request) -> None:
        now = self.env.now
        if self.guard is not None and self.guard.blocks(req, now):  # [agents] spend guard: nothing sent
            self.rec.attempt(req.rid, req.k, -1, now, NAN, NAN, now, "spend_blocked", 0, NAN, 0, 0, 0.0)
            req.k += 1
            self._finish(req, "spend_blocked")
            return
        order = self.order
        n = len(order)
        station = None
        permit = None
        for j in range(n):
            s = order[(req.pos + j) % n]
            br = s.breaker
            if br is None:
                station = s
                break
            permit = br.allow(now)
            if permit is not None:
                station = s
                break
        if station is None:  # every breaker is open: refused locally
            self.rec.attempt(req.rid, req.k, -1, now, NAN, NAN, now, "rejected", 0, NAN, 0, 0, 0.0)
            req.k += 1
            req.last_station = None
            req.last_retry_after = NAN
            self._after_failure(req, "rejected")
            return
        idx = station.index
        req.last_index = idx
        req.permit = permit
        cut = now + self.timeout
        if cut > req.deadline_at:
            att = Attempt(req, req.k, req.tries[idx], now, req.deadline_at, "deadline")
        else:
            att = Attempt(req, req.k, req.tries[idx], now, cut, "timeout")
        req.tries[idx] += 1
        req.k += 1
        req.last_station = station
        req.current = att
        station.submit(att)  # -> _on_attempt_done, now or later

    def _on_attempt_done(self, att: Attempt) -> None:
        req = att.req
        req.current = None
        station = req.last_station
        outcome = att.outcome
        if req.permit is not None:
            station.breaker.record(att.end, req.permit, outcome in self.breaker_failures)
        if self.contract is not None and (outcome == "ok" or outcome == "invalid"):  # [agents] validation
            step = self.contract.check(att.end, req, outcome)
            if step is not None and att.end + self.contract.delay < req.deadline_at:  # retry here or fall back
                here = self.position[station]
                req.pos = here if step == "retry" else (here + 1) % len(self.order)
                Timeout(self.env, self.contract.delay, req).callbacks.append(self._on_backoff_done)
                return
        if outcome == "ok" or outcome == "invalid":  # [agents] invalid: delivered with its contract broken
            del self.open[req.rid]
            self.rec.request(req.rid, req.arrival, att.end, outcome, req.k, req.last_index, att.first - req.arrival,
                             req.inp, req.out)
            if self.on_end is not None:  # [agents]
                self.on_end(req, outcome)
            return
        if outcome == "deadline":
            self._finish(req, "deadline")
            return
        req.last_retry_after = att.retry_after
        here = self.position[station]
        req.pos = (here + 1) % len(self.order) if outcome in self.failover_on else here
        self._after_failure(req, outcome)

    def _after_failure(self, req: Request, outcome: str) -> None:
        if outcome not in self.retry_on or req.k >= self.max_attempts:
            self._finish(req, outcome)
            return
        delay = self.backoff.delay(req.k - 1, self.jitter.next(), req.prev_delay)
        req.prev_delay = delay
        ra = req.last_retry_after
        if ra == ra and self.ra_mode == "honor" and req.last_station is self.order[req.pos]:
            delay = ra if ra < self.ra_max else self.ra_max
        if self.env.now + delay >= req.deadline_at:
            self._finish(req, outcome)  # the wait would pass the deadline: give up now
            return
        Timeout(self.env, delay, req).callbacks.append(self._on_backoff_done)

    def _on_backoff_done(self, ev) -> None:
        self._attempt(ev._value)

    def _finish(self, req: Request, outcome: str) -> None:
        del self.open[req.rid]
        self.rec.request(req.rid, req.arrival, self.env.now, outcome, req.k, req.last_index, NAN, req.inp, req.out)
        if self.on_end is not None:  # [agents]
            self.on_end(req, outcome)

    def close_open(self) -> None:
        """At the end of the run: requests still waiting give up now, as timeouts (no further billing)."""
        now = self.env.now
        for rid in sorted(self.open):
            req = self.open[rid]
            att = req.current
            if att is not None:
                self.rec.attempt(req.rid, att.k, req.last_index, att.sent, att.started, NAN, now, "timeout", 0, NAN,
                                 0, 0, 0.0)
            self._finish(req, "timeout")
