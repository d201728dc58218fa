"""`llmsim trace inspect|convert|replay|fit` through typer's CliRunner."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

import llmsim
from llmsim.cli import app
from llmsim.traces.samples import sample_path

runner = CliRunner()


def test_inspect_json_and_html(tmp_path):
    r = runner.invoke(app, ["trace", "inspect", sample_path("otel"), "--json", "--html", str(tmp_path / "t.html")])
    assert r.exit_code == 0, r.output
    st = json.loads(r.output)
    tr = llmsim.load_trace(sample_path("otel"))
    assert st["rows"] == len(tr) and sum(st["rate_per_bin"]) == len(tr)
    assert st["outcomes"] == {k: int(v) for k, v in tr["outcome"].value_counts().items()}
    assert "<svg" in (tmp_path / "t.html").read_text()


def test_convert_roundtrip(tmp_path, public_dir):
    src = public_dir / "burstgpt3.csv"
    out = tmp_path / "b.parquet"
    r = runner.invoke(app, ["trace", "convert", str(src), "--out", str(out)])
    assert r.exit_code == 0, r.output
    a, b = llmsim.load_trace(src), llmsim.load_trace(out)
    assert b.attrs["format"] == "parquet"
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_fit_writes_runnable_scenario(tmp_path):
    out = tmp_path / "fitted.yaml"
    r = runner.invoke(app, ["trace", "fit", sample_path("csv"), "-o", str(out), "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    assert "KS input" in r.output
    res = llmsim.simulate(llmsim.load_scenario(str(out)), seed=1)
    assert len(res.requests) > 0
    assert "calibration" in json.loads((tmp_path / "r.json").read_text())


def test_replay_compares_policies_with_same_arrivals():
    r = runner.invoke(app, ["trace", "replay", sample_path("csv"), "--scenario", "tuesday", "--window", "0s,2m",
                            "--client", "none=no-retries", "--client", "naive=naive-retry", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    reqs = {p["requests"] for p in data["policies"].values()}
    assert len(reqs) == 1 and data["replay"]["requests"] == reqs.pop()
