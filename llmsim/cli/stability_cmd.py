"""``llmsim stability SCENARIO``: where does each client policy turn a short trigger into a lasting outage?"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from llmsim.cli.app import app, err, fail, out, parse_sets
from llmsim.config.loading import load_scenario
from llmsim.core.errors import InputError


def _numbers(text: str, flag: str) -> list[float]:
    """``10,30,60`` (``s`` suffixes allowed) -> floats; InputError naming the flag otherwise."""
    try:
        return [float(x.strip().removesuffix("s")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError("", f"{flag} expects numbers separated by commas, got {text!r}") from None


def _clients(items: list[str]) -> dict[str, str]:
    clients: dict[str, str] = {}
    for item in items:
        name, spec = item.split("=", 1) if "=" in item else (item, item)
        if not name.strip() or not spec.strip():
            raise InputError("", f"--client expects NAME=FILE_OR_PRESET, got {item!r}")
        if name.strip() in clients:
            raise InputError("", f"--client: the name {name.strip()!r} is given twice")
        clients[name.strip()] = spec.strip()
    if not clients:
        raise InputError("", "give at least one --client NAME=FILE_OR_PRESET")
    return clients


def _cell(text: Optional[str], clients: dict[str, str]) -> Optional[tuple[str, float, float]]:
    """``--timeline CLIENT,DURATION,LOAD`` -> (client, duration, load)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or parts[0] not in clients:
        raise InputError("", f"--timeline expects CLIENT,DURATION,LOAD with a client of --client, got {text!r}")
    duration, load = _numbers(",".join(parts[1:]), "--timeline")
    return parts[0], duration, load


def _table(result) -> Table:
    t = Table(title="stability boundary (load multiplier where P(recover) crosses 1/2)")
    for col in ("client", "trigger (s)", "boundary", "+-", "P stable side", "P unstable side", "fluid"):
        t.add_column(col, justify="left" if col == "client" else "right")
    for _, b in result.boundaries().iterrows():
        where = f"{b['boundary']:.3g}"
        if b["unstable_load"] == float("inf"):
            where = f"> {b['stable_load']:.3g}"
        elif b["stable_load"] == float("-inf"):
            where = f"< {b['unstable_load']:.3g}"
        t.add_row(str(b["client"]), f"{b['duration']:g}", where, f"{b['uncertainty']:.2g}",
                  f"{b['p_stable']:.2f}", f"{b['p_unstable']:.2f}", f"{b['fluid']:.3g}")
    return t


@app.command()
def stability(
    scenario: str = typer.Argument(..., help="Scenario YAML file or packaged scenario name (Poisson arrivals)."),
    client: list[str] = typer.Option([], "--client", "-c", help="NAME=FILE_OR_PRESET (repeatable); a bare preset "
                                                                "name is its own name."),
    kind: str = typer.Option("dip", "--kind", help="Trigger: dip (capacity share left), slowdown (factor), errors "
                                                   "(5xx share) or burst (extra load)."),
    depth: float = typer.Option(0.5, "--depth", help="Trigger depth (see --kind)."),
    durations: str = typer.Option("10,30,60", "--durations", help="Trigger durations in seconds, comma-separated."),
    loads: str = typer.Option("0.5,0.75,1,1.25,1.5", "--loads", help="Coarse load multipliers, then bisection."),
    refine: int = typer.Option(3, "--refine", help="Bisection rounds per (client, duration) column."),
    replications: int = typer.Option(8, "--replications", "-r", help="Runs per cell (common random numbers)."),
    recover_within: float = typer.Option(120.0, "--within", help="Seconds after the trigger ends to recover in."),
    settle: float = typer.Option(60.0, "--settle", help="Seconds before the trigger starts."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Root seed (default: the scenario's)."),
    set_: list[str] = typer.Option([], "--set", help="Override a scenario value first: PATH=VALUE."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Worker processes (default: the cores)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask cluster: tcp://HOST:8786 (default: "
                                                                     "local worker processes)."),
    dask_local: bool = typer.Option(False, "--dask-local", help="Start a local Dask cluster of --workers."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for runs/cells/boundaries parquet."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write an offline HTML page to this file."),
    timeline: Optional[str] = typer.Option(None, "--timeline", help="CLIENT,DURATION,LOAD: the cell whose "
                                                                    "collapsed and recovered runs --report shows "
                                                                    "(default: the first client's longest duration "
                                                                    "at its boundary)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
) -> None:
    """Map recovery probability over load x trigger duration per client, with the stable/metastable boundary."""
    from llmsim.experiments.stability import stability as run_stability  # deferred: CLI start-up

    try:
        if scheduler and dask_local:
            raise InputError("", "give --scheduler or --dask-local, not both")
        cell = _cell(timeline, _clients(client))
        sc = load_scenario(scenario, parse_sets(set_))
        result = run_stability(sc, _clients(client), kind=kind, depth=depth,
                               durations=_numbers(durations, "--durations"), loads=_numbers(loads, "--loads"),
                               refine=refine, replications=replications, recover_within=recover_within,
                               settle=settle, seed=seed, workers=workers, scheduler=scheduler,
                               executor="dask" if (scheduler or dask_local) else None, out=out_dir,
                               progress=False if no_progress else "auto")
    except InputError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    out.print(_table(result))
    if out_dir is not None:
        out.print(f"saved to {out_dir} (runs.parquet, cells.parquet, boundaries.parquet, stability.json)")
    if report is not None:
        from llmsim.core.atomic import atomic_write_text  # deferred: only with --report
        from llmsim.viz.plots.stability_charts import stability_page  # deferred: CLI start-up (altair)

        atomic_write_text(report, stability_page(result, cell))
        out.print(f"report written to {report}")
