"""Core commands: run, schema, validate, presets, version."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from llmsim.cli.app import app, err, fail, out, parse_sets
from llmsim.cli.clock_option import AT_HELP, clock_label, clock_offset
from llmsim.cli.work_guard import DRY_RUN, FORCE, check_work
from llmsim.config.client_presets import _ALIASES, client_presets
from llmsim.config.loading import DEFAULT_SCENARIO, load_scenario, packaged_scenarios
from llmsim.config.scenario import Scenario
from llmsim.config.slo import merge_slo, parse_slo_option
from llmsim.config.work_estimate import estimate_work
from llmsim.core.atomic import check_writable
from llmsim.core.errors import InputError
from llmsim.core.units import UnitError, format_duration, parse_duration
from llmsim.core.version import __version__
from llmsim.viz.text_tables import fmt_metric, period_table, summary_table


def _load(source: Optional[str], sets: list[str]) -> Scenario:
    return load_scenario(source or DEFAULT_SCENARIO, parse_sets(sets))


@app.command()
def run(
    scenario: Optional[str] = typer.Argument(None, help="Scenario YAML file or packaged scenario name "
                                                        f"(default: {DEFAULT_SCENARIO})."),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Random seed (default: the scenario's)."),
    set_: list[str] = typer.Option([], "--set", help="Override a value: PATH=VALUE, e.g. client.retry.max_attempts=5."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Save the result (parquet + json) to this "
                                                                 "folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write an offline HTML report to this file."),
    keep: Optional[str] = typer.Option(None, "--keep", help="What to keep: all (every table, the default), requests "
                                                            "(no attempts table) or summary (no tables: metrics "
                                                            "streamed in bounded memory, quantiles within 0.5%)."),
    slo: list[str] = typer.Option([], "--slo", help="SLO target METRIC<=BOUND or METRIC>=BOUND, e.g. "
                                                    "'latency_p95<=10s' (repeatable; adds to the scenario's slo)."),
    at: Optional[str] = typer.Option(None, "--at", help=f"Measure from this time of the scenario's day: {AT_HELP}. "
                                     "The day before it runs as warm-up (traffic, capacity and contention follow "
                                     "the clock) and is excluded. Default: the scenario's start."),
    horizon: Optional[str] = typer.Option(None, "--horizon", help="How long to measure (from --at), e.g. 30m. "
                                          "Default: the rest of the scenario's horizon."),
    dry_run: bool = DRY_RUN,
    force: bool = FORCE,
) -> None:
    """Run one scenario and print its summary and pass/fail per SLO target.

    --at 08:30 measures from 08:30 of the scenario's day (the hours before are simulated as warm-up).
    Refused up front when its work estimate is beyond the limits (see --dry-run, --force)."""
    from llmsim.analysis.slo_eval import slo_table  # deferred: CLI start-up (pandas)
    from llmsim.analysis.spend_contracts import fmt_report_value, story_reports  # deferred: CLI start-up
    from llmsim.simulator import simulate  # deferred: CLI start-up

    try:
        sc = placed(_load(scenario, set_ + ([f"keep={keep}"] if keep else [])), at, horizon)
        targets = merge_slo(sc.targets(), [parse_slo_option(item) for item in slo])
        if report is not None and sc.keep in ("requests", "summary"):
            raise InputError("keep", f"--report needs every table; this run keeps {sc.keep}")
        _check_outputs(out_dir, report)
        check_work(estimate_work(sc), dry_run, force)
    except InputError as exc:
        fail(str(exc))
    with err.status(f"simulating {sc.name} ({sc.horizon / 3600:.3g} h)...", spinner="dots"):
        res = simulate(sc, seed)
    summary = res.summary()
    stories = story_reports(res) if res.attempts is not None else {}
    if out_dir is not None:
        res.save(out_dir)
    if report is not None:
        from llmsim.viz.report import write_report  # deferred: CLI start-up (altair)

        write_report(res, report, targets=targets)
    if as_json:
        doc = {"scenario": sc.name, "seed": res.seed, "summary": _nan_as_null(summary)}
        doc.update({k: _nan_as_null(rep) for k, rep in stories.items()})
        if targets:
            doc["slo"] = [{"target": r.target, "value": None if r.value != r.value else r.value, "met": bool(r.met)}
                          for r in slo_table(summary, targets).itertuples()]
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    ran = res.scenario  # as run: LLMSIM_HORIZON_CAP may have cut the horizon
    _print_tables(ran, res, summary, stories, fmt_report_value, since=ran.warmup if clock_offset(at) > 0 else 0.0)
    if targets:
        out.print(_slo_table(summary, targets))
    if out_dir is not None:
        out.print(f"saved to {out_dir}")
    if report is not None:
        out.print(f"report written to {report}")


def placed(sc: Scenario, at: Optional[str], horizon: Optional[str]) -> Scenario:
    """The scenario measured for ``horizon`` from ``at`` (``--at``, ``--horizon``): it runs from its time 0
    to at + horizon with the time before ``at`` as its warm-up, so the queue, the rate-limit buckets and
    the other tenants' share at ``at`` are what the day brought; without ``at``, only its horizon changes.

    >>> import llmsim
    >>> sc = placed(llmsim.load_scenario("tuesday"), "08:30", None)
    >>> sc.warmup / 3600, sc.horizon / 3600
    (8.5, 10.0)
    >>> placed(llmsim.load_scenario("tuesday"), "9h", "30m").horizon / 3600
    9.5
    """
    start = clock_offset(at)
    if horizon is not None:
        try:
            length = parse_duration(horizon)
        except UnitError as exc:
            raise InputError("--horizon", str(exc)) from None
        if length <= 0:
            raise InputError("--horizon", f"must be > 0, got {horizon!r}")
    elif start >= sc.horizon:
        raise InputError("--at", f"{at} is at or after the end of {sc.name}'s horizon ({format_duration(sc.horizon)}): "
                                 "give --horizon to say how long to measure")
    else:
        length = sc.horizon - start
    if start <= 0:
        return sc if horizon is None else sc.with_overrides({"horizon": length})
    return sc.with_overrides({"horizon": start + length, "warmup": start})


def _check_outputs(out_dir: Optional[Path], report: Optional[Path]) -> None:
    """The output folder and report file can be written: checked before any work starts."""
    if out_dir is not None:
        check_writable(out_dir, "--out", folder=True)
    if report is not None:
        check_writable(report, "--report")


def _slo_table(summary, targets) -> Table:
    """Pass/fail per SLO target."""
    from llmsim.analysis.slo_eval import slo_table  # deferred: CLI start-up (pandas)

    tab = slo_table(summary, targets)
    table = Table(title=f"SLO: {int(tab['met'].sum())} of {len(tab)} targets met", title_justify="left")
    for col, just in (("target", "left"), ("value", "right"), ("result", "left")):
        table.add_column(col, justify=just)
    for r in tab.itertuples():
        table.add_row(r.target, fmt_metric(r.metric, float(r.value)), "[green]pass[/]" if r.met else "[red]FAIL[/]")
    return table


_COUNTS = {"requests", "breaker_opens", "invalid_delivered", "collapsed", "metastable", "runaway_steps",
           "blocked_requests", "budget_exhaustions"}


def _nan_as_null(values) -> dict:
    """JSON-ready values: NaN -> null, counts as integers."""
    out = {}
    for k, v in values.items():
        if isinstance(v, float) and math.isnan(v):
            out[k] = None
        elif k in _COUNTS and isinstance(v, (int, float)) and float(v).is_integer():
            out[k] = int(v)
        else:
            out[k] = v
    return out


def _print_tables(sc: Scenario, res, summary, stories: dict, fmt, since: float = 0.0) -> None:
    """The summary, the metrics by period (from ``since``: ``--at``), each story report and, for spend, the
    cost by period."""
    n = (f"{len(res.requests):,} requests" if res.requests is not None
         else f"{summary['requests']:,.0f} measured requests")
    excluded = (f"measured from {clock_label(sc, since)} to {clock_label(sc, sc.horizon)}, the time before is "
                "warm-up" if since else f"warm-up {sc.warmup:g}s excluded")
    out.print(summary_table(summary, f"{sc.name} (seed {res.seed}): {n}, {excluded}"))
    if res.attempts is None:
        out.print(f"keep: {sc.keep}: no metrics by period (they need every table)")
        return
    ts = _print_periods(sc, res, since)
    for kind, rep in stories.items():
        out.print(_story_table(kind, rep, fmt))
    if "spend" in stories and ts is not None:  # where the money went, by the same periods
        daily = sc.horizon > 48 * 3600
        out.print(_cost_table(ts[ts.index < sc.horizon], _clock_label(sc.start_time(), "%a" if daily else "%H:%M")))


def _print_periods(sc: Scenario, res, since: float = 0.0):
    """Metrics by hour (or day) for runs measuring two hours or more, by 10 minutes from 20 minutes, the
    periods before ``since`` (``--at``) left out; the hourly (daily) table, or None."""
    start = sc.start_time()
    note = "" if start is not None else " (time since start)"
    span = sc.horizon - since
    if span >= 2 * 3600:
        freq = "1h" if span <= 48 * 3600 else "1d"
        ts = _from(res.timeseries(freq), since)
        label = _clock_label(start, "%a" if freq == "1d" else "%H:%M" if sc.horizon <= 86400 else "%a %H:%M")
        out.print(period_table(ts, f"By {'hour' if freq == '1h' else 'day'}{note}", label))
        return ts
    if span >= 20 * 60:
        label = _clock_label(start, "%H:%M" if sc.horizon <= 86400 else "%a %H:%M")
        out.print(period_table(_from(res.timeseries("10min"), since), f"By 10 minutes{note}", label))
    return None


def _from(ts, since: float):
    """The periods of a time series that end after ``since``."""
    if not since or len(ts) < 2:
        return ts
    width = float(ts.index[1] - ts.index[0])
    return ts[ts.index + width > since]


def _clock_label(start, fmt: str):
    """Period labels in clock time ('09:00', 'Tue'), or None (time since start) when the scenario has no start."""
    return None if start is None else (lambda t: start.at(t).strftime(fmt))


def _story_table(kind: str, rep, fmt) -> Table:
    """The spend or contract report as a two-column table."""
    table = Table(title=f"{kind} report (llmsim.analysis.spend_contracts.{kind}_report)", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in rep.items():
        table.add_row(str(name), fmt(str(name), float(value)))
    return table


@app.command()
def schema() -> None:
    """Print the JSON schema of scenario files (for editor autocompletion)."""
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")


@app.command()
def validate(files: list[str] = typer.Argument(..., help="Scenario files or packaged names.")) -> None:
    """Check scenario files without running them."""
    for f in files:
        try:
            sc = load_scenario(f)
        except InputError as exc:
            fail(str(exc))
        out.print(f"ok: {f} ({sc.name}: {len(sc.providers)} provider(s), horizon {sc.horizon:g}s)")


@app.command()
def presets() -> None:
    """List the packaged scenarios and the client policy presets (usable as `client: NAME`)."""
    table = Table("scenario", "about", title="Packaged scenarios (llmsim run NAME)", title_justify="left")
    for name, about in packaged_scenarios().items():
        table.add_row(name + (" (default)" if name == DEFAULT_SCENARIO else ""), about)
    out.print(table)
    table = Table("client preset", "mirrors", title="Client presets (client: NAME, --client X=NAME)",
                  title_justify="left")
    aliases: dict[str, list[str]] = {}
    for alias, target in _ALIASES.items():
        aliases.setdefault(target, []).append(alias)
    for name, about in client_presets().items():
        also = f" (also: {', '.join(aliases[name])})" if name in aliases else ""
        table.add_row(name + also, escape(about))
    out.print(table)


@app.command()
def version() -> None:
    """Print the llmsim version."""
    out.print(__version__)


def _cost_table(ts, label=None) -> Table:
    """Spend and blocked attempts per period (``label(t)`` names a period, as in ``period_table``)."""
    table = Table(title="Spend by period", title_justify="left")
    for col in ("from", "cost", "spend_blocked", "invalid"):
        table.add_column(col, justify="right", no_wrap=col == "from")
    for t, row in ts.iterrows():
        when = label(float(t)) if label else format_duration(float(t)) if t else "0s"
        table.add_row(when, fmt_metric("cost_total", row["cost"]),
                      f"{row['attempts_spend_blocked']:,.0f}", f"{row['attempts_invalid']:,.0f}")
    return table
