"""`--report` on sweep and compare: one offline HTML page with the table and the charts."""

from __future__ import annotations

import re

from typer.testing import CliRunner

import llmsim
from llmsim.cli import app
from llmsim.viz.report import experiment_report_html

from conftest import tiny_scenario


def small():
    return llmsim.Scenario.model_validate(tiny_scenario(horizon="2m"))


def _external_fetches(page: str) -> list[str]:
    return re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="https?://', page)


def test_sweep_report_has_table_frontier_and_heatmap():
    sw = llmsim.sweep(small(), grid={"client.timeout": [1, 5], "providers.p.capacity.slots": [2, 8]},
                      replications=1, workers=1, progress=False)
    page = experiment_report_html(sw)
    assert page.count('class="spec"') == 2  # frontier + heatmap (two parameters)
    assert "latency_p95" in page and not _external_fetches(page)


def test_compare_report_has_forest_plot_and_escaped_names(tmp_path):
    cmp = llmsim.compare(small(), clients={"<b>none</b>": "no-retry", "naive": "naive"}, replications=2,
                         workers=1, progress=False)
    page = experiment_report_html(cmp)
    # over time (each candidate on shared axes) + forest plot
    assert page.count('class="spec"') == 2 and "&lt;b&gt;none&lt;/b&gt;" in page and "<b>none</b>" not in page
    assert not _external_fetches(page)


def test_cli_report_option(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text("horizon: 2m\nworkload: {arrivals: {rate: 3/s}}\nproviders: [{name: p, capacity: {slots: 4}}]\n")
    r = CliRunner().invoke(app, ["compare", str(sc), "-c", "a=no-retry", "-c", "b=naive", "-r", "2", "--workers", "1",
                                 "--no-progress", "--report", str(tmp_path / "c.html")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "c.html").read_text().count('class="spec"') == 2  # over time + forest plot
