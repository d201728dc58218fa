"""What keeps ``llmsim serve`` standing: every error answer in the provider's JSON format, read timeouts,
and a bound on open connections.

- ``json_errors`` (an aiohttp middleware): a 404, 405, 413 or any other HTTP error, and any unexpected
  exception, becomes the JSON error body of the API the path belongs to (Anthropic on ``/v1/messages``,
  OpenAI elsewhere).
- Header timeout: aiohttp closes a connection that has not sent a whole request within its keep-alive
  timeout (``HEADER_TIMEOUT``), stalled or dripping; the body must arrive within ``BODY_TIMEOUT``
  (``read_body``, answered 408).
- ``ConnectionBound``: at most ``limit`` open connections. Past it, the oldest connection that is not in
  the middle of a request is closed to make room (a stalled client cannot lock out a good one); when
  every connection is busy with a request, the new one gets a 503 JSON answer and is closed.

>>> error_for_path("/v1/messages", 404, "Not Found")["error"]["type"]
'not_found_error'
>>> error_for_path("/v1/nope", 405, "Method Not Allowed")["error"]["type"]
'invalid_request_error'
>>> json.loads(OVERLOADED_RAW.split(b"\\r\\n\\r\\n", 1)[1])["error"]["type"]
'overloaded_error'
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
from http import HTTPStatus

from aiohttp import web, web_protocol, web_server

from llmsim.bridges.serve import anthropic_api, openai_api
from llmsim.bridges.serve.protocol import BadRequest

__all__ = ["json_errors", "read_body", "ConnectionBound", "error_for_path", "HEADER_TIMEOUT", "BODY_TIMEOUT",
           "DEFAULT_MAX_CONNECTIONS", "raise_fd_limit", "OVERLOADED_RAW"]

HEADER_TIMEOUT = 15.0  # seconds for a connection to send a whole request line and headers
BODY_TIMEOUT = 30.0  # seconds for the body, once the headers are in
DEFAULT_MAX_CONNECTIONS = 1024
_log = logging.getLogger("llmsim.serve")

_BODY = {"type": "error", "error": {"type": "overloaded_error", "message": "Too many open connections; try again "
                                    "later.", "param": None, "code": "server_overloaded"}}
_PAYLOAD = json.dumps(_BODY).encode()
# one body both SDKs parse as their own error (OpenAI reads error.message/type/code, Anthropic type + error)
OVERLOADED_RAW = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\n"
                  b"retry-after: 1\r\ncontent-length: " + str(len(_PAYLOAD)).encode() + b"\r\n\r\n" + _PAYLOAD)


def _api_for(path: str):
    return anthropic_api if path.rstrip("/").endswith("/v1/messages") else openai_api


def error_for_path(path: str, status: int, message: str) -> dict:
    """The JSON error body for ``status`` in the format of the API serving ``path``."""
    return _api_for(path).error_body(status, message)


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    """HTTP errors and unexpected exceptions -> the API's JSON error body, with the right status."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = f"{exc.reason}: {request.method} {request.path}"
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return web.json_response(error_for_path(request.path, exc.status, message), status=exc.status,
                                 headers=headers)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:  # noqa: BLE001 - a server answers, it does not fall over
        _log.exception("unexpected error answering %s %s", request.method, request.path)
        return web.json_response(error_for_path(request.path, 500, "Internal server error"), status=500)


async def read_body(request: web.Request, api) -> bytes:
    """The request body, within BODY_TIMEOUT (BadRequest 408 after it, 413 past the size limit)."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT):  # no task: a body already read returns without yielding
            return await request.read()
    except TimeoutError:
        raise BadRequest(f"the request body did not arrive within {BODY_TIMEOUT:g}s", status=408) from None
    except web.HTTPRequestEntityTooLarge as exc:
        raise BadRequest(f"request too large: {exc.text}", status=413) from None


class ConnectionBound:
    """Keep at most ``limit`` connections open on an aiohttp ``web.Server`` (see the module docstring).

    ``install(server)`` hooks the server's connection callbacks; the ``track`` middleware marks the
    connections that are inside a request (those are never closed to make room)."""

    def __init__(self, limit: int = DEFAULT_MAX_CONNECTIONS):
        self.limit = max(1, int(limit))
        self.open: dict = {}  # handler -> transport, oldest first
        self.busy: set = set()
        self.refused = 0
        self.evicted = 0

    def install(self, server: web.Server) -> None:
        made, lost = server.connection_made, server.connection_lost

        def connection_made(handler, transport) -> None:
            made(handler, transport)
            if len(self.open) >= self.limit and not self._evict_idle():
                self.refused += 1
                asyncio.get_running_loop().call_soon(_refuse, handler, transport)
                return
            self.open[handler] = transport

        def connection_lost(handler, exc=None) -> None:
            self.open.pop(handler, None)
            self.busy.discard(handler)
            lost(handler, exc)

        server.connection_made = connection_made
        server.connection_lost = connection_lost

    def _evict_idle(self) -> bool:
        """Close the oldest connection that is not inside a request; False when all are busy."""
        for handler in self.open:
            if handler not in self.busy:
                self.open.pop(handler)
                self.evicted += 1
                handler.force_close()
                return True
        return False

    @web.middleware
    async def track(self, request: web.Request, handler) -> web.StreamResponse:
        proto = request.protocol
        self.busy.add(proto)
        try:
            return await handler(request)
        finally:
            self.busy.discard(proto)


class JSONErrorHandler(web_protocol.RequestHandler):
    """aiohttp's connection handler, answering a request it could not parse (bad framing, a bad header line)
    with a JSON error body in the OpenAI format (the path is not known yet) instead of text/plain."""

    def handle_error(self, request, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("the response was already started: no error body can follow")
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        kind = "server_error" if status >= 500 else "invalid_request_error"
        body = {"error": {"message": message or phrase, "type": kind, "param": None, "code": None}}
        resp = web.json_response(body, status=status)
        resp.force_close()
        return resp


class JSONErrorServer(web_server.Server):
    """aiohttp's low-level server making ``JSONErrorHandler`` connections (``answer_malformed_as_json``)."""

    def __call__(self) -> web_protocol.RequestHandler:
        return JSONErrorHandler(self, loop=self._loop, **self._kwargs)


def answer_malformed_as_json(server: web_server.Server) -> None:
    """Make a runner's server answer malformed HTTP with JSON errors too (every non-2xx answer is JSON)."""
    server.__class__ = JSONErrorServer


def _refuse(handler, transport) -> None:
    """Answer 503 and close gracefully: the connection goes to a protocol that drops what the client still
    sends (its request) until it closes, ``_LINGER`` s at most; closing a socket with unread data makes the
    kernel reset it, and a reset loses the 503 the client has not read yet."""
    if transport.is_closing():
        handler.force_close()
        return
    transport.set_protocol(_Discard(handler, transport))
    transport.write(OVERLOADED_RAW)


_LINGER = 2.0


class _Discard(asyncio.Protocol):
    """Reads and drops whatever arrives; closes at the client's end of data, or after ``_LINGER`` s, and
    then tells the aiohttp handler the connection is gone (so the server forgets it)."""

    def __init__(self, handler, transport) -> None:
        self.handler, self.transport = handler, transport
        self.timer = asyncio.get_running_loop().call_later(_LINGER, transport.close)

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        self.transport.close()
        return False

    def connection_lost(self, exc) -> None:
        self.timer.cancel()
        self.handler.connection_lost(exc)


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft limit on open files towards ``wanted`` (up to the hard limit); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft
