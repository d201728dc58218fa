"""One self-contained HTML report of a run: scenario, summary table and charts. It opens offline:
Vega, Vega-Lite and vega-embed are inlined (from the vl-convert package) and a Content-Security-Policy
forbids every network request. Names from scenario files are escaped (shown, never run).

>>> import llmsim, tempfile, pathlib
>>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "6m", "warmup": "1m"}), seed=1)
>>> page = write_report(res, pathlib.Path(tempfile.mkdtemp()) / "report.html").read_text()
>>> "<script src=" in page, page.count('class="vis"')
(False, 6)
"""

from __future__ import annotations

from pathlib import Path

import altair as alt
import yaml

from llmsim.analysis.collapse import collapse_sentence
from llmsim.analysis.slo_eval import slo_table
from llmsim.analysis.spend_contracts import cost_avoided, story_reports
from llmsim.config.slo import Target
from llmsim.core.atomic import atomic_write_text
from llmsim.core.units import format_duration
from llmsim.core.version import __version__
from llmsim.results import Result
from llmsim.simulator import simulate
from llmsim.viz.plots import (
    amplification,
    breaker_timeline,
    forest_plot,
    latency_cdf,
    over_time,
    pareto_frontier,
    spend,
    sweep_heatmap,
)
from llmsim.viz.plots._prep import param_columns, state_intervals
from llmsim.viz.plots.compare_charts import compare_over_time
from llmsim.viz.plots.failure_charts import latency_and_success, latency_heatmap
from llmsim.viz.plots.page import charts_page, escape_html
from llmsim.viz.plots.story_charts import contract_rates, spend_rate
from llmsim.viz.text_tables import fmt_metric
from llmsim.viz.verdict import HEADLINE, compare_verdict, diff_text, sweep_verdict, verdict_html

__all__ = ["write_report", "report_html", "run_charts", "charts_page"]


def run_charts(res: Result, targets: list[Target] | None = None,
               twins: dict[str, Result] | None = None) -> list[tuple[str, alt.TopLevelMixin]]:
    """The charts a run's report shows, with their headings. Sections with nothing to show are left out
    (no breaker chart without breaker or cooldown events). ``twins``: the unguarded runs of the same seed
    (``"spend"``/``"contract"``, see ``guard_twins``) drawn on the story charts' axes."""
    targets = res.scenario.targets() if targets is None else targets
    twins = twins or {}
    stories = story_reports(res)
    charts: list[tuple[str, alt.TopLevelMixin]] = [
        ("Latency and success rate over time", latency_and_success(res, targets=targets)),
        ("Latency, capacity and outcomes over time", over_time(res)),
        ("Requests by latency over time (failures as their own rows)", latency_heatmap(res)),
        ("Retry amplification", amplification(res)),
        ("Latency distribution", latency_cdf({res.scenario.name: res})),
    ]
    if "spend" in stories:
        rep = stories["spend"]
        charts.append(("Spend rate", spend_rate(res, twins.get("spend"), markers={
            "onset": rep["onset"], "spend alert": rep["alert_time"]})))
    charts.append(("Cumulative spend", spend(res)))
    if "contract" in stories:
        rep = stories["contract"]
        marks = {"change point": rep["onset"], "contract alert": rep["alert_time"]}
        charts.append(("Contract: broken answers sent and delivered",
                       contract_rates(res, twins.get("contract"), markers=marks)))
    if not state_intervals(res).empty:
        charts.append(("Circuit breakers and cooldowns", breaker_timeline(res)))
    return charts


def guard_twins(res: Result) -> dict[str, Result]:
    """The run again without its spend guards and/or without its validation (same scenario otherwise, same
    seed: common random numbers), keyed ``"spend"``/``"contract"``; {} when the client has neither."""
    sc = res.scenario
    out = {}
    if sc.client.spend is not None:
        out["spend"] = simulate(sc.with_overrides({"client.spend": None}), seed=res.seed)
    if sc.client.validation is not None:
        out["contract"] = simulate(sc.with_overrides({"client.validation": None}), seed=res.seed)
    return out


_CLOCK_FIELDS = frozenset({"onset", "alert_time"})
_DURATION_FIELDS = frozenset({"time_to_detect"})


def _story_value(res: Result, name: str, value: float) -> str:
    """A spend/contract report value for people: clock times, durations, dollars, counts."""
    if value != value:
        return "-"
    if name in _CLOCK_FIELDS:
        return _clock(res, value)
    if name in _DURATION_FIELDS:
        return format_duration(round(value))
    if "cost" in name or "spend" in name:
        return fmt_metric("cost_total", value)
    return fmt_metric("requests", value)


def _story_section(res: Result, twins: dict[str, Result]) -> str:
    """The spend and contract reports as tables, with the cost avoided by the guards (paired twin run)."""
    parts = []
    for kind, rep in story_reports(res).items():
        rows = [(k, _story_value(res, k, float(v))) for k, v in rep.items()]
        twin = twins.get(kind)
        if kind == "spend" and twin is not None:
            avoided = cost_avoided(res, twin)
            rows += [(f"{k} (same seed, guards off)" if k != "cost_guarded" else k,
                      fmt_metric("cost_total", float(v))) for k, v in avoided.items()]
        if kind == "contract" and twin is not None:
            delivered = float((twin.requests["outcome"].astype(str) == "invalid").sum())
            rows.append(("invalid_delivered without validation (same seed)", fmt_metric("requests", delivered)))
        title = {"spend": "Spend guards", "contract": "Output contract"}.get(kind, kind)
        parts.append(f"<h2>{escape_html(title)}</h2>" + _table(rows, ("", "value"), {1}))
    return "\n".join(parts)


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{escape_html(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="num">{escape_html(c)}</td>' if j in numeric
                                    else f"<td>{escape_html(c)}</td>" for j, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _slo_section(summary, targets: list[Target]) -> str:
    """Pass/fail per SLO target (or one line saying none were declared)."""
    if not targets:
        return '<p class="meta">No SLO targets: add <code>slo:</code> to the scenario or pass --slo.</p>'
    tab = slo_table(summary, targets)
    passed = int(tab["met"].sum())
    rows = [(r.target, fmt_metric(r.metric, float(r.value)), "pass" if r.met else "FAIL") for r in tab.itertuples()]
    cls = "pass" if passed == len(tab) else "fail"
    return (f'<h2>SLO</h2><p class="{cls}">{passed} of {len(tab)} targets met</p>'
            + _table(rows, ("target", "value", "result"), {1}))


def _period_section(res: Result) -> str:
    """The table ``llmsim run`` prints by period: requests, success, p50/p95, attempts, 429/529/timeouts, cost."""
    h = res.scenario.horizon
    if h < 20 * 60:
        return ""
    freq = "1d" if h > 48 * 3600 else "1h" if h >= 2 * 3600 else "10min"
    ts = res.timeseries(freq)
    ts = ts[(ts["requests"] > 0) & (ts.index < h)]
    rows = []
    for t, r in ts.iterrows():
        sent = max(1.0, float(r["attempts"]))
        rows.append((_clock(res, float(t)), fmt_metric("requests", r["requests"]), f"{r['success_rate']:.1%}",
                     fmt_metric("latency_p50", r["latency_p50"]), fmt_metric("latency_p95", r["latency_p95"]),
                     fmt_metric("requests", r["attempts"]), f"{r['attempts_rate_limited'] / sent:.1%}",
                     f"{r['attempts_overloaded'] / sent:.1%}", f"{r['attempts_timeout'] / sent:.1%}",
                     fmt_metric("cost_total", float(r["cost"])) if "cost" in r else "-"))
    label = {"1d": "day", "1h": "hour", "10min": "10 minutes"}[freq]
    return (f"<h2>By {label}</h2>" + _table(rows, ("from", "requests", "ok", "p50", "p95", "attempts", "429 share",
                                                  "529 share", "timeout share", "cost"), set(range(1, 10))))


def _clock(res: Result, t: float) -> str:
    """Clock time of simulated second ``t`` when the scenario says when it starts, else elapsed h:mm."""
    start = res.scenario.start_time()
    if start is not None:
        return start.label(t)
    return f"{int(t // 3600)}:{int(t % 3600 // 60):02d}" if t >= 60 or t == 0 else format_duration(t)


def _run_body(res: Result, title: str, targets: list[Target] | None = None,
              twins: dict[str, Result] | None = None) -> str:
    sc = res.scenario
    summary = res.summary()
    targets = sc.targets() if targets is None else targets
    providers = [(p.name, p.model or "-", str(p.capacity.slots),
                  "varies" if isinstance(p.capacity.contention, list) else f"{p.capacity.contention:.0%}",
                  str(len(p.incidents)), f"${p.pricing.input_per_mtok:g} / ${p.pricing.output_per_mtok:g}")
                 for p in sc.providers]
    scenario_yaml = yaml.safe_dump(sc.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    parts = [
        f"<h1>{escape_html(title)}</h1>",
        f'<p class="meta">seed {res.seed} · horizon {format_duration(sc.horizon)} · '
        f"warm-up {format_duration(sc.warmup)} excluded · "
        f"{fmt_metric('requests', len(res.requests))} requests, {fmt_metric('requests', len(res.attempts))} attempts · "
        f"llmsim {escape_html(__version__)}</p>",
        f"<p>{escape_html(sc.description)}</p>" if sc.description else "",
        _slo_section(summary, targets),
        "<h2>Summary</h2>", f"<p>{escape_html(collapse_sentence(summary))}</p>",
        _table([(k, fmt_metric(k, float(v))) for k, v in summary.items()], ("metric", "value"), {1}),
        _period_section(res),
        _story_section(res, twins or {}),
        "<h2>Providers</h2>",
        _table(providers, ("name", "model", "slots", "contention", "incidents", "price in/out per Mtok"), {2, 4}),
        f"<details><summary>Scenario</summary><pre>{escape_html(scenario_yaml)}</pre></details>",
    ]
    return "\n".join(p for p in parts if p)


def report_html(res: Result, *, title: str | None = None, charts=None, targets: list[Target] | None = None,
                twins: bool = True) -> str:
    """The report page of one run as a string (see ``write_report``). ``twins``: also run the scenario
    without its spend guards / validation on the same seed, to draw both on one axis and show the cost
    avoided (one more simulation per guard)."""
    title = title or f"llmsim report: {res.scenario.name}"
    runs = guard_twins(res) if twins else {}
    return charts_page(run_charts(res, targets, runs) + list(charts or []), title,
                       _run_body(res, title, targets, runs))


def write_report(source: Result | str | Path, path: str | Path | None = None, *, title: str | None = None,
                 charts=None, targets: list[Target] | None = None, twins: bool = True) -> Path:
    """Write the HTML report of a run. ``source``: a Result or a folder written by ``Result.save``;
    ``path`` defaults to ``report.html`` inside that folder. ``charts``: extra (heading, chart) pairs.
    """
    folder = None
    if isinstance(source, Result):
        res = source
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise FileNotFoundError(f"no such folder: {folder}")
        if not (folder / "result.json").is_file():
            raise ValueError(f"{folder} holds no saved run (no result.json); write one with `llmsim run --out DIR`")
        res = Result.load(folder)
    if path is None:
        if folder is None:
            raise ValueError("give the path of the HTML file to write")
        path = folder / "report.html"
    atomic_write_text(path, report_html(res, title=title, charts=charts, targets=targets, twins=twins))
    return Path(path)


def _frame_table(df, numeric_metrics: bool = True) -> str:
    """A DataFrame as an escaped HTML table (metric cells formatted like the terminal tables)."""
    header = tuple(str(c) for c in df.columns)
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c, v in r.items():
            if isinstance(v, float):
                metric = str(c).removesuffix("_mean").removesuffix("_ci")
                cells.append(fmt_metric(metric, v))
            else:
                cells.append(str(v))
        rows.append(tuple(cells))
    return _table(rows, header, numeric=set(range(len(header))) if numeric_metrics else frozenset())


def _differences_html(cmp) -> str:
    """Every metric's baseline and client values and their paired difference, in units; n.s. rows greyed."""
    rows = []
    for r in cmp.differences().itertuples():
        cls = "" if r.significant or r.verdict == "-" else ' class="ns"'
        cells = (r.metric, r.client, fmt_metric(r.metric, float(r.baseline)), fmt_metric(r.metric, float(r.value)),
                 diff_text(r.metric, float(r.diff), float(r.ci)), "± " + fmt_metric(r.metric, float(r.unpaired_ci)),
                 r.verdict)
        tds = "".join(f'<td class="num">{escape_html(c)}</td>' if 2 <= j <= 5 else f"<td>{escape_html(c)}</td>"
                      for j, c in enumerate(cells))
        rows.append(f"<tr{cls}>{tds}</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("metric", "client", "baseline", "client value", "difference",
                                             "unpaired CI", "verdict"))
    return f'<table class="diffs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def experiment_report_html(result, *, title: str | None = None, targets: list[Target] = ()) -> str:
    """The report page of a sweep (``SweepResult``) or a comparison (``CompareResult``): its summary
    table and charts (sweep: the cost / p95 frontier and, with two or more parameters, a heatmap;
    comparison: the forest plot of paired differences)."""

    if hasattr(result, "clients"):  # a comparison
        title = title or f"llmsim comparison: {', '.join(result.clients)}"
        card = verdict_html(compare_verdict(result, list(targets)))
        body = (f"<h1>{escape_html(title)}</h1>\n{card}\n<h2>Paired differences</h2>"
                f"<p>Each client against {escape_html(result.baseline)} on the same workload and provider draws "
                f"(client - baseline, 95 % CI; grey: not significant, p &ge; {result.alpha:g}).</p>\n"
                + _differences_html(result))
        metrics = [m for m in HEADLINE if m in result.metrics]
        charts = []
        over = compare_over_time(result, list(targets))
        if over is not None:
            charts.append(("Candidates over time: success, p95 latency, amplification and spend on shared axes",
                           over))
        else:
            body += ('<p class="meta">No over-time panels: the runs kept only their summaries '
                     "(keep: summary, or a custom measure).</p>")
        charts.append(("Paired differences of the headline metrics (95 % CI)", forest_plot(result, metrics)))
        return charts_page(charts, title, body)
    title = title or "llmsim sweep"
    table = result.table
    params = param_columns(table)
    charts = [("Cost against p95 latency (the frontier is filled; crosses miss a target)",
               pareto_frontier(table, targets=list(targets)))]
    if len(params) >= 2:
        charts.append((f"p95 latency by {params[0]} and {params[1]}", sweep_heatmap(table, params[0], params[1])))
    body = (f"<h1>{escape_html(title)}</h1>\n{verdict_html(sweep_verdict(result, list(targets)))}\n"
            '<details><summary>Every metric of every point (mean and 95 % CI half-width)</summary>'
            f'<div class="wide">{_frame_table(result.summary().reset_index(drop=True))}</div></details>')
    return charts_page(charts, title, body)


def write_experiment_report(result, path: str | Path, *, title: str | None = None, targets: list[Target] = ()) -> Path:
    """Write ``experiment_report_html`` to ``path`` (one offline HTML file)."""
    atomic_write_text(path, experiment_report_html(result, title=title, targets=targets))
    return Path(path)
