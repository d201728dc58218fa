"""Acceptance: every chart of every page llmsim writes draws marks in headless Chromium with the network cut.

Pages: ``run --report`` of each packaged scenario (short horizons; the spend and contract stories are moved
early so they happen inside them), ``compare --report``, ``sweep --report`` and ``trace inspect --html``.
Each chart's drawn marks (lines, areas, rects, rules, points) are counted in the DOM after Vega ran, not only
its <div>; a screenshot of each page is kept under tests/artifacts/screens/ (ignored by git) for CI artifacts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_report import CHROMIUM, _no_network_prefix
from typer.testing import CliRunner

import llmsim
from llmsim.cli import app
from llmsim.viz.report import write_experiment_report, write_report

from conftest import ROOT, tiny_scenario

SCREENS = ROOT / "tests" / "artifacts" / "screens"

#: packaged scenario -> overrides that keep it short and still show its story
SHORT = {
    "tuesday": {"horizon": "20m", "warmup": 0},
    "runaway-agents": {"horizon": "1h", "workload.sessions.clarification-loop.starts": {"at": ["10m"]}},
    "runaway-agents-guarded": {"horizon": "1h", "workload.sessions.clarification-loop.starts": {"at": ["10m"]},
                               "client.spend.alert.delay": "5m", "client.spend.session": None},
    "contract-drift": {"horizon": "30m", "providers.gpt-4o.quality.changes": [["10m", 0.08]]},
    "contract-drift-guarded": {"horizon": "30m", "providers.gpt-4o.quality.changes": [["10m", 0.08]],
                               "client.validation.monitor.delay": "2m", "client.validation.monitor.min_outputs": 20,
                               "client.validation.monitor.window": "5m"},
}
_MARK = re.compile(r'role="graphics-symbol" aria-roledescription="(line mark|area mark|rect mark|rule mark|point'
                   r'|circle|square|bar|symbol mark|text mark)"')


def _render(page: Path, name: str, workdir: Path) -> str:
    """The DOM after the charts are drawn (network cut), and a screenshot saved for CI."""
    import subprocess

    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    SCREENS.mkdir(parents=True, exist_ok=True)
    cmd = [*_no_network_prefix(), CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={workdir / 'profile'}", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--virtual-time-budget=30000", "--window-size=1100,2400", f"--screenshot={SCREENS / (name + '.png')}",
           "--dump-dom", page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def marks_per_chart(dom: str, div: str = r'<div id="chart-\d+"') -> list[int]:
    """Data marks drawn inside each chart's <div id="chart-N"> (axes, legends and titles not counted)."""
    starts = [m.start() for m in re.finditer(div, dom)]
    return [len(_MARK.findall(dom[a:b])) for a, b in zip(starts, starts[1:] + [len(dom)], strict=True)]


def _assert_marks(dom: str, div: str) -> list[int]:
    """Marks per chart of a page that is not one of ours (an exported notebook)."""
    return marks_per_chart(dom, div)


def _assert_all_drawn(dom: str, page: Path) -> list[int]:
    n_specs = page.read_text(encoding="utf-8").count('class="spec"')
    assert 'data-chart-errors="0"' in dom and f'data-charts="{n_specs}"' in dom
    counts = marks_per_chart(dom)
    assert len(counts) == n_specs and all(c > 0 for c in counts), counts
    return counts


def test_mark_counter_sees_an_empty_chart():
    """Control: a chart whose data are empty counts 0 marks; one with two points counts 2."""
    dom = ('<div id="chart-0"><svg><g><path role="graphics-symbol" aria-roledescription="point" d=""/>'
           '<path role="graphics-symbol" aria-roledescription="point" d=""/></g></svg></div>'
           '<div id="chart-1"><svg><g role="graphics-object" aria-roledescription="line mark container"></g></svg>'
           "</div>")
    assert marks_per_chart(dom) == [2, 0]


@pytest.mark.parametrize("name", sorted(SHORT))
def test_run_report_draws_every_chart_offline(name, tmp_path):
    sc = llmsim.load_scenario(name).with_overrides(SHORT[name])
    page = write_report(llmsim.simulate(sc), tmp_path / f"{name}.html")
    counts = _assert_all_drawn(_render(page, f"run-{name}", tmp_path), page)
    assert len(counts) >= 6
    html = page.read_text(encoding="utf-8")
    if name == "runaway-agents-guarded":  # guarded and unguarded on one axis, onset and alert marked, $ avoided
        assert '"series":"unguarded"' in html and '"series":"guarded"' in html
        assert '"label":"onset"' in html and '"label":"spend alert"' in html and "cost_avoided" in html
    if name == "contract-drift-guarded":  # delivered-invalid with and without validation, change point, alert
        assert '"series":"delivered invalid, unguarded"' in html and '"series":"delivered invalid, guarded"' in html
        assert '"label":"change point"' in html and '"label":"contract alert"' in html


_LINE = re.compile(r'role="graphics-symbol" aria-roledescription="line mark"')


def test_compare_report_draws_every_chart_offline(tmp_path):
    sc = llmsim.Scenario.model_validate(tiny_scenario(horizon="2m", start="Tue 09:00"))
    cmp = llmsim.compare(sc, clients=["no-retries", "openai-sdk"], replications=3, workers=1, progress=False)
    page = write_experiment_report(cmp, tmp_path / "compare.html", targets=llmsim.config.slo.parse_slo(
        {"success_rate": "99%"}))
    dom = _render(page, "compare", tmp_path)
    counts = _assert_all_drawn(dom, page)
    html = page.read_text(encoding="utf-8")
    assert 'class="verdict"' in html and len(counts) == 2
    # the over-time chart: four panels, each drawing one line per candidate (spend: also the wasted line)
    first = dom[dom.index('<div id="chart-0"'):dom.index('<div id="chart-1"')]
    assert len(_LINE.findall(first)) >= 4 * 2 + 2
    for title in ("Share of requests that succeeded", "p95 latency of the successes", "Retry amplification",
                  "Spend rate"):
        assert title in first
    assert '"name":"zoom"' in html and '"param":"zoom"' in html and '"name":"hover3"' in html
    assert "09:0" in first  # clock-time axis labels (the scenario starts Tue 09:00)


def test_sweep_report_draws_every_chart_offline(tmp_path):
    sc = llmsim.Scenario.model_validate(tiny_scenario(horizon="2m"))
    sw = llmsim.sweep(sc, {"client.retry.max_attempts": [1, 3], "client.timeout": ["10s", "60s"]},
                      replications=2, workers=1, progress=False)
    page = write_experiment_report(sw, tmp_path / "sweep.html")
    _assert_all_drawn(_render(page, "sweep", tmp_path), page)


def test_trace_inspect_page_draws_every_chart_offline(tmp_path):
    page = tmp_path / "trace.html"
    got = CliRunner().invoke(app, ["trace", "inspect", str(ROOT / "tests" / "fixtures" / "helicone_export.csv"),
                                   "--html", str(page)])
    assert got.exit_code == 0, got.output
    counts = _assert_all_drawn(_render(page, "trace-inspect", tmp_path), page)
    assert len(counts) == 4  # rate, tokens, outcomes, latency


#: Appended to a copy of the compare page: embeds its first chart again, draws a brush on the top panel and
#: hovers an instant of panel 1 through the selections' stores (as a drag and a pointer move would), then
#: reports the x domains of the four panels and how many hover rules are visible.
_PROBE = """<script>
(function () {
  var spec = JSON.parse(document.querySelector("script.spec").textContent);
  var div = document.createElement("div"); document.body.appendChild(div);
  vegaEmbed(div, spec, {actions: false, renderer: "svg", mode: "vega-lite"}).then(function (r) {
    var v = r.view, domains = function () {
      return [0, 1, 2, 3].map(function (i) { return v.scale("concat_" + i + "_x").domain(); }); };
    var shown = function () {
      return Array.prototype.filter.call(div.querySelectorAll('[aria-roledescription="rule mark"]'),
        function (e) { return e.getAttribute("opacity") === "0.8" || e.style.opacity === "0.8"; }).length; };
    var before = domains(), shownBefore = shown();
    v.data("zoom_store", [{unit: "concat_0_layer_0", fields: [{field: "time", channel: "x", type: "R"}],
                           values: [[0.5, 1.0]]}]);
    v.data("hover1_store", [{unit: "concat_1_layer_0", fields: [{field: "time", type: "E"}],
                             values: [HOVER_TIME]}]);
    return v.runAsync().then(function () {
      document.body.setAttribute("data-probe", JSON.stringify({before: before, after: domains(), shown: shown(),
                                                               shownBefore: shownBefore}));
    });
  }).catch(function (e) { document.body.setAttribute("data-probe", JSON.stringify({error: String(e)})); });
})();
</script>"""


def test_compare_brush_zooms_the_other_panels_and_hover_is_linked(tmp_path):
    import html as html_lib
    import json

    sc = llmsim.Scenario.model_validate(tiny_scenario(horizon="2m"))
    cmp = llmsim.compare(sc, clients=["no-retries", "openai-sdk"], replications=2, workers=1, progress=False)
    page = write_experiment_report(cmp, tmp_path / "compare.html")
    text = page.read_text(encoding="utf-8")
    at = text.rindex("</body>")
    probe = tmp_path / "probe.html"
    over = cmp.over_time()
    instant = float((over["t"].iloc[3] + over["width"].iloc[3] / 2) / 60.0)  # a bin's middle, in axis minutes
    probe.write_text(text[:at] + _PROBE.replace("HOVER_TIME", repr(instant)) + text[at:], encoding="utf-8")
    dom = _render(probe, "compare-probe", tmp_path)
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the probe did not run"
    got = json.loads(html_lib.unescape(found.group(1)))
    assert "error" not in got, got
    whole = got["before"][0]
    assert all(d == pytest.approx(whole) for d in got["before"])  # before: every panel spans the whole run
    assert got["after"][0] == pytest.approx(whole)  # the brushed panel keeps the whole run
    assert all(d == pytest.approx([0.5, 1.0]) for d in got["after"][1:])  # the others zoom to the brush
    assert got["shownBefore"] == 0 and got["shown"] == 4  # hovering one panel marks the instant in all four


def _when_views_ready(body: str) -> str:
    """A script appended to a run page: runs the JavaScript ``body`` (with ``views``, the page's Vega views)
    once the page has drawn its charts, or reports that it never did."""
    return """<script>
(function () {
  var tries = 0, timer = setInterval(function () {
    var views = window.llmsimViews;
    if (!views && ++tries < 200) { return; }
    clearInterval(timer);
    if (!views) { document.body.setAttribute("data-probe", JSON.stringify({error: "no views"})); return; }
""" + body.lstrip("\n") + """  }, 50);
})();
</script>"""


_RUN_PROBE = _when_views_ready("""
    var zoomed = function () {
      return views.map(function (v) { try { return v.signal("page_zoom"); } catch (e) { return "none"; } }); };
    var before = zoomed();
    views[0].data("zoom_store", [{unit: "concat_0_layer_0", fields: [{field: "time", channel: "x", type: "R"}],
                                  values: [[2, 5]]}]);
    views[0].runAsync().then(function () {
      return new Promise(function (ok) { setTimeout(ok, 200); });
    }).then(function () {
      var bottom = views[0].scale("concat_1_x").domain();
      document.body.setAttribute("data-probe", JSON.stringify({before: before, after: zoomed(), bottom: bottom}));
    });
""")


def test_run_page_brush_zooms_the_other_time_charts(tmp_path):
    """The brush on the latency chart (the page's first) sets the time domain of every other time chart of
    the page, and of the success panel under it; charts without a time axis (the CDF) are left alone."""
    import html as html_lib
    import json

    res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides(SHORT["tuesday"]))
    page = write_report(res, tmp_path / "run.html", twins=False)
    text = page.read_text(encoding="utf-8")
    at = text.rindex("</body>")
    probe = tmp_path / "probe.html"
    probe.write_text(text[:at] + _RUN_PROBE + text[at:], encoding="utf-8")
    found = re.search(r'data-probe="([^"]*)"', _render(probe, "run-probe", tmp_path))
    assert found, "the probe did not run"
    got = json.loads(html_lib.unescape(found.group(1)))
    assert "error" not in got, got
    timed = [i for i, z in enumerate(got["before"]) if z != "none"]
    assert len(timed) >= 4 and all(got["before"][i] is None for i in timed)  # no zoom until a brush is drawn
    assert all(got["after"][i] == [2, 5] for i in timed if i != 0)  # every other time chart follows the brush
    assert got["bottom"] == [2, 5]  # and the success panel under the brush
    assert got["after"][0] is None  # the brushed chart itself keeps the whole run


#: Appended to a run page: once its charts are drawn, counts the charts showing a linked hover rule, then
#: hovers an instant of the first time chart through its selection's store (as a pointer move would) and
#: counts again.
_RUN_HOVER_PROBE = _when_views_ready("""
    var timed = views.filter(function (v) { try { v.signal("page_hover"); return true; } catch (e) { return false; } });
    var shown = function () {
      return timed.filter(function (v) {
        var g = 'g[class*="page_hover_rule"] ', rules = v.container().querySelectorAll(g + "line, " + g + "path");
        return rules.length > 0; }).length; };
    var before = shown(), source = views.filter(function (v) {
      try { v.signal("hover"); return true; } catch (e) { return false; } })[0];
    source.data("hover_store", [{unit: "hovercatch0", fields: [{field: "time", type: "E"}], values: [HOVER_TIME]}]);
    source.runAsync().then(function () {
      return new Promise(function (ok) { setTimeout(ok, 300); });
    }).then(function () {
      document.body.setAttribute("data-probe", JSON.stringify({timed: timed.length, before: before, after: shown(),
        instants: timed.map(function (v) { return v.signal("page_hover"); })}));
    });
""")


def test_run_page_hover_marks_the_instant_on_every_time_chart(tmp_path):
    """Hovering one time chart of the run page shows the hover rule, at that instant, on every time chart."""
    import html as html_lib
    import json

    res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides(SHORT["tuesday"]))
    page = write_report(res, tmp_path / "run.html", twins=False)
    text = page.read_text(encoding="utf-8")
    at = text.rindex("</body>")
    probe = tmp_path / "probe.html"
    instant = 3.0  # axis units, inside every chart's domain
    probe.write_text(text[:at] + _RUN_HOVER_PROBE.replace("HOVER_TIME", repr(instant)) + text[at:], encoding="utf-8")
    found = re.search(r'data-probe="([^"]*)"', _render(probe, "run-hover-probe", tmp_path))
    assert found, "the probe did not run"
    got = json.loads(html_lib.unescape(found.group(1)))
    assert "error" not in got, got
    assert got["timed"] >= 4  # the latency, throughput, queue ... charts all carry the linked hover
    assert got["before"] == 0  # no rule until something is hovered
    assert got["after"] == got["timed"]  # then one on every time chart
    assert all(t == pytest.approx(instant) for t in got["instants"])  # all at the hovered instant
