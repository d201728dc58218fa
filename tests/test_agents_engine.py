"""Issue 4 in the engine: billing identity and rules, sessions and agents (with theory), spend guards,
output contracts (with theory), common random numbers between guarded and unguarded runs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import llmsim
from llmsim.analysis.spend_contracts import (
    billing_residual,
    contract_report,
    cost_avoided,
    recompute_cost,
    sessions_table,
    spend_report,
    validation_retry_cost,
)
from llmsim.policies.validation import expected_attempts

from conftest import tiny_scenario

PRICES = {"input_per_mtok": 3.0, "cached_input_per_mtok": 0.3, "output_per_mtok": 15.0}


def provider(**over) -> dict:
    p = {"name": "p", "capacity": {"slots": 50}, "latency": {"ttft": "500ms", "tokens_per_s": 100},
         "pricing": dict(PRICES)}
    p.update(over)
    return p


def scenario(workload: dict, client: dict | None = None, horizon="2h", seed=1, providers=None) -> llmsim.Scenario:
    return llmsim.Scenario.model_validate({"horizon": horizon, "seed": seed, "workload": workload,
                                           "providers": providers or [provider()], "client": client or {}})


# -- billing --------------------------------------------------------------------------------------
def test_cost_is_billed_tokens_times_prices_with_failures_cache_and_discount():
    p = provider(queue={"limit": 5, "timeout": "3s"}, rate_limits={"rpm": 300}, errors={"server_error_rate": 0.1},
                 latency={"ttft": {"dist": "lognormal", "median": "500ms", "p95": "4s"}, "tokens_per_s": 40},
                 capacity={"slots": 4}, abort_notice="2s")
    p["pricing"]["discount"] = 0.5
    sc = scenario({"arrivals": {"rate": "3/s"}, "input_tokens": {"dist": "exponential", "mean": 2000},
                   "output_tokens": {"dist": "exponential", "mean": 200}, "max_tokens": 800,
                   "cached_input_share": 0.5},
                  {"timeout": "4s", "retry": {"max_attempts": 3}}, horizon="20m", providers=[p])
    res = llmsim.simulate(sc)
    att = res.attempts
    out = att["outcome"].astype(str)
    assert {"ok", "rate_limited", "overloaded", "server_error", "timeout"} <= set(out)
    np.testing.assert_allclose(att["cost"].to_numpy(), recompute_cost(res), rtol=1e-12, atol=1e-15)
    assert abs(billing_residual(res)) < 1e-9
    assert (att.loc[out.isin(["rate_limited", "overloaded"]), "cost"] == 0).all()  # 429 and 529 are free
    err = att[out == "server_error"]
    assert (err["billed_input_tokens"] > 0).all() and (err["billed_output_tokens"] == 0).all()
    started_timeouts = att[(out == "timeout") & att["started"].notna()]
    assert len(started_timeouts) and (started_timeouts["cost"] > 0).all()  # timed out after service start: billed
    assert (att["billed_cached_tokens"] <= att["billed_input_tokens"]).all()
    req = res.requests
    assert math.isclose(req["cost"].sum(), att["cost"].sum())
    ok = att.groupby("request_id")["outcome"].apply(lambda s: (s.astype(str) == "ok").any())
    wasted = att[out != "ok"].groupby("request_id")["cost"].sum()
    np.testing.assert_allclose(req.set_index("request_id")["wasted_cost"],
                               wasted.reindex(req["request_id"], fill_value=0.0).to_numpy())
    assert ok.sum() == (req["outcome"] == "ok").sum()


def test_discount_halves_every_bill_with_the_same_draws():
    base = scenario({"arrivals": {"rate": "2/s"}, "output_tokens": {"dist": "exponential", "mean": 150}},
                    horizon="10m")
    half = base.with_overrides({"providers.p.pricing.discount": 0.5})
    a, b = llmsim.simulate(base), llmsim.simulate(half)
    np.testing.assert_allclose(b.attempts["cost"].to_numpy(), 0.5 * a.attempts["cost"].to_numpy())


def test_timeout_bills_tokens_generated_until_the_server_notices():
    # ttft 0.5 s, 10 tokens/s, 1000 tokens asked: the client gives up at 5 s, the server notices 2 s later
    p = provider(latency={"ttft": "500ms", "tokens_per_s": 10}, abort_notice="2s")
    sc = scenario({"arrivals": {"rate": "1/min"}, "input_tokens": 100, "output_tokens": 1000, "max_tokens": 1000},
                  {"timeout": "5s"}, horizon="10m", providers=[p])
    att = llmsim.simulate(sc).attempts
    assert (att["outcome"] == "timeout").all()
    assert (att["billed_output_tokens"] == int((5 + 2 - 0.5) * 10)).all()
    assert np.allclose(att["cost"], (100 * 3.0 + 65 * 15.0) / 1e6)
    never = sc.with_overrides({"providers.p.abort_notice": "never"})
    assert (llmsim.simulate(never).attempts["billed_output_tokens"] == 1000).all()


def test_cost_without_failures_matches_the_arithmetic():
    sc = scenario({"arrivals": {"rate": "5/s"}, "input_tokens": {"dist": "lognormal", "median": 800, "p95": 3000},
                   "output_tokens": {"dist": "exponential", "mean": 200}, "max_tokens": 100_000}, horizon="1h")
    res = llmsim.simulate(sc)
    req = res.requests
    assert (req["outcome"] == "ok").all()
    from llmsim.core.samplers import LogNormal
    per_req = (LogNormal(800, 3000).mean * 3.0 + 200 * 15.0) / 1e6
    n = len(req)
    sd = req["cost"].std()
    assert abs(req["cost"].sum() - n * per_req) < 4 * sd * math.sqrt(n)


# -- sessions and agents ---------------------------------------------------------------------------
def test_mean_session_length_is_one_over_p():
    p = 0.25
    sc = scenario({"sessions": [{"name": "s", "starts": {"schedule": [[0, "20/s"], [100, 0]]}, "stop_probability": p,
                                 "think_time": "1s", "input_tokens": 100, "output_tokens": 10}]}, horizon="30m")
    st = sessions_table(llmsim.simulate(sc))
    assert (st["reason"] == "done").all()
    n = len(st)
    assert n > 1500
    sd = math.sqrt(1 - p) / p
    assert abs(st["steps"].mean() - 1 / p) < 4 * sd / math.sqrt(n)


def test_context_grows_with_history_up_to_the_limit_and_agents_alternate():
    sc = scenario({"sessions": [{"name": "pair", "starts": {"at": [0, 10]}, "steps": {"dist": "fixed", "value": 8},
                                 "think_time": "2s", "context_limit": 5000, "history_cached_share": 0.5,
                                 "agents": [{"input_tokens": 300, "output_tokens": 100},
                                            {"input_tokens": 200, "output_tokens": 50}]}]}, horizon="10m")
    res = llmsim.simulate(sc)
    req = res.requests.sort_values(["session_id", "step"])
    assert req["session_id"].tolist() == [0] * 8 + [1] * 8
    one = req[req["session_id"] == 0]
    new = [300, 200] * 4
    out = [100, 50] * 4
    hist = np.concatenate([[0], np.cumsum(np.add(new, out))[:-1]])
    assert one["output_tokens"].tolist() == out
    assert one["input_tokens"].tolist() == np.minimum(np.add(new, hist), 5000).tolist()
    att = res.attempts.set_index("request_id").loc[one["request_id"]]
    expect_cached = (np.minimum(np.add(new, hist), 5000) - new) // 2
    assert att["billed_cached_tokens"].tolist() == expect_cached.tolist()
    # each step is sent when the previous one ended, plus the think time
    assert np.allclose(one["arrival"].to_numpy()[1:], one["end"].to_numpy()[:-1] + 2.0)
    assert (res.requests[res.requests["session_id"] < 0].empty)


def runaway_world(client=None, horizon="6h", start="1h") -> llmsim.Scenario:
    wl = {"arrivals": {"rate": "1/min"}, "input_tokens": 500, "output_tokens": 100,
          "sessions": [{"name": "chat", "starts": {"rate": "20/h"}, "stop_probability": 0.5, "think_time": "10s",
                        "input_tokens": 400, "output_tokens": 100},
                       {"name": "loop", "starts": {"at": [start]}, "runaway": 1, "think_time": "1s",
                        "context_limit": 20_000,
                        "agents": [{"input_tokens": 800, "output_tokens": 400},
                                   {"input_tokens": 600, "output_tokens": 200}]}]}
    return scenario(wl, client, horizon=horizon,
                    providers=[provider(latency={"ttft": "1s", "tokens_per_s": 100})])


def test_runaway_spend_grows_linearly_at_the_rate_its_steps_imply():
    res = llmsim.simulate(runaway_world())
    st = sessions_table(res)
    loop = st[st["runaway"]]
    assert loop["reason"].tolist() == ["horizon"] and loop["start"].tolist() == [3600.0]
    sid = int(loop["session_id"].iloc[0])
    req = res.requests[res.requests["session_id"] == sid]
    steady = req[req["input_tokens"] == 20_000]  # the context window is full from here on
    assert len(steady) > 1000
    # a pair of steps: (1 s think + 1 s ttft + out/100 tok/s) for each agent; 20k input each
    cycle = (1 + 1 + 4.0) + (1 + 1 + 2.0)
    pair_cost = (2 * 20_000 * 3.0 + (400 + 200) * 15.0) / 1e6
    rate = pair_cost / cycle
    cum = steady["cost"].cumsum().to_numpy()
    t = steady["end"].to_numpy()
    slope = (cum[-1] - cum[0]) / (t[-1] - t[0])
    assert slope == pytest.approx(rate, rel=0.01)
    residual = cum - (cum[0] + rate * (t - t[0]))
    assert np.abs(residual).max() < 2 * pair_cost  # linear, not just on average


def test_step_cap_and_daily_budget_bound_the_runaway_and_report():
    base = llmsim.simulate(runaway_world())
    capped = llmsim.simulate(runaway_world({"spend": {"session": {"max_steps": 50},
                                                      "alert": {"threshold": "2/h", "window": "30m",
                                                                "delay": "10m"}}}))
    st = sessions_table(capped)
    assert st["steps"].max() <= 50
    ev = capped.events[capped.events["kind"].isin(["session_start", "session_end"])]
    assert (ev["session_id"] >= 0).all() and ev["number"].isna().all()  # session ids as a column, not in text
    assert set(ev.loc[ev["kind"] == "session_start", "value"]) <= {"", "runaway"}
    assert set(ev.loc[ev["kind"] == "session_end", "value"]) == set(st["reason"])
    assert st.loc[st["runaway"], "reason"].tolist() == ["session_steps"]
    rep = spend_report(capped)
    assert rep["onset"] == 3600.0 and rep["time_to_detect"] >= 600.0  # not before the delay
    assert rep["runaway_steps"] == 50
    # the alert fires once the rolling 30-minute spend reaches 2/h x 0.5 h = 1 USD, so at least that much,
    # less what was already spent in the 30 minutes before the onset, is billed before detection
    att = capped.attempts
    pre = att.loc[(att["end"] >= rep["onset"] - 1800) & (att["end"] < rep["onset"]), "cost"].sum()
    assert 1.0 - pre - 1e-9 <= rep["spend_before_detection"] <= att["cost"].sum()
    avoided = cost_avoided(capped, base)
    assert avoided["cost_avoided"] > 0.9 * spend_report(base)["runaway_cost"] - rep["runaway_cost"]
    budget = llmsim.simulate(runaway_world({"spend": {"budgets": [{"window": "1h", "limit": 1.0}]}}))
    assert sent_after_budget_hit(budget.attempts, 3600.0, 1.0) == 0
    assert (budget.requests["outcome"] == "spend_blocked").sum() > 0
    # overshoot: only the attempts in flight when the limit was hit (the one that crossed it included)
    att = budget.attempts
    hits = budget.events[budget.events["kind"] == "budget_exhausted"]["time"].to_numpy()
    assert len(hits) >= 1
    for hit in hits:
        w = np.floor(hit / 3600)
        billed = att.loc[np.floor(att["end"] / 3600) == w, "cost"].sum()
        in_flight = att.loc[(att["sent"] < hit) & (att["end"] >= hit), "cost"].sum()
        assert 1.0 <= billed <= 1.0 + in_flight + 1e-12


def sent_after_budget_hit(att: pd.DataFrame, window: float, limit: float) -> int:
    """Attempts sent while the spend billed earlier in their window had already reached the limit."""
    bills = att[att["cost"] > 0].sort_values("end")
    bad = 0
    for w, sent in att[att["outcome"] != "spend_blocked"].groupby(np.floor(att["sent"] / window))["sent"]:
        b = bills[(bills["end"] >= w * window) & (bills["end"] < (w + 1) * window)]
        spent_before = np.concatenate([[0.0], b["cost"].cumsum().to_numpy()])[
            np.searchsorted(b["end"].to_numpy(), sent.to_numpy(), side="left")]
        bad += int((spent_before >= limit).sum())
    return bad


def test_guard_that_never_triggers_changes_nothing_common_random_numbers():
    quiet = {"spend": {"budgets": [{"window": "1d", "limit": 1e9}], "session": {"max_steps": 10**5}}}
    a = llmsim.simulate(runaway_world())
    b = llmsim.simulate(runaway_world(quiet))
    pd.testing.assert_frame_equal(a.requests, b.requests)
    pd.testing.assert_frame_equal(a.attempts, b.attempts)
    assert cost_avoided(b, a)["cost_avoided"] == 0.0


def test_open_loop_requests_keep_their_draws_when_a_guard_stops_sessions():
    a = llmsim.simulate(runaway_world())
    b = llmsim.simulate(runaway_world({"spend": {"session": {"max_steps": 3}}}))
    oa = a.attempts[a.attempts["request_id"] < 10**12].reset_index(drop=True)
    ob = b.attempts[b.attempts["request_id"] < 10**12].reset_index(drop=True)
    pd.testing.assert_frame_equal(oa[["request_id", "sent", "billed_input_tokens", "billed_output_tokens"]],
                                  ob[["request_id", "sent", "billed_input_tokens", "billed_output_tokens"]])
    sa, sb = sessions_table(a), sessions_table(b)
    assert sa["start"].tolist() == sb["start"].tolist()  # the same sessions start at the same times


def test_alert_block_stops_every_attempt_after_it_fires():
    res = llmsim.simulate(runaway_world({"spend": {"alert": {"threshold": "2/h", "window": "30m", "delay": "5m",
                                                             "action": "block"}}}))
    ev = res.events[res.events["kind"] == "spend_alert"]
    assert len(ev) == 1
    fired = float(ev["time"].iloc[0])
    att = res.attempts
    after = att[att["sent"] > fired]
    assert len(after) and (after["outcome"] == "spend_blocked").all()
    assert (after["cost"] == 0).all() and (after["provider"].astype(str) == "none").all()


# -- output contracts ------------------------------------------------------------------------------
def contract_world(validation=None, q=0.3, change="10m", horizon="40m", rate="4/s"):
    p = provider(quality={"invalid_rate": 0.0, "changes": [[change, q]]})
    client = {} if validation is None else {"validation": validation}
    return scenario({"arrivals": {"rate": rate}, "input_tokens": {"dist": "exponential", "mean": 500},
                     "output_tokens": {"dist": "exponential", "mean": 80}}, client, horizon=horizon, providers=[p])


@pytest.mark.parametrize("n_attempts", [1, 3])
def test_invalid_delivered_share_is_q_to_the_n_and_amplification(n_attempts):
    q = 0.3
    validation = None if n_attempts == 1 else {"on_invalid": "retry", "max_attempts": n_attempts}
    res = llmsim.simulate(contract_world(validation, q=q))
    req = res.requests[res.requests["arrival"] >= 600]
    n = len(req)
    share = (req["outcome"] == "invalid").mean()
    expect = q ** n_attempts
    assert abs(share - expect) < 4 * math.sqrt(expect * (1 - expect) / n)
    amp = req["attempts"].mean()
    var = sum(k * k * q ** (k - 1) * (1 - q) for k in range(1, n_attempts)) + n_attempts ** 2 * q ** (n_attempts - 1)
    sd = math.sqrt(max(var - expected_attempts(q, n_attempts) ** 2, 1e-12))
    assert abs(amp - expected_attempts(q, n_attempts)) < 4 * sd / math.sqrt(n) + 1e-12
    early = res.requests[res.requests["end"] < 600]
    assert (early["outcome"] == "ok").all()  # nothing breaks before the change point


def test_validation_extra_cost_is_exactly_the_retried_calls():
    off = llmsim.simulate(contract_world(None))
    on = llmsim.simulate(contract_world({"on_invalid": "retry", "max_attempts": 3}))
    extra = on.attempts["cost"].sum() - off.attempts["cost"].sum()
    assert extra > 0
    assert extra == pytest.approx(validation_retry_cost(on), rel=1e-9)
    assert validation_retry_cost(off) == 0.0
    first = on.attempts[on.attempts["attempt"] == 0].reset_index(drop=True)
    pd.testing.assert_series_equal(first["cost"], off.attempts["cost"].reset_index(drop=True))  # paired


def test_monitor_fires_within_window_plus_delay_after_the_change_point():
    monitor = {"window": "5m", "threshold": 0.1, "delay": "2m", "min_outputs": 30}
    res = llmsim.simulate(contract_world({"on_invalid": "accept", "monitor": monitor}, q=0.3))
    rep = contract_report(res)
    assert rep["onset"] == 600.0
    assert 120.0 <= rep["time_to_detect"] <= 300.0 + 120.0
    assert rep["invalid_delivered"] == (res.requests["outcome"] == "invalid").sum() > 0
    quiet = llmsim.simulate(contract_world({"on_invalid": "accept", "monitor": monitor}, q=0.01))
    assert np.isnan(contract_report(quiet)["alert_time"])  # 1 % never reaches a 10 % threshold here


def test_sessions_guards_and_contracts_are_deterministic():
    sc = runaway_world({"spend": {"session": {"max_steps": 40}, "budgets": [{"window": "1h", "limit": 2}]},
                        "validation": {"on_invalid": "retry", "max_attempts": 2}}, horizon="2h")
    sc = sc.with_overrides({"providers.p.quality": {"invalid_rate": 0.2}})
    a, b = llmsim.simulate(sc, seed=4), llmsim.simulate(sc, seed=4)
    pd.testing.assert_frame_equal(a.requests, b.requests)
    pd.testing.assert_frame_equal(a.attempts, b.attempts)
    pd.testing.assert_frame_equal(a.events, b.events)


def test_summary_counts_invalid_delivered_after_warmup():
    res = llmsim.simulate(contract_world(None).with_overrides({"warmup": "5m"}))
    req = res.requests[res.requests["arrival"] >= 300]
    assert res.summary()["invalid_delivered"] == (req["outcome"] == "invalid").sum() > 0


def test_tiny_scenario_unaffected_columns():
    res = llmsim.simulate(tiny_scenario())
    assert (res.requests["session_id"] == -1).all() and (res.requests["step"] == -1).all()
    assert (res.attempts["billed_cached_tokens"] == 0).all()


def test_baseline_week_of_agent_traffic_costs_what_the_arithmetic_predicts():
    from llmsim.analysis.spend_contracts import expected_cost

    sc = llmsim.load_scenario("runaway-agents")
    normal = sc.with_overrides({"workload.sessions": [sc.workload.sessions[0].model_dump(mode="json")]})
    costs = np.array([llmsim.simulate(normal, seed=s).attempts["cost"].sum() for s in range(6)])
    se = costs.std(ddof=1) / math.sqrt(len(costs))
    assert abs(costs.mean() - expected_cost(normal)) < 4 * se
    # and the runaway pair adds, from day 3, what its steps cost: linear growth checked above
    assert expected_cost(sc) == pytest.approx(expected_cost(normal))  # scheduled runaway: not in the arithmetic
