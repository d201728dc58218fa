"""Replay: exact arrivals and sizes with ample capacity; options; YAML trace config; determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import llmsim
from llmsim.traces import load_trace
from llmsim.traces.replay import ReplayOptions, replay_arrivals
from llmsim.traces.samples import sample_path


def _ample(trace_block: dict, horizon: float) -> llmsim.Scenario:
    return llmsim.Scenario.model_validate({
        "horizon": horizon, "workload": {"trace": trace_block, "max_tokens": 10**7},
        "providers": [{"name": "p", "capacity": {"slots": 10**6}}]})


@pytest.mark.parametrize("name", ["AzureLLMInferenceTrace_code_2023.csv", "mooncake_synthetic_trace.jsonl",
                                  "burstgpt1.csv", "burstgpt3.csv"])
def test_exact_replay_from_yaml_config(public_dir, name):
    path = public_dir / name
    tr = load_trace(path)
    res = llmsim.simulate(_ample({"path": str(path)}, float(tr["arrival_s"].max()) + 1), seed=5)
    req = res.requests
    assert len(req) == len(tr)
    assert np.array_equal(req["arrival"].to_numpy(), tr["arrival_s"].to_numpy() - tr["arrival_s"].iloc[0])
    assert np.array_equal(req["input_tokens"].to_numpy(), tr["input_tokens"].to_numpy())
    assert np.array_equal(req["output_tokens"].to_numpy(), tr["output_tokens"].to_numpy())
    assert (req["outcome"] == "ok").all()


def test_replay_first_attempts_only():
    tr = load_trace(sample_path("csv"))
    arr, info = replay_arrivals(tr)
    first = tr[tr["attempt"] == 0]
    assert info["logical_requests"] == len(first) == len(arr) < len(tr)
    assert np.allclose(arr.times, first["arrival_s"].to_numpy() - tr["arrival_s"].iloc[0])
    arr_all, _ = replay_arrivals(tr, ReplayOptions(first_attempts=False))
    assert len(arr_all) == len(tr)


def test_window_time_scale_loop():
    tr = pd.DataFrame({"arrival_s": np.arange(10.0), "input_tokens": np.arange(10) + 1, "output_tokens": 1})
    a, _ = replay_arrivals(tr, ReplayOptions(window=(2.0, 5.0), time_scale=2.0))
    assert a.times.tolist() == [0.0, 2.0, 4.0] and a.input_tokens.tolist() == [3, 4, 5]
    a, info = replay_arrivals(tr, ReplayOptions(window=(0.0, 5.0), loop=True), horizon=12.0)
    assert a.times.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert a.input_tokens.tolist() == [1, 2, 3, 4, 5] * 2 + [1, 2]


def test_rate_multiplier_thinning_and_superposition():
    n = 20000
    tr = pd.DataFrame({"arrival_s": np.linspace(0, 1000, n), "input_tokens": 5, "output_tokens": 1})
    for m in (0.3, 2.5):
        a, _ = replay_arrivals(tr, ReplayOptions(rate_multiplier=m), seed=3)
        # count = n * floor(m) + Binomial(n, frac): 4 standard deviations
        frac = m - np.floor(m)
        mean, sd = n * m, np.sqrt(n * frac * (1 - frac))
        assert abs(len(a) - mean) <= 4 * sd + 1e-9
        assert a.times.min() >= 0 and a.times.max() <= 1000 + 1000 / (n - 1)
    a1, _ = replay_arrivals(tr, ReplayOptions(rate_multiplier=2.5), seed=3)
    a2, _ = replay_arrivals(tr, ReplayOptions(rate_multiplier=2.5), seed=3)
    assert np.array_equal(a1.times, a2.times)


def test_replay_deterministic_and_common_random_numbers():
    sc = llmsim.load_scenario("tuesday").with_overrides({"horizon": "10m", "warmup": 0,
                                                         "workload.arrivals": None,
                                                         "workload.trace": {"path": sample_path("csv")}})
    r1, r2 = llmsim.simulate(sc, seed=4), llmsim.simulate(sc, seed=4)
    pd.testing.assert_frame_equal(r1.attempts, r2.attempts)
    other = llmsim.simulate(sc.with_overrides({"client.retry.max_attempts": 1}), seed=4)
    assert np.array_equal(other.requests["arrival"], r1.requests["arrival"])


def test_config_rejects_both_sources():
    with pytest.raises(llmsim.ScenarioError, match="exactly one of 'arrivals'"):
        llmsim.load_scenario({"horizon": 10, "workload": {"arrivals": {"rate": 1}, "trace": {"path": "x.csv"}},
                              "providers": [{"name": "p", "capacity": {"slots": 1}}]})


def test_replay_at_a_clock_time_meets_the_scenario_then():
    """``at``: the replayed arrivals are shifted to that time of the scenario, the time before is warm-up."""
    from llmsim.core.units import UnitError, parse_offset
    from llmsim.experiments.counterfactual import counterfactual

    assert parse_offset("08:30") == 8.5 * 3600 and parse_offset("00:00:30") == 30.0
    with pytest.raises(UnitError, match="clock time"):
        parse_offset("25:00")
    tr = pd.DataFrame({"arrival_s": [100.0, 100.5, 160.0], "input_tokens": [10, 20, 30], "output_tokens": 5})
    sc = llmsim.Scenario.model_validate({
        "horizon": "1h", "workload": {"arrivals": {"rate": "1/s"}},
        # other tenants hold every slot from 2h to 3h: only a replay placed then meets it
        "providers": [{"name": "p", "capacity": {"slots": 4, "contention": [[0, 0.0], ["2h", 1.0], ["3h", 0.0]]},
                       "queue": {"limit": 0}}]})
    early = counterfactual(sc, tr, {"a": "no-retries"}, seed=1)
    late = counterfactual(sc, tr, {"a": "no-retries"}, seed=1, at=parse_offset("02:10"))
    assert early.loc["a", "requests"] == late.loc["a", "requests"] == 3
    assert early.loc["a", "success_rate"] == 1.0 and late.loc["a", "success_rate"] == 0.0
