"""Tier 3 for issue 4: properties of runs with sessions, spend guards and output contracts."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmsim
from llmsim.analysis.spend_contracts import recompute_cost, sessions_table


@st.composite
def agent_scenarios(draw):
    prov = {
        "name": "p",
        "capacity": {"slots": draw(st.integers(1, 10))},
        "queue": {"limit": draw(st.sampled_from([None, 3])), "timeout": draw(st.sampled_from([None, 4.0]))},
        "latency": {"ttft": {"dist": "lognormal", "median": 0.4, "p95": 2.0}, "tokens_per_s": 80.0},
        "errors": {"server_error_rate": draw(st.sampled_from([0.0, 0.1]))},
        "abort_notice": draw(st.sampled_from([0.0, 1.0, "never"])),
        "pricing": {"input_per_mtok": draw(st.sampled_from([0.0, 1.0, 3.0])), "output_per_mtok": 15.0,
                    "cached_input_per_mtok": 0.3, "discount": draw(st.sampled_from([0.0, 0.5]))},
        "quality": {"invalid_rate": draw(st.sampled_from([0.0, 0.2])), "changes": [[60, draw(st.floats(0, 1))]]},
    }
    sessions = [{"name": "chat", "starts": {"rate": draw(st.sampled_from([0.05, 0.3]))},
                 "stop_probability": draw(st.floats(0.1, 1.0)), "think_time": draw(st.sampled_from([0.0, 2.0])),
                 "input_tokens": {"dist": "exponential", "mean": 400}, "output_tokens": {"dist": "exponential",
                                                                                         "mean": 100},
                 "context_limit": draw(st.sampled_from([None, 3000])),
                 "history_cached_share": draw(st.sampled_from([0.0, 0.8])),
                 "on_failure": draw(st.sampled_from(["stop", "continue"]))}]
    if draw(st.booleans()):
        sessions.append({"name": "loop", "starts": {"at": [draw(st.floats(0, 100))]}, "runaway": 1,
                         "think_time": 0.5, "agents": [{"input_tokens": 300, "output_tokens": 80}, {}]})
    client = {"timeout": draw(st.sampled_from([None, 3.0])), "deadline": draw(st.sampled_from([None, 1.0, 5.0]))}
    if draw(st.booleans()):
        client["retry"] = {"max_attempts": draw(st.integers(1, 4)), "backoff": {"base": 0.2, "cap": 2.0}}
    spend = {}
    if draw(st.booleans()):
        spend["session"] = {"max_steps": draw(st.integers(1, 20))}
    if draw(st.booleans()):
        spend["budgets"] = [{"window": draw(st.sampled_from([30.0, 60.0])),
                             "limit": draw(st.sampled_from([0.0, 0.01, 0.05]))}]
    if draw(st.booleans()):
        spend["alert"] = {"threshold": 0.0005, "window": 30, "delay": draw(st.sampled_from([0.0, 10.0])),
                          "action": draw(st.sampled_from(["page", "block", "throttle"])), "throttle_rate": 0.5}
    if spend:
        client["spend"] = spend
    if draw(st.booleans()):
        client["validation"] = {"on_invalid": draw(st.sampled_from(["retry", "fallback", "accept"])),
                                "max_attempts": draw(st.integers(1, 3)), "delay": draw(st.sampled_from([0.0, 2.0]))}
    wl = {"sessions": sessions, "max_tokens": 600}
    if draw(st.booleans()):
        wl.update({"arrivals": {"rate": 1.0}, "input_tokens": {"dist": "exponential", "mean": 500},
                   "cached_input_share": 0.5})
    return llmsim.Scenario.model_validate({"horizon": 150, "drain": 60, "seed": draw(st.integers(0, 10_000)),
                                           "workload": wl, "providers": [prov], "client": client})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agent_scenarios())
def test_agent_runs_bill_exactly_and_guards_hold(sc):
    res = llmsim.simulate(sc)
    req, att = res.requests, res.attempts
    # cost = billed tokens x prices (discount included); blocked attempts cost nothing
    np.testing.assert_allclose(att["cost"].to_numpy(), recompute_cost(res), rtol=1e-12, atol=1e-15)
    blocked = att[att["outcome"] == "spend_blocked"]
    assert (blocked["cost"] == 0).all() and (blocked["billed_input_tokens"] == 0).all()
    assert (blocked["provider"].astype(str) == "none").all()
    # every request ends exactly once; invalid answers came with a 200
    assert req["request_id"].is_unique and set(att["request_id"]) == set(req["request_id"])
    assert (att.loc[att["outcome"] == "invalid", "status"] == 200).all()
    # sessions: contiguous steps, each sent after the previous one ended, caps respected
    ses = req[req["session_id"] >= 0].sort_values(["session_id", "step"])
    for _, g in ses.groupby("session_id"):
        assert g["step"].tolist() == list(range(len(g)))
        assert (g["arrival"].to_numpy()[1:] >= g["end"].to_numpy()[:-1]).all()
    spend = sc.client.spend
    if spend is not None and spend.session is not None:
        assert (sessions_table(res)["steps"] <= spend.session.max_steps).all()
    # no attempt is sent once the spend known to be billed in its window reached the budget
    if spend is not None and spend.budgets:
        b = spend.budgets[0]
        known = att[(att["cost"] > 0) & att["started"].notna()].sort_values("end")  # orphans bill later: left out
        sent = att[att["outcome"] != "spend_blocked"]
        for w, times in sent.groupby(np.floor(sent["sent"] / b.window))["sent"]:
            kb = known[(known["end"] >= w * b.window) & (known["end"] < (w + 1) * b.window)]
            before = np.concatenate([[0.0], kb["cost"].cumsum().to_numpy()])[
                np.searchsorted(kb["end"].to_numpy(), times.to_numpy(), side="left")]
            assert (before < b.limit).all() or b.limit == 0 and len(times) == 0
    # an alert that blocks lets nothing through after it fired
    if spend is not None and spend.alert is not None and spend.alert.action == "block":
        fired = res.events.loc[res.events["kind"] == "spend_alert", "time"]
        if len(fired):
            assert (att.loc[att["sent"] > fired.iloc[0], "outcome"] == "spend_blocked").all()
