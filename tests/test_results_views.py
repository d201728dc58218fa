"""Tables, summary and time series on column views give exactly what the plain pandas formulas give.

The reference below is the straightforward pandas implementation (filtered copies, outcomes as strings,
crosstab); the library computes the same numbers on views and codes without copying a table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import llmsim
from llmsim.core.goodput_collapse import COLLAPSE_METRICS
from llmsim.core.outcomes import LOCAL_OUTCOMES


def reference_summary(requests, attempts, events, warmup, horizon) -> dict:
    req = requests[requests["arrival"] >= warmup]
    n = len(req)
    ok = req[req["outcome"] == "ok"]
    lat, ttft = ok["latency"].to_numpy(), ok["ttft"].to_numpy()
    att = attempts[attempts["request_id"].isin(req["request_id"])] if warmup > 0 else attempts
    outcome = att["outcome"].astype(str)
    sent = ~outcome.isin(LOCAL_OUTCOMES)
    n_sent = int(sent.sum())

    def q(v, p):
        return float(np.quantile(v, p)) if len(v) else float("nan")

    def share(name):
        return float((outcome[sent] == name).sum() / n_sent) if n_sent else float("nan")

    cost = float(att["cost"].sum())
    opens = events[(events["kind"] == "breaker") & (events["value"] == "open") & (events["time"] >= warmup)]
    nan = float("nan")
    return {"requests": float(n), "success_rate": len(ok) / n if n else nan, "latency_p50": q(lat, 0.5),
            "latency_p95": q(lat, 0.95), "latency_p99": q(lat, 0.99),
            "latency_mean": float(lat.mean()) if len(ok) else nan, "ttft_p50": q(ttft, 0.5),
            "ttft_p95": q(ttft, 0.95), "attempts_per_request": n_sent / n if n else nan,
            "rate_limited_share": share("rate_limited"), "overloaded_share": share("overloaded"),
            "timeout_share": share("timeout"), "server_error_share": share("server_error"),
            "rejected_share": float((outcome == "rejected").sum() / len(att)) if len(att) else nan,
            "cost_total": cost, "cost_per_success": cost / len(ok) if len(ok) else nan,
            "wasted_cost": float(req["wasted_cost"].sum()), "goodput": len(ok) / (horizon - warmup),
            "breaker_opens": float(len(opens)), "invalid_delivered": float((req["outcome"] == "invalid").sum())}


def reference_counts(res, width) -> pd.DataFrame:
    """Requests, successes and attempts by outcome per bin, by pandas groupby/crosstab on strings."""
    end = max(res.scenario.horizon, float(res.requests["end"].max()))
    index = pd.Index(np.arange(0.0, end + width, width)[:-1], name="time")
    req = res.requests
    rbin = np.floor(req["arrival"].to_numpy() / width) * width
    out = pd.DataFrame(index=index)
    out["requests"] = req.groupby(rbin).size().reindex(index, fill_value=0)
    out["ok"] = (req["outcome"] == "ok").groupby(rbin).sum().reindex(index, fill_value=0)
    abin = np.floor(res.attempts["sent"].to_numpy() / width) * width
    counts = pd.crosstab(abin, res.attempts["outcome"].astype(str)).reindex(index, fill_value=0)
    out["attempts"] = counts.sum(axis=1)
    for name in counts.columns:
        out[f"attempts_{name}"] = counts[name]
    return out


CASES = [("tuesday", {"horizon": "40m"}), ("tuesday", {"horizon": "20m", "warmup": 0}),
         ("contract-drift-guarded", {"horizon": "30m"}), ("runaway-agents", {"horizon": "30m"})]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1]}")
def result(request):
    name, sets = request.param
    return llmsim.simulate(llmsim.load_scenario(name, sets))


def test_summary_equals_the_plain_pandas_formulas(result):
    sc = result.scenario
    got = result.summary().to_dict()
    want = reference_summary(result.requests, result.attempts, result.events, sc.warmup, sc.horizon)
    # the collapse metrics have their own checks (tests/test_stability.py, tests/test_summary_only.py)
    got = {k: v for k, v in got.items() if k not in COLLAPSE_METRICS}
    assert got.keys() == want.keys()
    for k, v in want.items():
        assert got[k] == v or (np.isnan(got[k]) and np.isnan(v)), k


def test_summary_works_on_unsorted_and_string_tables(result):
    """Tables built by hand (shuffled, outcomes as plain strings) give the same summary."""
    sc = result.scenario
    rng = np.random.default_rng(0)
    req = result.requests.sample(frac=1.0, random_state=rng).reset_index(drop=True)
    req["outcome"] = req["outcome"].astype(str)
    att = result.attempts.assign(outcome=result.attempts["outcome"].astype(str))
    got = llmsim.results.summarize(req, att, result.events, sc.warmup, sc.horizon)
    want = result.summary()
    for k in ("requests", "success_rate", "attempts_per_request", "rate_limited_share", "rejected_share",
              "latency_p95", "invalid_delivered"):
        assert got[k] == pytest.approx(want[k], rel=1e-12, nan_ok=True), k


def test_timeseries_counts_equal_groupby_and_crosstab(result):
    ts = result.timeseries("5min")
    want = reference_counts(result, 300.0)
    for col in want.columns:
        np.testing.assert_array_equal(ts[col].to_numpy(), want[col].to_numpy(), err_msg=col)
    assert set(ts.columns) >= {"latency_p50", "latency_p95", "cost", "success_rate"}


def test_tables_keep_the_design_columns_and_sort(result):
    att, req = result.attempts, result.requests
    keys = list(zip(att["request_id"], att["attempt"], strict=True))
    assert keys == sorted(keys)
    assert (np.diff(req["request_id"].to_numpy()) > 0).all()
    assert str(att["outcome"].dtype) == "category" and str(req["provider"].dtype) == "category"
    assert att["status"].dtype == np.int16 and req["cost"].dtype == np.float64
