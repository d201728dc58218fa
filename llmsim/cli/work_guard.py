"""``--dry-run`` and ``--force``: show the work estimate of a run, sweep or replay, and refuse work beyond
the stated limits (llmsim.config.work_estimate) before any of it starts.

>>> from llmsim.config.work_estimate import WorkEstimate
>>> check_work(WorkEstimate(1e3, 3e3), dry_run=False, force=False)  # small: nothing to say
>>> try:
...     check_work(WorkEstimate(1e13, 3e13), dry_run=False, force=False)
... except InputError as exc:
...     print(exc.reason.split(";")[0])
refused: expected 1e+13 requests per run, above the limit of 1e+08
"""

from __future__ import annotations

import itertools
from typing import Any

import typer

from llmsim.cli.app import out
from llmsim.config.scenario import Scenario
from llmsim.config.work_estimate import WorkEstimate, estimate_work
from llmsim.core.errors import InputError

__all__ = ["check_work", "DRY_RUN", "FORCE", "sweep_estimate"]

DRY_RUN = typer.Option(False, "--dry-run", help="Print the work estimate (requests, attempts, memory, wall time) "
                                                "and stop.")
FORCE = typer.Option(False, "--force", help="Run even when the estimate is beyond the limits.")


def check_work(est: WorkEstimate, dry_run: bool, force: bool) -> None:
    """With ``dry_run``, print the estimate and exit 0; else raise an InputError when the work is beyond the
    limits and ``force`` is not given."""
    if dry_run:
        reason = est.refusal()
        verdict = f"beyond the limits ({reason}): needs --force" if reason else "within the limits"
        out.print(f"estimate: {est.describe()}; {verdict}", highlight=False, soft_wrap=True)
        raise typer.Exit(0)
    reason = est.refusal()
    if reason and not force:
        raise InputError("", f"refused: {reason}; estimate: {est.describe()}. Shorten the horizon or lower the "
                             "rate, or add --force to run anyway")


def sweep_estimate(sc: Scenario, grid: dict[str, list[Any]] | None, points: int, replications: int,
                   workers: int) -> WorkEstimate:
    """The work of a sweep: the largest grid point's scenario (sampled points: the base scenario's) for every
    run, a cautious figure when the grid changes the traffic."""
    runs = max(1, points) * replications
    ests = [estimate_work(sc)]
    grid = grid or {}
    for combo in itertools.islice(itertools.product(*grid.values()), 10_000) if grid else ():
        try:
            ests.append(estimate_work(sc.with_overrides(dict(zip(grid, combo)))))
        except InputError:  # a bad point: the sweep's own check names it, with its context
            continue
    worst = max(ests, key=lambda e: (e.requests, e.attempts_max))
    return WorkEstimate(worst.requests, worst.attempts_max, runs, workers, worst.unknown)
