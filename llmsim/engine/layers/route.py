"""Routing: which provider each call goes to, provider health, failover position, fallback chains.

>>> from llmsim.engine.scripted import run_scripted
>>> cfg = {"retry": {"max_attempts": 2, "backoff": {"base": "1s", "jitter": "none"}}, "route": {"order": ["a", "b"]}}
>>> req, att = run_scripted(cfg, {"a": [("server_error", 0.5)], "b": [("ok", 1.0)]})
>>> att["provider"].astype(str).tolist(), req["outcome"].tolist()
(['a', 'b'], ['ok'])
"""

from __future__ import annotations

from llmsim.config.client import Route
from llmsim.engine.layers.call import Call, Context, Layer, Stage
from llmsim.engine.station import Station
from llmsim.policies import ejection
from llmsim.policies.breaker import CLOSED
from llmsim.policies.routing import StrategyRouter

__all__ = ["RouteStage", "needs_stage"]


def needs_stage(route: Route | None) -> bool:
    """Is there anything to route or track? (one provider, no fallbacks, no ejection: the leaf sends
    to it directly)"""
    return route is not None and (len(route.order) != 1 or route.order == ["*"] or bool(route.fallbacks)
                                  or route.ejection is not None)


class _Routed(Call):
    """The route stage's call below: the provider index it went to (``i``, -1 outside the route),
    when (``sent``), and what is left of its fallback chain (``chain``, None: not chosen yet)."""

    __slots__ = ("i", "sent", "chain")


class RouteStage(Stage):
    """The ``Route`` config over the layer ``inner``: chooses the provider of each call (strategy,
    health = breaker + cooldown/ejection), tracks what routing strategies need, moves the fallback
    position, and follows fallback chains."""

    def __init__(self, cfg: Route, inner: Layer, ctx: Context, stations: list[Station], breaker_of: dict):
        super().__init__(inner, ctx)
        self.cfg = cfg
        by_name = {s.model.name: s for s in stations}
        names = [s.model.name for s in stations] if cfg.order == ["*"] else list(cfg.order)
        self.stations = [by_name[n] for n in names]
        self.index_of = {s: i for i, s in enumerate(self.stations)}
        self.breaker_of = breaker_of
        self.router = StrategyRouter(cfg, names, [(s.model.price_in, s.model.price_out) for s in self.stations])
        self.failover_on = frozenset(cfg.failover_on)
        self.ejection = self._ejection(cfg, len(names))
        self.fallbacks = [(frozenset(fb.on), [by_name[t] for t in fb.to]) for fb in cfg.fallbacks]
        self.single = len(names) == 1 and not self.fallbacks
        # the hot path's view of the same state: each position's breaker (None: none), the strategy
        # as flags (fallback order needs no candidate list; only ``weighted`` uses a random draw;
        # only these strategies learn from calls in flight and their ends)
        self.breakers = [breaker_of.get(s.index) for s in self.stations]
        self.n = len(self.stations)
        self.in_order = self.router.strategy == "fallback"
        self.draws = self.router.strategy == "weighted"
        self.tracks = self.router.strategy in ("least_busy", "lowest_latency", "usage")

    def _ejection(self, cfg: Route, n: int):
        """The outlier ejection policy over the ``n`` providers, or None."""
        return None if cfg.ejection is None else ejection.build(cfg.ejection, n, self._ejection_event)

    def _ejection_event(self, now: float, i: int, what: str) -> None:
        self.ctx.rec.event(now, what, self.stations[i].model.name, "")

    def healthy(self, i: int, now: float) -> bool:
        br = self.breakers[i]
        if br is not None and not br.available(now):
            return False
        return self.ejection is None or self.ejection.healthy(now, i)

    def _choose(self, req, now: float) -> int:
        if self.single:
            return 0
        if self.in_order:  # fallback order from the request's position: no candidate list
            n = self.n
            start = req.pos
            for j in range(n):
                i = (start + j) % n
                br = self.breakers[i]
                if br is not None and br.state != CLOSED and not br.available(now):
                    continue
                if self.ejection is None or self.ejection.healthy(now, i):
                    return i
            return -1
        u = self.ctx.jitter.next() if self.draws else 0.0  # a uniform only where the strategy uses one
        for i in self.router.candidates(now, req.pos, u, (req.inp, self.ctx.max_tokens)):
            if self.healthy(i, now):
                return i
        return -1

    def call(self, c: Call) -> None:
        now = self.ctx.env.now
        req = c.req
        i = req.pos
        # fallback order and its first choice healthy (no breaker or a closed one, no ejection): chosen at once
        if not self.in_order or self.ejection is not None or ((br := self.breakers[i]) is not None
                                                              and br.state != CLOSED):
            i = self._choose(req, now)
            if i < 0:  # every provider is open, cooling down or over its limits: fail at once
                self.ctx.reject(req, -1, c)
                return
        station = self.stations[i]
        r = _Routed(req, station, c.cut, c.kind, c.group, self, c)
        r.chain = None
        r.i = i  # _send(r, station, now), inlined for the chosen provider
        r.sent = now
        if self.tracks:
            self.router.sent(now, i, req.inp + self.ctx.max_tokens)
        self.inner.call(r)

    def _send(self, r: _Routed, station: Station, now: float) -> None:
        i = self.index_of.get(station, -1)
        r.station = station
        r.i = i
        r.sent = now
        if i >= 0 and self.tracks:
            self.router.sent(now, i, r.req.inp + self.ctx.max_tokens)
        self.inner.call(r)

    def done(self, r: _Routed, att) -> None:
        now = self.ctx.env.now
        i = r.i
        if i >= 0:
            outcome = att.outcome
            if self.tracks:
                self.router.done(i, outcome, now - r.sent)
            if self.ejection is not None and outcome != "cancelled":
                self.ejection.record(now, i, outcome, att.retry_after)
            r.req.pos = (i + 1) % self.n if outcome in self.failover_on else i
        if att.outcome != "ok" and self.fallbacks and now < r.cut and (r.group is None or not r.group.cancelled):
            if r.chain is None:
                r.chain = next((list(to) for on, to in self.fallbacks if att.outcome in on), None)
            if r.chain:
                self._send(r, r.chain.pop(0), now)
                return
        outer = r.outer
        outer.caller.done(outer, att)  # outer.done(att), one call less per request

    def peek(self, req, now: float):
        """The provider the next call will go to, when that is already decided (None: it is not)."""
        if self.in_order:
            i = self._choose(req, now)
            return self.stations[i] if i >= 0 else None
        healthy = [s for i, s in enumerate(self.stations) if self.healthy(i, now)]
        return healthy[0] if len(healthy) == 1 else None

    def has_alternative(self, req, now: float, station) -> bool:
        return any(s is not station and self.healthy(i, now) for i, s in enumerate(self.stations))

    def choices(self, now: float) -> tuple[int, int]:
        return sum(1 for i in range(self.n) if self.healthy(i, now)), self.n

    def advance(self, req) -> None:
        """The next call starts from the provider after the one used last (fallback order)."""
        req.pos = (req.pos + 1) % len(self.stations)
