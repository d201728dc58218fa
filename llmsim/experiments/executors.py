"""Where the runs execute: in this process, in local worker processes, or on a Dask cluster.

Every executor offers ``imap_unordered(fn, items)``, yielding results as runs finish (not in order), and
``close()``. The same picklable task function runs everywhere.

>>> with make_executor("serial") as ex:
...     sorted(ex.imap_unordered(abs, [-2, 1]))
[1, 2]
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from typing import Any

from llmsim.core.errors import InputError

__all__ = ["make_executor", "SerialExecutor", "ProcessExecutor", "DaskExecutor", "default_workers"]


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class _Base:
    workers = 1
    name = "serial"

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def drain(self) -> Iterator[Any]:
        """After an interrupt: results of runs that were already executing (they cannot be cancelled)."""
        return iter(())

    def abort(self) -> None:
        """Stop at once, abandoning runs in progress."""
        self.close()

    def close(self) -> None:
        pass


class SerialExecutor(_Base):
    """Runs each item in this process, one after the other (lazily, so results still stream)."""

    def imap_unordered(self, fn: Callable, items: Iterable) -> Iterator[Any]:
        for item in items:
            yield fn(item)


PARENT_CHECK_EVERY = 0.5  # seconds between a worker's checks that the process that started it is alive


def _worker_init() -> None:
    """In each worker process: ignore Ctrl-C (it reaches the whole process group: the parent handles it,
    workers finish their run quietly), and exit as soon as the parent is gone (killed, even by SIGKILL,
    which no handler sees): a daemon thread watches for this process being handed to another parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), name="llmsim-parent-watch", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_EVERY)
    os._exit(1)


class ProcessExecutor(_Base):
    """A pool of local worker processes (concurrent.futures); keeps ``2 * workers`` runs in flight."""

    name = "processes"

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
        self._leftover: set = set()

    def imap_unordered(self, fn: Callable, items: Iterable) -> Iterator[Any]:
        todo = iter(items)
        pending: set = set()

        def fill() -> None:
            while len(pending) < 2 * self.workers:
                try:
                    item = next(todo)
                except StopIteration:
                    return
                pending.add(self._pool.submit(fn, item))

        fill()
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    pending.discard(fut)
                    yield fut.result()
                fill()
        finally:
            self._leftover = {fut for fut in pending if not fut.cancel()}

    def drain(self) -> Iterator[Any]:
        leftover, self._leftover = self._leftover, set()
        for fut in as_completed(leftover):
            if not fut.cancelled() and fut.exception() is None:
                yield fut.result()

    def abort(self) -> None:
        for proc in list(getattr(self._pool, "_processes", {}).values()):
            proc.terminate()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(_Base):
    """Runs on Dask distributed: an existing cluster (``scheduler`` address or a ``distributed.Client``),
    or a LocalCluster of ``workers`` single-threaded processes started (and closed) here."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, workers: int | None = None, client: Any = None):
        try:
            from distributed import Client, LocalCluster  # deferred: a second to import; only Dask runs need it
        except ImportError:  # pragma: no cover - dask is a dependency
            raise InputError("executor", "Dask is not installed: pip install 'dask[distributed]'") from None
        self._cluster = None
        self._own_client = client is None
        if client is not None:
            self.client = client
        elif scheduler:
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError("scheduler", f"cannot connect to {scheduler}: {exc}") from None
        else:
            self._cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                                         processes=True, dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self._cluster)
        self.workers = max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))

    def imap_unordered(self, fn: Callable, items: Iterable) -> Iterator[Any]:
        from distributed import as_completed  # deferred: as above

        futures = self.client.map(fn, list(items), pure=False)
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(executor: Any = None, workers: int | None = None, scheduler: str | None = None,
                  tasks: int | None = None) -> _Base:
    """An executor from a name (``None``/"auto": serial for one worker, else processes; "serial";
    "processes"; "dask"), a ``scheduler`` address (implies Dask), or a ``distributed.Client``.
    ``workers`` defaults to the cores available, capped at ``tasks``."""
    if workers is not None and workers < 1:
        raise InputError("workers", f"must be >= 1, got {workers}")
    if executor is not None and not isinstance(executor, str):
        return _client_executor(executor)
    name = _executor_name(executor, scheduler)
    n = workers or default_workers()
    if name == "dask":
        return DaskExecutor(scheduler=scheduler, workers=n)
    return _local_executor(name, n if tasks is None else max(1, min(n, tasks)), executor)


def _executor_name(executor: str | None, scheduler: str | None) -> str:
    """The executor's lower-cased name: "dask" with a scheduler address, "auto" when not given."""
    name = (executor or ("dask" if scheduler else "auto")).lower()
    if scheduler and name != "dask":
        raise InputError("scheduler", f"a scheduler address needs the dask executor, not {name!r}")
    return name


def _client_executor(client: Any) -> DaskExecutor:
    """A DaskExecutor on a ``distributed.Client`` (InputError for anything else that is not a name)."""
    if type(client).__name__ == "Client" and hasattr(client, "scheduler_info"):
        return DaskExecutor(client=client)
    raise InputError("executor", f"expected a name or a distributed.Client, got {type(client).__name__}")


def _local_executor(name: str, n: int, executor: str | None) -> _Base:
    """The serial or process executor ``name`` (lower-cased ``executor``) stands for, with ``n`` workers."""
    if name == "serial" or (name == "auto" and n == 1):
        return SerialExecutor()
    if name in ("auto", "processes"):
        return ProcessExecutor(n)
    raise InputError("executor", f"unknown executor {executor!r} (use serial, processes or dask)")
