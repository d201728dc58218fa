"""The client pipeline: a stack of layers (limiter, hedge, retry, route, timeout, validation) over
a leaf that sends attempts to provider stations (``llmsim.engine.layers``). Retries and failover
are the client's, never the provider's.

Everything is driven by SimPy events and callbacks (no generator per request): at hundreds of
thousands of requests per run the saved process switches are most of the cost.

>>> from llmsim.config.client import Client
>>> from llmsim.engine.scripted import run_scripted
>>> cfg = Client.model_validate({"retry": {"max_attempts": 2}, "deadline": "3s"})
>>> req, att = run_scripted(cfg, {"p": [("ok", 5.0)]})
>>> req["outcome"].tolist(), att["outcome"].tolist()
(['deadline'], ['deadline'])
"""

from __future__ import annotations

from llmsim.config import client as C
from llmsim.core.outcomes import DELIVERED, Outcome
from llmsim.core.streams import Streams, UniformPool
from llmsim.engine.hooks import build_hooks
from llmsim.engine.layers.call import Call, Context
from llmsim.engine.layers.contract_check import ValidationStage
from llmsim.engine.layers.hedge import HedgeStage
from llmsim.engine.layers.leaf import Leaf
from llmsim.engine.layers.limiter import LimiterStage
from llmsim.engine.layers.retry import RetryStage
from llmsim.engine.layers.route import RouteStage, needs_stage
from llmsim.engine.layers.timeout import TimeoutStage
from llmsim.engine.recorder import Recorder
from llmsim.engine.station import Attempt, Station, cut_off
from llmsim.policies.breaker import BreakerPolicy
from llmsim.provider.answer_times import AnswerTimes

__all__ = ["Request", "ClientPipeline"]

INF = float("inf")
NAN = float("nan")

_STAGES = {C.RetryLayer: RetryStage, C.HedgeLayer: HedgeStage, C.LimiterLayer: LimiterStage,
           C.TimeoutLayer: TimeoutStage}


class Request(Call):
    """A logical request: arrival, sizes, where its provider draws live, and its progress. It is also
    its own top call (``Call``: ``req`` is itself, the caller the pipeline, the cut its deadline), so
    a request makes one object less; the pipeline breaks the ``req`` cycle when it ends."""

    __slots__ = ("rid", "arrival", "inp", "cached", "out", "chunk", "row_in_chunk", "tries", "k", "pos",
                 "last_index", "current", "session")

    def __init__(self, rid, arrival, inp, cached, out, chunk, row_in_chunk, n_providers):
        # the top call's part (Call.__init__, inlined; the pipeline sets ``cut`` and ``caller``)
        self.req = self
        self.station = None
        self.kind = "deadline"
        self.group = None
        self.outer = None
        self.rid = rid
        self.arrival = arrival
        self.inp = inp
        self.cached = cached
        self.out = out
        self.chunk = chunk
        self.row_in_chunk = row_in_chunk
        self.tries = [0] * n_providers  # attempts made on each provider (keys the provider's draws)
        self.k = 0  # attempts made so far (rows in the attempts table)
        self.pos = 0  # route position the next call starts from (fallback routing)
        self.last_index = -1
        self.current = None  # the last attempt sent
        self.session = None  # the Session this request is a step of (None: open-loop)


def passes_through(retry: C.Retry) -> bool:
    """Does a retry layer with these settings only relay the call and its result? (one attempt, no
    per-attempt timeout, no budget to tell: the pipeline leaves it out, two calls less per request)

    >>> passes_through(C.Retry(max_attempts=1)), passes_through(C.Retry(max_attempts=1, timeout=5))
    (True, False)
    """
    return retry.max_attempts == 1 and retry.timeout is None and retry.budget is None


def failure_outcomes(br: C.CircuitBreaker) -> frozenset:
    """The outcomes a breaker counts as failures (an attempt cut by the deadline timed out too)."""
    fails = set(br.failure_on)
    if "timeout" in fails:
        fails.add("deadline")
    return frozenset(fails)


def client_overhead(cfg: C.Client, streams: Streams) -> AnswerTimes | None:
    """The client's time before each attempt leaves (``client.overhead``), or None when it is zero."""
    if cfg.overhead is None:
        return None
    times = AnswerTimes(cfg.overhead.build(), streams.rng("client-overhead"))
    return None if times.instant else times


class ClientPipeline:
    """Builds the layer stack of each client instance and runs requests through it; it is the
    caller of every request's top call (``done``)."""

    def __init__(self, env, cfg: C.Client, stations: list[Station], order: list[str] | None, recorder: Recorder,
                 streams: Streams, max_tokens: int = 4096):
        self.env = env
        self.rec = recorder
        self.cfg = cfg
        self.deadline = INF if cfg.deadline is None else cfg.deadline
        jitter = UniformPool(streams.rng("client-jitter"))
        # spend guards and output-contract validation; the session driver sets on_end
        self.guard, self.contract = build_hooks(env, cfg, recorder)
        self.on_end = None  # callback(req, outcome) when a request ends
        self.ctx = Context(env, recorder, jitter, max_tokens, self.guard)
        self.overhead = client_overhead(cfg, streams)
        stack = cfg.stack()
        if order is not None and cfg.route is None and cfg.layers is None:
            # an explicit order (tests, scripted providers) without a route block: fallback over it
            stack[-1] = C.RouteLayer(route=C.Route(order=order))
        n_inst = 1 if cfg.share_state else cfg.instances
        # a retry layer that would only relay (one attempt, no timeout, no budget) is left out
        stack = [s for s in stack if not (isinstance(s, C.RetryLayer) and passes_through(s.retry))]
        self.tops = [self._build(stack, stations, k) for k in range(n_inst)]
        self.n_tops = len(self.tops)
        self.top = self.tops[0]
        self.open: dict[int, Request] = {}  # requests not finished yet

    def _build(self, stack, stations: list[Station], instance: int):
        breaker_of = self._breakers(stations, instance)
        failures = frozenset() if self.cfg.circuit_breaker is None else failure_outcomes(self.cfg.circuit_breaker)
        layer = leaf = Leaf(self.ctx, stations[0], breaker_of, failures, self.overhead)
        for spec in reversed(stack):
            if not isinstance(spec, C.RouteLayer):
                layer = _STAGES[type(spec)](spec, layer, self.ctx)
            elif needs_stage(spec.route):
                layer = RouteStage(spec.route, layer, self.ctx, stations, breaker_of)
            elif spec.route is not None:  # one provider and nothing to track: the leaf sends there
                leaf.default = next(s for s in stations if s.model.name == spec.route.order[0])
        if self.contract is not None:
            layer = ValidationStage(self.contract, layer, self.ctx)
        return layer

    def _breakers(self, stations: list[Station], instance: int) -> dict:
        """Station index -> the instance's breaker of that provider (empty: no breakers)."""
        cfg = self.cfg
        if cfg.circuit_breaker is None:
            return {}
        suffix = f"#{instance}" if cfg.instances > 1 and not cfg.share_state else ""
        return {s.index: BreakerPolicy(cfg.circuit_breaker, on_change=_BreakerEvents(self.rec, s.model.name + suffix))
                for s in stations}

    def start(self, req: Request) -> None:
        """A request arrives now."""
        self.open[req.rid] = req
        top = self.tops[req.rid % self.n_tops] if self.n_tops > 1 else self.top
        req.cut = req.arrival + self.deadline
        req.caller = self
        top.call(req)  # the request is its own top call

    def done(self, call: Call, att: Attempt) -> None:
        """A request's top call is decided by ``att``: the request ends now, when ``att`` ended."""
        req = att.req
        del self.open[req.rid]
        req.current = req.req = None  # no reference cycle left for the garbage collector
        ttft = att.first - req.arrival if att.outcome in DELIVERED else NAN  # invalid: delivered, contract broken
        provider = att.station.index if att.station is not None else req.last_index  # the deciding attempt's
        self.rec.request_row(req, att.end, att.outcome, provider, ttft)
        if self.on_end is not None:
            self.on_end(req, att.outcome)

    def close_open(self) -> None:
        """At the end of the run: requests still waiting give up now, as timeouts (no further billing)."""
        now = self.env.now
        for rid in sorted(self.open):
            req = self.open.pop(rid)
            att = req.current
            waiting = att.group.inflight if att is not None and att.group is not None else [att]
            for a in waiting:
                if a is not None and a.in_flight:  # one row each
                    cut_off(self.rec, a, now)
            self.rec.request_row(req, now, Outcome.TIMEOUT, req.last_index, NAN)


class _BreakerEvents:
    """A breaker's ``on_change``: one ``breaker`` event per transition, subject the provider."""

    __slots__ = ("rec", "name")

    def __init__(self, rec: Recorder, name: str):
        self.rec = rec
        self.name = name

    def __call__(self, now: float, state: str) -> None:
        self.rec.event(now, "breaker", self.name, state)
