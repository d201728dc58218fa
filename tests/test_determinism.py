"""Same scenario and seed -> identical tables; changing the client leaves the workload and the
provider's draws for each request unchanged (common random numbers)."""

from __future__ import annotations

import hashlib

import pandas as pd

import llmsim

from conftest import tiny_scenario


def busy_scenario(**client) -> llmsim.Scenario:
    data = tiny_scenario(horizon="15m")
    data["workload"]["arrivals"] = {"rate": "9/s"}
    data["providers"][0].update(
        capacity={"slots": 6, "contention": [[0, 0.0], [300, 0.5]]}, queue={"limit": 10, "timeout": "5s"},
        rate_limits={"rpm": 480}, errors={"server_error_rate": 0.02})
    data["client"] = {"timeout": "8s", "retry": {"max_attempts": 3}, **client}
    return llmsim.Scenario.model_validate(data)


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_byte_identical_parquet(tmp_path):
    sc = busy_scenario()
    a = llmsim.simulate(sc, seed=11).save(tmp_path / "a")
    b = llmsim.simulate(sc, seed=11).save(tmp_path / "b")
    for name in ("requests.parquet", "attempts.parquet", "events.parquet"):
        assert digest(a / name) == digest(b / name)
    c = llmsim.simulate(sc, seed=12).save(tmp_path / "c")
    assert digest(a / "attempts.parquet") != digest(c / "attempts.parquet")


def test_retry_count_does_not_change_arrivals_or_sizes():
    r1 = llmsim.simulate(busy_scenario(), seed=3).requests
    r5 = llmsim.simulate(busy_scenario().with_overrides({"client.retry.max_attempts": 5}), seed=3).requests
    cols = ["request_id", "arrival", "input_tokens", "output_tokens"]
    pd.testing.assert_frame_equal(r1[cols], r5[cols])
    assert (r5["attempts"] > 3).any()  # the change did matter


def test_provider_draws_do_not_depend_on_client_policy():
    """With ample capacity, each request's first attempt takes exactly the same service time whatever
    the retry policy, because the provider's draws are keyed by (request, attempt on that provider)."""
    data = tiny_scenario(horizon="5m")
    data["providers"][0].update(capacity={"slots": 10_000}, latency={"ttft": {"dist": "lognormal", "median": 0.3,
                                                                              "p95": 2}},
                                errors={"server_error_rate": 0.2})
    base = llmsim.Scenario.model_validate(data)
    a = llmsim.simulate(base, seed=8).attempts
    b = llmsim.simulate(base.with_overrides({"client.retry": {"max_attempts": 4}, "client.timeout": "1s"}),
                        seed=8).attempts
    first_a = a[a["attempt"] == 0].set_index("request_id")
    first_b = b[b["attempt"] == 0].set_index("request_id")
    # every first attempt that finished within 1 s under policy A ends identically under policy B
    quick = first_a[(first_a["end"] - first_a["sent"]) < 1.0].index
    pd.testing.assert_series_equal(first_a.loc[quick, "end"], first_b.loc[quick, "end"])
    pd.testing.assert_series_equal(first_a.loc[quick, "outcome"], first_b.loc[quick, "outcome"])
