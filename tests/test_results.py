"""Result tables, summary metrics, time series, and lossless atomic save/load."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

import llmsim
from llmsim.core.outcomes import OUTCOMES

from conftest import tiny_scenario

REQUEST_COLUMNS = ["request_id", "arrival", "end", "outcome", "attempts", "provider", "latency", "ttft",
                   "input_tokens", "output_tokens", "cost", "wasted_cost", "session_id", "step"]
EVENT_COLUMNS = ["time", "kind", "subject", "value", "number", "session_id"]
ATTEMPT_COLUMNS = ["request_id", "attempt", "provider", "sent", "started", "first_token", "end", "outcome", "status",
                   "retry_after", "billed_input_tokens", "billed_output_tokens", "cost", "billed_cached_tokens"]


@pytest.fixture(scope="module")
def res():
    return llmsim.simulate(llmsim.load_scenario("tuesday", {"horizon": "30m", "warmup": "2m",
                                                            "providers.0.capacity.contention": 0.95}), seed=2)


def test_columns_and_vocabulary(res):
    assert list(res.requests.columns) == REQUEST_COLUMNS
    assert list(res.attempts.columns) == ATTEMPT_COLUMNS
    assert list(res.attempts["outcome"].cat.categories) == list(OUTCOMES)
    assert set(res.summary().index) == set(llmsim.SUMMARY_METRICS)


def test_event_log_is_typed(res):
    ev = res.events
    assert list(ev.columns) == EVENT_COLUMNS
    assert ev["time"].dtype == float and ev["number"].dtype == float and ev["session_id"].dtype == np.int64
    cap = ev[ev["kind"] == "capacity"]
    assert len(cap) and (cap["value"] == "").all() and (cap["number"] == np.floor(cap["number"])).all()
    assert (ev["session_id"] == -1).all()  # no sessions in this scenario


def test_format_1_results_load_with_a_typed_event_log(res, tmp_path):
    """A folder saved before the event log was typed (numbers and session ids as text) loads typed."""
    res.save(tmp_path / "r")
    old = res.events.assign(value=np.where(res.events["kind"] == "capacity",
                                           res.events["number"].map(lambda x: f"{x:.0f}"), res.events["value"]))
    old[["time", "kind", "subject", "value"]].to_parquet(tmp_path / "r" / "events.parquet", index=False)
    meta = json.loads((tmp_path / "r" / "result.json").read_text())
    (tmp_path / "r" / "result.json").write_text(json.dumps({**meta, "format": 1}))
    pd.testing.assert_frame_equal(llmsim.Result.load(tmp_path / "r").events, res.events)


def test_summary_matches_tables(res):
    s = res.summary()
    req = res.requests[res.requests["arrival"] >= 120]
    assert s["requests"] == len(req)
    assert s["success_rate"] == pytest.approx((req["outcome"] == "ok").mean())
    ok = req[req["outcome"] == "ok"]
    assert s["latency_p95"] == pytest.approx(np.quantile(ok["latency"], 0.95))
    att = res.attempts[res.attempts["request_id"].isin(req["request_id"])]
    assert s["attempts_per_request"] == pytest.approx(len(att) / len(req))
    assert s["rate_limited_share"] == pytest.approx((att["outcome"] == "rate_limited").mean())
    assert s["cost_total"] == pytest.approx(att["cost"].sum())
    assert s["wasted_cost"] == pytest.approx(att.loc[att["outcome"] != "ok", "cost"].sum())
    assert s["goodput"] == pytest.approx(len(ok) / (1800 - 120))
    assert s["overloaded_share"] > 0  # the scenario is overloaded: the metric is exercised


def test_timeseries_adds_up(res):
    ts = res.timeseries("5min")
    assert ts["requests"].sum() == len(res.requests)
    assert ts["attempts"].sum() == len(res.attempts)
    assert ts["cost"].sum() == pytest.approx(res.attempts["cost"].sum())
    assert (ts.index[1] - ts.index[0]) == 300
    assert "capacity_shared-gpt" in ts


def test_save_load_is_lossless(res, tmp_path):
    res.save(tmp_path / "r")
    back = llmsim.Result.load(tmp_path / "r")
    pd.testing.assert_frame_equal(back.requests, res.requests)
    pd.testing.assert_frame_equal(back.attempts, res.attempts)
    pd.testing.assert_frame_equal(back.events, res.events)
    assert back.scenario == res.scenario and back.seed == res.seed
    pd.testing.assert_series_equal(back.summary(), res.summary())


def test_save_is_atomic_and_replaces(res, tmp_path, monkeypatch):
    target = tmp_path / "r"
    res.save(target)
    before = sorted(os.listdir(target))

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(OSError):
        res.save(target)
    monkeypatch.undo()
    # the old result is untouched and no temporary folder is left behind
    assert sorted(os.listdir(target)) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
    res.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_warmup_excluded(res):
    s_all = llmsim.Result(res.scenario.model_copy(update={"warmup": 0.0}), res.seed, res.requests, res.attempts,
                          res.events).summary()
    assert s_all["requests"] == len(res.requests) > res.summary()["requests"]


def test_requests_close_even_when_capacity_never_returns():
    data = tiny_scenario(horizon="2m", drain="10m")
    data["providers"][0]["capacity"] = {"slots": 2, "contention": [[0, 0.0], [60, 1.0]]}
    res = llmsim.simulate(data)
    assert res.requests["request_id"].is_unique
    stuck = res.requests[res.requests["outcome"] == "timeout"]
    assert len(stuck) > 0 and (stuck["end"] == 120 + 600).all()


def test_public_api():
    assert set(llmsim.__all__) <= set(dir(llmsim))
    for name in ("simulate", "load_scenario", "Scenario", "Result", "ScenarioError"):
        assert name in llmsim.__all__
