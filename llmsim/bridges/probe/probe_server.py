"""The probe endpoint: ``llmsim serve``'s LiveServer with the probe script's faults in front of it.

A fault answers with the phase's status (in the API's error format, with its Retry-After headers) or
holds the attempt for the phase's delay before the normal answer (or before the status: a slow failure).
Every attempt, faulted or not, is in the server's attempt log (``log.frame()``); a client that hangs up
during a delay is logged as a ``timeout`` at the moment it left.

Runs of the command that go on at the same time each get a lane: their own URL prefix ``/probe/<lane>``
with its own phase (``set_lane``); ``log.frame(lanes=True)`` adds each attempt's lane and a digest of its
request body (retries of one call send the same body). Requests without a prefix use ``set_phase``'s.

>>> srv = ProbeThread()
>>> srv.server.phase is None, srv.server.default
(True, 'probe')
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import threading

from aiohttp import web

from llmsim.bridges.probe.probe_script import ProbePhase
from llmsim.bridges.probe.probe_stream import stream_fault
from llmsim.bridges.serve import LiveServer, ServerThread, anthropic_api, openai_api
from llmsim.bridges.serve.protocol import BadRequest
from llmsim.bridges.serve.record import AttemptLog
from llmsim.config.scenario import Scenario

__all__ = ["ProbeServer", "ProbeThread", "LaneLog", "probe_scenario", "OUTCOME_OF_STATUS"]

NAN = float("nan")
OUTCOME_OF_STATUS = {429: "rate_limited", 529: "overloaded", 503: "overloaded"}
_LANE: contextvars.ContextVar = contextvars.ContextVar("probe_lane", default=None)
_BODY: contextvars.ContextVar = contextvars.ContextVar("probe_body", default="")


class LaneLog(AttemptLog):
    """The attempt log, each row tagged with the lane and body digest of the request being handled."""

    def add(self, **row) -> None:
        super().add(**row, lane=_LANE.get(), body=_BODY.get())

    def frame(self, lanes: bool = False):
        """The canonical trace; ``lanes=True`` adds the ``lane`` and ``body`` columns."""
        df = super().frame()
        if lanes:
            with self._lock:
                rows = sorted(self._rows, key=lambda r: r["sent"])  # the order frame() sorts into (stable)
            df["lane"] = [r.get("lane") for r in rows]
            df["body"] = [r.get("body", "") for r in rows]
        return df


def probe_scenario() -> Scenario:
    """A provider that answers at once (20 ms to first token, 2000 tokens/s, no limits, no errors)."""
    return Scenario.model_validate({
        "name": "probe", "horizon": "1h", "workload": {"arrivals": {"rate": "1/s"}, "output_tokens": 5},
        "providers": [{"name": "probe", "capacity": {"slots": 256}, "latency": {"ttft": "20ms", "tokens_per_s": 2000}}],
    })


class ProbeServer(LiveServer):
    """A LiveServer whose attempts go through the current phase's fault first."""

    def __init__(self, scenario: Scenario | None = None):
        super().__init__(scenario or probe_scenario())
        self.log = LaneLog()
        self.phase: ProbePhase | None = None
        self.seen = 0  # attempts seen in the current phase
        self.lanes: dict[str, list] = {}  # lane -> [phase, attempts seen]
        self._lock = threading.Lock()

    def set_phase(self, phase: ProbePhase | None) -> None:
        with self._lock:
            self.phase, self.seen = phase, 0

    def set_lane(self, lane: str, phase: ProbePhase | None) -> None:
        """The phase of the requests under ``/probe/<lane>`` (None: answer them normally)."""
        with self._lock:
            self.lanes[lane] = [phase, 0]

    def lanes_called(self) -> set[str]:
        """The lanes that have sent an attempt (counted on arrival, before any delay)."""
        with self._lock:
            return {lane for lane, (_, seen) in self.lanes.items() if seen}

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_post("/probe/{lane}/v1/chat/completions", self.handle_openai)
        app.router.add_post("/probe/{lane}/chat/completions", self.handle_openai)
        app.router.add_post("/probe/{lane}/v1/messages", self.handle_anthropic)
        return app

    def _take(self, lane: str | None) -> ProbePhase | None:
        """The phase if this attempt gets its fault, else None (and count the attempt)."""
        with self._lock:
            if lane is None:
                phase, index = self.phase, self.seen
                self.seen += 1
            else:
                state = self.lanes.setdefault(lane, [None, 0])
                phase, index = state
                state[1] += 1
        return phase if phase is not None and phase.faults(index) else None

    async def handle(self, request: web.Request, api_name: str) -> web.StreamResponse:
        lane = request.match_info.get("lane")
        _LANE.set(lane)
        _BODY.set(hashlib.sha1(await request.read()).hexdigest()[:12])
        phase = self._take(lane)
        if phase is None:
            return await super().handle(request, api_name)
        if phase.stream is not None:
            return await self._stream_fault(request, api_name, phase)
        if phase.delay is not None:
            sent = self.now()
            try:
                await asyncio.sleep(phase.delay)
            except asyncio.CancelledError:
                self._fault_row(request, api_name, sent, "timeout", 0)
                raise
            if phase.status is None:
                return await super().handle(request, api_name)
            return await self._fail(request, api_name, phase, sent)
        return await self._fail(request, api_name, phase)

    async def _stream_fault(self, request: web.Request, api_name: str, phase: ProbePhase) -> web.StreamResponse:
        """A stream fault for a streamed call (a call that does not stream is answered normally)."""
        api = openai_api if api_name == "openai" else anthropic_api
        body = await request.read()
        try:
            call = api.parse(json.loads(body))
        except (ValueError, BadRequest):
            call = None
        if call is None or not call.stream:
            return await super().handle(request, api_name)
        sent = self.now()

        def log(outcome: str, status: int, tokens: int) -> None:
            self._fault_row(request, api_name, sent, outcome, status, tokens=tokens, stream=True)

        return await stream_fault(request, api_name, call, phase, log)

    async def _fail(self, request: web.Request, api_name: str, phase: ProbePhase,
                    sent: float | None = None) -> web.Response:
        sent = self.now() if sent is None else sent
        await request.read()
        api = openai_api if api_name == "openai" else anthropic_api
        rid = api.new_response_id()
        status = phase.status
        body = api.error_body(status)
        outcome = OUTCOME_OF_STATUS.get(status, "server_error" if status >= 500 else "invalid")
        headers = {"x-request-id" if api_name == "openai" else "request-id": rid, **phase.headers()}
        self._fault_row(request, api_name, sent, outcome, status, body["error"]["type"], phase)
        return web.json_response(body, status=status, headers=headers)

    def _fault_row(self, request, api_name, sent, outcome, status, error_type=None, phase=None, tokens=0,
                   stream=False) -> None:
        key = request.headers.get("x-llmsim-request-id") or "probe"
        hint = NAN
        if phase is not None and phase.retry_after_ms is not None:
            hint = phase.retry_after_ms / 1000
        elif phase is not None and phase.retry_after is not None:
            hint = phase.retry_after
        self.log.add(sent=sent, end=self.now(), first=NAN, outcome=outcome, status=status, retry_after=hint, key=key,
                     attempt=self._attempt_number(request, key), api=api_name, model="", provider=self.default,
                     stream=stream, input_tokens=0, output_tokens=tokens, cost=0.0, ticket=None, error_type=error_type)


class ProbeThread(ServerThread):
    """``ServerThread`` serving a ProbeServer: ``with ProbeThread() as srv: srv.server.set_phase(p)``."""

    def __init__(self, scenario: Scenario | None = None, host: str = "127.0.0.1", port: int = 0):
        sc = scenario or probe_scenario()
        super().__init__(sc, host=host, port=port)
        self.server = ProbeServer(sc)
