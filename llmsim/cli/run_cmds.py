"""Core commands: run, schema, validate, presets, version."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import typer

from llmsim.cli.app import app, err, fail, out, parse_sets
from llmsim.config.loading import DEFAULT_SCENARIO, load_scenario, packaged_scenarios
from llmsim.config.scenario import Scenario
from llmsim.core.errors import InputError
from llmsim.core.version import __version__


def _load(source: Optional[str], sets: list[str]) -> Scenario:
    return load_scenario(source or DEFAULT_SCENARIO, parse_sets(sets))


@app.command()
def run(
    scenario: Optional[str] = typer.Argument(None, help="Scenario YAML file or packaged scenario name "
                                                        f"(default: {DEFAULT_SCENARIO})."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (default: the scenario's)."),
    set_: list[str] = typer.Option([], "--set", help="Override a value: PATH=VALUE, e.g. client.retry.max_attempts=5."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Save the result (parquet + json) to this folder."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write an offline HTML report to this file."),
) -> None:
    """Run one scenario and print its summary."""
    from llmsim.simulate import simulate
    from llmsim.viz.text_tables import period_table, summary_table

    try:
        sc = _load(scenario, set_)
    except InputError as exc:
        fail(str(exc))
    with err.status(f"simulating {sc.name} ({sc.horizon / 3600:.3g} h)...", spinner="dots"):
        res = simulate(sc, seed)
    summary = res.summary()
    from llmsim.analysis.spend_contracts import fmt_report_value, story_reports

    stories = story_reports(res)
    if out_dir is not None:
        res.save(out_dir)
    if report is not None:
        from llmsim.viz.report import write_report

        write_report(res, report)
    if as_json:
        data = {k: (None if math.isnan(v) else v) for k, v in summary.items()}
        doc = {"scenario": sc.name, "seed": res.seed, "summary": data}
        doc.update({k: {m: (None if math.isnan(v) else v) for m, v in rep.items()} for k, rep in stories.items()})
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    out.print(summary_table(summary, f"{sc.name} (seed {res.seed}): {len(res.requests):,} requests, "
                                     f"warm-up {sc.warmup:g}s excluded"))
    ts = None
    if sc.horizon >= 2 * 3600:
        freq = "1h" if sc.horizon <= 48 * 3600 else "1d"
        ts = res.timeseries(freq)
        out.print(period_table(ts, f"By {freq[1:] if freq != '1h' else 'hour'} (time 0 = start)"))
    elif sc.horizon >= 20 * 60:
        out.print(period_table(res.timeseries("10min"), "By 10 minutes"))
    for kind, rep in stories.items():  # [agents]
        out.print(_story_table(kind, rep, fmt_report_value))
    if "spend" in stories and ts is not None:  # [agents] where the money went, by the same periods
        out.print(_cost_table(ts[ts.index < sc.horizon]))
    if out_dir is not None:
        out.print(f"saved to {out_dir}")
    if report is not None:
        out.print(f"report written to {report}")


def _story_table(kind: str, rep, fmt):
    """[agents] The spend or contract report as a two-column table."""
    from rich.table import Table

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
    from rich.table import Table

    from llmsim.config.client_presets import client_presets

    table = Table("scenario", "about", title="Packaged scenarios (llmsim run NAME)", title_justify="left")
    for name, about in packaged_scenarios().items():
        table.add_row(name + (" (default)" if name == DEFAULT_SCENARIO else ""), about)
    out.print(table)
    table = Table("client preset", "mirrors", title="Client presets (client: NAME, --client X=NAME)",
                  title_justify="left")
    from rich.markup import escape

    for name, about in client_presets().items():
        table.add_row(name, escape(about))
    out.print(table)


@app.command()
def version() -> None:
    """Print the llmsim version."""
    out.print(__version__)


def _cost_table(ts):
    """[agents] Spend and blocked attempts per period."""
    from rich.table import Table

    from llmsim.core.units import format_duration
    from llmsim.viz.text_tables import fmt_metric

    table = Table(title="Spend by period", title_justify="left")
    for col in ("from", "cost", "spend_blocked", "invalid"):
        table.add_column(col, justify="right")
    for t, row in ts.iterrows():
        table.add_row(format_duration(float(t)) if t else "0s", fmt_metric("cost_total", row["cost"]),
                      f"{row['attempts_spend_blocked']:,.0f}", f"{row['attempts_invalid']:,.0f}")
    return table
