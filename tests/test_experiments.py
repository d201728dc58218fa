"""Experiments: sweep / compare / tune, executors, resume, statistics (fast: tiny scenarios, short horizons)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import llmsim
from llmsim.experiments import ExperimentInterrupted, SweepResult
from llmsim.experiments.design import sample_points
from llmsim.experiments.stats import mean_ci
from llmsim.experiments.task_runner import simulate_summary

from conftest import tiny_scenario

GRID = {"client.retry.max_attempts": [1, 3], "providers.p.capacity.slots": [3, 8]}


def small(horizon: str = "2m", error_rate: float = 0.05) -> llmsim.Scenario:
    d = tiny_scenario(horizon=horizon)
    d["providers"][0]["errors"] = {"server_error_rate": error_rate}
    d["client"] = {"retry": {"max_attempts": 2, "backoff": {"base": 0.05}}}
    return llmsim.load_scenario(d)


class Measure:
    """A picklable measurement that counts its calls, can fail at one max_attempts value, or raise
    KeyboardInterrupt (a simulated Ctrl-C) once ``interrupt_after`` runs have finished."""

    def __init__(self, interrupt_after: int | None = None, fail_at: int | None = None, interrupt_at_slots=None):
        self.calls = 0
        self.interrupt_after = interrupt_after
        self.fail_at = fail_at
        self.interrupt_at_slots = interrupt_at_slots

    def __call__(self, scenario, seed):
        if self.interrupt_after is not None and self.calls >= self.interrupt_after:
            raise KeyboardInterrupt
        if scenario.providers[0].capacity.slots == self.interrupt_at_slots:
            raise KeyboardInterrupt
        self.calls += 1
        if self.fail_at is not None and scenario.client.retry.max_attempts == self.fail_at:
            raise ValueError("boom at this point")
        return simulate_summary(scenario, seed)


def test_table_shape_seeds_and_order():
    sw = llmsim.sweep(small(), grid=GRID, replications=2, workers=1, seed=11)
    t = sw.table
    assert list(t.columns[:5]) == ["point", *GRID, "replication", "seed"]
    assert set(llmsim.SUMMARY_METRICS) <= set(t.columns) and t["error"].isna().all()
    assert len(t) == 4 * 2 and t["point"].is_monotonic_increasing
    # replication r has the same seed at every point (paired), and distinct seeds across replications
    by_rep = t.groupby("replication")["seed"].nunique()
    assert (by_rep == 1).all() and t.groupby("point")["seed"].nunique().eq(2).all()
    # each row is exactly simulate(point scenario, seed), summary-only (sweeps keep no tables by default)
    row = t.iloc[5]
    sc = small().with_overrides({**{k: int(row[k]) for k in GRID}, "keep": "summary"})
    expected = llmsim.simulate(sc, seed=int(row["seed"])).summary()
    assert all(row[m] == expected[m] or (math.isnan(row[m]) and math.isnan(expected[m])) for m in expected.index)


def test_workers_1_and_2_give_identical_tables():
    a = llmsim.sweep(small(), grid=GRID, replications=2, workers=1)
    b = llmsim.sweep(small(), grid=GRID, replications=2, workers=2, executor="processes")
    pd.testing.assert_frame_equal(a.table, b.table)


def test_dask_local_cluster_gives_identical_table():
    distributed = pytest.importorskip("distributed")
    a = llmsim.sweep(small(), grid=GRID, replications=2, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            b = llmsim.sweep(small(), grid=GRID, replications=2, executor=client)
            assert len({w["id"] for w in client.scheduler_info()["workers"].values()}) == 2
        c = llmsim.sweep(small(), grid=GRID, replications=2, scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(a.table, c.table)


def test_save_load_round_trip(tmp_path):
    sw = llmsim.sweep(small(), grid={"client.timeout": [None, "5s", 10]}, replications=2, workers=1)
    sw.save(tmp_path / "s")
    back = SweepResult.load(tmp_path / "s")
    pd.testing.assert_frame_equal(sw.table, back.table)
    assert back.params == ["client.timeout"] and (tmp_path / "s" / "summary.csv").is_file()


def test_resume_after_interrupt_skips_finished_runs_and_matches_uninterrupted(tmp_path):
    out = tmp_path / "sweep"
    full = llmsim.sweep(small(), grid=GRID, replications=2, workers=1, measure=Measure())
    with pytest.raises(ExperimentInterrupted) as info:
        llmsim.sweep(small(), grid=GRID, replications=2, workers=1, out=out, measure=Measure(interrupt_after=3))
    assert info.value.finished == 3
    files = sorted((out / "runs").glob("*.json"))
    assert len(files) == 3 and not (out / "table.parquet").exists()
    stamps = {f.name: f.stat().st_mtime_ns for f in files}
    again = Measure()
    resumed = llmsim.sweep(small(), grid=GRID, replications=2, workers=1, out=out, resume=True, measure=again)
    assert again.calls == len(full.table) - 3 and resumed.computed == again.calls
    assert {f.name: f.stat().st_mtime_ns for f in files} == stamps  # finished runs were not rewritten
    pd.testing.assert_frame_equal(resumed.table, full.table)
    pd.testing.assert_frame_equal(SweepResult.load(out).table, full.table)


def test_interrupt_with_worker_processes_keeps_finished_runs(tmp_path):
    out = tmp_path / "sweep"
    full = llmsim.sweep(small(), grid=GRID, replications=2, workers=1, measure=Measure())
    # workers get copies of the measure (no shared counter): the Ctrl-C comes with the first run at 8 slots
    with pytest.raises(ExperimentInterrupted) as info:
        llmsim.sweep(small(), grid=GRID, replications=2, workers=2, out=out, measure=Measure(interrupt_at_slots=8))
    finished = info.value.finished
    assert 1 <= finished < len(full.table) and len(list((out / "runs").glob("*.json"))) == finished
    resumed = llmsim.sweep(small(), grid=GRID, replications=2, workers=2, out=out, resume=True, measure=Measure())
    assert resumed.computed == len(full.table) - finished
    pd.testing.assert_frame_equal(resumed.table, full.table)


def test_output_folder_guards(tmp_path):
    out = tmp_path / "s"
    llmsim.sweep(small(), grid={"client.retry.max_attempts": [1]}, workers=1, out=out)
    with pytest.raises(llmsim.InputError, match="already holds"):
        llmsim.sweep(small(), grid={"client.retry.max_attempts": [1]}, workers=1, out=out)
    with pytest.raises(llmsim.InputError, match="different experiment"):
        llmsim.sweep(small(), grid={"client.retry.max_attempts": [2]}, workers=1, out=out, resume=True)


def test_failing_point_is_recorded_and_the_sweep_goes_on():
    sw = llmsim.sweep(small(), grid={"client.retry.max_attempts": [1, 2, 3]}, replications=2, workers=1,
                      measure=Measure(fail_at=2))
    bad = sw.table[sw.table["client.retry.max_attempts"] == 2]
    assert bad["error"].str.contains("ValueError: boom").all() and bad["cost_total"].isna().all()
    good = sw.table[sw.table["client.retry.max_attempts"] != 2]
    assert good["error"].isna().all() and good["cost_total"].notna().all()
    summ = sw.summary().set_index("client.retry.max_attempts")
    assert summ.loc[2, "errors"] == 2 and summ.loc[1, "errors"] == 0


def test_bad_input_names_the_field_and_writes_nothing(tmp_path):
    out = tmp_path / "never"
    cases = [({"client.retri.max_attempts": [1]}, "client.retri"),
             ({"client.retry.max_attempts": [1, 0]}, "client.retry.max_attempts"),
             ({"client.retry.max_attempts": 3}, "client.retry.max_attempts")]
    for grid, path in cases:
        with pytest.raises(llmsim.InputError) as info:
            llmsim.sweep(small(), grid=grid, workers=1, out=out)
        assert path in str(info.value) and "\n" not in str(info.value)
    assert not out.exists()


def test_latin_hypercube_samples_cover_every_stratum_and_are_reproducible():
    n = 8
    pts = sample_points({"a": (0.0, 1.0), "b": "10:50"}, n, "lhs", seed=5)
    a = np.array([p.params["a"] for p in pts])
    assert sorted(np.floor(a * n).astype(int)) == list(range(n))  # one sample per stratum
    assert all(isinstance(p.params["b"], int) and 10 <= p.params["b"] <= 50 for p in pts)
    assert [p.params for p in sample_points({"a": (0.0, 1.0), "b": "10:50"}, n, "lhs", seed=5)] == \
        [p.params for p in pts]
    sw = llmsim.sweep(small(), samples={"providers.p.capacity.slots": "2:12"}, n_samples=3, workers=1)
    assert sw.table["providers.p.capacity.slots"].between(2, 12).all()


def test_compare_with_itself_gives_exactly_zero_difference():
    cmp = llmsim.compare(small(), clients={"a": "naive-retry", "b": "naive-retry"}, replications=3, workers=1)
    d = cmp.differences()
    assert (d["diff"] == 0).all() and (d["ci"] == 0).all() and not d["significant"].any()
    assert (cmp.winners()["winner"] == "tie").all()


def test_paired_intervals_are_narrower_than_unpaired():
    n = 8
    cmp = llmsim.compare(small(error_rate=0.2), clients={"once": "no-retries", "retry": {"retry": {"max_attempts": 3}}},
                         replications=n, workers=2)
    d = cmp.differences(["cost_total", "goodput", "success_rate"]).set_index("metric")
    # metrics driven by the shared workload (how many requests, how many tokens) pair strongly; whether a retry
    # succeeds is a fresh draw, so success_rate pairs only weakly: the test checks the former
    for m in ("cost_total", "goodput"):
        assert d.loc[m, "ci"] < d.loc[m, "unpaired_ci"]
        # the pairing is strong: the per-replication values of the two clients are significantly correlated
        wide = cmp.values(m)
        r = np.corrcoef(wide["once"], wide["retry"])[0, 1]
        t = r * math.sqrt(n - 2) / math.sqrt(1 - r * r)
        assert t > sps.t.ppf(0.99, n - 2), (m, r)
    assert d.loc["success_rate", "verdict"] == "better" and d.loc["success_rate", "significant"]
    w = cmp.winners(["success_rate"]).iloc[0]
    assert w["winner"] == "retry" and w["significant"]


def test_ci_half_width_shrinks_as_one_over_sqrt_r():
    r_small, blocks = 8, 4
    big = llmsim.sweep(small(), grid={"client.retry.max_attempts": [2]}, replications=r_small * blocks, workers=2)
    few = llmsim.sweep(small(), grid={"client.retry.max_attempts": [2]}, replications=r_small, workers=1)
    pd.testing.assert_frame_equal(few.table, big.table.iloc[:r_small])  # replication r keeps its seed
    n_big = r_small * blocks
    tq = sps.t.ppf(0.975, r_small - 1) / sps.t.ppf(0.975, n_big - 1)

    def c4(n):  # E[sample sd] / sd for normal data
        return math.sqrt(2 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))

    expected = math.sqrt(blocks) * tq * c4(r_small) / c4(n_big)
    # sampling spread of log(sd ratio): var(log s_n) ~ 1 / (2 (n - 1)); the block mean averages `blocks` of them
    sd_log = math.sqrt(1 / (2 * (r_small - 1) * blocks) + 1 / (2 * (n_big - 1)))
    for m in ("cost_total", "latency_mean"):
        assert few.summary().loc[0, f"{m}_ci"] == pytest.approx(mean_ci(big.table[m][:r_small])[1])
        h_big = big.summary().loc[0, f"{m}_ci"]
        h_blocks = np.mean([mean_ci(big.table[m][k * r_small:(k + 1) * r_small])[1] for k in range(blocks)])
        assert abs(math.log(h_blocks / h_big / expected)) < 3 * sd_log, (m, h_blocks / h_big, expected)


def test_tune_finds_the_known_optimum():
    p = 0.3  # each attempt fails with probability p, so success with n attempts is 1 - p**n
    target = 4
    success = lambda n: 1 - p ** n
    bound = (success(target - 1) + success(target)) / 2  # only n >= target meets it; cost grows with n
    sc = small(horizon="5m", error_rate=p)
    res = llmsim.tune(sc, space={"client.retry.max_attempts": [1, 2, 3, 4, 5, 6]}, objective="cost_total",
                      constraints={"success_rate": f">= {bound}"}, budget=40, workers=2)
    assert len(res.candidates) == 6
    assert int(res.best["client.retry.max_attempts"]) == target and res.best["feasible"]
    assert target in set(res.frontier["client.retry.max_attempts"])
    assert res.table["replication"].max() + 1 == res.best["replications"] and len(res.table) <= 40
    infeasible = res.candidates[res.candidates["client.retry.max_attempts"] < target]
    assert not infeasible["feasible"].any()


def test_library_rejects_unknown_metrics_and_resume_without_a_folder():
    sc = llmsim.Scenario.model_validate(tiny_scenario(horizon="1m"))
    space = {"client.timeout": [1, 5]}
    with pytest.raises(llmsim.InputError, match="did you mean 'cost_total'"):
        llmsim.tune(sc, space=space, objective="costt", budget=8, workers=1, progress=False)
    with pytest.raises(llmsim.InputError, match="constraints.latncy_p95"):
        llmsim.tune(sc, space=space, constraints={"latncy_p95": "<= 10s"}, budget=8, workers=1, progress=False)
    with pytest.raises(llmsim.InputError, match="nothing to resume"):
        llmsim.sweep(sc, grid=space, resume=True, workers=1, progress=False)
