"""The client pipeline: a stack of layers (limiter, hedge, retry, route, timeout) over a leaf that
sends attempts to provider stations. Retries and failover are the client's, never the provider's.

Every layer has ``call(req, station, cut, kind, group, done)``: do the work for one call of the layer
above, then ``done(att)`` with the attempt that decided it. ``station`` is the provider a route above
chose (None: the leaf's default), ``cut`` the absolute time by which the caller gives up and
``kind`` what that cut is ("timeout" or "deadline"), ``group`` the hedge group (None outside a hedge).
Layers nest, so nested retry layers multiply attempts, as they do in real stacks.

Everything is driven by SimPy events and callbacks (no generator per request): at hundreds of
thousands of requests per run the saved process switches are most of the cost.
"""

from __future__ import annotations

from simpy.events import Timeout

from llmsim.config import client as C
from llmsim.core.streams import Streams, UniformPool
from llmsim.engine.hooks import build_hooks
from llmsim.engine.recorder import Recorder
from llmsim.engine.station import Attempt, Station
from llmsim.policies import backoff as backoffs
from llmsim.policies import breaker as breakers
from llmsim.policies import budgets, ejection, hints, limiters
from llmsim.policies.routing import Router

__all__ = ["Request", "ClientPipeline"]

INF = float("inf")
NAN = float("nan")


class Request:
    """A logical request: arrival, sizes, where its provider draws live, and its progress."""

    __slots__ = ("rid", "arrival", "inp", "cached", "out", "chunk", "row_in_chunk", "tries", "k", "pos",
                 "last_index", "current", "session")

    def __init__(self, rid, arrival, inp, cached, out, chunk, row_in_chunk, n_providers):
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


class _Ctx:
    """What every layer of one client instance shares: the clock, recorder, random numbers."""

    def __init__(self, env, rec: Recorder, jitter: UniformPool, max_tokens: int, guard=None):
        self.env = env
        self.rec = rec
        self.jitter = jitter
        self.max_tokens = max_tokens
        self.guard = guard  # spend guards (llmsim.engine.hooks), or None

    def reject(self, req: Request, station_index: int, done, outcome: str = "rejected") -> None:
        """A call refused locally (no provider saw it): one attempt row, then ``done``."""
        now = self.env.now
        att = Attempt(req, req.k, 0, now, now, "timeout")
        att.end = now
        att.outcome = outcome
        att.row = self.rec.attempt(req.rid, req.k, station_index, now, NAN, NAN, now, outcome, 0, NAN, 0, 0, 0.0)
        req.k += 1
        done(att)


# -- the leaf: one attempt on one provider --------------------------------------------------------
class Leaf:
    """Sends an attempt to a station, through that provider's circuit breaker (one per instance)."""

    def __init__(self, ctx: _Ctx, default: Station, breaker_of: dict, failures: frozenset):
        self.ctx = ctx
        self.default = default
        self.breaker_of = breaker_of  # station index -> CircuitBreaker (or missing)
        self.failures = failures

    def call(self, req, station, cut, kind, group, done) -> None:
        if station is None:
            station = self.default
        idx = station.index
        now = self.ctx.env._now
        if self.ctx.guard is not None and self.ctx.guard.blocks(req, now):  # spend guard: nothing is sent
            self.ctx.reject(req, -1, done, "spend_blocked")
            return
        permit = None
        if self.breaker_of:
            br = self.breaker_of.get(idx)
            if br is not None:
                permit = br.allow(now)
                if permit is None:  # open: nothing is sent to the provider
                    self.ctx.reject(req, idx, done)
                    return
        att = Attempt(req, req.k, req.tries[idx], now, cut, kind, station, self._finished, done, permit, group)
        req.k += 1
        req.tries[idx] += 1
        req.last_index = idx
        req.current = att
        if group is not None:
            group.inflight.append(att)
        station.submit(att)

    def _finished(self, att: Attempt) -> None:
        if att.permit is not None:  # (Leaf)
            self.breaker_of[att.station.index].record(att.end, att.permit, att.outcome in self.failures,
                                                      att.end - att.sent)
        up = att.up
        att.up = None
        up(att)

    def cancel(self, att: Attempt) -> None:
        """Cancel an attempt in flight (a hedge that lost); the layers of its branch then see it end
        as ``cancelled``, so they settle what they hold (budgets, limiter permits, calls in flight)."""
        att.station.cancel(att)
        if att.permit is not None:
            self.breaker_of[att.station.index].record(att.end, att.permit, False, 0.0)
        up = att.up
        att.up = None
        if up is not None:
            up(att)

    def peek(self, req, now):
        return self.default

    def advance(self, req) -> None:
        pass  # a single provider: nowhere to move on to

    def has_alternative(self, req, now, station) -> bool:
        return False


class _Wrapper:
    """A layer over ``inner``: what the layers above ask about routing or cancelling goes down."""

    inner = None

    def peek(self, req, now):
        return self.inner.peek(req, now)

    def has_alternative(self, req, now, station) -> bool:
        return self.inner.has_alternative(req, now, station)

    def cancel(self, att) -> None:
        self.inner.cancel(att)

    def advance(self, req) -> None:
        self.inner.advance(req)


# -- retry -----------------------------------------------------------------------------------------
class _RetryFrame:
    __slots__ = ("req", "station", "cut", "kind", "group", "done", "n", "first", "prev", "retried", "taken")


class RetryLayer(_Wrapper):
    """Retries failed calls of the layer below: classifier, backoff with jitter, Retry-After policy,
    stop conditions, per-call timeout, retry budget."""

    def __init__(self, cfg: C.Retry, inner, ctx: _Ctx):
        self.inner = inner
        self.ctx = ctx
        self.max_attempts = cfg.max_attempts
        self.on = frozenset(cfg.on)
        self.statuses = frozenset(cfg.statuses)
        self.respect_hint = cfg.respect_should_retry
        self.backoff = backoffs.from_config(cfg.backoff)
        self.backoff_for = {k: backoffs.from_config(v) for k, v in cfg.backoff_for.items()}
        self.hint = hints.from_config(cfg.retry_after)
        self.timeout = INF if cfg.timeout is None else cfg.timeout
        self.stop_after = INF if cfg.stop_after_delay is None else cfg.stop_after_delay
        self.stop_before = INF if cfg.stop_before_delay is None else cfg.stop_before_delay
        self.give_up_over = INF if cfg.give_up_retry_after_over is None else cfg.give_up_retry_after_over
        self.instant = cfg.instant_if_alternative
        self.budget = None if cfg.budget is None else budgets.from_config(cfg.budget)

    def call(self, req, station, cut, kind, group, done) -> None:
        f = _RetryFrame()
        f.req, f.station, f.cut, f.kind, f.group, f.done = req, station, cut, kind, group, done
        f.n = 0
        f.first = now = self.ctx.env._now
        f.prev = None
        f.retried = False
        f.taken = 0
        if self.budget is not None:
            self.budget.on_request(now)
        self._go(f)

    def _go(self, f: _RetryFrame) -> None:
        cut = f.cut
        limit = self.ctx.env._now + self.timeout
        f.n += 1
        if limit < cut:
            self.inner.call(f.req, f.station, limit, "timeout", f.group, lambda att: self._done(f, att))
        else:
            self.inner.call(f.req, f.station, cut, f.kind, f.group, lambda att: self._done(f, att))

    def _finish(self, f: _RetryFrame, att) -> None:
        b = self.budget
        if b is not None and hasattr(b, "request_done"):
            b.request_done()
        f.done(att)

    def _done(self, f: _RetryFrame, att: Attempt) -> None:
        outcome = att.outcome
        b = self.budget
        if b is None and outcome == "ok":
            f.done(att)
            return
        now = self.ctx.env._now
        if b is not None:
            if f.retried:
                b.retry_done(now)
                f.retried = False
            if outcome == "ok":
                b.on_success(now, f.n > 1, f.taken)
            elif outcome in self.on:
                b.on_failure(now)
        retryable = outcome in self.on or (att.status in self.statuses and outcome != "ok")
        if self.respect_hint and att.should_retry is not None:
            retryable = att.should_retry  # x-should-retry: the server decides
        if outcome == "ok" or outcome == "deadline" or not retryable or f.n >= self.max_attempts:
            self._finish(f, att)
            return
        if f.group is not None and f.group.cancelled:
            self._drop(f)
            return
        ra = att.retry_after
        if ra == ra and ra > self.give_up_over:
            self._finish(f, att)  # the server asks for longer than this client will wait
            return
        if now - f.first >= self.stop_after:
            self._finish(f, att)
            return
        backoff = self.backoff_for.get(outcome, self.backoff) if self.backoff_for else self.backoff
        delay, f.prev = backoff.step(f.n - 1, self.ctx.jitter.next(), f.prev)
        station = att.station
        nxt = self.inner.peek(f.req, now) if f.station is None else f.station
        if ra == ra and station is not None and nxt is station:
            delay = self.hint.delay(delay, ra)  # the hint is about the provider we are going back to
        if self.instant and station is not None and self.inner.has_alternative(f.req, now, station):
            delay = 0.0
        if (now - f.first) + delay >= self.stop_before or now + delay >= f.cut:
            self._finish(f, att)  # the wait would pass the deadline or the stop: give up now
            return
        if b is not None:
            if not b.allow(now, outcome):
                self._finish(f, att)
                return
            f.retried = True
            f.taken = getattr(b, "taken", 0)
        Timeout(self.ctx.env, delay, f).callbacks.append(self._wake)

    def _wake(self, ev) -> None:
        f = ev._value
        if f.group is not None and f.group.cancelled:
            if f.retried and self.budget is not None:
                self.budget.retry_done(self.ctx.env._now)  # the allowed retry is never sent
                f.retried = False
            self._drop(f)
            return
        self._go(f)

    def _drop(self, f: _RetryFrame) -> None:
        """A hedge that lost: stop quietly (nobody waits for the result), but settle the budget."""
        b = self.budget
        if b is not None and hasattr(b, "request_done"):
            b.request_done()


# -- routing ---------------------------------------------------------------------------------------
class _RouteFrame:
    __slots__ = ("req", "i", "cut", "kind", "group", "done", "chain", "sent")


class RouteLayer(_Wrapper):
    """Chooses the provider of each call (strategy, health = breaker + cooldown/ejection), tracks
    what routing strategies need, moves the fallback position, and follows fallback chains."""

    def __init__(self, cfg: C.Route | None, inner, ctx: _Ctx, stations: list[Station], breaker_of: dict):
        self.inner = inner
        self.ctx = ctx
        by_name = {s.model.name: s for s in stations}
        names = cfg.order if cfg is not None else [stations[0].model.name]
        if names == ["*"]:
            names = [s.model.name for s in stations]
        self.stations = [by_name[n] for n in names]
        self.index_of = {s: i for i, s in enumerate(self.stations)}
        self.breaker_of = breaker_of
        n = len(self.stations)
        if cfg is None:
            self.router = Router("fallback", 1)
            self.failover_on = frozenset()
            self.ejection = None
            self.fallbacks = []
        else:
            prices = [(s.model.price_in, s.model.price_out) for s in self.stations]
            limits = None
            if cfg.usage_limits:
                limits = [None] * n
                for name, lim in cfg.usage_limits.items():
                    limits[names.index(name)] = (lim.get("rpm"), lim.get("tpm"))
            self.router = Router(cfg.strategy, n, cfg.weights, cfg.latency_window, prices, limits)
            self.failover_on = frozenset(cfg.failover_on)
            self.ejection = None if cfg.ejection is None else ejection.from_config(
                cfg.ejection, n, on_change=self._ejection_event)
            self.fallbacks = [(frozenset(fb.on), [by_name[t] for t in fb.to]) for fb in cfg.fallbacks]
        self.single = n == 1 and not self.fallbacks

    def _ejection_event(self, now, i, what) -> None:
        self.ctx.rec.event(now, what, self.stations[i].model.name, "")

    def healthy(self, i: int, now: float) -> bool:
        br = self.breaker_of.get(self.stations[i].index)
        if br is not None and not br.available(now):
            return False
        return self.ejection is None or self.ejection.healthy(now, i)

    def _choose(self, req, now):
        if self.single:
            return 0
        cands = self.router.candidates(now, req.pos, self.ctx.jitter.next(), (req.inp, self.ctx.max_tokens))
        for i in cands:
            if self.healthy(i, now):
                return i
        return -1

    def call(self, req, station, cut, kind, group, done) -> None:
        now = self.ctx.env.now
        i = self._choose(req, now)
        if i < 0:  # every provider is open, cooling down or over its limits: fail at once
            self.ctx.reject(req, -1, done)
            return
        f = _RouteFrame()
        f.req, f.i, f.cut, f.kind, f.group, f.done = req, i, cut, kind, group, done
        f.chain = None
        self._send(f, self.stations[i])

    def _send(self, f: _RouteFrame, station: Station) -> None:
        now = self.ctx.env.now
        i = self.index_of.get(station, -1)
        f.i = i
        f.sent = now
        if i >= 0:
            self.router.sent(now, i, f.req.inp + self.ctx.max_tokens)
        self.inner.call(f.req, station, f.cut, f.kind, f.group, lambda att, f=f: self._done(f, att))

    def _done(self, f: _RouteFrame, att: Attempt) -> None:
        now = self.ctx.env.now
        i = f.i
        outcome = att.outcome
        if i >= 0:
            self.router.done(i, outcome, now - f.sent)
            if self.ejection is not None and outcome != "cancelled":
                self.ejection.record(now, i, outcome, att.retry_after)
            if outcome in self.failover_on:
                f.req.pos = (i + 1) % len(self.stations)
            else:
                f.req.pos = i
        if outcome != "ok" and self.fallbacks and now < f.cut and (f.group is None or not f.group.cancelled):
            if f.chain is None:
                f.chain = next((to for on, to in self.fallbacks if outcome in on), None)
                f.chain = list(f.chain) if f.chain is not None else None
            if f.chain:
                self._send(f, f.chain.pop(0))
                return
        f.done(att)

    def peek(self, req, now):
        """The provider the next call will go to, when that is already decided (None: it is not)."""
        if self.router.strategy == "fallback":
            i = self._choose(req, now)
            return self.stations[i] if i >= 0 else None
        healthy = [s for i, s in enumerate(self.stations) if self.healthy(i, now)]
        return healthy[0] if len(healthy) == 1 else None

    def has_alternative(self, req, now, station) -> bool:
        return any(s is not station and self.healthy(i, now) for i, s in enumerate(self.stations))

    def advance(self, req) -> None:
        """The next call starts from the provider after the one used last (fallback order)."""
        req.pos = (req.pos + 1) % len(self.stations)


# -- hedging ---------------------------------------------------------------------------------------
class HedgeGroup:
    __slots__ = ("req", "station", "cut", "kind", "done", "cancelled", "finished", "inflight", "launched", "pending",
                 "last")


class HedgeLayer(_Wrapper):
    """Polly-style hedging: up to max_hedged extra calls, ``delay`` apart (0: all at once; None: only
    after a failure); the first good answer wins and the calls still in flight are cancelled."""

    def __init__(self, cfg: C.Hedge, inner, ctx: _Ctx):
        self.inner = inner
        self.ctx = ctx
        self.total = 1 + cfg.max_hedged
        self.delay = cfg.delay

    def call(self, req, station, cut, kind, group, done) -> None:
        g = HedgeGroup()
        g.req, g.station, g.cut, g.kind, g.done = req, station, cut, kind, done
        g.cancelled = g.finished = False
        g.inflight = []
        g.launched = g.pending = 0
        g.last = None
        self._launch(g)

    def _launch(self, g: HedgeGroup) -> None:
        g.launched += 1
        g.pending += 1
        if g.launched < self.total and self.delay is not None:
            # the next hedge goes ``delay`` after this launch, unless a failure launched it earlier
            Timeout(self.ctx.env, self.delay, (g, g.launched)).callbacks.append(self._timer)
        self.inner.call(g.req, g.station, g.cut, g.kind, g, lambda att, g=g: self._done(g, att))

    def _timer(self, ev) -> None:
        g, launched = ev._value
        if g.launched == launched and not g.finished and g.launched < self.total and self.ctx.env.now < g.cut:
            self._launch(g)

    def _done(self, g: HedgeGroup, att: Attempt) -> None:
        g.pending -= 1
        if g.finished:
            return
        if att.outcome == "ok":
            g.finished = g.cancelled = True
            for other in g.inflight:
                if other is not att and other.end != other.end:  # still in flight (end is NaN)
                    self.inner.cancel(other)
            g.done(att)
            return
        g.last = att
        if g.launched < self.total and (self.delay is None or g.pending == 0) and self.ctx.env.now < g.cut:
            self._launch(g)  # a failure starts the next hedge at once
            return
        if g.pending == 0 and (g.launched >= self.total or self.ctx.env.now >= g.cut):
            g.finished = True
            g.done(att)


# -- limiters and timeouts -------------------------------------------------------------------------
class _LimitFrame:
    __slots__ = ("req", "station", "cut", "kind", "group", "done", "start", "waiting")


class LimiterLayer(_Wrapper):
    """Client-side limiter before the layers below: go, wait (token bucket, concurrency queue), or
    reject locally (outcome ``rejected``)."""

    def __init__(self, cfg, inner, ctx: _Ctx):
        self.inner = inner
        self.ctx = ctx
        self.limiter = limiters.from_config(cfg, u=ctx.jitter.next)
        self.queue: list[_LimitFrame] = []

    def call(self, req, station, cut, kind, group, done) -> None:
        f = _LimitFrame()
        f.req, f.station, f.cut, f.kind, f.group, f.done = req, station, cut, kind, group, done
        f.waiting = False
        self._try(f)

    def _try(self, f: _LimitFrame) -> None:
        now = self.ctx.env.now
        w = self.limiter.acquire(now, f.req.inp + self.ctx.max_tokens, f.cut - now)
        if w == 0.0:
            self._go(f)
        elif w == -1.0:  # concurrency limiter: wait in its queue
            f.waiting = True
            self.queue.append(f)
            wait = min(getattr(self.limiter, "max_wait", INF), f.cut - now)
            if wait < INF:
                Timeout(self.ctx.env, wait, f).callbacks.append(self._give_up)
        elif w == INF:
            self.ctx.reject(f.req, -1, f.done)
        else:  # a permit is reserved: go when its time comes
            Timeout(self.ctx.env, w, f).callbacks.append(lambda ev: self._go(ev._value))

    def _give_up(self, ev) -> None:
        f = ev._value
        if f.waiting:
            f.waiting = False
            self.queue.remove(f)
            self.limiter.give_up_waiting()
            if f.group is None or not f.group.cancelled:
                self.ctx.reject(f.req, -1, f.done)

    def _go(self, f: _LimitFrame) -> None:
        if f.group is not None and f.group.cancelled:  # a hedge already won: hand the permit back
            self.limiter.release(self.ctx.env._now, "cancelled", 0.0)
            return
        f.start = self.ctx.env.now
        self.inner.call(f.req, f.station, f.cut, f.kind, f.group, lambda att, f=f: self._done(f, att))

    def _done(self, f: _LimitFrame, att: Attempt) -> None:
        now = self.ctx.env.now
        self.limiter.release(now, att.outcome, now - f.start)
        admit = getattr(self.limiter, "admit_waiter", None)
        while admit is not None and self.queue and admit():
            nxt = self.queue.pop(0)
            nxt.waiting = False
            self._go(nxt)  # (a waiter whose hedge was won returns the permit at once)
        f.done(att)


class _ValidationFrame:
    __slots__ = ("req", "station", "cut", "kind", "group", "done")


class ValidationLayer(_Wrapper):
    """Checks every delivered answer against the output contract (outcome ``invalid`` = 200 but
    broken): retry on the same provider, fall back to the next, or accept (llmsim.engine.hooks)."""

    def __init__(self, contract, inner, ctx: _Ctx, n_providers: int):
        self.contract = contract
        self.inner = inner
        self.ctx = ctx
        self.n = n_providers

    def call(self, req, station, cut, kind, group, done) -> None:
        f = _ValidationFrame()
        f.req, f.station, f.cut, f.kind, f.group, f.done = req, station, cut, kind, group, done
        self._go(f)

    def _go(self, f) -> None:
        self.inner.call(f.req, f.station, f.cut, f.kind, f.group, lambda att: self._done(f, att))

    def _done(self, f, att) -> None:
        outcome = att.outcome
        if outcome == "ok" or outcome == "invalid":
            step = self.contract.check(att.end, f.req, outcome)
            if step is not None and att.end + self.contract.delay < f.cut:
                if step != "retry":
                    self.inner.advance(f.req)  # fall back to the next provider of the route
                Timeout(self.ctx.env, self.contract.delay, f).callbacks.append(lambda ev: self._go(ev._value))
                return
        f.done(att)


class TimeoutLayer(_Wrapper):
    """Gives up on everything below after ``timeout`` (e.g. a router's timeout around an SDK)."""

    def __init__(self, timeout: float, inner, ctx: _Ctx):
        self.inner = inner
        self.ctx = ctx
        self.timeout = timeout

    def call(self, req, station, cut, kind, group, done) -> None:
        t = self.ctx.env.now + self.timeout
        if t < cut:
            cut, kind = t, "timeout"
        self.inner.call(req, station, cut, kind, group, done)


# -- the pipeline ----------------------------------------------------------------------------------
class ClientPipeline:
    """Builds the layer stack of each client instance and runs requests through it."""

    def __init__(self, env, cfg: C.Client, stations: list[Station], order: list[str] | None, recorder: Recorder,
                 streams: Streams, max_tokens: int = 4096):
        self.env = env
        self.rec = recorder
        self.deadline = INF if cfg.deadline is None else cfg.deadline
        jitter = UniformPool(streams.rng("client-jitter"))
        # spend guards and output-contract validation; the session driver sets on_end
        self.guard, self.contract = build_hooks(env, cfg, recorder)
        self.on_end = None  # callback(req, outcome) when a request ends
        self.ctx = _Ctx(env, recorder, jitter, max_tokens, self.guard)
        stack = cfg.stack()
        if order is not None and cfg.route is None and cfg.layers is None:
            # an explicit order (tests, scripted providers) without a route block: fallback over it
            stack[-1] = C.RouteLayer(route=C.Route(order=order))
        n_inst = 1 if cfg.share_state else cfg.instances
        self.tops = [self._build(stack, cfg, stations, k) for k in range(n_inst)]
        self.n_tops = len(self.tops)
        self.top = self.tops[0]
        self.finished = self._finished  # one bound method for all requests
        self.open: dict[int, Request] = {}  # requests not finished yet

    def _build(self, stack, cfg: C.Client, stations: list[Station], instance: int):
        ctx = self.ctx
        breaker_of = {}
        failures = frozenset()
        if cfg.circuit_breaker is not None:
            br = cfg.circuit_breaker
            fails = set(br.failure_on)
            if "timeout" in fails:
                fails.add("deadline")  # an attempt cut by the request deadline timed out too
            failures = frozenset(fails)
            suffix = f"#{instance}" if cfg.instances > 1 and not cfg.share_state else ""
            for s in stations:
                breaker_of[s.index] = breakers.from_config(br, on_change=self._breaker_event(s.model.name + suffix))
        layer = leaf = Leaf(ctx, stations[0], breaker_of, failures)
        for spec in reversed(stack):
            if isinstance(spec, C.RetryLayer):
                layer = RetryLayer(spec.retry, layer, ctx)
            elif isinstance(spec, C.RouteLayer):
                route = spec.route
                if route is None or (len(route.order) == 1 and route.order != ["*"] and not route.fallbacks
                                     and route.ejection is None):
                    # one provider and nothing to track: the leaf sends there directly
                    if route is not None:
                        leaf.default = next(s for s in stations if s.model.name == route.order[0])
                    continue
                layer = RouteLayer(route, layer, ctx, stations, breaker_of)
            elif isinstance(spec, C.HedgeLayer):
                layer = HedgeLayer(spec.hedge, layer, ctx)
            elif isinstance(spec, C.LimiterLayer):
                layer = LimiterLayer(spec.limiter, layer, ctx)
            else:
                layer = TimeoutLayer(spec.timeout, layer, ctx)
        if self.contract is not None:
            layer = ValidationLayer(self.contract, layer, ctx, len(stations))
        return layer

    def _breaker_event(self, name: str):
        rec = self.rec

        def on_change(now: float, state: str) -> None:
            rec.event(now, "breaker", name, state)
        return on_change

    def start(self, req: Request) -> None:
        """A request arrives now."""
        self.open[req.rid] = req
        top = self.tops[req.rid % self.n_tops] if self.n_tops > 1 else self.top
        top.call(req, None, req.arrival + self.deadline, "deadline", None, self.finished)

    def _finished(self, att: Attempt) -> None:
        req = att.req
        del self.open[req.rid]
        req.current = None  # no reference cycle left for the garbage collector
        delivered = att.outcome == "ok" or att.outcome == "invalid"  # invalid: delivered, contract broken
        ttft = att.first - req.arrival if delivered else NAN
        provider = att.station.index if att.station is not None else req.last_index  # the deciding attempt's
        self.rec.request(req.rid, req.arrival, self.env._now, att.outcome, req.k, provider, ttft, req.inp, req.out)
        if self.on_end is not None:
            self.on_end(req, att.outcome)

    def close_open(self) -> None:
        """At the end of the run: requests still waiting give up now, as timeouts (no further billing)."""
        now = self.env.now
        for rid in sorted(self.open):
            req = self.open.pop(rid)
            att = req.current
            in_flight = att.group.inflight if att is not None and att.group is not None else [att]
            for a in in_flight:
                if a is not None and a.end != a.end:  # still in flight: one row each
                    self.rec.attempt(req.rid, a.k, a.station.index if a.station is not None else -1, a.sent,
                                     a.started, NAN, now, "timeout", 0, NAN, 0, 0, 0.0)
            self.rec.request(req.rid, req.arrival, now, "timeout", req.k, req.last_index, NAN, req.inp, req.out)
