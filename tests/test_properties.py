"""Tier 3: properties that hold for any scenario (hypothesis explores the space)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import llmsim
from llmsim.core.outcomes import LOCAL_OUTCOMES

jitters = st.sampled_from(["none", "full", "equal", "decorrelated"])


@st.composite
def scenarios(draw, rate_limited_honour=False, breaker=False):
    """Random small scenarios; the flags force the features a property is about."""
    n_prov = 1 if rate_limited_honour else draw(st.integers(1, 2))
    providers = []
    for i in range(n_prov):
        p = {
            "name": f"p{i}",
            "capacity": {"slots": draw(st.integers(1, 12)),
                         "contention": draw(st.sampled_from([0.0, [[0, 0.0], [60, 0.5], [120, 0.1]]]))},
            "queue": {"limit": draw(st.sampled_from([None, 0, 5])), "timeout": draw(st.sampled_from([None, 3.0]))},
            "latency": {"ttft": draw(st.sampled_from([0.2, {"dist": "lognormal", "median": 0.3, "p95": 2.0}])),
                        "tokens_per_s": draw(st.sampled_from([50.0, 200.0])),
                        "load_slowdown": draw(st.sampled_from([1.0, 2.5]))},
            "errors": {"server_error_rate": draw(st.sampled_from([0.0, 0.05, 0.3]))},
            "abort_notice": draw(st.sampled_from([0.0, 1.0, "never"])),
            "pricing": {"input_per_mtok": 1.0, "output_per_mtok": 3.0, "cached_input_per_mtok": 0.5},
        }
        if rate_limited_honour or draw(st.booleans()):
            p["rate_limits"] = {"rpm": draw(st.sampled_from([60, 300])), "tpm": draw(st.sampled_from([None, 60_000])),
                                "admission": draw(st.sampled_from(["max_tokens", "actual"]))}
        if draw(st.booleans()):
            p["incidents"] = [{"start": 30, "duration": 40, "server_error_rate": 0.6, "capacity": 0.5}]
        providers.append(p)
    client = {"timeout": draw(st.sampled_from([None, 2.0, 6.0])), "deadline": draw(st.sampled_from([None, 10.0]))}
    if rate_limited_honour or draw(st.booleans()):
        client["retry"] = {"max_attempts": draw(st.integers(2 if rate_limited_honour else 1, 5)),
                           "backoff": {"base": 0.2, "cap": 3.0, "jitter": draw(jitters)},
                           "retry_after": "honor" if rate_limited_honour else draw(
                               st.sampled_from(["honor", "ignore", {"max": 1.0}]))}
    if breaker or draw(st.booleans()):
        client["circuit_breaker"] = {"window": 10, "min_calls": 5, "failure_rate": 0.5, "open_for": 5,
                                     "half_open_calls": 2}
    client["route"] = {"order": [p["name"] for p in providers]}
    return llmsim.Scenario.model_validate({
        "horizon": 180, "seed": draw(st.integers(0, 10_000)),
        "workload": {"arrivals": {"rate": draw(st.sampled_from([6.0] if rate_limited_honour else [1.0, 6.0]))},
                     "input_tokens": {"dist": "lognormal", "median": 500, "p95": 3000},
                     "output_tokens": {"dist": "exponential", "mean": 150}, "max_tokens": 400,
                     "cached_input_share": draw(st.sampled_from([0.0, 0.5]))},
        "providers": providers, "client": client,
    })


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_conservation_and_limits(sc):
    res = llmsim.simulate(sc)
    req, att = res.requests, res.attempts
    # every request ends exactly once, with one outcome, after it arrived
    assert req["request_id"].is_unique
    assert set(att["request_id"]) <= set(req["request_id"])
    assert (req["end"] >= req["arrival"]).all()
    assert req["outcome"].notna().all()
    # attempts never exceed max_attempts, and the counts agree
    max_attempts = sc.client.retry.max_attempts if sc.client.retry else 1
    counts = att.groupby("request_id").size().reindex(req["request_id"], fill_value=0).to_numpy()
    assert (counts == req["attempts"].to_numpy()).all()
    assert counts.max() <= max_attempts
    # attempts of a request do not overlap and follow each other
    a = att.sort_values(["request_id", "attempt"])
    same = a["request_id"].to_numpy()[1:] == a["request_id"].to_numpy()[:-1]
    assert (a["sent"].to_numpy()[1:][same] >= a["end"].to_numpy()[:-1][same] - 1e-9).all()
    # the deadline is never passed
    if sc.client.deadline is not None:
        assert (req["latency"] <= sc.client.deadline + 1e-9).all()
    # money: attempts' cost adds up to the total, and is billed tokens x prices
    assert req["cost"].sum() == pytest.approx(att["cost"].sum(), rel=1e-9, abs=1e-12)
    s = llmsim.Result(sc, res.seed, req, att, res.events).summary()
    assert s["cost_total"] == pytest.approx(att["cost"].sum(), rel=1e-9, abs=1e-12)
    for name, prov in ((p.name, p) for p in sc.providers):
        mine = att[att["provider"] == name]
        # cached tokens are billed at the cached price: bound the cost between all-cached and none-cached
        hi = (mine["billed_input_tokens"] * prov.pricing.input_per_mtok
              + mine["billed_output_tokens"] * prov.pricing.output_per_mtok).sum() / 1e6
        lo = (mine["billed_input_tokens"] * prov.pricing.cached_input_per_mtok
              + mine["billed_output_tokens"] * prov.pricing.output_per_mtok).sum() / 1e6
        assert lo - 1e-12 <= mine["cost"].sum() <= hi + 1e-12
        if sc.workload.cached_input_share == 0:
            assert mine["cost"].sum() == pytest.approx(hi, rel=1e-9, abs=1e-12)
    # outcomes the provider never saw cost nothing; rate-limited and overloaded attempts are free
    free = att["outcome"].astype(str).isin(LOCAL_OUTCOMES | {"rate_limited", "overloaded"})
    assert (att.loc[free, "cost"] == 0).all()
    # successful attempts deliver all their output tokens
    ok = att[att["outcome"] == "ok"]
    assert (ok["billed_output_tokens"].to_numpy()
            == req.set_index("request_id").loc[ok["request_id"], "output_tokens"].to_numpy()).all()


@settings(max_examples=25, deadline=None)
@given(scenarios(rate_limited_honour=True))
def test_no_attempt_before_an_honoured_retry_after(sc):
    att = llmsim.simulate(sc).attempts.sort_values(["request_id", "attempt"])
    prev = att.shift(1)
    same = (att["request_id"] == prev["request_id"]) & (prev["outcome"] == "rate_limited")
    gap = att.loc[same, "sent"] - prev.loc[same, "end"]
    event(f"retries after a 429: {'some' if same.any() else 'none'}")
    assert (gap >= prev.loc[same, "retry_after"] - 1e-9).all()


@settings(max_examples=25, deadline=None)
@given(scenarios(breaker=True))
def test_breaker_never_lets_calls_through_while_open(sc):
    res = llmsim.simulate(sc)
    ev = res.events[res.events["kind"] == "breaker"]
    att = res.attempts
    open_for = sc.client.circuit_breaker.open_for
    event(f"breaker opened: {(ev['value'] == 'open').any()}")
    for name, g in ev.groupby("subject"):
        opens = g.loc[g["value"] == "open", "time"].to_numpy()
        reached = (att["provider"] == name) & ~att["outcome"].astype(str).isin(LOCAL_OUTCOMES)
        sent = np.sort(att.loc[reached, "sent"].to_numpy())
        for t in opens:
            # no attempt reaches the provider in the open interval [t, t + open_for)
            inside = sent[(sent > t + 1e-9) & (sent < t + open_for - 1e-9)]
            assert len(inside) == 0, (name, t, inside[:3])
