"""Run a LiveServer: in the foreground (``llmsim serve``) or in a background thread (tests, fidelity).

>>> import llmsim
>>> srv = ServerThread(llmsim.load_scenario("tuesday"))   # not started: ``with srv:`` binds a free port
>>> srv.host, srv.server.default
('127.0.0.1', 'shared-gpt')
"""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

from aiohttp import web

from llmsim.bridges.serve.hardening import HEADER_TIMEOUT, answer_malformed_as_json, raise_fd_limit
from llmsim.bridges.serve.server import LiveServer
from llmsim.core.errors import InputError

__all__ = ["ServerThread", "run_forever", "start_site", "RECORD_EVERY"]

RECORD_EVERY = 5.0  # seconds between writes of --record while serving: a crash loses at most this much


async def start_site(server: LiveServer, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start listening (handler cancellation on: a disconnect cancels the attempt; a connection that has not
    sent a whole request within HEADER_TIMEOUT is closed; at most ``server.bound.limit`` connections);
    returns (runner, port)."""
    raise_fd_limit(server.bound.limit + 256)
    runner = web.AppRunner(server.app(), handler_cancellation=True, access_log=None,
                           keepalive_timeout=HEADER_TIMEOUT)
    await runner.setup()
    server.bound.install(runner.server)
    answer_malformed_as_json(runner.server)
    site = web.TCPSite(runner, host, port, backlog=2048)
    await site.start()
    server.start_clock()
    bound = site._server.sockets[0].getsockname()[1]
    return runner, bound


async def _listen(server: LiveServer, host: str, port: int) -> tuple[web.AppRunner, int]:
    try:
        return await start_site(server, host, port)
    except OSError as exc:
        raise InputError("--port", f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


async def _flush_every(server: LiveServer, record: str | Path) -> None:
    """Write the attempt log to ``record`` every RECORD_EVERY seconds when it has grown (off the event loop)."""
    written = -1
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(RECORD_EVERY)
        if len(server.log) != written:
            written = len(server.log)
            await loop.run_in_executor(None, server.log.write, record)


def run_forever(server: LiveServer, host: str = "127.0.0.1", port: int = 8000, record: str | Path | None = None,
                on_ready=None) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), writing the attempt log to ``record`` (if given) every
    RECORD_EVERY seconds and at the end. A port that cannot be bound is an InputError."""

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread / Windows
                pass
        runner, bound = await _listen(server, host, port)
        if on_ready is not None:
            on_ready(host, bound)
        flusher = asyncio.create_task(_flush_every(server, record)) if record is not None else None
        try:
            await stop.wait()
        finally:
            if flusher is not None:
                flusher.cancel()
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:  # pragma: no cover - signal handlers normally catch it
        pass
    finally:
        if record is not None:
            server.log.write(record)


class ServerThread:
    """A LiveServer on its own event loop in a daemon thread; ``with ServerThread(sc) as srv: srv.url``."""

    def __init__(self, scenario, provider: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 seed: int | None = None, max_connections: int | None = None, at: float = 0.0, speed: float = 1.0):
        bound = {} if max_connections is None else {"max_connections": max_connections}
        self.server = LiveServer(scenario, provider, seed, at=at, speed=speed, **bound)
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="llmsim-serve", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log(self):
        return self.server.log

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._runner, self.port = loop.run_until_complete(start_site(self.server, self.host, self.port))
        except BaseException as e:  # noqa: BLE001 - reported to the starting thread
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def start(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
