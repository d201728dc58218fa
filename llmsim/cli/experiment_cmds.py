"""Experiment commands: sweep, compare, tune (parallel on local processes or Dask, resumable)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from llmsim.cli.app import app, err, fail, out, parse_sets
from llmsim.config.loading import load_scenario, read_yaml
from llmsim.core.errors import InputError
from llmsim.results import SUMMARY_METRICS
from llmsim.viz.text_tables import fmt_metric

_SWEEP_METRICS = ["success_rate", "latency_p95", "attempts_per_request", "cost_total"]
_COMPARE_METRICS = ["success_rate", "latency_p50", "latency_p95", "latency_p99", "attempts_per_request",
                    "timeout_share", "overloaded_share", "rate_limited_share", "cost_total", "cost_per_success",
                    "wasted_cost", "goodput"]
_RANGE = re.compile(r"^\s*-?[0-9.]+(e-?[0-9]+)?\s*:\s*-?[0-9.]+(e-?[0-9]+)?\s*(:(log|int|log-int))?\s*$")
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*(.+?)\s*$")

# shared options
_REPS = typer.Option(None, "--replications", "-r", help="Runs per point, seeds derived from --seed.")
_SEED = typer.Option(None, "--seed", help="Root seed of the replications (default: the scenario's).")
_SET = typer.Option([], "--set", help="Override a scenario value first: PATH=VALUE.")
_WORKERS = typer.Option(None, "--workers", "-w", help="Worker processes (default: the cores; 1 = no subprocesses).")
_SCHED = typer.Option(None, "--scheduler", help="Run on an existing Dask cluster: tcp://HOST:8786.")
_DASK_LOCAL = typer.Option(False, "--dask-local", help="Start a local Dask cluster of --workers processes.")
_OUT = typer.Option(None, "--out", "-o", help="Folder for the runs (written as they finish), table.parquet, "
                                              "summary.csv.")
_RESUME = typer.Option(False, "--resume", help="Continue the experiment in --out, skipping finished runs.")
_METRIC = typer.Option([], "--metric", "-m", help="Metric to print (repeatable; default: a useful few).")
_NO_PROGRESS = typer.Option(False, "--no-progress", help="No progress bar.")
_REPORT = typer.Option(None, "--report", help="Also write an offline HTML report (table and charts) to this file.")


def _value_list(path: str, text: str, flag: str) -> list:
    text = text.strip()
    if text.startswith("["):
        values = read_yaml(text, f"{flag} {path}")
        if not isinstance(values, list):
            raise InputError(path, f"{flag} expects a list like [a, b], got {text!r}")
    else:
        values = [read_yaml(v.strip(), f"{flag} {path}") for v in text.split(",")]
    if not values or any(v == "" for v in values):
        raise InputError(path, f"{flag} expects PATH=V1,V2,..., got {path}={text}")
    return values


def _split(item: str, flag: str) -> tuple[str, str]:
    if "=" not in item:
        raise InputError("", f"{flag} expects PATH=VALUES, got {item!r}")
    path, value = item.split("=", 1)
    path = path.strip()
    if not path or not value.strip():
        raise InputError(path, f"{flag} expects PATH=VALUES, got {item!r}")
    return path, value


def _parse_params(items: list[str], flag: str, ranges: bool) -> dict[str, Any]:
    """``--grid``/``--param`` items: PATH=V1,V2,... (values read as YAML), or PATH=LO:HI[:log] when ``ranges``."""
    space: dict[str, Any] = {}
    for item in items:
        path, value = _split(item, flag)
        if path in space:
            raise InputError(path, f"given twice with {flag}")
        space[path] = value.strip() if ranges and _RANGE.match(value) else _value_list(path, value, flag)
    return space


def _check_metrics(names: list[str], flag: str = "--metric") -> list[str]:
    for m in names:
        if m not in SUMMARY_METRICS:
            raise InputError("", f"{flag}: unknown metric {m!r} (metrics: {', '.join(SUMMARY_METRICS)})")
    return names


def _executor_args(workers: Optional[int], scheduler: Optional[str], dask_local: bool) -> dict:
    if scheduler and dask_local:
        raise InputError("", "give --scheduler or --dask-local, not both")
    if workers is not None and workers < 1:
        raise InputError("workers", f"must be >= 1, got {workers}")
    return {"workers": workers, "scheduler": scheduler, "executor": "dask" if (scheduler or dask_local) else None}


def _check_out(out_dir: Optional[Path], resume: bool) -> None:
    if resume and out_dir is None:
        raise InputError("", "--resume needs --out DIR (the folder of the experiment to continue)")


def _short(path: str) -> str:
    """A column header for a dotted path: its last part."""
    return path.split(".")[-1]


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "null"
    return str(value)


def _pm(metric: str, mean: float, half: float) -> str:
    text = fmt_metric(metric, mean)
    if half == half and half is not None and not math.isnan(mean):
        text += f" ± {fmt_metric(metric, half)}"
    return text


def _delta(metric: str, diff: float, half: float) -> str:
    if diff != diff:
        return "-"
    sign = "+" if diff > 0 else "-" if diff < 0 else ""
    text = f"{sign}{fmt_metric(metric, abs(diff))}"
    if half == half:
        text += f" ± {fmt_metric(metric, half)}"
    return text


def _run(fn, **kwargs):
    """Call an experiment function: bad input -> one line, exit 2; Ctrl-C -> what was kept, exit 130."""
    from llmsim.experiments import ExperimentInterrupted

    try:
        return fn(**kwargs)
    except InputError as exc:
        fail(str(exc))
    except ExperimentInterrupted as exc:
        err.print(f"[yellow]{exc}[/]", highlight=False)
        raise typer.Exit(130) from None
    except KeyboardInterrupt:
        err.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None


def _sweep_table(sw, metrics: list[str]) -> Table:
    summ = sw.summary(metrics)
    table = Table(title=f"{len(summ)} points x {sw.meta.get('replications', '?')} replications "
                        "(mean ± 95% CI half-width)", title_justify="left")
    for p in sw.params:
        table.add_column(_short(p), no_wrap=True)
    for m in metrics:
        table.add_column(m, justify="right", overflow="fold")
    errors = int(summ["errors"].sum())
    if errors:
        table.add_column("errors", justify="right")
    for i in range(min(len(summ), 60)):
        row = {c: summ[c].iloc[i] for c in summ.columns}  # per column, so int parameters stay ints
        cells = [_cell(row[p]) for p in sw.params]
        cells += [_pm(m, row[f"{m}_mean"], row[f"{m}_ci"]) for m in metrics]
        if errors:
            cells.append(str(row["errors"]))
        table.add_row(*cells)
    if len(summ) > 60:
        table.caption = f"first 60 of {len(summ)} points; all in summary.csv"
    return table


@app.command()
def sweep(
    scenario: str = typer.Argument(..., help="Scenario YAML file or packaged scenario name."),
    grid: list[str] = typer.Option([], "--grid", "-g", help="PATH=V1,V2,... (repeatable; all combinations). "
                                                            "Values are YAML: 5, 30s, null, [a, b]."),
    sample: list[str] = typer.Option([], "--sample", help="PATH=LO:HI[:log|int] to sample (repeatable)."),
    samples: int = typer.Option(16, "--samples", help="How many points to sample over the --sample ranges."),
    method: str = typer.Option("lhs", "--method", help="Sampling: lhs (Latin hypercube) or random."),
    replications: Optional[int] = _REPS, seed: Optional[int] = _SEED, set_: list[str] = _SET,
    workers: Optional[int] = _WORKERS, scheduler: Optional[str] = _SCHED, dask_local: bool = _DASK_LOCAL,
    out_dir: Optional[Path] = _OUT, resume: bool = _RESUME, metric: list[str] = _METRIC,
    no_progress: bool = _NO_PROGRESS, report: Optional[Path] = _REPORT,
) -> None:
    """Run a scenario over a grid (or samples) of parameter values, replicated, in parallel."""
    from llmsim.experiments import sweep as run_sweep

    try:
        sc = load_scenario(scenario, parse_sets(set_))
        space = _parse_params(grid, "--grid", ranges=False)
        ranges = {}
        for item in sample:
            path, value = _split(item, "--sample")
            ranges[path] = value.strip()
        if not space and not ranges:
            raise InputError("", "give at least one --grid PATH=V1,V2,... (or --sample PATH=LO:HI)")
        metrics = _check_metrics(metric) or _SWEEP_METRICS
        _check_out(out_dir, resume)
        kwargs = _executor_args(workers, scheduler, dask_local)
    except InputError as exc:
        fail(str(exc))
    sw = _run(run_sweep, scenario=sc, grid=space or None, samples=ranges or None, n_samples=samples, method=method,
              replications=replications or 1, seed=seed, out=out_dir, resume=resume,
              progress=not no_progress, **kwargs)
    out.print(_sweep_table(sw, metrics))
    if len(sw.failures):
        err.print(f"[yellow]{len(sw.failures)} run(s) failed[/]; first: {sw.failures['error'].iloc[0]}",
                  highlight=False)
    if out_dir is not None:
        out.print(f"saved to {out_dir} (table.parquet, summary.csv)")
    _write_report(sw, report)


def _compare_tables(cmp, metrics: list[str]) -> tuple[Table, Table]:
    summ = cmp.summary(metrics)
    win = cmp.winners(metrics).set_index("metric")
    n = int(summ["runs"].max())
    means = Table(title=f"{len(cmp.clients)} clients x {n} replications, same workload and provider draws "
                        "(mean ± 95% CI)", title_justify="left")
    means.add_column("metric")
    for c in cmp.clients:
        means.add_column(c + (" (baseline)" if c == cmp.baseline else ""), justify="right")
    means.add_column("winner")
    for m in metrics:
        cells = [_pm(m, summ.loc[c, f"{m}_mean"], summ.loc[c, f"{m}_ci"]) for c in cmp.clients]
        if m in win.index:
            w = win.loc[m]
            verdict = f"[bold green]{w['winner']}[/]" if w["significant"] else "tie"
        else:
            verdict = "-"
        means.add_row(m, *cells, verdict)
    diff = cmp.differences(metrics)
    deltas = Table(title=f"Paired differences vs {cmp.baseline} (client - baseline, 95% CI; * = significant, "
                         "p < 0.05)", title_justify="left")
    deltas.add_column("metric")
    others = [c for c in cmp.clients if c != cmp.baseline]
    for c in others:
        deltas.add_column(c, justify="right")
        deltas.add_column("unpaired CI", justify="right", style="dim")
    for m in metrics:
        cells = []
        for c in others:
            row = diff[(diff["client"] == c) & (diff["metric"] == m)].iloc[0]
            text = _delta(m, row["diff"], row["ci"])
            if row["verdict"] == "better":
                text = f"[green]{text} *[/]"
            elif row["verdict"] == "worse":
                text = f"[red]{text} *[/]"
            cells += [text, "± " + fmt_metric(m, row["unpaired_ci"])]
        deltas.add_row(m, *cells)
    return means, deltas


@app.command()
def compare(
    scenario: str = typer.Argument(..., help="Scenario YAML file or packaged scenario name."),
    client: list[str] = typer.Option([], "--client", "-c", help="NAME=FILE_OR_PRESET (repeatable, at least two); "
                                                                "a bare preset name is its own name."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Client to compare against (default: first)."),
    replications: Optional[int] = _REPS, seed: Optional[int] = _SEED, set_: list[str] = _SET,
    workers: Optional[int] = _WORKERS, scheduler: Optional[str] = _SCHED, dask_local: bool = _DASK_LOCAL,
    out_dir: Optional[Path] = _OUT, resume: bool = _RESUME, metric: list[str] = _METRIC,
    no_progress: bool = _NO_PROGRESS, report: Optional[Path] = _REPORT,
) -> None:
    """Compare client policies on the same traffic (common random numbers): who wins, by how much, how sure."""
    from llmsim.config.loading import resolve_client
    from llmsim.experiments import compare as run_compare

    try:
        sc = load_scenario(scenario, parse_sets(set_))
        clients: dict[str, Any] = {}
        for item in client:
            name, spec = item.split("=", 1) if "=" in item else (item, item)
            name, spec = name.strip(), spec.strip()
            if not name or not spec:
                raise InputError("", f"--client expects NAME=FILE_OR_PRESET, got {item!r}")
            if name in clients:
                raise InputError("", f"--client: the name {name!r} is given twice")
            clients[name] = resolve_client(spec, source=f"--client {name}")
        if len(clients) < 2:
            raise InputError("", "give at least two --client NAME=FILE_OR_PRESET")
        metrics = _check_metrics(metric) or _COMPARE_METRICS
        _check_out(out_dir, resume)
        kwargs = _executor_args(workers, scheduler, dask_local)
    except InputError as exc:
        fail(str(exc))
    cmp = _run(run_compare, scenario=sc, clients=clients, baseline=baseline, replications=replications or 10,
               seed=seed, out=out_dir, resume=resume, progress=not no_progress, **kwargs)
    for table in _compare_tables(cmp, metrics):
        out.print(table)
    if out_dir is not None:
        out.print(f"saved to {out_dir} (table.parquet, summary.csv, differences.csv, winners.csv)")
    _write_report(cmp, report)


def _write_report(result, path: Optional[Path]) -> None:
    if path is not None:
        from llmsim.viz.report import write_experiment_report

        out.print(f"report written to {write_experiment_report(result, path)}")


@app.command()
def tune(
    scenario: str = typer.Argument(..., help="Scenario YAML file or packaged scenario name."),
    param: list[str] = typer.Option([], "--param", "-p", help="PATH=V1,V2,... or PATH=LO:HI[:log|int] "
                                                              "(repeatable): the search space."),
    objective: str = typer.Option("cost_total", "--objective", help="Metric to optimise (minimised unless higher "
                                                                    "is better, e.g. success_rate)."),
    constraint: list[str] = typer.Option([], "--constraint", "-C", help="METRIC<=BOUND or METRIC>=BOUND, "
                                                                        "e.g. 'latency_p95<=10s' (repeatable)."),
    budget: int = typer.Option(64, "--budget", help="Most simulation runs to spend."),
    seed: Optional[int] = _SEED, set_: list[str] = _SET,
    workers: Optional[int] = _WORKERS, scheduler: Optional[str] = _SCHED, dask_local: bool = _DASK_LOCAL,
    out_dir: Optional[Path] = _OUT, resume: bool = _RESUME, no_progress: bool = _NO_PROGRESS,
) -> None:
    """Find the best policy meeting the constraints (successive halving over paired replications)."""
    from llmsim.experiments import tune as run_tune

    try:
        sc = load_scenario(scenario, parse_sets(set_))
        space = _parse_params(param, "--param", ranges=True)
        if not space:
            raise InputError("", "give at least one --param PATH=V1,V2,... or PATH=LO:HI")
        _check_metrics([objective], "--objective")
        cons = {}
        for item in constraint:
            m = _CONSTRAINT.match(item)
            if not m:
                raise InputError("", f"--constraint expects METRIC<=BOUND or METRIC>=BOUND, got {item!r}")
            _check_metrics([m.group(1)], "--constraint")
            cons[m.group(1)] = f"{m.group(2)} {m.group(3)}"
        _check_out(out_dir, resume)
        kwargs = _executor_args(workers, scheduler, dask_local)
    except InputError as exc:
        fail(str(exc))
    res = _run(run_tune, scenario=sc, space=space, objective=objective, constraints=cons, budget=budget, seed=seed,
               out=out_dir, resume=resume, progress=not no_progress, **kwargs)
    out.print(_tune_table(res, list(space)))
    best = res.best
    shown = ", ".join(f"{p}={best[p]}" for p in space)
    status = "meets the constraints" if best["feasible"] else "[red]no candidate meets the constraints[/]; closest"
    sure = "" if not best["feasible"] else (" (also at the 95% CI bound)" if best["confident"] else
                                            " (on the mean; not at the 95% CI bound: add budget)")
    out.print(f"best: {shown}: {objective} {_pm(objective, best[f'{objective}_mean'], best[f'{objective}_ci'])}, "
              f"{status}{sure}, {int(best['replications'])} replications", highlight=False)
    if out_dir is not None:
        out.print(f"saved to {out_dir} (table.parquet, candidates.csv, frontier.csv, best.json)")


def _tune_table(res, params: list[str]) -> Table:
    metrics = [res.objective] + [c.metric for c in res.constraints if c.metric != res.objective]
    cons = ", ".join(str(c) for c in res.constraints) or "none"
    table = Table(title=f"Candidates by rank (constraints: {cons}); * = on the frontier", title_justify="left")
    table.add_column("#", justify="right")
    for p in params:
        table.add_column(_short(p))
    table.add_column("reps", justify="right")
    for m in metrics:
        table.add_column(m, justify="right")
    table.add_column("feasible")
    front = set(res.frontier["candidate"])
    cand = res.candidates
    for i in range(min(len(cand), 20)):
        row = {c: cand[c].iloc[i] for c in cand.columns}
        table.add_row(f"{row['rank']}{'*' if row['candidate'] in front else ''}", *[_cell(row[p]) for p in params],
                      str(row["replications"]), *[_pm(m, row[f"{m}_mean"], row[f"{m}_ci"]) for m in metrics],
                      "yes" if row["feasible"] else "[red]no[/]")
    return table
