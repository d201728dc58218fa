"""``llmsim run --at / --horizon``: the measured window starts at a time of the scenario's day, the day
before it simulated as warm-up.

Checked against the whole day's tables: ``run tuesday --at 09:00`` must report what the full run's
requests that arrived from 09:00 on did (the same run, only the window of the summary moves)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import llmsim
from llmsim.cli import app

runner = CliRunner()


def _json(*args: str) -> dict:
    r = runner.invoke(app, ["run", *args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)["summary"]


@pytest.fixture(scope="module")
def full_day():
    return llmsim.simulate(llmsim.load_scenario("tuesday"))


def test_at_0900_summarises_the_requests_of_the_day_from_0900(full_day, monkeypatch):
    monkeypatch.delenv("LLMSIM_HORIZON_CAP", raising=False)
    got = _json("tuesday", "--at", "09:00")
    req = full_day.requests
    late = req[req["arrival"] >= 9 * 3600]
    assert got["requests"] == len(late)
    assert got["success_rate"] == pytest.approx(float((late["outcome"] == "ok").mean()), abs=1e-12)
    ok = late.loc[late["outcome"] == "ok", "latency"].to_numpy()
    assert got["latency_p95"] == pytest.approx(float(np.quantile(ok, 0.95)), rel=1e-9)
    assert got["success_rate"] < 0.9  # 9 AM: 2 of 40 slots left


def test_at_0200_for_an_hour_is_the_quiet_night(monkeypatch):
    monkeypatch.delenv("LLMSIM_HORIZON_CAP", raising=False)
    got = _json("tuesday", "--at", "02:00", "--horizon", "1h")
    assert got["success_rate"] == 1.0
    assert 5.5 * 3600 < got["requests"] < 6.5 * 3600  # 6 requests/s for one hour


def test_tables_start_at_the_given_time(monkeypatch):
    monkeypatch.delenv("LLMSIM_HORIZON_CAP", raising=False)
    r = runner.invoke(app, ["run", "tuesday", "--at", "08:30"], env={"COLUMNS": "100"})
    assert r.exit_code == 0, r.output
    assert "measured from Tue 08:30 to Tue 10:00" in " ".join(r.output.split())
    periods = r.output.split("By 10 minutes", 1)[1]
    assert "08:30" in periods and "08:20" not in periods and "00:00" not in periods


@pytest.mark.parametrize("args, field", [(["--at", "10:00"], "--at"), (["--at", "25:00"], "--at"),
                                         (["--at", "09:00", "--horizon", "0s"], "--horizon"),
                                         (["--horizon", "later"], "--horizon")])
def test_bad_at_or_horizon_is_one_line(args, field):
    r = runner.invoke(app, ["run", "tuesday", *args])
    assert r.exit_code == 2
    assert field in r.output and "Traceback" not in r.output
