"""One self-contained HTML report of a run: scenario, summary table and charts. It opens offline:
Vega, Vega-Lite and vega-embed are inlined (from the vl-convert package) and a Content-Security-Policy
forbids every network request. Names from scenario files are escaped (shown, never run).

>>> import llmsim, tempfile, pathlib
>>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "6m", "warmup": "1m"}), seed=1)
>>> page = write_report(res, pathlib.Path(tempfile.mkdtemp()) / "report.html").read_text()
>>> "<script src=" in page, page.count('class="vis"')
(False, 5)
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from pathlib import Path

import altair as alt
import yaml

from llmsim.core.atomic import atomic_write_text
from llmsim.core.version import __version__
from llmsim.results import Result
from llmsim.viz.plots import amplification, breaker_timeline, latency_cdf, over_time, spend
from llmsim.viz.plots.export import chart_spec, javascript_bundle
from llmsim.viz.text_tables import fmt_metric

__all__ = ["write_report", "report_html", "run_charts", "charts_page"]

_CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
        "img-src data: blob:; font-src data:")
_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1020px;
color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0} td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums} .meta{color:#666} pre{background:#f6f6f6;padding:10px;
overflow:auto;font-size:12px} .vis{margin:8px 0 18px} .error{color:#b00020}
"""
_BOOT = """
(function () {
  var nodes = document.querySelectorAll("script.spec");
  var jobs = Array.prototype.map.call(nodes, function (node) {
    var target = document.getElementById(node.getAttribute("data-target"));
    return vegaEmbed(target, JSON.parse(node.textContent), {actions: false, renderer: "svg", mode: "vega-lite"})
      .catch(function (e) {
        var p = document.createElement("pre"); p.className = "error"; p.textContent = "chart failed: " + e;
        target.appendChild(p); throw e;
      });
  });
  Promise.allSettled(jobs).then(function (all) {
    var bad = all.filter(function (r) { return r.status !== "fulfilled"; }).length;
    document.body.setAttribute("data-charts", String(all.length - bad));
    document.body.setAttribute("data-chart-errors", String(bad));
  });
})();
"""


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _json_for_script(spec: dict) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' can close the element or start markup."""
    text = json.dumps(spec, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def charts_page(charts: Iterable[tuple[str, alt.TopLevelMixin]], title: str, body_html: str = "") -> str:
    """A complete offline HTML page: ``body_html`` (already escaped), then each (heading, chart).

    The page sets ``data-charts`` / ``data-chart-errors`` on <body> once every chart is drawn."""
    blocks = []
    for i, (heading, chart) in enumerate(charts):
        h = f"<h2>{_esc(heading)}</h2>\n" if heading else ""
        blocks.append(f'<section>{h}<div id="chart-{i}" class="vis"></div>\n'
                      f'<script type="application/json" class="spec" data-target="chart-{i}">'
                      f"{_json_for_script(chart_spec(chart))}</script></section>")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>", f"<style>{_STYLE}</style>",
        f"<script>{javascript_bundle()}</script>", "</head><body>",
        body_html, *blocks, f"<script>{_BOOT}</script>", "</body></html>", "",
    ])


def run_charts(res: Result) -> list[tuple[str, alt.TopLevelMixin]]:
    """The charts a run's report shows, with their headings."""
    charts: list[tuple[str, alt.TopLevelMixin]] = [
        ("Latency and outcomes over time", over_time(res)),
        ("Retry amplification", amplification(res)),
        ("Latency distribution", latency_cdf({res.scenario.name: res})),
        ("Spend", spend(res)),
        ("Circuit breakers", breaker_timeline(res)),
    ]
    return charts


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="num">{_esc(c)}</td>' if j in numeric else f"<td>{_esc(c)}</td>"
                                    for j, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _run_body(res: Result, title: str) -> str:
    sc = res.scenario
    summary = res.summary()
    providers = [(p.name, p.model or "-", str(p.capacity.slots),
                  "varies" if isinstance(p.capacity.contention, list) else f"{p.capacity.contention:.0%}",
                  str(len(p.incidents)), f"${p.pricing.input_per_mtok:g} / ${p.pricing.output_per_mtok:g}")
                 for p in sc.providers]
    scenario_yaml = yaml.safe_dump(sc.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    parts = [
        f"<h1>{_esc(title)}</h1>",
        f'<p class="meta">seed {res.seed} · horizon {sc.horizon:g}s · warm-up {sc.warmup:g}s excluded · '
        f"{len(res.requests):,} requests, {len(res.attempts):,} attempts · llmsim {_esc(__version__)}</p>",
        f"<p>{_esc(sc.description)}</p>" if sc.description else "",
        "<h2>Summary</h2>",
        _table([(k, fmt_metric(k, float(v))) for k, v in summary.items()], ("metric", "value"), {1}),
        "<h2>Providers</h2>",
        _table(providers, ("name", "model", "slots", "contention", "incidents", "price in/out per Mtok"), {2, 4}),
        f"<details><summary>Scenario</summary><pre>{_esc(scenario_yaml)}</pre></details>",
    ]
    return "\n".join(p for p in parts if p)


def report_html(res: Result, *, title: str | None = None, charts=None) -> str:
    """The report page of one run as a string (see ``write_report``)."""
    title = title or f"llmsim report: {res.scenario.name}"
    return charts_page(run_charts(res) + list(charts or []), title, _run_body(res, title))


def write_report(source: Result | str | Path, path: str | Path | None = None, *, title: str | None = None,
                 charts=None) -> Path:
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
    atomic_write_text(path, report_html(res, title=title, charts=charts))
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


def experiment_report_html(result, *, title: str | None = None) -> str:
    """The report page of a sweep (``SweepResult``) or a comparison (``CompareResult``): its summary
    table and charts (sweep: the cost / p95 frontier and, with two or more parameters, a heatmap;
    comparison: the forest plot of paired differences)."""
    from llmsim.viz.plots import forest_plot, pareto_frontier, sweep_heatmap
    from llmsim.viz.plots._prep import param_columns

    if hasattr(result, "clients"):  # a comparison
        title = title or f"llmsim comparison: {', '.join(result.clients)}"
        body = (f"<h1>{_esc(title)}</h1>\n<p>Paired differences against {_esc(result.baseline)}, same workload "
                f"and provider draws for every client.</p>\n"
                + _frame_table(result.differences()[["metric", "client", "diff", "ci", "verdict"]], False))
        return charts_page([("Paired differences (95 % CI)", forest_plot(result))], title, body)
    title = title or "llmsim sweep"
    table = result.table
    params = param_columns(table)
    charts = [("Cost against p95 latency (the frontier is filled)", pareto_frontier(table))]
    if len(params) >= 2:
        charts.append((f"p95 latency by {params[0]} and {params[1]}", sweep_heatmap(table, params[0], params[1])))
    body = f"<h1>{_esc(title)}</h1>\n" + _frame_table(result.summary().reset_index())
    return charts_page(charts, title, body)


def write_experiment_report(result, path: str | Path, *, title: str | None = None) -> Path:
    """Write ``experiment_report_html`` to ``path`` (one offline HTML file)."""
    atomic_write_text(path, experiment_report_html(result, title=title))
    return Path(path)
