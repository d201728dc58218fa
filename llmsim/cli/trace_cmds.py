"""``llmsim trace inspect|convert|replay|fit TRACE``: recorded traces from the command line.

Bad input (unreadable trace, unknown format, bad option) prints one line naming file, row and
column, exits with code 2, and writes nothing.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import typer
import yaml
from rich.table import Table

from llmsim.cli.app import app, fail, out
from llmsim.cli.clock_option import clock_offset
from llmsim.cli.work_guard import DRY_RUN, FORCE, check_work
from llmsim.config.loading import load_scenario
from llmsim.config.scenario import Scenario
from llmsim.config.work_estimate import WorkEstimate, attempts_per_request
from llmsim.core.atomic import atomic_write_text, check_writable
from llmsim.core.errors import InputError
from llmsim.core.units import UnitError, parse_duration
from llmsim.viz.text_tables import fmt_metric

__all__ = ["trace_app"]

trace_app = typer.Typer(no_args_is_help=True, help="Recorded traces: inspect, convert, replay, fit.")
app.add_typer(trace_app, name="trace")

_FORMAT = typer.Option(None, "--format", "-f", help="Trace format (default: detected from the content): "
                       "azure, burstgpt, mooncake, otel, litellm, langfuse, helicone, csv, jsonl, parquet.")
_MAP = typer.Option([], "--map", help="For csv/jsonl/parquet: CANONICAL=SOURCE column, e.g. arrival_s=ts.")
_UNIT = typer.Option(None, "--time-unit", help="Unit of a numeric time column: s, ms, us, ns (or datetime). "
                                                "Default: s, or datetime for a text column.")


def _mapping(items: list[str]) -> dict | None:
    m = {}
    for it in items:
        if "=" not in it:
            raise InputError("--map", f"expects CANONICAL=SOURCE, got {it!r}")
        k, v = it.split("=", 1)
        m[k.strip()] = v.strip()
    return m or None


def _seconds(text: str, what: str) -> float:
    try:
        return parse_duration(text)
    except UnitError as exc:
        raise InputError(what, str(exc)) from None


def _load(trace: str, fmt, mapping, unit):
    from llmsim.traces import load_trace  # deferred: CLI start-up

    return load_trace(trace, fmt, _mapping(mapping), unit)


def _clean(obj):
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


@trace_app.command("inspect")
def inspect_cmd(trace: str = typer.Argument(..., help="Trace file."), fmt: Optional[str] = _FORMAT,
                mapping: list[str] = _MAP, time_unit: Optional[str] = _UNIT,
                bin_: Optional[str] = typer.Option(None, "--bin", help="Rate bin width, e.g. 1min (default: auto)."),
                as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
                report: Optional[Path] = typer.Option(None, "--report", help="Also write an HTML page with a rate "
                                                      "chart to this file."),
                html_alias: Optional[Path] = typer.Option(None, "--html", hidden=True, help="Old name of --report.")):
    """Span, rate over time, token distributions, outcome mix, retries, missing fields."""
    from llmsim.traces.trace_stats import describe  # deferred: CLI start-up
    from llmsim.viz.trace_page import render_html  # deferred: CLI start-up

    html = report or html_alias
    try:
        df = _load(trace, fmt, mapping, time_unit)
        st = describe(df, _seconds(bin_, "--bin") if bin_ else None)
        st["missing"] = df.attrs.get("missing", {})
    except InputError as exc:
        fail(str(exc))
    if html is not None:
        atomic_write_text(html, render_html(_clean(st), trace, df))
    if as_json:
        sys.stdout.write(json.dumps(_clean(st), indent=2, default=str) + "\n")
        return
    _print_stats(trace, df.attrs, st)
    if html is not None:
        out.print(f"wrote {html}")


def _print_stats(trace: str, a: dict, st: dict) -> None:
    """The trace's statistics (``describe``) as text: header, rates, quantiles, then what the trace has."""
    out.print(_header(trace, a, st))
    out.print(f"rate: mean {st['rate_mean_per_s']:.4g}/s, peak {st['rate_peak_per_s']:.4g}/s "
              f"per {st['bin_s']:g} s bin, "
              f"inter-arrival CV {st['interarrival_cv']:.3g}")
    out.print(_quantile_table(st))
    for line in _optional_lines(st):
        out.print(line)
    for note in a.get("notes", []):
        out.print(f"note: {note}")


def _header(trace: str, a: dict, st: dict) -> str:
    """File, format, rows and span, with the time origin and the records skipped when known."""
    return (f"[bold]{trace}[/]: format {a['format']}, {st['rows']:,} rows over {st['span_s']:.6g} s"
            + (f" from {a['origin']}" if a.get("origin") else "")
            + (f", {a['skipped']} non-attempt records skipped" if a.get("skipped") else ""))


def _optional_lines(st: dict) -> list[str]:
    """Outcomes, logical requests and missing values, for the traces that record them."""
    lines = []
    if "outcomes" in st:
        lines.append("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in st["outcomes"].items()))
    if "attempts_per_logical_request" in st:
        lines.append(f"logical requests: {st['logical_requests']:,}, attempts per logical request "
                     f"{st['attempts_per_logical_request']:.3f}, retries histogram {st['retries_histogram']}")
    missing = {k: v for k, v in st["missing"].items() if v}
    if missing:
        lines.append("null (not recorded): " + ", ".join(f"{k} {v:,}" for k, v in missing.items()))
    return lines


def _quantile_table(st: dict) -> Table:
    tab = Table("column", "mean", "p50", "p90", "p99", "max")
    for col in ("input_tokens", "output_tokens", "latency_s", "ttft_s"):
        q = st.get(col)
        if q:
            tab.add_row(col, *(f"{q[k]:.4g}" for k in ("mean", "p50", "p90", "p99", "max")))
    return tab


@trace_app.command("convert")
def convert_cmd(trace: str = typer.Argument(..., help="Trace file."), fmt: Optional[str] = _FORMAT,
                mapping: list[str] = _MAP, time_unit: Optional[str] = _UNIT,
                out_file: Path = typer.Option(..., "--out", "-o", help="Canonical Parquet file to write.")):
    """Convert a trace to the canonical schema (Parquet), streaming; nothing is written on error."""
    from llmsim.traces import convert  # deferred: CLI start-up

    try:
        check_writable(out_file, "--out")
        attrs = convert(trace, out_file, fmt, _mapping(mapping), time_unit)
    except InputError as exc:
        fail(str(exc))
    out.print(f"wrote {out_file}: {attrs['rows']:,} rows from {attrs['format']}")


@trace_app.command("replay")
def replay_cmd(trace: str = typer.Argument(..., help="Trace file."),
               scenario: str = typer.Option("tuesday", "--scenario", "-s", help="Scenario (providers, client)."),
               client: list[str] = typer.Option([], "--client", "-c", help="Client policy: preset, YAML file or "
                                                "NAME=preset/file; repeat to compare (same seed)."),
               fmt: Optional[str] = _FORMAT, mapping: list[str] = _MAP, time_unit: Optional[str] = _UNIT,
               window: Optional[str] = typer.Option(None, "--window", help="START,END after the first arrival, "
                                                    "e.g. 2h,3h (default: the whole trace)."),
               worst: Optional[str] = typer.Option(None, "--worst", help="Replay the window of this width with "
                                                   "the most failed attempts (or most requests); default: "
                                                   "--window."),
               time_scale: float = typer.Option(1.0, "--time-scale", help="Multiply time offsets (0.5 = 2x rate)."),
               rate_multiplier: float = typer.Option(1.0, "--rate-multiplier", help="Thin (<1) or superpose (>1)."),
               loop: bool = typer.Option(False, "--loop", help="Repeat the window until the horizon."),
               horizon: Optional[str] = typer.Option(None, "--horizon", help="Run length (default: the window)."),
               at: Optional[str] = typer.Option(None, "--at", help="When the replayed traffic meets the scenario: a "
                                                "clock time (08:30, '1d 09:00') or a duration after its start; the "
                                                "time before is warm-up. Default: its start (00:00 for tuesday)."),
               seed: Optional[int] = typer.Option(None, "--seed", min=0, help="Random seed (default: the scenario's)."),
               as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
               dry_run: bool = DRY_RUN, force: bool = FORCE):
    """Replay a trace's arrivals and sizes against a scenario's providers under one or more client policies."""
    from llmsim.experiments.counterfactual import COUNTERFACTUAL_METRICS, counterfactual  # deferred: CLI start-up
    from llmsim.traces.replay import ReplayOptions  # deferred: CLI start-up

    try:
        df = _load(trace, fmt, mapping, time_unit)
        sc = load_scenario(scenario)
        win = _window(df, window, worst)
        run_h = _seconds(horizon, "--horizon") if horizon else (win[1] - win[0]) * time_scale
        opts = ReplayOptions(window=win, time_scale=time_scale, rate_multiplier=rate_multiplier, loop=loop)
        sc = sc.with_overrides({"horizon": max(run_h, 1e-6), "warmup": 0})
        seed = sc.seed if seed is None else seed
        clients = _named_clients(client, sc)
        check_work(_replay_estimate(df, sc, opts, run_h, len(clients)), dry_run, force)
        offset = clock_offset(at)
        tab = counterfactual(sc, df, clients, seed=seed, options=opts, at=offset)
    except (InputError, ValueError) as exc:
        fail(str(exc))
    info = tab.attrs["replay"]
    if as_json:
        data = {"window": list(win), "seed": seed, "replay": info,
                "policies": _clean(tab[COUNTERFACTUAL_METRICS].to_dict(orient="index"))}
        sys.stdout.write(json.dumps(data, indent=2, default=float) + "\n")
        return
    out.print(f"replayed {info['requests']:,} requests ({info['logical_requests']:,} logical of {info['rows']:,} "
              f"rows) from window {win[0]:g}-{win[1]:g} s{f' at {at}' if offset else ''}, seed {seed}, same arrivals "
              "for every policy")
    t = Table("metric")
    for name in tab.index:
        t.add_column(str(name), justify="right")
    for m in COUNTERFACTUAL_METRICS:
        t.add_row(m, *(fmt_metric(m, float(v)) for v in tab[m]))
    out.print(t)


def _replay_estimate(df, sc: Scenario, opts, run_h: float, runs: int) -> WorkEstimate:
    """The work of a replay: the window's rows, thinned or multiplied, repeated by --loop, once per client."""
    start, end = opts.window
    t = df["arrival_s"] - df["arrival_s"].min()
    rows = float(((t >= start) & (t < end)).sum()) * opts.rate_multiplier
    if opts.loop:
        rows *= max(1.0, run_h / max((end - start) * opts.time_scale, 1e-9))
    return WorkEstimate(rows, rows * attempts_per_request(sc), runs)


def _named_clients(client: list[str], sc) -> dict:
    """name -> client spec from ``--client`` values (``NAME=spec`` or a spec named after itself; "scenario" is
    the scenario's own client)."""
    clients = {}
    for c in client or ["scenario"]:
        name, spec = c.split("=", 1) if "=" in c else (c, c)
        clients[name] = sc.client if spec == "scenario" else spec
    return clients


def _window(df, window: Optional[str], worst: Optional[str]) -> tuple[float, float]:
    """[start, end) after the first arrival: --window START,END, the --worst window of that width, else all."""
    from llmsim.experiments.counterfactual import worst_window  # deferred: CLI start-up

    if window and worst:
        raise InputError("--window", "give --window or --worst, not both")
    if window:
        parts = window.split(",")
        if len(parts) != 2:
            raise InputError("--window", f"expects START,END, got {window!r}")
        return (_seconds(parts[0], "--window"), _seconds(parts[1], "--window"))
    if worst:
        by = "failures" if "outcome" in df and df["outcome"].notna().any() else "requests"
        return worst_window(df, _seconds(worst, "--worst"), by)
    span = float(df["arrival_s"].max() - df["arrival_s"].min())
    return (0.0, math.nextafter(span, math.inf))


@trace_app.command("fit")
def fit_cmd(trace: str = typer.Argument(..., help="Trace file."),
            out_file: Path = typer.Option(..., "--out", "-o", help="Scenario YAML to write."),
            fmt: Optional[str] = _FORMAT, mapping: list[str] = _MAP, time_unit: Optional[str] = _UNIT,
            bin_: str = typer.Option("1min", "--bin", help="Width of the piecewise arrival rate."),
            tokens: str = typer.Option("empirical", "--tokens", help="empirical (quantiles) or lognormal."),
            seed: int = typer.Option(0, "--seed", min=0, help="Seed of the calibration run and the scenario."),
            check: bool = typer.Option(True, "--check/--no-check", help="Simulate the fitted scenario and compare."),
            report: Optional[Path] = typer.Option(None, "--report", help="Write fit + calibration report (JSON).")):
    """Fit workload (and provider, where recorded) to a trace; write a scenario that runs."""
    from llmsim.simulator import simulate  # deferred: CLI start-up
    from llmsim.traces.calibrate import calibration_report  # deferred: CLI start-up
    from llmsim.traces.fit import fit_scenario  # deferred: CLI start-up

    try:
        check_writable(out_file, "--out")
        if report is not None:
            check_writable(report, "--report")
        df = _load(trace, fmt, mapping, time_unit)
        sc_dict, rep = fit_scenario(df, _seconds(bin_, "--bin"), tokens, name=Path(out_file).stem, seed=seed)
        sc = Scenario.model_validate(sc_dict)
        cal = calibration_report(df, simulate(sc, seed=seed), _seconds(bin_, "--bin")) if check else None
    except (InputError, ValueError) as exc:
        fail(str(exc))
    text = "# " + sc_dict["description"] + "\n" + yaml.safe_dump(sc_dict, sort_keys=False, width=120)
    atomic_write_text(out_file, text)
    if report is not None:
        atomic_write_text(report, json.dumps(_clean({"fit": rep, "calibration": cal}), indent=2, default=float))
    out.print(f"wrote {out_file}: {rep['workload']['logical_requests']:,} logical requests, "
              f"{rep['workload']['bins']} rate bins of {rep['workload']['bin_s']:g} s")
    if rep["not_fitted"]:
        out.print("not fitted (not in the trace): " + "; ".join(rep["not_fitted"]))
    if cal is not None:
        _print_calibration(cal, seed)


def _print_calibration(cal: dict, seed: int) -> None:
    r = cal["rate"]
    line = (f"calibration (seed {seed}): KS input {cal['ks_input_tokens']:.4f}, output "
            f"{cal['ks_output_tokens']:.4f}; rate curve rel. L1 {r['rel_l1']:.3f}, chi2 {r['chi2']:.1f} "
            f"on {r['chi2_df']} bins (p {r['chi2_p']:.3g})")
    for k in ("ks_latency_s", "ks_ttft_s"):
        if k in cal:
            line += f"; {k} {cal[k]:.3f}"
    out.print(line)
    if "outcome_shares" in cal:
        out.print("outcome shares recorded/simulated: " + ", ".join(
            f"{k} {v['recorded']:.3f}/{v['simulated']:.3f}" for k, v in cal["outcome_shares"].items()))
