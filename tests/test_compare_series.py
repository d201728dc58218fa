"""compare keeps a small time series per run: checked against the raw tables of the same runs simulated again
(same scenario, client and seed), merged across replications by hand, and kept through save/load and resume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import llmsim
from llmsim.config.loading import resolve_client
from llmsim.experiments.compare import CompareResult

from conftest import tiny_scenario

CLIENTS = {"none": "no-retries", "sdk": "openai-sdk"}


def _scenario():
    # 12 requests/s against a limit of 300 a minute: 429s, which openai-sdk retries and no-retries does not
    return llmsim.Scenario.model_validate(tiny_scenario(
        horizon="3m", workload={"arrivals": {"rate": "12/s"}, "input_tokens": {"dist": "fixed", "value": 500},
                                "output_tokens": {"dist": "exponential", "mean": 100}, "max_tokens": 400},
        providers=[{"name": "p", "capacity": {"slots": 8}, "rate_limits": {"rpm": 300},
                    "latency": {"ttft": "300ms", "tokens_per_s": 100},
                    "pricing": {"input_per_mtok": 1.0, "output_per_mtok": 4.0}}]))


@pytest.fixture(scope="module")
def cmp():
    return llmsim.compare(_scenario(), clients=CLIENTS, replications=2, workers=1, progress=False)


def _by_hand(res, width: float) -> pd.DataFrame:
    """Per bin from the raw tables: requests and successes by arrival, attempts by sending time (locally refused
    ones left out), spend and wasted spend by attempt end, p95 of the successes' latency; after the horizon
    (the drain) nothing."""
    req, att = res.requests, res.attempts
    rb = (req["arrival"] // width).astype(int)
    ok = req["outcome"].astype(str) == "ok"
    sent = ~att["outcome"].astype(str).isin(["rejected", "spend_blocked"])
    end = att["end"].fillna(att["sent"])
    out = pd.DataFrame({"requests": rb.value_counts(), "ok": rb[ok].value_counts(),
                        "attempts": (att["sent"][sent] // width).astype(int).value_counts(),
                        "cost": att["cost"].groupby((end // width).astype(int)).sum(),
                        "wasted": att["cost"].where(att["outcome"].astype(str) != "ok", 0.0)
                        .groupby((end // width).astype(int)).sum(),
                        "latency_p95": req["latency"][ok].groupby(rb[ok]).quantile(0.95)})
    return out.fillna({"requests": 0, "ok": 0, "attempts": 0, "cost": 0.0, "wasted": 0.0})


def test_each_run_keeps_its_bins_as_its_raw_tables_say(cmp):
    frame = cmp.sweep.series
    width = float(np.diff(np.sort(frame["t"].unique()))[0])
    sc = _scenario()
    for (point, rep), got in frame.groupby(["point", "replication"]):
        name = cmp.clients[point]
        seed = int(cmp.table.query("point == @point and replication == @rep")["seed"].iloc[0])
        res = llmsim.simulate(sc.model_copy(update={"client": resolve_client(CLIENTS[name]), "keep": "all"}), seed)
        hand = _by_hand(res, width).reindex(range(len(got)))
        got = got.reset_index(drop=True)
        for col in ("requests", "ok", "attempts"):
            assert got[col].tolist() == hand[col].fillna(0).tolist(), (name, rep, col)
        for col in ("cost", "wasted"):
            assert np.allclose(got[col], hand[col].fillna(0.0), rtol=1e-12, atol=1e-15), (name, rep, col)
        assert np.allclose(got["latency_p95"], hand["latency_p95"], equal_nan=True)


def test_the_runs_show_failures_and_retries(cmp):
    """Not a vacuous check: the scenario overloads the provider, so bins have failures and amplification."""
    over = cmp.over_time()
    assert (over["failed"] > 0).any() and (over.query("client == 'sdk'")["amplification"] > 1.05).any()


def test_merged_across_replications_by_hand(cmp):
    frame, over = cmp.sweep.series, cmp.over_time().set_index(["client", "t"])
    width = float(over["width"].iloc[0])
    for (point, t), g in frame.groupby(["point", "t"]):
        row = over.loc[(cmp.clients[point], t)]
        assert row["requests"] == g["requests"].sum() and row["runs"] == len(g) == 2
        if g["requests"].sum():
            assert row["success_rate"] == pytest.approx(g["ok"].sum() / g["requests"].sum())
            assert row["amplification"] == pytest.approx(g["attempts"].sum() / g["requests"].sum())
        assert row["spend_per_hour"] == pytest.approx(g["cost"].mean() / width * 3600)
        assert row["latency_p95"] == pytest.approx(g["latency_p95"].mean(), nan_ok=True)


def test_series_survive_save_and_load(cmp, tmp_path):
    cmp.save(tmp_path / "c")
    back = CompareResult.load(tmp_path / "c")
    pd.testing.assert_frame_equal(back.over_time(), cmp.over_time())


def test_summary_only_runs_keep_no_series():
    sc = _scenario().model_copy(update={"keep": "summary"})
    cmp = llmsim.compare(sc, clients=CLIENTS, replications=2, workers=1, progress=False)
    assert cmp.sweep.series is None and cmp.over_time() is None


def test_resumed_compare_keeps_the_series(tmp_path):
    first = llmsim.compare(_scenario(), clients=CLIENTS, replications=2, workers=1, progress=False,
                           out=tmp_path / "run")
    again = llmsim.compare(_scenario(), clients=CLIENTS, replications=2, workers=1, progress=False,
                           out=tmp_path / "run", resume=True)
    assert again.sweep.computed == 0
    pd.testing.assert_frame_equal(again.over_time(), first.over_time())
