"""``llmsim stability`` through typer's CliRunner, the saved map, and its pictures."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import llmsim
from llmsim.cli import app
from llmsim.experiments.stability import StabilityResult, stability
from llmsim.experiments.stability_design import Trigger, cell_scenario
from llmsim.experiments.stability_theory import fluid_boundary
from llmsim.viz.plots.stability_charts import recovery_timeline, stability_map, stability_page

runner = CliRunner()
SCENARIO = {"name": "one-slot", "horizon": 120, "seed": 2, "workload": {"arrivals": {"rate": "5/s"}},
            "providers": [{"name": "p", "capacity": {"slots": 2}, "abort_notice": "never",
                           "latency": {"service": {"dist": "exponential", "mean": 0.2}}}],
            "client": {"timeout": "2s"}}
IMMEDIATE = {"timeout": "2s", "retry": {"max_attempts": 4, "on": ["timeout"],
                                        "backoff": {"kind": "constant", "base": 0, "jitter": "none"}}}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("stab")
    (root / "sc.yaml").write_text(yaml.safe_dump(SCENARIO))
    (root / "imm.yaml").write_text(yaml.safe_dump(IMMEDIATE))
    return root


@pytest.fixture(scope="module")
def saved(files):
    out = files / "map"
    r = runner.invoke(app, ["stability", str(files / "sc.yaml"), "-c", f"imm={files / 'imm.yaml'}", "-c",
                            "none=no-retry", "--durations", "10,20", "--loads", "0.5,1.6", "--refine", "1", "-r",
                            "3", "--within", "30", "--settle", "20", "-w", "1", "--no-progress", "--out", str(out),
                            "--report", str(files / "map.html"), "--timeline", "imm,20,1.6"])
    assert r.exit_code == 0, r.output
    return r, out


def test_cli_prints_boundaries_and_saves_the_map(saved, files):
    r, out = saved
    assert "stability boundary" in r.output and "imm" in r.output
    m = StabilityResult.load(out)
    assert set(m.table["client"]) == {"imm", "none"}
    # coarse loads for every column, bisection points only inside brackets; 3 replications everywhere
    assert (m.table.groupby(["client", "duration", "load"]).size() == 3).all()
    assert set(pd.read_parquet(out / "cells.parquet").columns) >= {"p_recover", "p_low", "p_high",
                                                                 "median_time_to_recover"}
    page = (files / "map.html").read_text()
    assert page.count('class="vis"') == 2 and "<script src=" not in page and "Runs of imm" in page


@pytest.mark.parametrize("args,needle", [
    (["--kind", "quake"], "unknown kind"),
    (["--depth", "2"], "depth"),
    (["--durations", "ten"], "--durations"),
    (["-c", "x=not-a-preset"], "not-a-preset"),
    (["--timeline", "nobody,10,1"], "--timeline"),
])
def test_cli_bad_input_is_one_line_and_exit_2(files, args, needle):
    base = ["stability", str(files / "sc.yaml")] + ([] if "-c" in args else ["-c", "no-retry"])
    r = runner.invoke(app, base + args + ["--no-progress", "-w", "1"])
    assert r.exit_code == 2 and needle in r.output and "Traceback" not in r.output


def test_same_seed_same_map(files):
    kw = dict(durations=[10], loads=[0.8, 1.6], refine=1, replications=2, recover_within=30, settle=20, workers=1,
              progress=False)
    a = stability(yaml.safe_load((files / "sc.yaml").read_text()), {"imm": IMMEDIATE}, **kw).table
    b = stability(yaml.safe_load((files / "sc.yaml").read_text()), {"imm": IMMEDIATE}, **kw).table
    pd.testing.assert_frame_equal(a, b)


def test_charts_and_example_runs(saved):
    m = StabilityResult.load(saved[1])
    spec = stability_map(m).to_dict()
    assert len(spec["hconcat"]) == 2
    runs = m.example_runs("imm", 20.0, 1.6)
    assert set(runs) <= {"collapsed", "recovered"} and runs
    if "collapsed" in runs:
        assert runs["collapsed"].summary()["collapsed"] == 1
    assert "vconcat" in recovery_timeline(runs).to_dict()
    assert "Boundaries" in stability_page(m)


def test_cell_scenario_burst_and_fluid_line():
    sc = llmsim.Scenario.model_validate(SCENARIO)
    cell = cell_scenario(sc, IMMEDIATE, 2.0, Trigger("burst", 1.0, 30), settle=20, observe=40)
    assert cell.workload.arrivals.schedule == [(0.0, 10.0), (20.0, 20.0), (50.0, 10.0)]
    assert cell.providers[0].incidents == []
    # the fluid line: without retries the capacity, with 4 attempts a quarter of it for long dips
    mu, lam = 10.0, 5.0
    assert fluid_boundary(mu, lam, 1, 2.0, 0.5, [1e9])[0] == pytest.approx(2.0)
    assert fluid_boundary(mu, lam, 4, 2.0, 0.5, [1e9])[0] == pytest.approx(1.0)  # the dip share bound wins
    assert fluid_boundary(mu, lam, 4, math.inf, 0.5, [10.0])[0] == pytest.approx(2.0)
