"""``-r auto``: the stopping rule, its determinism, and that it starts from the runs of ``-r 10``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import llmsim
from llmsim.experiments.adaptive import AutoReplications, difference_settled, mean_settled, parse_replications
from llmsim.experiments.sweep import SweepResult


def small():
    return llmsim.load_scenario("tuesday", {"horizon": "2m", "warmup": 0})


def test_parse():
    assert parse_replications("auto") == AutoReplications()
    assert parse_replications("auto:2%:12") == AutoReplications(target=0.02, most=12, start=10)
    assert parse_replications("auto:0.1:5").start == 5
    assert parse_replications(3) == 3 and parse_replications("3") == 3 and parse_replications(None, 10) == 10
    for bad in ("0", 0, "sometimes", "auto:x", "auto:0", "auto:0.1:1", "auto:1:2:3:4"):
        with pytest.raises(llmsim.InputError, match="replications"):
            parse_replications(bad)


def test_settled_rules_follow_the_t_interval():
    rule = AutoReplications(target=0.05)
    rng = np.random.default_rng(0)
    base = 100 + rng.normal(0, 1, 10)
    assert difference_settled(base, base.copy(), rule)  # identical: half-width 0
    assert difference_settled(base, base + 20 + rng.normal(0, 5, 10), rule)  # clearly away from zero
    # no real difference, noise of 20 % of the mean: half-width about 14 % of the baseline
    assert not difference_settled(base, base + rng.normal(0, 20, 10), rule)
    assert difference_settled(np.full(10, np.nan), np.full(10, np.nan), rule)  # nothing to learn
    assert mean_settled(base, rule) and not mean_settled(rng.normal(1, 1, 10), rule)


def noisy(scenario, seed):
    """A measure whose difference never settles at a tiny target (independent noise per client)."""
    rng = np.random.default_rng([seed, scenario.client.retry.max_attempts])
    return {"cost_total": 1.0 + rng.normal(0, 0.5)}


def test_unsettled_goes_to_the_most_and_says_so():
    sc = small()
    a, b = sc.client.model_copy(), sc.client.model_copy(update={"retry": sc.client.retry.model_copy(
        update={"max_attempts": 1})})
    cmp = llmsim.compare(sc, clients={"a": a, "b": b}, replications="auto:0.001:14", workers=1, progress=False,
                         measure=noisy, metrics=["cost_total"])
    assert cmp.replications == 14 and cmp.sweep.adaptive["settled"] is False
    assert cmp.sweep.adaptive["replications"] == 14


def test_auto_is_deterministic_and_starts_with_the_runs_of_r10():
    clients = {"a": "no-retries", "b": "openai-sdk"}
    auto1 = llmsim.compare(small(), clients=clients, workers=1, progress=False)
    auto2 = llmsim.compare(small(), clients=clients, workers=1, progress=False)
    fixed = llmsim.compare(small(), clients=clients, replications=10, workers=1, progress=False)
    pd.testing.assert_frame_equal(auto1.table, auto2.table)
    assert auto1.replications >= 10 and auto1.sweep.adaptive["replications"] == auto1.replications
    first10 = auto1.table[auto1.table["replication"] < 10].reset_index(drop=True)
    pd.testing.assert_frame_equal(first10, fixed.table)
    if auto1.replications == 10:  # stopped at once: the very intervals of -r 10
        pd.testing.assert_frame_equal(auto1.differences(), fixed.differences())


def test_sweep_auto_settles_every_point_mean(tmp_path):
    sw = llmsim.sweep(small(), grid={"client.retry.max_attempts": [1, 3]}, replications="auto", workers=1,
                      progress=False, out=tmp_path / "s")
    n = sw.adaptive["replications"]
    assert len(sw.table) == 2 * n and sw.adaptive["settled"] in (True, False)
    assert SweepResult.load(tmp_path / "s").adaptive == sw.adaptive
