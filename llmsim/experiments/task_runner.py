"""Running tasks (one scenario point x one replication seed) anywhere, recording each as it finishes.

``run_task`` is the one function every executor calls; it never raises for a failing simulation: the error
is recorded and the experiment goes on.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday").with_overrides({"horizon": "2m", "warmup": 0})
>>> rec = run_task(Task(0, 0, 1, sc, {"client.retry.max_attempts": 2}))
>>> rec["error"] is None and 0 <= rec["metrics"]["success_rate"] <= 1
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from llmsim.config.scenario import Scenario
from llmsim.experiments.executors import make_executor
from llmsim.experiments.progress import Progress, ProgressSpec
from llmsim.experiments.store import RunStore
from llmsim.simulator import simulate

__all__ = ["Task", "run_task", "simulate_summary", "Runner", "ExperimentInterrupted"]


def simulate_summary(scenario: Scenario, seed: int) -> Mapping[str, float]:
    """The default measurement of a run: ``simulate(scenario, seed).summary()``."""
    return simulate(scenario, seed).summary()


@dataclass(frozen=True)
class Task:
    """Point ``point``, replication ``replication`` run with ``seed`` on ``scenario`` plus ``overrides``."""

    point: int
    replication: int
    seed: int
    scenario: Scenario
    overrides: dict = field(default_factory=dict)
    measure: Callable[[Scenario, int], Mapping[str, float]] = simulate_summary

    @property
    def key(self) -> tuple[int, int]:
        return (self.point, self.replication)


def run_task(task: Task) -> dict:
    """Run one task and return its record; an exception becomes the record's ``error``."""
    start = time.perf_counter()
    series = None
    try:
        sc = task.scenario.with_overrides(task.overrides) if task.overrides else task.scenario
        measured = task.measure(sc, task.seed)
        metrics = {str(k): float(v) for k, v in dict(measured).items()}
        series = getattr(measured, "series", None)  # a measure may also keep a small time series (compare's)
        error = None
    except Exception as exc:  # noqa: BLE001 - a failing point is data, not a crash
        metrics, error = {}, f"{type(exc).__name__}: {exc}".splitlines()[0]
    rec = {"point": task.point, "replication": task.replication, "seed": task.seed, "metrics": metrics,
           "error": error, "elapsed": time.perf_counter() - start}
    if series is not None:
        rec["series"] = series
    return rec


class ExperimentInterrupted(KeyboardInterrupt):
    """Ctrl-C during an experiment: what finished is kept (and saved when there is an output folder)."""

    def __init__(self, finished: int, total: int, out: Any = None):
        self.finished, self.total, self.out = finished, total, out
        where = f"; saved in {out}, rerun with --resume (resume=True) to finish" if out is not None else ""
        super().__init__(f"interrupted after {finished} of {total} runs{where}")


class Runner:
    """Runs batches of tasks on one executor, skipping runs already in ``store``, streaming records back."""

    def __init__(self, store: RunStore, executor: Any = None, workers: int | None = None,
                 scheduler: str | None = None, progress: ProgressSpec = "auto", total: int = 0,
                 description: str = "runs", resume: bool = False):
        store.check(resume)
        self.store = store
        self._resume = resume
        self._prepared = False
        self.records = store.finished() if resume else {}
        self._exec_args = (executor, workers, scheduler)
        self._executor = None
        self.progress = Progress(progress, total=total, done=0, description=description)
        self.computed = 0

    def _get_executor(self, n_tasks: int):
        if self._executor is None:
            executor, workers, scheduler = self._exec_args
            self._executor = make_executor(executor, workers, scheduler, tasks=n_tasks)
        return self._executor

    def run(self, tasks: Iterable[Task]) -> list[dict]:
        """Records of ``tasks`` (finished ones read back, the others computed), in the order given."""
        tasks = list(tasks)
        todo = [t for t in tasks if t.key not in self.records]
        beyond = self.progress.done + len(tasks) - self.progress.total
        if beyond > 0:  # more runs than planned (tune's last rounds): grow the bar, never overflow it
            self.progress.add_total(beyond)
        self.progress.advance(len(tasks) - len(todo))
        if todo:
            self._compute(todo)
        return [self.records[t.key] for t in tasks]

    def _compute(self, todo: list[Task]) -> None:
        """Run ``todo`` on the executor, keeping each record as it arrives (Ctrl-C keeps what finished)."""
        executor = self._get_executor(len(todo))  # a bad executor or scheduler fails before any file is written
        if not self._prepared:
            self.store.prepare(self._resume)
            self._prepared = True
        try:
            for rec in executor.imap_unordered(run_task, todo):
                self._keep(rec)
        except KeyboardInterrupt:
            self._stop(executor)
            raise ExperimentInterrupted(len(self.records), self.progress.total, self.store.root) from None

    def _keep(self, rec: dict) -> None:
        self.store.write(rec)
        self.records[(rec["point"], rec["replication"])] = rec
        self.computed += 1
        self.progress.advance()

    def _stop(self, executor) -> None:
        """Ctrl-C: keep the runs already executing (a second Ctrl-C abandons them), then shut down."""
        self.progress.close()
        try:
            for rec in executor.drain():
                self._keep(rec)
        except KeyboardInterrupt:
            executor.abort()
            self._executor = None
        self.close()

    def close(self) -> None:
        self.progress.close()
        if self._executor is not None:
            self._executor.close()
            self._executor = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
