"""The live HTTP server: OpenAI Chat Completions and Anthropic Messages answered by the provider model.

``LiveServer(scenario)`` builds an aiohttp application around one ``LiveProvider`` per scenario
provider (time 0 = server start, or ``at`` seconds into the scenario; the scenario's clock runs ``speed``
times faster than wall time, and Retry-After headers give wall-clock seconds). A request goes to the
provider whose ``model`` or ``name`` equals the request's ``model``, else to the default provider
(``provider=`` or the first one).

Attempts of one logical request are grouped by the ``x-llmsim-request-id`` header, else the body's
``user`` (OpenAI) / ``metadata.user_id`` (Anthropic), else ``Idempotency-Key``; the attempt number
is the SDKs' ``x-stainless-retry-count`` header when present.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday")
>>> LiveServer(sc).default
'shared-gpt'
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable

from aiohttp import web

from llmsim.bridges.serve import anthropic_api, openai_api
from llmsim.bridges.serve.hardening import DEFAULT_MAX_CONNECTIONS, ConnectionBound, json_errors, read_body
from llmsim.bridges.serve.protocol import BadRequest, Call, binding_limit, limit_state
from llmsim.bridges.serve.record import AttemptLog
from llmsim.bridges.serve.runtime import LiveProvider, Refused
from llmsim.config.scenario import Scenario
from llmsim.core.errors import InputError
from llmsim.provider.model import ProviderModel
from llmsim.provider.slots import DONE, DROPPED

__all__ = ["LiveServer"]

INF = float("inf")
NAN = float("nan")
APIS = {"openai": openai_api, "anthropic": anthropic_api}


class LiveServer:
    """The provider models of a scenario behind HTTP endpoints, with an attempt log."""

    def __init__(self, scenario: Scenario, provider: str | None = None, seed: int | None = None,
                 max_connections: int = DEFAULT_MAX_CONNECTIONS, at: float = 0.0, speed: float = 1.0):
        if not (math.isfinite(speed) and speed > 0):
            raise InputError("--speed", f"must be a finite number > 0, got {speed:g}")
        if not (math.isfinite(at) and at >= 0):
            raise InputError("--at", f"must be a time of the scenario's day (>= 0), got {at:g} s")
        names = [p.name for p in scenario.providers]
        if provider is not None and provider not in names:
            raise InputError("--provider", f"no provider named '{provider}' (providers: {', '.join(names)})")
        for i, p in enumerate(scenario.providers):
            _refuse_unserved(p, i)
        self.scenario = scenario
        self.at, self.speed = at, speed
        self.default = provider or names[0]
        self.seed = scenario.seed if seed is None else seed
        self.log = AttemptLog()
        self.bound = ConnectionBound(max_connections)
        self.providers: dict[str, LiveProvider] = {}
        self._by_model: dict[str, str] = {}
        for p in scenario.providers:
            self._by_model.setdefault(p.name, p.name)
            if p.model:
                self._by_model.setdefault(p.model, p.name)

    def start_clock(self) -> None:
        """The scenario's clock starts (at ``at``) for every provider (called when the server starts listening)."""
        out = self.scenario.workload.output_tokens.build()
        self.providers = {p.name: LiveProvider(ProviderModel(p, i), self.seed, out, at=self.at, speed=self.speed)
                          for i, p in enumerate(self.scenario.providers)}
        self.t0 = time.monotonic()
        for rt in self.providers.values():
            rt.t0 = self.t0

    def now(self) -> float:
        """The scenario's time: ``at`` plus ``speed`` times the seconds since the server started."""
        return self.at + (time.monotonic() - self.t0) * self.speed

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024, middlewares=[json_errors, self.bound.track])
        app.router.add_post("/v1/chat/completions", self.handle_openai)
        app.router.add_post("/chat/completions", self.handle_openai)
        app.router.add_post("/v1/messages", self.handle_anthropic)
        app.router.add_get("/llmsim/status", self.status)
        app.router.add_get("/health", self.status)
        return app

    async def handle_openai(self, request: web.Request) -> web.StreamResponse:
        return await self.handle(request, "openai")

    async def handle_anthropic(self, request: web.Request) -> web.StreamResponse:
        return await self.handle(request, "anthropic")

    def provider_for(self, model: str) -> LiveProvider:
        return self.providers[self._by_model.get(model, self.default)]

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response({"time": self.now(), "speed": self.speed,
                                  "providers": [p.stats() for p in self.providers.values()],
                                  "attempts": len(self.log), "connections": len(self.bound.open),
                                  "connections_refused": self.bound.refused,
                                  "connections_evicted": self.bound.evicted})

    # -- the attempt ----------------------------------------------------------------------------
    async def handle(self, request: web.Request, api_name: str) -> web.StreamResponse:
        api = APIS[api_name]
        rid = api.new_response_id()
        sent = self.now()
        base_headers = {"x-request-id": rid} if api_name == "openai" else {"request-id": rid}
        try:
            call = await _read_call(request, api)
        except BadRequest as e:
            return web.json_response(api.error_body(e.status, e.message, param=e.param, code=e.code),
                                     status=e.status, headers=base_headers)
        call.request_key = request.headers.get("x-llmsim-request-id") or call.request_key \
            or request.headers.get("idempotency-key")
        rt = self.provider_for(call.model)
        key = call.request_key or rid
        row = {"sent": sent, "key": key, "attempt": self._attempt_number(request, key), "api": api_name,
               "model": call.model, "provider": rt.name, "stream": call.stream, "input_tokens": call.input_tokens,
               "first": NAN, "retry_after": NAN, "output_tokens": 0, "cost": 0.0}
        out = rt.output_tokens(call.max_tokens)
        ticket = None
        try:
            rt, ticket = self._open(rt, call, out, row)
            return await self._answer(request, api, call, rid, row, rt, ticket, out, base_headers)
        except Refused as r:
            refused = r
        except (asyncio.CancelledError, ConnectionResetError):
            self._abandoned(row, rt, ticket)
            raise
        rt = self.providers[row["provider"]]  # the provider that refused (a spill-over target, maybe)
        return await self._refuse(request, api, row, rt, call, refused, base_headers)

    def _open(self, rt: LiveProvider, call: Call, out: int, row: dict):
        """(provider, ticket): admitted by ``rt``, or, when ``rt`` would refuse it (429, queue full), by its
        ``spill_over`` provider at once, as in the simulator; raises Refused from the last one tried."""
        try:
            return rt, rt.open(call.input_tokens, 0, call.max_tokens, out)
        except Refused:
            spill = rt.model.cfg.spill_over
            if spill is None:
                raise
        rt = self.providers[spill]
        row["provider"] = rt.name
        return self._open(rt, call, out, row)

    async def _refuse(self, request, api, row, rt: LiveProvider, call: Call, r: Refused, base_headers):
        """A refusal (429; 529/503), answered after the provider's ``latency.refusal`` (``latency.error``)
        time as the simulator answers it; a client that leaves meanwhile ends it as a timeout."""
        delay = rt.answer_time(r.outcome)
        if delay > 0.0:
            try:
                await asyncio.sleep(rt.wall(delay))
            except (asyncio.CancelledError, ConnectionResetError):
                self._log(row, rt.now(), "timeout", 0)
                raise
        if r.outcome == "rate_limited":
            return self._rate_limited(request, api, row, rt, call, r.retry_after, base_headers)
        return self._error(request, api, row, rt, r.status, r.outcome, base_headers)

    def _attempt_number(self, request: web.Request, key: str) -> int:
        """The SDK's retry count header when it is a plain count (up to 6 digits; anything else is ignored),
        else the attempts of ``key`` seen so far."""
        hdr = request.headers.get("x-stainless-retry-count", "").strip()
        if hdr and len(hdr) <= 6 and hdr.isascii() and hdr.isdigit():
            return int(hdr)
        return self.log.next_attempt(key)

    async def _answer(self, request, api, call: Call, rid, row, rt: LiveProvider, ticket, out, base_headers):
        """Wait for a slot and the planned time to first token, then answer: an error, a stream or a body."""
        await ticket.wait_for_slot()
        plan = ticket.plan
        await _sleep_until(rt, ticket.started + plan.ttft)
        if plan.error and plan.streamed:  # after a 200, as the simulator's errors.mid_stream_share
            if call.stream:
                return await self._stream(request, api, call, rid, row, rt, ticket, plan.streamed, base_headers)
            await _sleep_until(rt, ticket.started + plan.duration)
            row["first"] = ticket.started + plan.ttft
        if plan.error:
            ticket.finish()
            return self._error(request, api, row, rt, rt.model.error_status, "server_error", base_headers,
                               ticket if plan.streamed else None)
        if call.stream:
            return await self._stream(request, api, call, rid, row, rt, ticket, out, base_headers)
        await _sleep_until(rt, ticket.started + plan.duration)
        ticket.finish()
        row["first"] = ticket.started + plan.ttft
        self._log(row, rt.now(), "ok", 200, ticket=ticket)
        return web.json_response(api.ok_body(call, rid, out, ticket.cost), headers={
            **base_headers, **self._limit_headers(api, rt)})

    def _abandoned(self, row: dict, rt: LiveProvider, ticket) -> None:
        """The client went away: an abandoned attempt (the provider notices abort_notice later)."""
        if ticket is not None and ticket.state not in (DONE, DROPPED):
            ticket.abandon()
            if row.get("logged") is None:
                self._log(row, rt.now(), "timeout", 0, ticket=ticket)

    async def _stream(self, request, api, call: Call, rid, row, rt: LiveProvider, ticket, out, base_headers):
        """Stream the answer as server-sent events, paced by the plan, then its final events."""
        plan = ticket.plan
        resp = web.StreamResponse(status=200, headers={
            **base_headers, **self._limit_headers(api, rt), "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-cache"})
        await resp.prepare(request)
        created = int(time.time())
        row["first"] = rt.now()
        await _write_tokens(resp, rt, ticket, out, *_token_events(api, call, rid, created))
        await _sleep_until(rt, ticket.started + plan.duration)
        ticket.finish()
        # logged before the last write: a client that leaves during it still got (and paid for) the answer
        if plan.error:  # the error comes inside the stream, after the tokens sent (billed)
            status = rt.model.error_status
            self._log(row, rt.now(), "server_error", status, ticket=ticket, error_type=_etype(api.error_body(status)))
            tail = api.stream_error(status)
        else:
            self._log(row, rt.now(), "ok", 200, ticket=ticket)
            tail = openai_api.final_chunks(call, rid, created, out, ticket.cost) if api is openai_api \
                else anthropic_api.final_events(call, out, ticket.cost)
        await resp.write(tail)
        await resp.write_eof()
        return resp

    # -- answers --------------------------------------------------------------------------------
    def _log(self, row: dict, end: float, outcome: str, status: int, ticket=None, error_type=None) -> None:
        row.update(end=end, outcome=outcome, status=status, ticket=ticket, error_type=error_type, logged=True)
        self.log.add(**row)

    def _limit_headers(self, api, rt: LiveProvider) -> dict:
        """The rate-limit headers, their reset times in wall-clock seconds."""
        state = limit_state(rt.model, rt.now())
        return api.limit_headers({k: (cap, left, rt.wall(reset)) for k, (cap, left, reset) in state.items()})

    def _error(self, request, api, row, rt, status: int, outcome: str, base_headers, ticket=None) -> web.Response:
        body = api.error_body(status, model=row["model"])
        self._log(row, rt.now(), outcome, status, ticket=ticket, error_type=_etype(body))
        return web.json_response(body, status=status, headers={**base_headers, **self._limit_headers(api, rt)})

    def _rate_limited(self, request, api, row, rt, call, wait: float, base_headers) -> web.Response:
        what = binding_limit(rt.model, rt.now(), call)
        wall = rt.wall(wait)  # what a real client waits: wall-clock seconds (the log keeps the scenario's)
        body = api.error_body(429, model=call.model, what=what, wait=wall)
        headers = {**base_headers, **self._limit_headers(api, rt)}
        if math.isfinite(wait):  # larger than the bucket: no wait helps, so no hint
            headers["retry-after"] = str(max(1, math.ceil(wall)))
            headers["retry-after-ms"] = str(max(1, math.ceil(wall * 1000)))
            row["retry_after"] = math.ceil(wait * 1000) / 1000
        self._log(row, rt.now(), "rate_limited", 429, error_type=_etype(body))
        return web.json_response(body, status=429, headers=headers)


def _etype(body: dict) -> str:
    return body["error"]["type"]


async def _read_call(request: web.Request, api) -> Call:
    """The Call in the request's JSON body (BadRequest when it is not JSON or not a valid request)."""
    raw = await read_body(request, api)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(api.BAD_JSON) from None
    return api.parse(body)


def _token_events(api, call: Call, rid: str, created: int) -> tuple[Callable[[int], bytes], bytes]:
    """The API's events carrying token i, and the bytes that go before the first token."""
    if api is openai_api:
        def event(i):
            return openai_api.chunks(call, rid, created, i)
        return event, b""
    return anthropic_api.token_event, anthropic_api.start_events(call, rid)


async def _write_tokens(resp: web.StreamResponse, rt: LiveProvider, ticket, out: int,
                        event: Callable[[int], bytes], head: bytes) -> None:
    """Write the ``out`` tokens as the plan's speed produces them (all at the end at infinite speed)."""
    plan = ticket.plan
    first_at = ticket.started + plan.ttft
    speed = plan.speed
    i = 0
    if speed == INF:
        await _sleep_until(rt, ticket.started + plan.duration)
        await resp.write(head + b"".join(event(j) for j in range(out)))
        i = out
    while i < out:  # finite speed here: the tokens due by now, at least one
        due = max(min(out, int((rt.now() - first_at) * speed) + 1), i + 1)
        data = head + b"".join(event(j) for j in range(i, due))
        head = b""
        await resp.write(data)
        i = due
        if i < out:
            await _sleep_until(rt, first_at + i / speed)


async def _sleep_until(rt: LiveProvider, t: float) -> None:
    """Until the scenario's time ``t`` (in wall-clock seconds: the scenario's divided by ``rt.speed``)."""
    delay = t - rt.now()
    if delay > 0:
        await asyncio.sleep(rt.wall(delay))


def _refuse_unserved(p, i: int) -> None:
    """Service classes and acceleration limits are simulated only (llmsim.engine.tiered_station): serve
    says so in one line instead of answering as if they were not there.

    >>> from llmsim.config.provider import Provider
    >>> _refuse_unserved(Provider.model_validate({"name": "p", "capacity": {"slots": 4}}), 0)
    >>> _refuse_unserved(Provider.model_validate({"name": "p", "capacity": {"slots": 4},
    ...                                           "service_classes": {"flex": {}}}), 0)
    Traceback (most recent call last):
    ...
    llmsim.core.errors.InputError: providers[0].service_classes: llmsim serve does not model this yet ...
    """
    rl = p.rate_limits
    for what, on in (("service_classes", p.service_classes is not None),
                     ("rate_limits.acceleration", rl is not None and rl.acceleration is not None)):
        if on:
            raise InputError(f"providers[{i}].{what}", "llmsim serve does not model this yet (llmsim run does): "
                                                       "remove it to serve this provider")
