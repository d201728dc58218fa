"""Service classes within one provider, checked against queueing theory and arithmetic: priority served
first and flex last (non-preemptive priority M/M/c, Cobham's formula), flex refused only when every slot is
busy and its 429 unbilled, the ramp rule's downgrades billed as standard (replayed by an independent
reading of the rule), batch at half price on its own capacity, acceleration limits, and the client's
choice of class."""

from __future__ import annotations

import math

import numpy as np
import pytest
from oracles.brute_force import cheapest_meeting

import llmsim
from llmsim import simulate
from llmsim.core.errors import ScenarioError

from theory import erlang_c

PRICE_IN, PRICE_OUT = 2.0, 8.0  # USD per 1M tokens


def _scenario(classes: dict, choice: dict, **extra) -> dict:
    provider = {"name": "p", "capacity": {"slots": extra.pop("slots", 4)},
                "latency": extra.pop("latency", {"tokens_per_s": 100, "refusal": 0}),
                "pricing": {"input_per_mtok": PRICE_IN, "output_per_mtok": PRICE_OUT},
                "service_classes": classes, **extra.pop("provider", {})}
    return {"horizon": extra.pop("horizon", "30m"), "warmup": extra.pop("warmup", 0), "seed": extra.pop("seed", 3),
            "workload": {"arrivals": {"rate": extra.pop("rate", "3/s")},
                         "input_tokens": {"dist": "fixed", "value": 1000},
                         "output_tokens": {"dist": "exponential", "mean": 200}},
            "providers": [provider], "client": {"service_class": choice, **extra.pop("client", {})}}


def _standard_cost(a) -> np.ndarray:
    return (a["billed_input_tokens"] * PRICE_IN + a["billed_output_tokens"] * PRICE_OUT).to_numpy() / 1e6


# -- queueing theory: priority first, flex last -------------------------------------------------------
def cobham_waits(c: int, mu: float, lams: list[float]) -> list[float]:
    """Mean queue waits per class of a non-preemptive priority M/M/c queue with one service rate
    (Cobham 1954; Kleinrock, Queueing Systems II, eq. 3.30): W_k = W0 / ((1 - s_{k-1})(1 - s_k)),
    W0 = C(c, a) / (c mu), s_k = the load of classes 1..k over c mu."""
    a = sum(lams) / mu
    w0 = erlang_c(c, a) / (c * mu)
    out, s_prev = [], 0.0
    for lam in lams:
        s = s_prev + lam / (c * mu)
        out.append(w0 / ((1 - s_prev) * (1 - s)))
        s_prev = s
    return out


def test_priority_is_served_first_and_flex_last_as_in_a_priority_mmc_queue():
    c, mu = 3, 1.0
    lams = {"priority": 0.6, "standard": 0.9, "flex": 0.75}  # load 0.75
    total = sum(lams.values())
    theory = cobham_waits(c, mu, list(lams.values()))
    reps = []
    for seed in range(6):
        sc = _scenario({"priority": {"ramp": None}, "flex": {"queue_limit": 100000}},
                       {"shares": {"priority": lams["priority"] / total, "flex": lams["flex"] / total}},
                       slots=c, latency={"service": {"dist": "exponential", "mean": 1 / mu}, "refusal": 0},
                       rate=f"{total}/s", horizon="4h", warmup="10m", seed=seed)
        a = simulate(llmsim.Scenario.model_validate(sc)).attempts
        a = a[a["sent"] >= 600]
        wait = a["started"] - a["sent"]
        reps.append([wait[a["service_tier"] == k].mean() for k in lams])
    reps = np.array(reps)
    mean, half = reps.mean(axis=0), 3 * reps.std(axis=0, ddof=1) / math.sqrt(len(reps))
    for k, name in enumerate(lams):
        assert abs(mean[k] - theory[k]) < half[k] + 0.03 * theory[k], (name, mean[k], theory[k], half[k])
    assert mean[0] < mean[1] < mean[2]


# -- flex: refused first, its 429 free -----------------------------------------------------------------
def test_flex_is_refused_only_when_every_slot_is_busy_and_its_429_costs_nothing():
    sc = _scenario({"flex": {}}, {"shares": {"flex": 0.5}}, slots=3, rate="3/s")
    res = simulate(llmsim.Scenario.model_validate(sc))
    a = res.attempts
    refused = a[(a["service_tier"] == "flex") & (a["outcome"] == "overloaded")]
    assert len(refused) > 50 and (refused["status"] == 429).all()
    assert (refused["cost"] == 0).all() and (refused["billed_input_tokens"] == 0).all()
    served = a[a["started"].notna()]
    starts, ends = served["started"].to_numpy(), served["end"].to_numpy()
    for t in refused["sent"].to_numpy()[:300]:  # every slot busy at the refusal (from the table itself)
        assert ((starts <= t) & (t < ends)).sum() == 3
    ok_flex = a[(a["service_tier"] == "flex") & (a["outcome"] == "ok")]
    assert np.allclose(ok_flex["cost"], 0.5 * _standard_cost(ok_flex))
    ok_std = a[(a["service_tier"] == "standard") & (a["outcome"] == "ok")]
    assert np.allclose(ok_std["cost"], _standard_cost(ok_std))


def test_a_refused_flex_request_falls_back_to_standard_on_its_retry():
    sc = _scenario({"flex": {}}, {"default": "flex", "flex_fallback": "standard"}, slots=2, rate="3/s",
                   client={"retry": {"max_attempts": 2, "backoff": {"base": "100ms", "cap": "100ms",
                                                                    "jitter": "none"}}})
    a = simulate(llmsim.Scenario.model_validate(sc)).attempts
    first = a[a["attempt"] == 0].set_index("request_id")
    second = a[a["attempt"] == 1].set_index("request_id")
    refused = first.index[first["outcome"] == "overloaded"]
    assert len(refused) > 20 and set(second.index) == set(refused)
    assert (second["service_tier"] == "standard").all() and (first["service_tier"] == "flex").all()


# -- priority: price, speed target, ramp rule -------------------------------------------------------------
def _ramp_replay(a, min_tpm: float, factor: float, minutes: int) -> np.ndarray:
    """Which priority attempts the ramp rule downgrades, replayed from the table in the order sent: a
    minute's priority tokens may exceed min_tpm only up to factor x the lowest of the previous minutes."""
    served: dict[int, float] = {}
    down = []
    for t, tokens in zip(a["sent"], a["tokens"], strict=True):
        m = int(t // 60)
        now = served.get(m, 0.0) + tokens
        base = min(served.get(j, 0.0) for j in range(m - minutes, m))
        ok = now <= min_tpm or now <= factor * base
        down.append(not ok)
        if ok:
            served[m] = now
    return np.array(down)


def test_the_ramp_rule_downgrades_to_standard_billed_as_standard_and_marked():
    # priority traffic ramps from 2/s to 6/s: the rule lets the allowance grow 50 % per 15 min above 150k TPM
    sc = _scenario({"priority": {"price_factor": 1.75, "ramp": {"min_tpm": 150_000}}}, {"default": "priority"},
                   slots=500, rate=None, horizon="1h")
    sc["workload"]["arrivals"] = {"schedule": [[0, "2/s"], ["20m", "6/s"]]}
    sc["workload"]["output_tokens"] = {"dist": "fixed", "value": 200}
    a = simulate(llmsim.Scenario.model_validate(sc)).attempts.sort_values("sent")
    assert set(a["service_tier"]) == {"priority", "standard"}
    down = a["downgraded"].to_numpy()
    assert down.sum() > 100 and (a.loc[a["downgraded"], "service_tier"] == "standard").all()
    a = a.assign(tokens=a["billed_input_tokens"] + a["billed_output_tokens"])
    assert (down == _ramp_replay(a, 150_000, 1.5, 15)).all()
    prio, std = a[~a["downgraded"]], a[a["downgraded"]]
    assert np.allclose(prio["cost"], 1.75 * _standard_cost(prio)) and np.allclose(std["cost"], _standard_cost(std))


def test_priority_keeps_its_speed_target_under_load_while_standard_slows():
    lat = {"tokens_per_s": 60, "load_slowdown": 3, "ttft": 0.5, "refusal": 0}
    sc = _scenario({"priority": {"min_tokens_per_s": 80, "ramp": None}}, {"shares": {"priority": 0.5}},
                   slots=20, latency=lat, rate="4/s")
    sc["workload"]["output_tokens"] = {"dist": "fixed", "value": 400}
    a = simulate(llmsim.Scenario.model_validate(sc)).attempts
    speed = 400 / (a["end"] - a["first_token"])
    assert np.allclose(speed[a["service_tier"] == "priority"], 80)
    assert (speed[a["service_tier"] == "standard"] < 60 + 1e-9).all()
    assert speed[a["service_tier"] == "standard"].min() < 40  # load slows standard down, not priority


# -- batch: half price, deferred capacity --------------------------------------------------------------------
def test_batch_is_half_price_on_its_own_capacity_and_expires_unbilled_after_its_window():
    classes = {"batch": {"turnaround": {"dist": "fixed", "value": "5m"}, "slots": 2, "window": "30m"}}
    sc = _scenario(classes, {"shares": {"batch": 0.02}}, horizon="1h", rate="1/s",
                   client={"timeout": "2h"})
    sc["drain"] = "2h"
    a = simulate(llmsim.Scenario.model_validate(sc)).attempts
    b = a[a["service_tier"] == "batch"].sort_values("started")
    ok, expired = b[b["outcome"] == "ok"], b[b["outcome"] == "overloaded"]
    assert np.allclose(ok["cost"], 0.5 * _standard_cost(ok)) and (expired["cost"] == 0).all()
    assert np.allclose(ok["end"] - ok["started"], 300)
    # two slots: at most two batch jobs at once; started in arrival order (FIFO)
    for t in b["started"]:
        assert ((b["started"] <= t) & (t < b["end"])).sum() <= 2
    assert (np.diff(b.sort_values("sent")["started"].to_numpy()) >= 0).all()
    # arrivals at 0.02/s into 2 slots of 300 s (capacity 1/150 s): the backlog grows; past 30 min they expire
    assert len(expired) > 0 and (expired["end"] - expired["sent"] <= 1800 + 1e-6).all()
    assert np.allclose(expired["end"] - expired["sent"], 1800)


# -- acceleration limits ---------------------------------------------------------------------------------------
def test_acceleration_limit_refuses_past_the_ramp_with_a_retry_after_to_the_next_minute():
    sc = _scenario({"flex": {}}, {"default": "standard"}, slots=500, rate="5/s", horizon="20m",
                   provider={"rate_limits": {"acceleration": {"min_tpm": 120_000, "status": 503}}})
    sc["workload"]["output_tokens"] = {"dist": "fixed", "value": 200}
    a = simulate(llmsim.Scenario.model_validate(sc)).attempts
    refused = a[a["status"] == 503]
    assert (refused["outcome"] == "overloaded").all() and len(refused) > 100
    assert np.allclose(refused["retry_after"], 60 * (refused["sent"] // 60 + 1) - refused["sent"])
    ok = a[a["outcome"] == "ok"]
    per_minute = (ok["billed_input_tokens"] + ok["billed_output_tokens"]).groupby(ok["sent"] // 60).sum()
    # demand 360k tokens/min: min_tpm for the first 15 minutes (their base is 0), then 1.5 x 120k
    assert (per_minute.loc[:14] == 120_000).all() and (per_minute.loc[15:] == 180_000).all()


def test_classes_are_opt_in_and_bad_choices_are_one_clear_error():
    plain = _scenario({"flex": {}}, {"default": "standard"})
    del plain["providers"][0]["service_classes"], plain["client"]["service_class"]
    assert "service_tier" not in simulate(llmsim.Scenario.model_validate(plain)).attempts.columns
    with pytest.raises(ScenarioError, match="no provider offers it"):
        llmsim.load_scenario(_scenario({"flex": {}}, {"default": "priority"}))
    with pytest.raises(ScenarioError, match="may not exceed 1"):
        llmsim.load_scenario(_scenario({"flex": {}}, {"shares": {"flex": 0.7, "standard": 0.6}}))
    with pytest.raises(ScenarioError, match="offers nothing"):
        llmsim.load_scenario(_scenario({}, {}))


def test_sessions_choose_their_class_by_group():
    sc = _scenario({"priority": {"ramp": None}, "flex": {"queue_limit": 1000}},
                   {"groups": {"chat": "priority", "open": "flex"}}, slots=50, horizon="10m", rate="1/s")
    sc["workload"]["sessions"] = [{"name": "chat", "starts": {"rate": "20/m"}, "stop_probability": 0.5}]
    res = simulate(llmsim.Scenario.model_validate(sc))
    a = res.attempts.merge(res.requests[["request_id", "session_id"]], on="request_id")
    assert (a.loc[a["session_id"] >= 0, "service_tier"] == "priority").all()
    assert (a.loc[a["session_id"] < 0, "service_tier"] == "flex").all()


# -- the packaged question: which share can go to flex? ---------------------------------------------------
SHARES = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_tune_finds_the_cheapest_flex_share_meeting_the_slo_in_the_packaged_scenario():
    sc = llmsim.load_scenario("service-mix")
    res = llmsim.tune(sc, space={"client.service_class.shares.flex": SHARES}, objective="cost_total",
                      constraints={"latency_p95": "<= 20s", "success_rate": ">= 99.5%"},
                      candidates=len(SHARES), budget=30, workers=1, progress=False)
    # brute force, independent of tune's search: every share, two seeds, cheapest among those meeting the SLO
    cheapest, means = cheapest_meeting(sc, "client.service_class.shares.flex", SHARES, p95_max=20, success_min=0.995)
    assert res.best["client.service_class.shares.flex"] == cheapest
    assert cheapest not in (min(SHARES), max(SHARES))  # inside the range: flex saves money until p95 breaks
    costs = [means[s]["cost_total"] for s in SHARES]
    assert costs == sorted(costs, reverse=True)  # each share more sent to flex costs less


def test_classes_keep_runs_deterministic_and_arrivals_common_across_shares():
    sc = llmsim.load_scenario("service-mix", {"horizon": "15m", "warmup": 0})
    a, b = simulate(sc), simulate(sc)
    assert a.attempts.equals(b.attempts) and a.requests.equals(b.requests)
    other = simulate(sc.with_overrides({"client.service_class.shares.flex": 0.9}))
    assert np.array_equal(a.requests["arrival"], other.requests["arrival"])  # common random numbers
    # the share draw is per request: every request flex at 0.5 is flex at 0.9 too (its first attempt)
    first = a.attempts[a.attempts["attempt"] == 0].set_index("request_id")["service_tier"]
    first_other = other.attempts[other.attempts["attempt"] == 0].set_index("request_id")["service_tier"]
    assert (first_other[first == "flex"] == "flex").all() and (first_other == "flex").mean() > 0.85
