"""LiteLLM fidelity: how clients read rate-limit headers, LiteLLM 1.110's retry rules as the simulation
applies them, and the real ``litellm.Router`` (the installed release) against ``llmsim serve`` vs what
``llmsim import litellm`` makes of the same config, on the same send times.

The real run is one sample; the simulation pools 20 replications. Tolerances come from the spread of
the simulated replications (what one run of this model varies by), and are never looser than the
acceptance bounds allow when that spread is small: success share within 0.05, cooldowns within 25 %,
failover share within 0.05 (plus twice the binomial sampling error of the real run's retries).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmsim
from llmsim.config.loading import resolve_client
from llmsim.policies.hints import read_hint
from llmsim.traces.replay import ReplayOptions, replay_arrivals

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm must not fetch its price map


@given(st.floats(min_value=1e-9, max_value=1e4, allow_nan=False))
def test_headers_never_ask_for_less_than_the_hint(ra):
    """Every header a client can read rounds up: waiting what it says never comes back too early, and a
    whole-second header is a whole number of seconds, at least 1 (as serve and real providers send it)."""
    whole, ms = read_hint("retry-after")(ra), read_hint("retry-after-ms")(ra)
    assert whole >= ra and whole == math.ceil(whole) and whole >= 1
    assert ms >= ra - 1e-12 and ms - ra < 0.001 + 1e-9 and ms >= 0.001
    assert read_hint("reset")(ra) == ms and math.isnan(read_hint("none")(ra))


def test_every_retrying_preset_states_the_header_it_reads():
    from llmsim.config.client_presets import CLIENT_PRESETS

    for name in CLIENT_PRESETS:
        cfg = resolve_client(name)
        layers = [cfg] + [layer for layer in (cfg.layers or [])]
        retries = [getattr(x, "retry", None) for x in layers if getattr(x, "retry", None) is not None]
        for r in retries:
            assert "hint_header" in r.model_fields_set, name
    assert resolve_client("openai-sdk").retry.hint_header == "retry-after-ms"
    assert resolve_client("litellm-router").layers[0].retry.hint_header == "retry-after"


def _rate_limited(client) -> llmsim.Scenario:
    """One provider with a bucket of one request refilled at 1/s (so the hint is exact, to the float)."""
    return llmsim.Scenario.model_validate({
        "name": "rl", "horizon": "30s", "warmup": 0, "seed": 1,
        "workload": {"arrivals": {"rate": "1/s"}, "output_tokens": {"dist": "fixed", "value": 1}},
        "providers": [{"name": "p", "capacity": {"slots": 8}, "latency": {"ttft": "10ms", "tokens_per_s": 100},
                       "rate_limits": {"rpm": 60, "window": "1s"}}],
        "client": client})


@pytest.mark.parametrize("preset", ["openai-sdk", "anthropic-sdk", "litellm-router", "polly"])
@settings(max_examples=15, deadline=None)
@given(t=st.floats(min_value=0.0, max_value=5.0, allow_nan=False).map(lambda x: round(x, 1)))
def test_no_retry_is_refused_with_a_sub_millisecond_hint(preset, t):
    """Issue 12: a client that waits the hint it read (at its header's precision) is never refused again
    with a Retry-After below 1 ms: the bucket cannot leave 1 - 1e-16 of a token behind."""
    sc = _rate_limited(preset)
    tr = pd.DataFrame({"arrival_s": [t, t], "input_tokens": [5, 5], "output_tokens": [1, 1],
                       "logical_request_id": ["a", "b"]})
    arr, _ = replay_arrivals(tr, ReplayOptions(), 0, None)
    res = llmsim.simulate(sc, 0, arrivals=arr)
    a = res.attempts
    refused = a[(a["outcome"].astype(str) == "rate_limited") & (a["attempt"] > 0)]
    assert (refused["retry_after"].dropna() >= 1e-3).all(), refused


# -- LiteLLM 1.110's retry rules, as its router core applies them ----------------------------------
# Rules read from litellm's source and its router core's steps (router_rust/core.py ``_sleep_seconds``,
# router_rust/surface/retries.py ``should_retry_this_error``, utils.calculate_retry_after, constants
# INITIAL_RETRY_DELAY 0.5, MAX_RETRY_DELAY 8, JITTER 0.75) and checked step by step against the installed
# release (docs/bridges.md, "What the real Router does"):
# - in a group of more than one deployment, the sleep before a retry is 0 whenever any deployment is
#   healthy after the failure's cooldown, the one that just failed included (the retry re-picks by the
#   routing strategy, so it can go back to the same deployment);
# - a 429 with no healthy deployment is raised, not retried;
# - otherwise (one deployment) it sleeps int(retry-after) + JITTER * U(0, 1) when 0 < retry-after <= 60,
#   else min(0.5 * 2^k, 8) + JITTER * U(0, 1) before retry k + 1.
def _litellm(deployments: int = 2, **router_settings):
    from llmsim.bridges.fidelity.workloads import litellm_config
    from llmsim.config.litellm_router import translate_litellm

    cfg = litellm_config("http://llmsim", deployments, **router_settings)
    for i, d in enumerate(cfg["model_list"]):  # gpt-1 first whenever it is healthy: a deterministic order
        d["litellm_params"]["weight"] = float(i) if deployments > 1 else 1.0
    return _no_overhead(translate_litellm(cfg).client)


def _no_overhead(client: dict) -> dict:
    """The Router's retry rules alone: without its measured per-attempt overhead, retries go at 0 exactly."""
    return {**client, "overhead": None}


def _sends(att) -> list[tuple[str, float]]:
    return list(zip(att["provider"].astype(str), att["sent"].round(9)))


def test_litellm_retries_at_once_on_the_failed_deployment_when_it_is_the_only_healthy_one():
    """No allowed_fails (cooldown on any 429 in a group > 1, not on a lone 500): gpt-1's 429 cools it
    down, the retry goes at once to gpt-0, whose 500 leaves it the only healthy deployment: the next
    retry goes at once to gpt-0 again (the rule before this fix waited the backoff, 0.5-1.25 s)."""
    from llmsim.engine.scripted import run_scripted

    client = _litellm(routing_strategy="simple-shuffle", num_retries=2)
    client["route"]["ejection"]["mode"] = "rates"
    req, att = run_scripted(client, {"gpt-0": [("server_error", 0.0)], "gpt-1": [("rate_limited", 0.0, 0.3)]})
    assert _sends(att) == [("gpt-1", 0.0), ("gpt-0", 0.0), ("gpt-0", 0.0)]


def test_litellm_raises_a_429_when_no_deployment_is_healthy():
    from llmsim.engine.scripted import run_scripted

    client = _litellm(num_retries=2)
    client["route"]["ejection"]["mode"] = "rates"
    script = [("rate_limited", 0.0, 0.3)]
    req, att = run_scripted(client, {"gpt-0": script, "gpt-1": script})
    assert _sends(att) == [("gpt-1", 0.0), ("gpt-0", 0.0)] and req["outcome"].tolist() == ["rate_limited"]


def test_litellm_first_failure_within_allowed_fails_is_retried_at_once_on_either_deployment():
    """allowed_fails 1: a first failure cools nothing down, so the retry (at once) re-picks among both
    deployments by simple-shuffle's equal weights: back to the same one about half the time."""
    from llmsim.bridges.fidelity.clients import litellm_client
    from llmsim.engine.scripted import run_scripted

    client = _no_overhead(litellm_client())
    same = []
    for seed in range(300):
        script = [("rate_limited", 0.0, 0.3), ("ok", 0.0)]
        _, att = run_scripted(client, {"gpt-0": script, "gpt-1": script}, seed=seed)
        assert att["sent"].iloc[1] == 0.0  # (a retry on the other deployment meets its first 429: a third try)
        same.append(att["provider"].iloc[0] == att["provider"].iloc[1])
    assert abs(np.mean(same) - 0.5) <= 3 * math.sqrt(0.25 / len(same)), np.mean(same)


def _lone_waits(script, seeds: int = 300) -> np.ndarray:
    from llmsim.engine.scripted import run_scripted

    client = _litellm(deployments=1, num_retries=2)
    waits = []
    for seed in range(seeds):
        _, att = run_scripted(client, {"gpt-0": script}, seed=seed)
        waits.append(np.diff(att["sent"].to_numpy()))
    return np.array(waits)


def test_litellm_lone_deployment_waits_the_whole_second_hint_plus_uniform_jitter():
    """calculate_retry_after: int(retry-after) (serve sends 0.3 s as 1) + 0.75 * U(0, 1), for every retry."""
    from scipy import stats

    w = _lone_waits([("rate_limited", 0.0, 0.3)])
    assert w.shape[1] == 2
    assert stats.kstest(w.ravel(), stats.uniform(1.0, 0.75).cdf).pvalue > 1e-3


def test_litellm_lone_deployment_backs_off_exponentially_without_a_hint():
    """No retry-after: min(0.5 * 2^k, 8) + 0.75 * U(0, 1) before retry k + 1 (k = 0, 1)."""
    from scipy import stats

    w = _lone_waits([("server_error", 0.0)])
    for k in range(2):
        assert stats.kstest(w[:, k], stats.uniform(0.5 * 2 ** k, 0.75).cdf).pvalue > 1e-3, k


# -- the real Router ------------------------------------------------------------------------------
# Behind the `slow` marker (python -m pytest -m slow tests/test_bridges_litellm.py, about 1.5 min): a real
# run of the installed litellm.Router. 400 requests 0.1 s apart make about 40 retries that reach a
# provider: the failover share of one run carries a binomial standard error of about 0.07, which the
# tolerance below adds to the acceptance bound (benchmarks/fidelity_table.py litellm runs 1500 requests
# per run, where the bound alone is tested). On a heavily loaded machine the client's event loop is
# starved (retries bunch up, cooldowns multiply: docs/bridges.md): run it on a quiet machine.
N = 400


@pytest.fixture(scope="module")
def litellm_run():
    pytest.importorskip("litellm")
    pytest.importorskip("openai")
    from llmsim.bridges.fidelity import run_fidelity
    from llmsim.bridges.fidelity.clients import litellm_client
    from llmsim.bridges.fidelity.workloads import litellm_router

    from conftest import raised_priority

    with raised_priority():
        return run_fidelity("rate-limited-pair", litellm_client(), workload=litellm_router(requests=N, spacing=0.1),
                            replications=20, seed=3)


def _per_run(rep, values) -> np.ndarray:
    """A per-request series of the simulation, averaged per replication (requests are numbered from
    replication * 10_000_000)."""
    run = (rep.sim.requests["request"].astype(np.int64) // 10_000_000).to_numpy()
    return np.array([values[run == r].mean() for r in np.unique(run)])


@pytest.mark.slow
def test_litellm_router_success_and_local_refusals_match(litellm_run):
    rep = litellm_run
    real_ok = (rep.real.requests["outcome"] == "ok").mean()
    sim_ok = _per_run(rep, (rep.sim.requests["outcome"] == "ok").to_numpy(float))
    assert abs(real_ok - sim_ok.mean()) <= max(0.05, 3 * sim_ok.std(ddof=1)), (real_ok, sim_ok, rep)
    # the local "No deployments available" refusals never reach the server, on both sides
    assert (rep.real.requests["outcome"] == "rejected").any(), rep
    rej = rep.real.attempts[rep.real.attempts["outcome"] == "rejected"]
    assert rej["provider"].isna().all()
    assert rep.real.requests["attempts"].max() <= 3 and rep.sim.requests["attempts"].max() <= 3  # num_retries 2


@pytest.mark.slow
def test_litellm_router_cooldowns_and_failovers_match(litellm_run):
    rep = litellm_run
    real_cool, sim_cool = rep.real.cooldowns[0], np.asarray(rep.sim.cooldowns, float)
    assert real_cool > 0, rep
    assert abs(real_cool - sim_cool.mean()) <= max(0.25 * sim_cool.mean(), 3 * sim_cool.std(ddof=1)), (real_cool,
                                                                                                        sim_cool)
    # failover share: of the retries that reached a provider after an attempt that did, those that went to
    # another deployment (Behaviour.failovers, the same code on both sides)
    fo_real, fo_sim = rep.real.failovers(), rep.sim.failovers()
    assert len(fo_real) >= 20, rep
    se = math.sqrt(max(fo_sim.mean() * (1 - fo_sim.mean()), 0.01) / len(fo_real))
    assert abs(fo_real.mean() - fo_sim.mean()) <= 0.05 + 2 * se, (fo_real.mean(), len(fo_real), fo_sim.mean())
    # LiteLLM re-picks among the healthy deployments, the failed one included: not every retry fails over
    assert 0 < fo_real.mean() < 1 and 0 < fo_sim.mean() < 1


def test_litellm_cooldowns_last_the_whole_second_header():
    """LiteLLM cools a deployment down for int(retry-after), here 1 s (the hint rounded up), not cooldown_time."""
    from llmsim.config.client import LiteLLMCooldown
    from llmsim.policies.ejection import LiteLLMCooldownEjection

    c = LiteLLMCooldownEjection(LiteLLMCooldown(mode="allowed_fails", allowed_fails=1, cooldown_time=5.0), n=2)
    c.record(0.0, 0, "rate_limited", 0.25)
    c.record(0.1, 0, "rate_limited", 0.15)
    assert not c.healthy(1.09, 0) and c.healthy(1.1, 0)
