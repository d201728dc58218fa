"""The command line through typer's CliRunner: summaries, JSON, saving, and one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from llmsim.cli import app

from conftest import FIXTURES

runner = CliRunner()
QUICK = ["--set", "horizon=10m", "--set", "warmup=1m"]


def test_run_default_scenario_prints_summary():
    r = runner.invoke(app, ["run", *QUICK])
    assert r.exit_code == 0, r.output
    assert "tuesday" in r.output and "latency_p95" in r.output and "success_rate" in r.output


def test_run_json_is_machine_readable():
    r = runner.invoke(app, ["run", "tuesday", "--seed", "3", "--json", *QUICK])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["seed"] == 3 and 0 <= data["summary"]["success_rate"] <= 1
    assert data["summary"]["requests"] > 0


def test_run_out_saves_result(tmp_path):
    out = tmp_path / "res"
    r = runner.invoke(app, ["run", "--out", str(out), *QUICK])
    assert r.exit_code == 0, r.output
    assert {p.name for p in out.iterdir()} == {"requests.parquet", "attempts.parquet", "events.parquet",
                                               "result.json"}


@pytest.mark.parametrize("args,needle", [
    (["run", "missing.yaml"], "no such file"),
    (["run", "--set", "workload.arrivals.rate=-3/s"], "workload.arrivals.rate"),
    (["run", "--set", "providers.shared-gpt.queue.timeout=20secs"], "did you mean 'sec'"),
    (["run", "--set", "client.route.order=[nope]"], "client.route.order[0]"),
    (["run", "--set", "horizon"], "PATH=VALUE"),
    (["run", "--set", "client.retry.max_atempts=2"], "did you mean 'max_attempts'"),
])
def test_bad_input_exit_2_one_line_nothing_written(tmp_path, args, needle):
    out = tmp_path / "res"
    r = runner.invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 2
    assert needle in r.output
    assert "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_yaml_file(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("horizon: 1h\nworkload: {arrivals: {rate: 3/s}\n")
    r = runner.invoke(app, ["run", str(f)])
    assert r.exit_code == 2 and "YAML syntax error at line" in r.output


def test_validate_schema_presets():
    r = runner.invoke(app, ["validate", str(FIXTURES / "morning-peak.yaml"), "tuesday"])
    assert r.exit_code == 0 and r.output.count("ok:") == 2
    r = runner.invoke(app, ["schema"])
    assert r.exit_code == 0 and "horizon" in json.loads(r.stdout)["properties"]
    r = runner.invoke(app, ["presets"])
    assert r.exit_code == 0 and "tuesday" in r.output


def test_sweep_workers_die_with_a_killed_main_process():
    """SIGKILL the main process of a sweep (no handler runs): its worker processes exit on their own, within
    10 s, instead of idling on as orphans."""
    import os
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    cli = "from llmsim.cli import main; main()"
    p = subprocess.Popen([sys.executable, "-c", cli, "sweep", "tuesday", "--grid", "client.retry.max_attempts=1,2,3,4",
                          "--workers", "2", "--no-progress", "--force"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        deadline = time.monotonic() + 120
        workers: list = []
        while len(workers) < 2 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.2)
            workers = [c for c in psutil.Process(p.pid).children(recursive=True) if "python" in c.name().lower()]
        assert len(workers) >= 2, "the sweep never started its workers"
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        gone, alive = psutil.wait_procs(workers, timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    for w in alive:  # leave nothing behind even when the check fails
        w.kill()
    assert not alive, f"{len(alive)} worker(s) outlived the main process by 10 s"
