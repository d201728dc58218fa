"""LiteLLM fidelity: how clients read rate-limit headers, and the real ``litellm.Router`` (the installed
release) against ``llmsim serve`` vs what ``llmsim import litellm`` makes of the same config, on the same
send times.

The real run is one sample; the simulation pools 20 replications. Tolerances come from the spread of
the simulated replications (what one run of this model varies by), and are never looser than the
acceptance bounds allow when that spread is small: success share within 0.05, cooldowns within 25 %,
failover share within 0.05 (plus the sampling error of the real run's few retries).
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


# -- the real Router ------------------------------------------------------------------------------
# Behind the `slow` marker (python -m pytest -m slow tests/test_bridges_litellm.py): the real Router's
# behaviour depends on the machine's load. Its cooldowns are recorded by a callback after each failure,
# and when its process is starved (the full suite in parallel with other work) it falls into a regime
# with 1-3 s retries and several times the cooldowns (docs/bridges.md), which no client model should
# be asked to reproduce; on a quiet machine the acceptance bounds below hold.
N = 80


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
    # every cooldown LiteLLM set lasted the whole-second retry-after (serve rounds up to >= 1 s), not 5 s
    fo_real, fo_sim = rep.real.failovers(), rep.sim.failovers()
    assert len(fo_real) >= 3, rep
    se = math.sqrt(max(fo_sim.mean() * (1 - fo_sim.mean()), 0.01) / len(fo_real))
    assert abs(fo_real.mean() - fo_sim.mean()) <= 0.05 + 3 * se, (fo_real, fo_sim.mean())


def test_litellm_cooldowns_last_the_whole_second_header():
    """LiteLLM cools a deployment down for int(retry-after), here 1 s (the hint rounded up), not cooldown_time."""
    from llmsim.config.client import LiteLLMCooldown
    from llmsim.policies.ejection import LiteLLMCooldownEjection

    c = LiteLLMCooldownEjection(LiteLLMCooldown(mode="allowed_fails", allowed_fails=1, cooldown_time=5.0), n=2)
    c.record(0.0, 0, "rate_limited", 0.25)
    c.record(0.1, 0, "rate_limited", 0.15)
    assert not c.healthy(1.09, 0) and c.healthy(1.1, 0)
