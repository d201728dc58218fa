"""Stream faults in both wire formats: a stream cut after N tokens (the connection closes without the final
events), a stall (N tokens, then ``stall`` seconds of silence, then the rest), and an error event
mid-stream (OpenAI: a ``data: {"error": ...}`` chunk; Anthropic: ``event: error``).

>>> error_event("anthropic", 529).startswith(b"event: error")
True
>>> error_event("openai", 500)[:14]
b'data: {"error"'
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from llmsim.bridges.serve import anthropic_api, openai_api

__all__ = ["error_event", "stream_fault", "STREAM_FAULTS"]

STREAM_FAULTS = ("cut", "stall", "error")


def error_event(api_name: str, status: int) -> bytes:
    """The API's error event sent in the middle of a stream."""
    if api_name == "openai":
        return b"data: " + json.dumps(openai_api.error_body(status)).encode() + b"\n\n"
    body = anthropic_api.error_body(status)
    return b"event: error\ndata: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def _events(api_name: str, call, rid: str):
    created = int(time.time())
    if api_name == "openai":
        return b"", (lambda i: openai_api.chunks(call, rid, created, i)), \
            (lambda n: openai_api.final_chunks(call, rid, created, n, 0.0))
    return anthropic_api.start_events(call, rid), anthropic_api.token_event, \
        (lambda n: anthropic_api.final_events(call, n, 0.0))


async def stream_fault(request: web.Request, api_name: str, call, phase, log) -> web.StreamResponse:
    """Answer a streaming ``call`` with the phase's stream fault; ``log(outcome, status, tokens)`` records it."""
    api = openai_api if api_name == "openai" else anthropic_api
    rid = api.new_response_id()
    resp = web.StreamResponse(status=200, headers={"content-type": "text/event-stream; charset=utf-8",
                                                   "cache-control": "no-cache"})
    await resp.prepare(request)
    head, token, tail = _events(api_name, call, rid)
    n = min(phase.after_tokens, call.max_tokens)
    await resp.write(head + b"".join(token(i) for i in range(n)))
    if phase.stream == "cut":
        log("server_error", 200, n)
        request.transport.close()
        return resp
    if phase.stream == "error":
        await resp.write(error_event(api_name, phase.status or 500))
        log("server_error", 200, n)
        await resp.write_eof()
        return resp
    try:
        await asyncio.sleep(phase.stall)
    except asyncio.CancelledError:
        log("timeout", 200, n)
        raise
    out = max(n, min(call.max_tokens, n + 5))
    await resp.write(b"".join(token(i) for i in range(n, out)) + tail(out))
    log("ok", 200, out)
    await resp.write_eof()
    return resp
