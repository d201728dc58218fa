"""The policy library wired into the engine: retry arithmetic, budgets, nested layers, hedging,
routing, cooldowns, limiters, breakers, presets from YAML, and metastable collapse."""

from __future__ import annotations

import math

import numpy as np
import pytest

import llmsim
from llmsim.config import client as C
from llmsim.config.client_presets import CLIENT_PRESETS
from llmsim.config.loading import resolve_client
from llmsim.core.errors import ScenarioError
from llmsim.engine.scripted import run_scripted
from llmsim.policies.breaker import CLOSED, HALF_OPEN, OPEN, BreakerPolicy
from llmsim.policies.budgets import EnvoyRetryBudget, FinagleRetryBudget, GrpcRetryThrottle, RatioRetryBudget
from llmsim.policies.ejection import EnvoyOutlierEjection, LiteLLMCooldownEjection
from llmsim.policies.limiters import AimdGate, AwsAdaptiveGate, ConcurrencyGate, SreThrottleGate, TokenBucketGate
from llmsim.policies.protocols import GO, QUEUE, REJECT
from llmsim.policies.routing import StrategyRouter

from conftest import tiny_scenario


def failing_scenario(p: float, max_attempts: int, seed: int = 1, **client) -> llmsim.Scenario:
    data = tiny_scenario(horizon="2h", seed=seed)
    data["workload"]["arrivals"] = {"rate": "10/s"}
    data["providers"][0].update(capacity={"slots": 10_000}, errors={"server_error_rate": p},
                                latency={"service": {"dist": "fixed", "value": 0.05}})
    data["client"] = {"retry": {"max_attempts": max_attempts, "on": ["server_error"],
                                "backoff": {"kind": "constant", "base": "10ms", "jitter": "none"}}, **client}
    return llmsim.Scenario.model_validate(data)


@pytest.mark.parametrize("p,n", [(0.3, 2), (0.5, 3), (0.2, 1)])
def test_retry_amplification_and_failure_share(p, n):
    s = llmsim.simulate(failing_scenario(p, n + 1).with_overrides({"horizon": "4h"})).summary()
    amplification = (1 - p ** (n + 1)) / (1 - p)
    share = p ** (n + 1)
    se_share = math.sqrt(share * (1 - share) / s["requests"])  # binomial noise of the measured share
    assert s["attempts_per_request"] == pytest.approx(amplification, rel=0.02)
    assert abs((1 - s["success_rate"]) - share) <= max(0.02 * share, 3 * se_share)


def test_aws_quota_stops_retries_after_100_when_everything_fails():
    sc = failing_scenario(1.0, 3).with_overrides(
        {"client.retry.budget": {"kind": "aws"}, "horizon": "10m"})
    att = llmsim.simulate(sc).attempts
    retries = int((att["attempt"] > 0).sum())
    assert retries == 100
    # all of them early: once the quota is empty nobody retries
    first_requests = att.loc[att["attempt"] > 0, "request_id"].max()
    assert first_requests < 60


@pytest.mark.parametrize("n_router,n_sdk", [(2, 2), (1, 3)])
def test_nested_litellm_over_sdk_multiplies_attempts(n_router, n_sdk):
    cfg = {"layers": [
        {"retry": {"max_attempts": 1 + n_router, "backoff": {"base": "10ms", "jitter": "none"}}},
        {"route": {"strategy": "weighted", "order": ["a", "b"]}},
        {"retry": {"max_attempts": 1 + n_sdk, "backoff": {"base": "10ms", "jitter": "none"}}},
    ]}
    req, att = run_scripted(cfg, {"a": [("server_error", 0.1)], "b": [("server_error", 0.1)]}, arrivals=[0, 5])
    assert (req["attempts"] == (1 + n_router) * (1 + n_sdk)).all()


def test_hedging_first_good_answer_wins_and_losers_are_cancelled():
    cfg = {"hedge": {"max_hedged": 2, "delay": "1s"}}
    req, att = run_scripted(cfg, {"p": [("ok", 10.0), ("ok", 3.0), ("ok", 0.5)]})
    assert att["outcome"].astype(str).tolist() == ["cancelled", "cancelled", "ok"]
    assert att["sent"].tolist() == [0.0, 1.0, 2.0]
    assert req["outcome"].tolist() == ["ok"] and req["end"].tolist() == [2.5]


def hedged_scenario(max_hedged: int, delay, seed=3) -> llmsim.Scenario:
    data = tiny_scenario(horizon="10m", seed=seed)
    data["providers"][0].update(capacity={"slots": 40}, latency={"ttft": {"dist": "lognormal", "median": 0.3,
                                                                         "p95": 4.0}, "tokens_per_s": 100},
                                abort_notice="200ms", errors={"server_error_rate": 0.1})
    data["client"] = {"hedge": {"max_hedged": max_hedged, "delay": delay}, "retry": {"max_attempts": 2}}
    return llmsim.Scenario.model_validate(data)


@pytest.mark.parametrize("max_hedged,delay", [(1, 0.5), (2, 0), (3, None)])
def test_hedged_requests_never_exceed_max_hedged_attempts(max_hedged, delay):
    res = llmsim.simulate(hedged_scenario(max_hedged, delay))
    att = res.attempts
    per_request = att.groupby("request_id").size()
    assert per_request.max() <= (1 + max_hedged) * 2
    cancelled = att[att["outcome"] == "cancelled"]
    if delay is not None:
        assert len(cancelled) > 0
        # a cancelled attempt that had started is billed for its input
        started = cancelled[cancelled["started"].notna()]
        assert (started["billed_input_tokens"] > 0).all() and (started["cost"] > 0).all()
    assert res.requests["request_id"].is_unique


def test_hedging_cuts_the_latency_tail():
    base = llmsim.simulate(hedged_scenario(1, None)).summary()
    hedged = llmsim.simulate(hedged_scenario(1, 1.0)).summary()
    assert hedged["latency_p99"] < base["latency_p99"]
    assert hedged["cost_total"] > base["cost_total"]  # paid for with extra attempts


# -- routing, cooldowns and ejection ----------------------------------------------------------------
def test_router_strategies():
    r = StrategyRouter(C.Route(strategy="least_busy", order=["a", "b", "c"]))
    r.sent(0, 0, 10)
    r.sent(0, 0, 10)
    r.sent(0, 2, 10)
    assert r.candidates(0, 0, 0.5, (1, 1))[0] == 1
    r = StrategyRouter(C.Route(strategy="lowest_latency", order=["a", "b"], latency_window=2))
    r.sent(0, 0, 1)
    r.done(0, "ok", 5.0)
    r.sent(0, 1, 1)
    r.done(1, "ok", 1.0)
    assert r.candidates(0, 0, 0.5, (1, 1)) == [1, 0]
    r = StrategyRouter(C.Route(strategy="lowest_cost", order=["a", "b"]), ["a", "b"],
                       [(3e-6, 15e-6), (2.5e-6, 10e-6)])
    assert r.candidates(0, 0, 0.5, (1000, 100))[0] == 1
    r = StrategyRouter(C.Route(strategy="usage", order=["a", "b"], usage_limits={"a": {"tpm": 1000}}))
    r.sent(10, 0, 900)
    assert r.candidates(10, 0, 0.5, (50, 100)) == [1]  # 0 would go over its TPM this minute
    assert 0 in r.candidates(70, 0, 0.5, (50, 100))  # a new minute
    weighted = StrategyRouter(C.Route(strategy="weighted", order=["a", "b", "c"], weights=[1, 2, 1]))
    counts = np.bincount([weighted.candidates(0, 0, u, (1, 1))[0]
                          for u in np.random.default_rng(0).random(20000)], minlength=3)
    assert np.allclose(counts / 20000, [0.25, 0.5, 0.25], atol=0.015)


def test_litellm_cooldown_rules():
    # litellm 1.110 _should_cooldown_deployment, Router without allowed_fails: a lone deployment is not
    # cooled down on a 429 nor on a few failures (only when all of >= 1000 calls a minute failed)
    c = LiteLLMCooldownEjection(C.LiteLLMCooldown(allowed_fails=3), n=1)
    c.record(1, 0, "rate_limited", 10.0)
    assert c.healthy(2, 0)
    for t in range(4):
        c.record(2 + t, 0, "server_error")
    assert c.healthy(6, 0)
    # Router given allowed_fails: failures within cooldown_time of the first exceed it -> cooldown_time
    c = LiteLLMCooldownEjection(C.LiteLLMCooldown(mode="allowed_fails", allowed_fails=3), n=2)
    for t in range(4):
        c.record(2 + t, 0, "server_error")
    assert not c.healthy(6, 0) and c.healthy(5 + 5.0 + 0.01, 0)  # 4 > allowed_fails -> cooldown_time 5 s
    c = LiteLLMCooldownEjection(C.LiteLLMCooldown(mode="allowed_fails", allowed_fails=1), n=2)
    c.record(0, 0, "server_error")
    c.record(6, 0, "server_error")  # the first failure's window (5 s) is over: 1 again, not 2
    assert c.healthy(6, 0)
    c = LiteLLMCooldownEjection(C.LiteLLMCooldown(allowed_fails=100), n=2)
    for t in range(3):
        c.record(t, 1, "ok")
    c.record(3, 1, "server_error")
    c.record(4, 1, "server_error")
    assert c.healthy(4.5, 1)  # 2 of 5 failed: not more than half
    c.record(5, 1, "server_error")
    assert c.healthy(5.5, 1)  # 3 of 6: exactly half is not more than half
    c.record(6, 1, "server_error")
    assert not c.healthy(6.5, 1)  # 4 of 7


def test_envoy_outlier_ejection_grows_and_is_capped():
    e = EnvoyOutlierEjection(C.EnvoyOutlier(consecutive_5xx=5, base_ejection_time=30, max_ejection_percent=10), n=10)
    for t in range(5):
        e.record(t, 0, "server_error")
    assert not e.healthy(5, 0) and e.healthy(4 + 30, 0)
    for t in range(5):
        e.record(5 + t, 1, "server_error")
    assert e.healthy(10, 1)  # 10 % of 10 hosts: only one may be out
    for t in range(40, 45):
        e.record(t, 0, "server_error")
    assert not e.healthy(44 + 59, 0) and e.healthy(44 + 60, 0)  # second ejection: 2 x 30 s


def test_all_deployments_cooling_down_fail_at_once():
    cfg = {"retry": {"max_attempts": 1},
           "route": {"order": ["a", "b"], "ejection": {"kind": "litellm", "cooldown_time": "60s"}}}
    req, att = run_scripted(cfg, {"a": [("rate_limited", 0, 30.0)], "b": [("rate_limited", 0, 30.0)]},
                            arrivals=[0, 1, 2, 40])
    assert att["outcome"].astype(str).tolist() == ["rate_limited", "rate_limited", "rejected", "rate_limited"]
    assert att["provider"].astype(str).tolist() == ["a", "b", "none", "a"]


def test_fallback_chain_by_outcome_class():
    cfg = {"retry": {"max_attempts": 1},
           "route": {"order": ["a", "b", "c"], "failover_on": [],
                     "fallbacks": [{"on": ["rate_limited"], "to": ["c"]}, {"on": ["server_error"], "to": ["b"]}]}}
    req, att = run_scripted(cfg, {"a": [("rate_limited", 0, 1.0), ("server_error", 0.2)], "b": [("ok", 1)],
                                  "c": [("ok", 1)]}, arrivals=[0, 5])
    assert att["provider"].astype(str).tolist() == ["a", "c", "a", "b"]
    assert req["outcome"].astype(str).tolist() == ["ok", "ok"]


def test_instant_retry_on_another_healthy_deployment():
    cfg = {"retry": {"max_attempts": 2, "instant_if_alternative": True, "backoff": {"base": "5s", "jitter": "none"}},
           "route": {"order": ["a", "b"]}}
    _, att = run_scripted(cfg, {"a": [("server_error", 0.5)], "b": [("ok", 1)]})
    assert att["sent"].tolist() == [0.0, 0.5]


# -- budgets ----------------------------------------------------------------------------------------
def test_grpc_throttle():
    g = GrpcRetryThrottle(C.GrpcThrottle(kind="grpc", max_tokens=10, token_ratio=0.1))
    for _ in range(5):
        assert g.allow(0, "server_error")
        g.on_failure(0)
    assert not g.allow(0, "server_error")  # 5 tokens left: not > 10 / 2
    for _ in range(11):
        g.on_success(0, False)
    assert g.allow(0, "server_error")


def test_finagle_and_ratio_budgets():
    f = FinagleRetryBudget(C.FinagleBudget(kind="finagle", ttl=10, min_retries_per_s=1, percent_can_retry=0.2))
    for _ in range(100):
        f.on_request(0.0)
    assert sum(f.allow(0.0, "x") for _ in range(100)) == 30  # 0.2 * 100 + 1/s * 10 s
    assert sum(f.allow(11.0, "x") for _ in range(100)) == 10  # requests expired: only the reserve
    r = RatioRetryBudget(C.RatioBudget(kind="ratio", ratio=0.1, window=60))
    for _ in range(50):
        r.on_request(0.0)
    assert sum(r.allow(1.0, "x") for _ in range(50)) == 5


def test_envoy_budget_counts_retries_in_flight():
    e = EnvoyRetryBudget(C.EnvoyBudget(kind="envoy", budget_percent=20, min_retry_concurrency=3))
    for _ in range(50):
        e.on_request(0)
    assert sum(e.allow(0, "x") for _ in range(20)) == 10  # 20 % of 50 active
    e.retry_done(0)
    assert e.allow(0, "x") and not e.allow(0, "x")


# -- limiters ---------------------------------------------------------------------------------------
def test_client_token_bucket_waits_in_fifo_order_or_rejects():
    lim = TokenBucketGate(C.TokenBucketLimiter(kind="token_bucket", rpm=60))
    waits = [lim.acquire(100.0, 10).delay for _ in range(62)]
    assert waits[:60] == [0.0] * 60 and waits[60] == pytest.approx(1.0) and waits[61] == pytest.approx(2.0)
    reject = TokenBucketGate(C.TokenBucketLimiter(kind="token_bucket", rpm=1, on_limit="reject"))
    assert reject.acquire(0, 1) is GO and reject.acquire(0, 1) is REJECT


def test_concurrency_limiter_queue():
    c = ConcurrencyGate(C.ConcurrencyLimiter(kind="concurrency", limit=1, queue=1))
    assert c.acquire(0, 1) is GO and c.acquire(0, 1) is QUEUE and c.acquire(0, 1) is REJECT
    c.release(1, "ok", 1)
    assert c.admit_waiter() and c.inflight == 1


def test_concurrency_limiter_in_the_engine():
    cfg = {"limiter": {"kind": "concurrency", "limit": 1, "queue": 1, "max_wait": "10s"}}
    req, att = run_scripted(cfg, {"p": [("ok", 2.0)]}, arrivals=[0, 0.5, 1.0])
    # the second waits in the one queue place and goes when the first ends; the third finds it full
    assert att["outcome"].astype(str).tolist() == ["ok", "ok", "rejected"]
    assert att["sent"].tolist() == [0.0, 2.0, 1.0]


def test_aimd():
    a = AimdGate(C.AimdLimiter(kind="aimd", initial=20, min_limit=5, max_limit=30, backoff_ratio=0.9, timeout=5))
    for _ in range(20):
        assert a.acquire(0, 1) is GO
    assert a.acquire(0, 1) is REJECT
    a.release(1, "ok", 1.0)  # 20 in flight * 2 >= 20: grow
    assert a.limit == 21
    a.release(1, "overloaded", 1.0)
    assert a.limit == pytest.approx(18.9)


def test_sre_adaptive_throttling_formula():
    s = SreThrottleGate(C.SreThrottle(kind="sre", k=2, window=120), u=lambda: 0.0)
    for t in range(100):
        s.requests.add(float(t))
    for t in range(30):
        s.accepts.add(float(t))
    assert s.reject_probability(100.0) == pytest.approx((100 - 2 * 30) / 101)
    assert s.reject_probability(300.0) == 0.0  # the window forgot them


def test_aws_adaptive_cubic():
    a = AwsAdaptiveGate(C.AwsAdaptive(kind="aws_adaptive"))
    for t in np.arange(0, 5, 0.05):  # measure ~20 responses/s
        a.release(float(t), "ok", 0.1)
    assert not a.enabled
    a.release(5.0, "rate_limited", 0.1)
    assert a.enabled and a.rate == pytest.approx(max(0.5, min(0.7 * a.w_max, 2 * a.measured)))
    k = (a.w_max * 0.3 / 0.4) ** (1 / 3)
    assert a.k == pytest.approx(k)
    a.release(5.0 + k, "ok", 0.1)  # at t = K the cubic is back at w_max (before the 2x-measured cap)
    assert a.rate == pytest.approx(min(a.w_max, 2 * a.measured))


# -- breakers ---------------------------------------------------------------------------------------
def test_count_based_breaker_and_slow_calls():
    b = BreakerPolicy(C.CircuitBreaker(kind="count", window=4, min_calls=4, failure_rate=0.5, open_for=10,
                                        half_open_calls=1))
    for failed in (True, False, False, False, False, True):
        b.record(0, b.allow(0), failed)
    assert b.state == CLOSED  # last 4: F F F T -> 1/4
    b.record(0, b.allow(0), True)
    assert b.state == OPEN  # last 4: F F T T
    s = BreakerPolicy(C.CircuitBreaker(kind="count", window=10, min_calls=3, failure_rate=1.0, slow_call_rate=0.5,
                                       slow_call_duration=2.0, open_for=1, half_open_calls=1))
    for d in (0.1, 3.0, 4.0):
        s.record(0, s.allow(0), False, d)
    assert s.state == OPEN  # 2 of 3 calls slow


def test_consecutive_breaker_and_growing_open_time():
    b = BreakerPolicy(C.CircuitBreaker(kind="consecutive", min_calls=3, open_for=10, open_growth=2, max_open=30,
                                        half_open_calls=1))
    for t in (0, 1):
        b.record(t, b.allow(t), True)
    b.record(2, b.allow(2), False)
    assert b.state == CLOSED
    for t in (3, 4, 5):
        b.record(t, b.allow(t), True)
    assert b.state == OPEN and b.open_until == 15
    p = b.allow(15)
    b.record(15, p, True)  # the probe fails: open again, twice as long
    assert b.state == OPEN and b.open_until == 35
    b.record(55, b.allow(55), True)
    assert b.open_until == 55 + 30  # capped at max_open


def test_automatic_transition_is_dated_at_the_end_of_the_open_period():
    events = []
    b = BreakerPolicy(C.CircuitBreaker(window=10, min_calls=2, failure_rate=0.5, open_for=5, half_open_calls=1,
                                       automatic=True), on_change=lambda t, s: events.append((t, s)))
    b.record(0, b.allow(0), True)
    b.record(1, b.allow(1), True)
    b.allow(20.0)
    assert events == [(1, OPEN), (6, HALF_OPEN)]


def test_client_instances_trip_separately():
    sc = llmsim.load_scenario("tuesday", {"horizon": "9h15m", "warmup": "8h50m",
                                          "client.circuit_breaker": {"window": "30s", "min_calls": 10,
                                                                     "failure_rate": 0.5, "open_for": "20s"},
                                          "client.instances": 4})
    ev = llmsim.simulate(sc).events
    subjects = set(ev.loc[ev["kind"] == "breaker", "subject"])
    assert {"shared-gpt#0", "shared-gpt#1", "shared-gpt#2", "shared-gpt#3"} <= subjects
    shared = llmsim.simulate(sc.with_overrides({"client.share_state": True})).events
    assert set(shared.loc[shared["kind"] == "breaker", "subject"]) == {"shared-gpt"}


# -- presets and YAML -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CLIENT_PRESETS))
def test_every_preset_runs_from_yaml(tmp_path, name):
    f = tmp_path / "s.yaml"
    f.write_text(f"""
horizon: 3m
workload: {{arrivals: {{rate: 3/s}}}}
providers:
  - {{name: a, capacity: {{slots: 4}}, errors: {{server_error_rate: 0.2}}, rate_limits: {{rpm: 120}}}}
  - {{name: b, capacity: {{slots: 4}}}}
client: {name}
""")
    res = llmsim.simulate(llmsim.load_scenario(f))
    assert len(res.requests) > 100 and res.requests["request_id"].is_unique
    assert resolve_client(name) == llmsim.load_scenario(f).client


@pytest.mark.parametrize("client,path", [
    ({"retry": {"backoff": {"jitter": "fulll"}}}, "client.retry.backoff.jitter"),
    ({"retry": {"budget": {"kind": "aws", "capacity": -1}}}, "client.retry.budget.capacity"),
    ({"route": {"order": ["p"], "strategy": "fastest"}}, "client.route.strategy"),
    ({"layers": [{"retry": {"max_attempts": 0}}]}, "client.layers[0].retry.max_attempts"),
    ({"hedge": {"max_hedged": 0}}, "client.hedge.max_hedged"),
    ({"limiter": {"kind": "leaky"}}, "client.limiter"),
    ({"preset": "opnai-sdk"}, "client"),
])
def test_bad_policy_parameters_name_the_field(client, path):
    with pytest.raises(ScenarioError) as exc:
        llmsim.load_scenario(tiny_scenario(client=client))
    assert exc.value.path == path


# -- metastability ----------------------------------------------------------------------------------
def metastable(retries: int, d: float, seed: int, budget=None) -> llmsim.Scenario:
    """One slot, exponential service mean 100 ms (mu = 10/s), Poisson 7/s, client timeout 2 s, R
    immediate retries, abandoned work is finished anyway (abort_notice: never). The service rate halves
    for D seconds from t = 60 s (mu = 5/s < lambda). Without retries the backlog drains once mu is back
    (lambda < mu). With retries every attempt that waited past 2 s comes back up to R more times while
    its abandoned copies still hold the slot: the offered work is up to lambda (R + 1) = 28/s > mu, so
    once the queue is longer than the timeout the system stays collapsed (metastable failure) even after
    the trigger is gone. A retry budget caps the amplification and restores recovery."""
    retry = {"max_attempts": retries + 1, "on": ["timeout"], "backoff": {"kind": "constant", "base": 0,
                                                                         "jitter": "none"}}
    if budget is not None:
        retry["budget"] = budget
    return llmsim.Scenario.model_validate({
        "horizon": 600, "seed": seed, "drain": 60,
        "workload": {"arrivals": {"rate": "7/s"}},
        "providers": [{"name": "p", "capacity": {"slots": 1}, "abort_notice": "never",
                       "latency": {"service": {"dist": "exponential", "mean": 0.1}},
                       "incidents": [{"start": 60, "duration": d, "slowdown": 2.0}]}],
        "client": {"timeout": "2s", "retry": retry},
    })


def recovered(sc: llmsim.Scenario) -> bool:
    """Most requests succeed again long after the trigger ended (arrivals in the last 5 minutes)."""
    req = llmsim.simulate(sc).requests
    late = req[req["arrival"] >= 300]
    return bool((late["outcome"] == "ok").mean() > 0.8)


def test_metastable_collapse_with_retries_and_recovery_with_a_budget():
    seeds = range(4)
    # without retries the system recovers for every D up to 20 s
    assert all(recovered(metastable(0, d, s)) for d in (8, 20) for s in seeds)
    # with 3 immediate retries it stays collapsed for D >= 8 s in most seeds
    collapsed = [not recovered(metastable(3, d, s)) for d in (8, 20) for s in seeds]
    assert sum(collapsed) >= 0.75 * len(collapsed)
    # a retry budget (10 % of requests, as the SRE book recommends) restores recovery
    budget = {"kind": "ratio", "ratio": 0.1, "window": "60s"}
    assert all(recovered(metastable(3, d, s, budget)) for d in (8, 20) for s in seeds)


# -- classifier: statuses, x-should-retry, non-retryable classes, context windows --------------------
def classifier_scenario(provider: dict, client) -> llmsim.Scenario:
    data = tiny_scenario(horizon="5m")
    data["providers"] = [{"name": "small", "capacity": {"slots": 50}, **provider},
                         {"name": "large", "capacity": {"slots": 50}, "context_window": 200_000}]
    data["workload"]["input_tokens"] = {"dist": "lognormal", "median": 3000, "p95": 20000}
    data["client"] = client
    return llmsim.Scenario.model_validate(data)


def test_context_window_outcome_and_fallback_chain():
    sc = classifier_scenario({"context_window": 8192}, {"retry": {"max_attempts": 3},
                             "route": {"order": ["small", "large"], "failover_on": [],
                                       "fallbacks": [{"on": ["context_window"], "to": ["large"]}]}})
    res = llmsim.simulate(sc)
    att, req = res.attempts, res.requests
    too_big = req.loc[req["input_tokens"] + sc.workload.max_tokens > 8192, "request_id"]
    cw = att[att["outcome"] == "context_window"]
    assert len(too_big) > 0 and set(cw["request_id"]) == set(too_big)
    assert (cw["status"] == 400).all() and (cw["cost"] == 0).all()
    # each too-large request went on to the large-context provider and succeeded there
    assert (req.set_index("request_id").loc[too_big, "outcome"] == "ok").all()
    assert (att[att["request_id"].isin(too_big) & (att["outcome"] == "ok")]["provider"] == "large").all()
    # without a fallback, a context-window error is final (not retried)
    res2 = llmsim.simulate(sc.with_overrides({"client.route.fallbacks": []}))
    assert (res2.requests.set_index("request_id").loc[too_big, "attempts"] == 1).all()


def test_quota_exhausted_is_not_retried_even_by_sdks_that_retry_429():
    sc = classifier_scenario({"spend_cap": 0.01, "pricing": {"input_per_mtok": 1.0, "output_per_mtok": 4.0}},
                             "openai-sdk")
    res = llmsim.simulate(sc)
    att = res.attempts
    q = att[att["outcome"] == "quota_exhausted"]
    assert len(q) > 0 and (q["status"] == 429).all() and q["retry_after"].isna().all()
    # a quota_exhausted attempt is always the last of its request (openai-sdk retries other 429s)
    last = att.groupby("request_id").tail(1)
    assert set(q.index) <= set(last.index)
    spent = att.loc[att["provider"] == "small", "cost"].sum()
    assert spent >= 0.01 and spent < 0.01 + att["cost"].max() * 60  # stops soon after the cap


def test_statuses_and_x_should_retry():
    # retry by HTTP status: 529 listed, outcome list empty
    cfg = {"retry": {"max_attempts": 3, "on": [], "statuses": [529], "backoff": {"base": "10ms", "jitter": "none"}}}
    _, att = run_scripted(cfg, {"p": [("overloaded", 0), ("ok", 1)]})
    assert att["outcome"].astype(str).tolist() == ["overloaded", "ok"]
    # the server says do not retry: an SDK that respects x-should-retry stops at once
    no = classifier_scenario({"errors": {"server_error_rate": 1.0}, "should_retry": False}, "openai-sdk")
    assert (llmsim.simulate(no).requests["attempts"] == 1).all()
    yes = classifier_scenario({"errors": {"server_error_rate": 1.0}, "should_retry": True},
                              {"preset": "openai-sdk"})
    assert (llmsim.simulate(yes).requests["attempts"] == 3).all()
    # and one that ignores the header (tenacity) retries anyway
    ignore = classifier_scenario({"errors": {"server_error_rate": 1.0}, "should_retry": False}, "tenacity-exponential")
    assert (llmsim.simulate(ignore.with_overrides({"horizon": "1m"})).requests["attempts"] == 6).all()


# -- regressions found in review --------------------------------------------------------------------
@pytest.mark.parametrize("notice", ["never", "1s", "0s"])
def test_cancelled_hedges_never_leak_slots(notice):
    import simpy

    from llmsim.config import Provider
    from llmsim.core.streams import Streams
    from llmsim.engine.pipeline import Request
    from llmsim.engine.recorder import Recorder
    from llmsim.engine.simulation import ChunkDraws
    from llmsim.engine.station import Attempt, Station
    from llmsim.provider.model import ProviderModel

    env = simpy.Environment()
    streams = Streams(1)
    rec = Recorder(["p"])
    model = ProviderModel(Provider.model_validate({"name": "p", "capacity": {"slots": 4}, "abort_notice": notice,
                                                   "latency": {"service": {"dist": "fixed", "value": 10.0}}}), 0)
    st = Station(env, model, rec, streams, 100)
    chunk = ChunkDraws(0, streams, 1)
    atts = []
    for i in range(8):  # 4 in service (2 of them past their cut), 4 queued
        req = Request(i, 0.0, 10, 0, 10, chunk, i, 1)
        cut = 5.0 if i % 2 else 100.0
        a = Attempt(req, 0, 0, 0.0, cut, "timeout", st, lambda a: None)
        st.submit(a)
        atts.append(a)
    env.run(until=1.0)
    for a in atts:
        st.cancel(a)
    env.run()
    assert st.busy == 0 and st.live_queue == 0


def test_single_provider_router_honours_retry_after():
    cfg = resolve_client({"preset": "litellm-router", "overhead": None})  # its retry rule alone
    _, att = run_scripted(cfg, {"p": [("rate_limited", 0, 20.0), ("ok", 1)]})
    # litellm calculate_retry_after: the whole-second hint plus its JITTER * U(0, 1), JITTER = 0.75 s
    assert att["sent"].iloc[0] == 0.0 and 20.0 <= att["sent"].iloc[1] <= 20.75


def test_preset_overrides_merge_deeply_everywhere():
    sc = llmsim.load_scenario(tiny_scenario(client={"preset": "openai-sdk", "retry": {"max_attempts": 5}}))
    assert sc.client.retry.max_attempts == 5 and sc.client.retry.timeout == 600  # the rest of the preset stays
    assert resolve_client({"preset": "openai-sdk", "deadline": "30s"}).deadline == 30
    sc2 = llmsim.load_scenario(tiny_scenario()).with_overrides({"client": "openai-sdk",
                                                                "client.retry.max_attempts": 4})
    assert sc2.client.retry.max_attempts == 4 and sc2.client.retry.give_up_retry_after_over == 120
    with pytest.raises(ScenarioError, match="layers"):
        llmsim.load_scenario(tiny_scenario(client={"preset": "envoy", "timeout": "1s"}))


def test_envoy_budget_settles_when_hedges_are_cancelled():
    from llmsim.engine.layers.retry import RetryStage

    budgets = []
    original = RetryStage.__init__

    def spy(self, *a, **k):
        original(self, *a, **k)
        budgets.append(self.budget)
    RetryStage.__init__ = spy
    try:
        sc = hedged_scenario(2, 0.3).with_overrides({"client.retry.budget": {"kind": "envoy"}})
        llmsim.simulate(sc)
    finally:
        RetryStage.__init__ = original
    assert budgets and all(b.active == 0 and b.retries == 0 for b in budgets)


def test_limiter_below_a_hedge_sends_nothing_after_the_hedge_is_won():
    data = tiny_scenario(horizon="1m")
    data["workload"]["arrivals"] = {"rate": "3/s"}
    data["providers"][0].update(capacity={"slots": 50}, latency={"ttft": {"dist": "lognormal", "median": 0.3,
                                                                         "p95": 3.0}, "tokens_per_s": 100})
    for limiter in ({"kind": "concurrency", "limit": 2, "queue": 100}, {"kind": "token_bucket", "rpm": 120}):
        data["client"] = {"layers": [{"hedge": {"max_hedged": 2, "delay": "200ms"}}, {"limiter": limiter},
                                     {"retry": {"max_attempts": 1}}]}
        res = llmsim.simulate(data)
        req = res.requests.set_index("request_id")
        att = res.attempts
        late = att["sent"].to_numpy() > req.loc[att["request_id"], "end"].to_numpy() + 1e-9
        assert not late.any(), limiter
        rows = att.groupby("request_id").size().reindex(req.index, fill_value=0)
        assert (rows == req["attempts"]).all(), limiter


def test_an_attempt_that_runs_to_its_end_bills_every_output_token():
    data = tiny_scenario(horizon="5m")
    data["workload"]["output_tokens"] = {"dist": "fixed", "value": 200}
    data["providers"][0].update(capacity={"slots": 100}, abort_notice="never",
                                latency={"ttft": "300ms", "tokens_per_s": 77})
    data["client"] = {"retry": {"max_attempts": 2, "timeout": "1s"}}
    att = llmsim.simulate(data).attempts
    cut = att[(att["outcome"] == "timeout") & att["started"].notna()]
    assert len(cut) > 0 and (cut["billed_output_tokens"] == 200).all()


def test_validation_fallback_follows_the_route_order():
    data = tiny_scenario(horizon="1m")
    data["providers"] = [{"name": n, "capacity": {"slots": 20}} for n in ("a", "b", "c")]
    data["providers"][2]["quality"] = {"invalid_rate": 1.0}
    data["client"] = {"route": {"order": ["c", "a"]}, "validation": {"on_invalid": "fallback", "max_attempts": 3}}
    res = llmsim.simulate(data)
    assert (res.requests["outcome"] == "ok").all()
    assert set(res.requests["provider"].astype(str)) == {"a"}


def test_hedges_stay_delay_apart_after_an_early_failure():
    cfg = {"hedge": {"max_hedged": 2, "delay": "1s"}}
    _, att = run_scripted(cfg, {"p": [("server_error", 0.2), ("ok", 5.0), ("ok", 5.0)]})
    assert att["sent"].tolist() == [0.0, 0.2, 1.2]
