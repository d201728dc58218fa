"""Experiment commands: sweep, compare, tune (parallel on local processes or Dask, resumable)."""

from __future__ import annotations

import functools
import inspect
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from llmsim.cli.app import app, err, fail, out, parse_sets
from llmsim.cli.work_guard import DRY_RUN, FORCE, check_work, sweep_estimate
from llmsim.config.loading import load_scenario, read_yaml, resolve_client
from llmsim.config.scenario import Scenario
from llmsim.config.slo import merge_slo, parse_slo_option
from llmsim.core.atomic import check_writable
from llmsim.core.errors import InputError
from llmsim.results import SUMMARY_METRICS
from llmsim.viz.text_tables import fmt_metric

_SWEEP_METRICS = ["success_rate", "latency_p95", "attempts_per_request", "cost_total"]
_COMPARE_METRICS = ["success_rate", "latency_p50", "latency_p95", "latency_p99", "attempts_per_request",
                    "timeout_share", "overloaded_share", "rate_limited_share", "cost_total", "cost_per_success",
                    "wasted_cost", "goodput"]
_RANGE = re.compile(r"^\s*-?[0-9.]+(e-?[0-9]+)?\s*:\s*-?[0-9.]+(e-?[0-9]+)?\s*(:(log|int|log-int))?\s*$")
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*(.+?)\s*$")

# What the experiment commands share, declared once, in --help order: name -> (type, argument or option).
_SCENARIO = {"scenario": (str, typer.Argument(..., help="Scenario YAML file or packaged scenario name."))}
_RUN_OPTIONS: dict[str, tuple[Any, Any]] = {
    "replications": (Optional[str], typer.Option(None, "--replications", "-r",
                                                 help="Runs per point, seeds derived from --seed; 'auto' (or "
                                                      "auto:TARGET:MOST, e.g. auto:0.05:30) adds paired runs "
                                                      "until every interval is within TARGET of its scale or "
                                                      "clearly excludes zero. Default: auto for compare, 1 for "
                                                      "sweep.")),
    "keep": (Optional[str], typer.Option(None, "--keep", help="What each run keeps: summary (metrics streamed, "
                                                              "quantiles within 0.5%; the default of sweep and "
                                                              "tune) or all (every table, exact quantiles; the "
                                                              "default of compare).")),
    "seed": (Optional[int], typer.Option(None, "--seed", min=0, help="Root seed of the replications (default: the "
                                                              "scenario's).")),
    "set_": (list[str], typer.Option([], "--set", help="Override a scenario value first: PATH=VALUE.")),
    "workers": (Optional[int], typer.Option(None, "--workers", "-w", help="Worker processes (default: the cores; "
                                                                         "1 = no subprocesses).")),
    "scheduler": (Optional[str], typer.Option(None, "--scheduler", help="Run on an existing Dask cluster: "
                                                                        "tcp://HOST:8786 (default: local worker "
                                                                        "processes, see --workers).")),
    "dask_local": (bool, typer.Option(False, "--dask-local", help="Start a local Dask cluster of --workers "
                                                                  "processes.")),
    "out_dir": (Optional[Path], typer.Option(None, "--out", "-o", help="Folder for the runs (written as they "
                                                                       "finish), table.parquet, summary.csv.")),
    "resume": (bool, typer.Option(False, "--resume", help="Continue the experiment in --out, skipping finished "
                                                          "runs.")),
    "metric": (list[str], typer.Option([], "--metric", "-m", help="Metric to print (repeatable; default: a useful "
                                                                  "few).")),
    "no_progress": (bool, typer.Option(False, "--no-progress", help="No progress bar.")),
    "report": (Optional[Path], typer.Option(None, "--report", help="Also write an offline HTML report (table and "
                                                                   "charts) to this file.")),
    "dry_run": (bool, DRY_RUN),
    "force": (bool, FORCE),
    "slo": (list[str], typer.Option([], "--slo", help="SLO target METRIC<=BOUND or METRIC>=BOUND, e.g. "
                                                      "'latency_p95<=10s', 'success_rate>=99%' (repeatable; adds to "
                                                      "and overrides the scenario's slo).")),
}


@dataclass
class _RunOptions:
    """The shared options as one command received them (those it does not take keep their defaults)."""

    scenario: str = ""
    seed: Optional[int] = None
    set_: list[str] = field(default_factory=list)
    workers: Optional[int] = None
    scheduler: Optional[str] = None
    dask_local: bool = False
    out_dir: Optional[Path] = None
    resume: bool = False
    no_progress: bool = False
    replications: Optional[str] = None
    keep: Optional[str] = None
    metric: list[str] = field(default_factory=list)
    report: Optional[Path] = None
    dry_run: bool = False
    force: bool = False
    slo: list[str] = field(default_factory=list)

    def check_work(self, sc: Scenario, points: int, replications: int | str,
                   grid: Optional[dict[str, list]] = None) -> None:
        """Print the estimate (--dry-run) or refuse work beyond the limits (unless --force); ``-r auto``
        counts at its most."""
        from llmsim.experiments.adaptive import parse_replications  # deferred: CLI start-up

        try:
            plan = parse_replications(replications)
        except InputError as exc:
            raise InputError("--replications", exc.reason) from None
        count = plan if isinstance(plan, int) else plan.most
        est = sweep_estimate(sc, grid, points, count, self.workers or 1)
        check_work(est, self.dry_run, self.force)

    def targets(self, sc: Scenario) -> list:
        """The scenario's SLO targets with the --slo ones added (same metric and direction: --slo wins)."""
        return merge_slo(sc.targets(), [parse_slo_option(item) for item in self.slo])

    def load_scenario(self) -> Scenario:
        """The scenario with the --set overrides."""
        return load_scenario(self.scenario, parse_sets(self.set_ + ([f"keep={self.keep}"] if self.keep else [])))

    def executor(self) -> dict:
        """Where to run (checked after --resume has its --out)."""
        if self.resume and self.out_dir is None:
            raise InputError("", "--resume needs --out DIR (the folder of the experiment to continue)")
        if self.scheduler and self.dask_local:
            raise InputError("", "give --scheduler or --dask-local, not both")
        if self.workers is not None and self.workers < 1:
            raise InputError("workers", f"must be >= 1, got {self.workers}")
        if self.out_dir is not None:
            check_writable(self.out_dir, "--out", folder=True)
        if self.report is not None:
            check_writable(self.report, "--report")
        return {"workers": self.workers, "scheduler": self.scheduler,
                "executor": "dask" if (self.scheduler or self.dask_local) else None}

    def run(self, fn: Callable, executor: dict, **kwargs):
        """Call an experiment function: bad input -> one line, exit 2; Ctrl-C -> what was kept, exit 130."""
        from llmsim.experiments import ExperimentInterrupted  # deferred: CLI start-up

        try:
            return fn(**kwargs, out=self.out_dir, resume=self.resume, progress=_progress(self.no_progress),
                      **executor)
        except InputError as exc:
            fail(str(exc))
        except ExperimentInterrupted as exc:
            err.print(f"[yellow]{exc}[/]", highlight=False)
            raise typer.Exit(130) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    def saved(self, files: str) -> None:
        if self.out_dir is not None:
            out.print(f"saved to {self.out_dir} ({files})")


def _with_options(*names: str) -> Callable[[Callable], Callable]:
    """Give a command the scenario argument, then its own parameters, then the shared options ``names``;
    it receives the scenario and those options as ``opts: _RunOptions`` (typer reads the parameters
    from the signature made here)."""
    shared = {**_SCENARIO, **{n: _RUN_OPTIONS[n] for n in names}}

    def add(command: Callable) -> Callable:
        own = [p for p in inspect.signature(command).parameters.values() if p.name != "opts"]
        params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default, annotation=kind)
                  for n, (kind, default) in shared.items()]

        @functools.wraps(command)
        def with_options(**kwargs):
            opts = _RunOptions(**{n: kwargs.pop(n) for n in shared})
            return command(**kwargs, opts=opts)

        with_options.__signature__ = inspect.Signature(params[:1] + own + params[1:])
        with_options.__annotations__ = {**{k: v for k, v in command.__annotations__.items() if k != "opts"},
                                        **{n: kind for n, (kind, _) in shared.items()}}
        return with_options

    return add


@contextmanager
def _bad_input_exits() -> Iterator[None]:
    """Bad input inside the block: one line, exit 2."""
    try:
        yield
    except InputError as exc:
        fail(str(exc))


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


def _sweep_cells(row: dict, params: list[str], metrics: list[str], errors: int) -> list[str]:
    """One point's cells: parameters, mean ± CI of each metric, and its errors when any run failed."""
    cells = [_cell(row[p]) for p in params]
    cells += [_pm(m, row[f"{m}_mean"], row[f"{m}_ci"]) for m in metrics]
    return cells + [str(row["errors"])] if errors else cells


def _sweep_table(sw, metrics: list[str]) -> Table:
    """The sweep's points (the first 60): parameters, then mean ± CI half-width of each metric."""
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
        table.add_row(*_sweep_cells(row, sw.params, metrics, errors))
    if len(summ) > 60:
        table.caption = f"first 60 of {len(summ)} points; all in summary.csv"
    return table


@app.command()
@_with_options(*_RUN_OPTIONS)  # all of them
def sweep(
    grid: list[str] = typer.Option([], "--grid", "-g", help="PATH=V1,V2,... (repeatable; all combinations). "
                                                            "Values are YAML: 5, 30s, null, \\[a, b]."),
    sample: list[str] = typer.Option([], "--sample", help="PATH=LO:HI[:log|int] to sample (repeatable)."),
    samples: int = typer.Option(16, "--samples", help="How many points to sample over the --sample ranges."),
    method: str = typer.Option("lhs", "--method", help="Sampling: lhs (Latin hypercube) or random."),
    *, opts: _RunOptions,
) -> None:
    """Run a scenario over a grid (or samples) of parameter values, replicated, in parallel."""
    from llmsim.experiments import sweep as run_sweep  # deferred: CLI start-up

    with _bad_input_exits():
        sc = opts.load_scenario()
        space = _parse_params(grid, "--grid", ranges=False)
        ranges = {path: value.strip() for path, value in (_split(item, "--sample") for item in sample)}
        if not space and not ranges:
            raise InputError("", "give at least one --grid PATH=V1,V2,... (or --sample PATH=LO:HI)")
        metrics = _check_metrics(opts.metric) or _SWEEP_METRICS
        targets = opts.targets(sc)
        executor = opts.executor()
        opts.check_work(sc, math.prod(len(v) for v in space.values()) if space else samples,
                        opts.replications or 1, space)
    sw = opts.run(run_sweep, executor, scenario=sc, grid=space or None, samples=ranges or None, n_samples=samples,
                  method=method, replications=opts.replications or 1, seed=opts.seed)
    out.print(_sweep_table(sw, metrics))
    _print_adaptive(sw.adaptive, "point's mean")
    _print_verdict(sw, targets)
    if len(sw.failures):
        err.print(f"[yellow]{len(sw.failures)} run(s) failed[/]; first: {sw.failures['error'].iloc[0]}",
                  highlight=False)
    opts.saved("table.parquet, summary.csv")
    _write_report(sw, opts.report, targets)


def _compare_tables(cmp, metrics: list[str]) -> tuple[Table, Table]:
    return _means_table(cmp, metrics), _differences_table(cmp, metrics)


def _means_table(cmp, metrics: list[str]) -> Table:
    """Each client's mean ± CI of each metric, and the winner where one is significantly better."""
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
        means.add_row(m, *cells, _verdict(win.loc[m]) if m in win.index else "-")
    return means


def _verdict(w) -> str:
    return f"[bold green]{w['winner']}[/]" if w["significant"] else "tie"


def _differences_table(cmp, metrics: list[str]) -> Table:
    """Each client's paired difference from the baseline (significant ones coloured), and the unpaired CI."""
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
            colour = _VERDICT_COLOURS.get(row["verdict"])
            cells += [f"[{colour}]{text} *[/]" if colour else text, "± " + fmt_metric(m, row["unpaired_ci"])]
        deltas.add_row(m, *cells)
    return deltas


_VERDICT_COLOURS = {"better": "green", "worse": "red"}


@app.command()
@_with_options(*_RUN_OPTIONS)  # all of them
def compare(
    client: list[str] = typer.Option([], "--client", "-c", help="NAME=FILE_OR_PRESET (repeatable, at least two); "
                                                                "a bare preset name is its own name."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Client to compare against (default: first)."),
    *, opts: _RunOptions,
) -> None:
    """Compare client policies on the same traffic (common random numbers): who wins, by how much, how sure."""
    from llmsim.experiments import compare as run_compare  # deferred: CLI start-up

    with _bad_input_exits():
        sc = opts.load_scenario()
        clients = _clients(client)
        metrics = _check_metrics(opts.metric) or _COMPARE_METRICS
        targets = opts.targets(sc)
        executor = opts.executor()
        opts.check_work(sc, len(clients), opts.replications or "auto")
    cmp = opts.run(run_compare, executor, scenario=sc, clients=clients, baseline=baseline,
                   replications=opts.replications or "auto", seed=opts.seed, metrics=metrics)
    _print_verdict(cmp, targets)
    for table in _compare_tables(cmp, metrics):
        out.print(table)
    _print_adaptive(cmp.sweep.adaptive, "difference")
    opts.saved("table.parquet, summary.csv, differences.csv, winners.csv")
    _write_report(cmp, opts.report, targets)


def _print_adaptive(adaptive: Optional[dict], what: str) -> None:
    """How many replications ``-r auto`` needed, and whether every interval settled."""
    if not adaptive:
        return
    target = f"{adaptive['target']:.0%}" if adaptive["target"] >= 0.01 else f"{adaptive['target']:g}"
    if adaptive["settled"]:
        out.print(f"-r auto: {adaptive['replications']} replications: every {what}'s {adaptive['confidence']:.0%} "
                  f"interval is within {target}" + (" or clearly excludes zero" if what == "difference" else ""))
    else:
        limit = "the budget" if adaptive.get("stopped") == "budget" else "the most"
        out.print(f"[yellow]-r auto: stopped at {limit}, {adaptive['replications']} replications; some {what} "
                  f"intervals are still wider than {target}[/]")


def _clients(items: list[str]) -> dict[str, Any]:
    """``--client`` NAME=FILE_OR_PRESET (or a bare preset name) -> name -> client config; at least two."""
    clients: dict[str, Any] = {}
    for item in items:
        name, spec = item.split("=", 1) if "=" in item else (item, item)
        name, spec = name.strip(), spec.strip()
        if not name or not spec:
            raise InputError("", f"--client expects NAME=FILE_OR_PRESET, got {item!r}")
        if name in clients:
            raise InputError("", f"--client: the name {name!r} is given twice")
        clients[name] = resolve_client(spec, source=f"--client {name}")
    if len(clients) < 2:
        raise InputError("", "give at least two --client NAME=FILE_OR_PRESET")
    return clients


def _print_verdict(result, targets: list) -> None:
    """The verdict of a comparison or sweep: the candidate to deploy, its cost per month, how sure."""
    from llmsim.viz.verdict import compare_verdict, sweep_verdict  # deferred: CLI start-up (pandas, scipy)

    v = compare_verdict(result, targets) if hasattr(result, "clients") else sweep_verdict(result, targets)
    lines = v.lines()
    out.print(f"[bold]{lines[0]}[/]", highlight=False)
    for line in lines[1:]:
        out.print(line, highlight=False, markup=False)


def _write_report(result, path: Optional[Path], targets: list = ()) -> None:
    if path is not None:
        from llmsim.viz.report import write_experiment_report  # deferred: CLI start-up (altair)

        out.print(f"report written to {write_experiment_report(result, path, targets=targets)}")


@app.command()
@_with_options("replications", "keep", "seed", "set_", "workers", "scheduler", "dask_local", "out_dir", "resume",
               "no_progress", "dry_run", "force", "slo")
def tune(
    param: list[str] = typer.Option([], "--param", "-p", help="PATH=V1,V2,... or PATH=LO:HI[:log|int] "
                                                              "(repeatable): the search space."),
    objective: str = typer.Option("cost_total", "--objective", help="Metric to optimise (minimised unless higher "
                                                                    "is better, e.g. success_rate)."),
    constraint: list[str] = typer.Option([], "--constraint", "-C", help="METRIC<=BOUND or METRIC>=BOUND, "
                                                                        "e.g. 'latency_p95<=10s' (repeatable)."),
    budget: int = typer.Option(64, "--budget", help="Most simulation runs to spend."),
    *, opts: _RunOptions,
) -> None:
    """Find the best policy meeting the constraints (successive halving over paired replications)."""
    from llmsim.experiments import tune as run_tune  # deferred: CLI start-up

    with _bad_input_exits():
        sc = opts.load_scenario()
        space = _parse_params(param, "--param", ranges=True)
        if not space:
            raise InputError("", "give at least one --param PATH=V1,V2,... or PATH=LO:HI")
        _check_metrics([objective], "--objective")
        cons = {**{t.metric: f"{t.op} {t.bound!r}" for t in opts.targets(sc)}, **_constraints(constraint)}
        executor = opts.executor()
        opts.check_work(sc, budget, 1)
    res = opts.run(run_tune, executor, scenario=sc, space=space, objective=objective, constraints=cons,
                   budget=budget, seed=opts.seed, replications=opts.replications)
    out.print(_tune_table(res, list(space)))
    out.print(_best_line(res.best, list(space), objective), highlight=False)
    _print_adaptive(res.adaptive, "difference")
    opts.saved("table.parquet, candidates.csv, frontier.csv, best.json")


def _constraints(items: list[str]) -> dict[str, str]:
    """``--constraint`` METRIC<=BOUND items -> metric -> "<= BOUND"."""
    cons = {}
    for item in items:
        m = _CONSTRAINT.match(item)
        if not m:
            raise InputError("", f"--constraint expects METRIC<=BOUND or METRIC>=BOUND, got {item!r}")
        _check_metrics([m.group(1)], "--constraint")
        cons[m.group(1)] = f"{m.group(2)} {m.group(3)}"
    return cons


def _best_line(best, params: list[str], objective: str) -> str:
    shown = ", ".join(f"{p}={best[p]}" for p in params)
    status = "meets the constraints" if best["feasible"] else "[red]no candidate meets the constraints[/]; closest"
    sure = "" if not best["feasible"] else (" (also at the 95% CI bound)" if best["confident"] else
                                            " (on the mean; not at the 95% CI bound: add budget)")
    return (f"best: {shown}: {objective} {_pm(objective, best[f'{objective}_mean'], best[f'{objective}_ci'])}, "
            f"{status}{sure}, {int(best['replications'])} replications")


def _tune_table(res, params: list[str]) -> Table:
    """The 20 best candidates: rank (* on the frontier), parameters, replications, metrics, feasibility."""
    metrics = [res.objective] + [c.metric for c in res.constraints if c.metric != res.objective]
    table = _tune_columns(res, params, metrics)
    front = set(res.frontier["candidate"])
    cand = res.candidates
    for i in range(min(len(cand), 20)):
        row = {c: cand[c].iloc[i] for c in cand.columns}
        table.add_row(f"{row['rank']}{'*' if row['candidate'] in front else ''}", *[_cell(row[p]) for p in params],
                      str(row["replications"]), *[_pm(m, row[f"{m}_mean"], row[f"{m}_ci"]) for m in metrics],
                      "yes" if row["feasible"] else "[red]no[/]", _verdict_cell(row.get("verdict", "")))
    return table


def _verdict_cell(verdict: str) -> str:
    """The constraints' one-sided 95 % verdict, coloured: met green, likely/uncertain yellow, missed red."""
    colour = {"met": "green", "likely": "yellow", "uncertain": "yellow", "missed": "red"}.get(verdict)
    return f"[{colour}]{verdict}[/]" if colour else str(verdict)


def _tune_columns(res, params: list[str], metrics: list[str]) -> Table:
    """The empty candidates table, titled with the constraints."""
    cons = ", ".join(str(c) for c in res.constraints) or "none"
    table = Table(title=f"Candidates by rank (constraints: {cons}); * = on the frontier", title_justify="left")
    table.add_column("#", justify="right")
    for p in params:
        table.add_column(_short(p))
    table.add_column("reps", justify="right")
    for m in metrics:
        table.add_column(m, justify="right")
    table.add_column("feasible (mean)")
    table.add_column("at 95 % (t)")
    return table


def _progress(off: bool):
    """No bar with --no-progress; else a bar only where someone watches it (a terminal or a notebook), so
    output piped to a file or a CI log carries none."""
    return False if off else "auto"
