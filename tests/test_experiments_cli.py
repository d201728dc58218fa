"""CLI: llmsim sweep / compare / tune through typer's CliRunner."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from llmsim.cli import app
from llmsim.experiments import SweepResult

from conftest import tiny_scenario

runner = CliRunner()


@pytest.fixture
def scenario_file(tmp_path):
    d = tiny_scenario(horizon="2m")
    d["providers"][0]["errors"] = {"server_error_rate": 0.2}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(d), encoding="utf-8")
    return str(path)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_sweep_writes_parquet_and_summary_and_resume_recomputes_nothing(scenario_file, tmp_path):
    out = tmp_path / "sw"
    args = ["sweep", scenario_file, "--grid", "client.retry.max_attempts=1,3", "--grid", "client.timeout=null,5s",
            "-r", 2, "--workers", 1, "--out", out, "--no-progress"]
    res = invoke(*args)
    assert res.exit_code == 0, res.output
    assert "4 points x 2 replications" in res.stdout and "max_attempts" in res.stdout
    table = pd.read_parquet(out / "table.parquet")
    assert len(table) == 8 and len(pd.read_csv(out / "summary.csv")) == 4
    stamps = {f.name: f.stat().st_mtime_ns for f in (out / "runs").iterdir()}
    assert len(stamps) == 8
    first = SweepResult.load(out).table
    res = invoke(*args, "--resume")
    assert res.exit_code == 0, res.output
    assert {f.name: f.stat().st_mtime_ns for f in (out / "runs").iterdir()} == stamps
    pd.testing.assert_frame_equal(SweepResult.load(out).table, first)


@pytest.mark.parametrize("args, needle", [
    (["--grid", "client.retry.max_attempts"], "--grid expects PATH=VALUES"),
    (["--grid", "client.retri.max_attempts=1,2"], "client.retri"),
    (["--grid", "client.retry.max_attempts=1,0"], "client.retry.max_attempts"),
    (["--grid", "client.timeout=5s", "--set", "horizon=-1"], "horizon"),
    (["--grid", "client.timeout=5s", "--resume"], "--resume needs --out"),
    (["--grid", "client.timeout=5s", "--metric", "p95"], "unknown metric"),
    ([], "--grid"),
])
def test_sweep_bad_input_is_one_line_exit_2_nothing_written(scenario_file, tmp_path, args, needle):
    out = tmp_path / "never"
    extra = [] if "--resume" in args else ["--out", out]
    res = invoke("sweep", scenario_file, *args, *extra, "--workers", 1, "--no-progress")
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in res.output
    assert not out.exists()


def test_compare_prints_winners_and_saves_differences(scenario_file, tmp_path):
    out = tmp_path / "cmp"
    res = invoke("compare", scenario_file, "--client", "once=no-retries", "--client", "naive=naive-retry",
                 "-r", 3, "--workers", 2, "--out", out, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "winner" in res.stdout and "Paired differences vs once" in res.stdout
    diffs = pd.read_csv(out / "differences.csv")
    assert set(diffs["client"]) == {"naive"} and (out / "winners.csv").is_file()
    row = diffs.set_index("metric").loc["success_rate"]
    assert row["diff"] > 0 and row["significant"]


def test_compare_needs_two_clients_and_known_presets(scenario_file):
    res = invoke("compare", scenario_file, "--client", "a=no-retries", "--no-progress")
    assert res.exit_code == 2 and "at least two" in res.stderr
    res = invoke("compare", scenario_file, "--client", "a=no-retries", "--client", "b=nope", "--no-progress")
    assert res.exit_code == 2 and "nope" in res.stderr and "presets" in res.stderr


def test_tune_prints_best_and_frontier(scenario_file, tmp_path):
    out = tmp_path / "tune"
    res = invoke("tune", scenario_file, "--param", "client.retry.max_attempts=1:4", "--constraint",
                 "success_rate>=95%", "--constraint", "latency_p95<=60s", "--budget", 24, "--workers", 1,
                 "--out", out, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "best: client.retry.max_attempts=" in res.stdout
    cand = pd.read_csv(out / "candidates.csv")
    assert len(cand) == 4 and (out / "frontier.csv").is_file() and (out / "best.json").is_file()
    res = invoke("tune", scenario_file, "--param", "client.retry.max_attempts=1:4", "--constraint", "p95<3",
                 "--no-progress")
    assert res.exit_code == 2 and "unknown metric" in res.stderr
