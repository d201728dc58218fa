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

from llmsim.bridges.serve.server import LiveServer

__all__ = ["ServerThread", "run_forever", "start_site"]


async def start_site(server: LiveServer, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start listening (handler cancellation on: a disconnect cancels the attempt); returns (runner, port)."""
    runner = web.AppRunner(server.app(), handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=2048)
    await site.start()
    server.start_clock()
    bound = site._server.sockets[0].getsockname()[1]
    return runner, bound


def run_forever(server: LiveServer, host: str = "127.0.0.1", port: int = 8000, record: str | Path | None = None,
                on_ready=None) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM), then write the attempt log to ``record`` if given."""

    async def main():
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - not the main thread / Windows
                pass
        runner, bound = await start_site(server, host, port)
        if on_ready is not None:
            on_ready(host, bound)
        try:
            await stop.wait()
        finally:
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
                 seed: int | None = None):
        self.server = LiveServer(scenario, provider, seed)
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
