"""``tune -r auto``: the finalists of successive halving get paired replications until the choice is
settled, deterministically, within the budget; the stopping point is checked with scipy's t interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import llmsim


def small():
    return llmsim.load_scenario("tuesday", {"horizon": "2m", "warmup": 0})


SPACE = {"client.retry.max_attempts": [1, 2, 3, 4]}


def exact(scenario, seed):
    """No noise: cost is the number of attempts allowed, so any two candidates differ with certainty."""
    return {"cost_total": float(scenario.client.retry.max_attempts)}


def close(scenario, seed):
    """Candidates 1 and 2 differ by 0.5 % of the cost with per-replication noise common to all of them
    (paired seeds) plus a little of their own: settling takes a number of replications."""
    k = scenario.client.retry.max_attempts
    shared = np.random.default_rng(seed).normal(0, 0.2)
    own = np.random.default_rng([seed, k]).normal(0, 0.003)
    return {"cost_total": 1.0 + 0.005 * k + shared + own}


def noisy(scenario, seed):
    rng = np.random.default_rng([seed, scenario.client.retry.max_attempts])
    return {"cost_total": 1.0 + rng.normal(0, 0.5)}


def run(measure, replications, budget=200):
    return llmsim.tune(small(), space=SPACE, objective="cost_total", budget=budget, workers=1, progress=False,
                       measure=measure, replications=replications)


def t_half(x: np.ndarray) -> float:
    return stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))


def test_a_certain_choice_needs_no_extra_replications():
    t = run(exact, "auto")
    assert int(t.best["client.retry.max_attempts"]) == 1
    assert t.adaptive["settled"] and t.adaptive["stopped"] == "settled"
    assert t.adaptive["replications"] == int(t.best["replications"]) == 4  # halving: 2 then 4, nothing added


def test_auto_stops_where_the_t_interval_first_is_narrow_enough():
    t = run(close, "auto:0.002:40", budget=400)
    assert t.adaptive["settled"]
    n = t.adaptive["replications"]
    assert n > 4  # the halving alone was not enough
    table = t.runs.table
    finalists = t.candidates[t.candidates["replications"] == n]["candidate"].tolist()
    assert len(finalists) == 2

    def cost(c):
        rows = table[(table["client.retry.max_attempts"] == int(t.candidates.set_index("candidate").loc[
            c, "client.retry.max_attempts"]))].sort_values("replication")
        return rows["cost_total"].to_numpy()

    lead = int(t.best["candidate"])
    other = next(c for c in finalists if c != lead)
    d = cost(lead) - cost(other)
    counts = [4] + [c for c in llmsim.experiments.adaptive.AutoReplications(0.002).counts() if c > 4]
    previous = counts[counts.index(n) - 1]

    def ok(m):  # the rule, with scipy's t quantile: narrow relative to the other's mean, or clearly nonzero
        half = t_half(d[:m])
        return half <= 0.002 * abs(cost(other)[:m].mean()) or half <= abs(d[:m].mean()) / 2

    assert ok(n) and not ok(previous)


def test_unsettled_stops_at_the_most_or_the_budget_and_says_so():
    t = run(noisy, "auto:0.001:14", budget=400)
    assert t.adaptive == {**t.adaptive, "settled": False, "stopped": "most", "replications": 14}
    assert int(t.best["replications"]) == 14
    short = run(noisy, "auto:0.001:40", budget=30)
    assert short.adaptive["stopped"] == "budget" and not short.adaptive["settled"]
    assert len(short.runs.table) <= 30


def test_auto_is_deterministic():
    a, b = run(close, "auto:0.002"), run(close, "auto:0.002")
    assert a.adaptive == b.adaptive
    assert a.candidates.equals(b.candidates)


def test_an_integer_sets_the_first_round():
    t = run(exact, 3)
    assert t.adaptive is None
    assert sorted(t.candidates["replications"].unique().tolist()) == [3, 6, 12]


def test_bad_replications_is_one_clear_error():
    with pytest.raises(llmsim.InputError, match="replications"):
        run(exact, "sometimes")
