"""Stability maps and collapse detection against theory and an independent simulator (docs/stability.md).

The independent simulator below is written from the semantics of the cell (M/M/c, FIFO, a per-attempt client
timeout T after which the client retries at once, up to N retries; abandoned attempts stay queued and are served
anyway; a dip leaves floor(c * share) slots during [settle, settle + d)), not from llmsim's code, and so is its
recovery judgement (5 s bins, goodput < half the arrivals = bad, 30 s of bad bins = collapsed, 30 s of good bins
= recovered)."""

from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np
import pytest

import llmsim
from llmsim.analysis.collapse import collapse_of, goodput_timeline
from llmsim.core.goodput_collapse import CollapseCriteria, detect_collapse
from llmsim.experiments.design import replication_seed
from llmsim.experiments.stability import StabilityResult, stability, wilson
from llmsim.experiments.stability_theory import fluid_inputs

SLOTS, MEAN_SERVICE, RATE, TIMEOUT = 10, 1.0, 7.0, 10.0  # mu = 10/s, load 1 = 0.7 of capacity
SETTLE, WITHIN = 40.0, 90.0
IMMEDIATE = {"max_attempts": 4, "on": ["timeout"], "backoff": {"kind": "constant", "base": 0, "jitter": "none"}}
CLIENTS = {"none": {"timeout": TIMEOUT, "retry": {"max_attempts": 1}},
           "immediate": {"timeout": TIMEOUT, "retry": IMMEDIATE},
           "budget": {"timeout": TIMEOUT, "retry": {**IMMEDIATE, "budget": {"kind": "ratio", "ratio": 0.1,
                                                                            "window": "60s"}}}}


def mmc() -> llmsim.Scenario:
    return llmsim.Scenario.model_validate({
        "horizon": 300, "seed": 3, "workload": {"arrivals": {"rate": RATE}},
        "providers": [{"name": "p", "capacity": {"slots": SLOTS}, "abort_notice": "never",
                       "latency": {"service": {"dist": "exponential", "mean": MEAN_SERVICE}}}],
        "client": CLIENTS["none"]})


# -- the independent simulator ----------------------------------------------------------------------
class IndependentCell:
    """A plain event loop of one cell (see the module doc)."""

    def __init__(self, lam: float, retries: int, share: float, d: float, horizon: float, seed: int):
        self.rng = np.random.default_rng(seed)
        arrivals = np.cumsum(self.rng.exponential(1 / lam, int(lam * horizon * 1.5) + 50))
        self.arrivals = arrivals[arrivals < horizon]
        self.retries, self.share, self.horizon = retries, share, horizon
        self.ev = [(t, 0, "arrive", i) for i, t in enumerate(self.arrivals)]
        self.ev += [(SETTLE, 1, "cap", 0), (SETTLE + d, 1, "cap", 1)]
        heapq.heapify(self.ev)
        self.queue: deque = deque()
        self.busy, self.slots = 0, SLOTS
        self.end = np.full(len(self.arrivals), np.nan)
        self.ok = np.zeros(len(self.arrivals), bool)
        self.tries = np.zeros(len(self.arrivals), int)
        self.live: dict = {}  # request -> deadline of the attempt its client still waits for

    def send(self, i: int, t: float) -> None:
        self.tries[i] += 1
        self.live[i] = t + TIMEOUT
        self.queue.append((i, t + TIMEOUT))
        heapq.heappush(self.ev, (t + TIMEOUT, 2, "timeout", (i, t + TIMEOUT)))

    def done(self, t: float, i: int, deadline: float) -> None:
        self.busy -= 1
        if t <= deadline and self.live.get(i) == deadline:
            del self.live[i]
            self.ok[i], self.end[i] = True, t

    def timeout(self, t: float, i: int, deadline: float) -> None:
        if self.live.get(i) != deadline:
            return
        del self.live[i]
        if self.tries[i] <= self.retries:
            self.send(i, t)
        else:
            self.end[i] = t

    def run(self):
        while self.ev:
            t, _, kind, x = heapq.heappop(self.ev)
            if t > self.horizon + 1:
                break
            if kind == "arrive":
                self.send(x, t)
            elif kind == "cap":
                self.slots = int(math.floor(SLOTS * self.share + 1e-9)) if x == 0 else SLOTS
            elif kind == "done":
                self.done(t, *x)
            else:
                self.timeout(t, *x)
            while self.queue and self.busy < self.slots:
                i, deadline = self.queue.popleft()
                self.busy += 1
                heapq.heappush(self.ev, (t + self.rng.exponential(MEAN_SERVICE), 0, "done", (i, deadline)))
        return self.arrivals, self.end, self.ok


def independent_run(lam: float, retries: int, share: float, d: float, horizon: float, seed: int):
    """(arrival times, end times, ok flags) of one run of the cell."""
    return IndependentCell(lam, retries, share, d, horizon, seed).run()


def independent_recovered(arrivals, end, ok, trigger_end: float, within: float, horizon: float) -> bool:
    """Recovered within ``within`` s of the trigger's end, or never collapsed (5 s bins, see the module doc)."""
    edges = np.arange(0.0, horizon + 1e-9, 5.0)
    good = np.histogram(end[ok], edges)[0] >= 0.5 * np.histogram(arrivals, edges)[0]
    bad_run, collapsed_at = 0, None
    for k, g in enumerate(good):
        bad_run = 0 if g else bad_run + 1
        if bad_run >= 6:
            collapsed_at = k
            break
    if collapsed_at is None:
        return True
    ok_run = 0
    for k in range(collapsed_at + 1, len(good)):
        ok_run = ok_run + 1 if good[k] else 0
        if ok_run >= 6:
            return edges[k - 5] <= trigger_end + within
    return False


def independent_p(load: float, retries: int, d: float, reps: int, share: float = 0.5) -> float:
    horizon = SETTLE + d + WITHIN + 30.0
    wins = [independent_recovered(*independent_run(RATE * load, retries, share, d, horizon, 1000 + s),
                                  SETTLE + d, WITHIN, horizon) for s in range(reps)]
    return float(np.mean(wins))


# -- tests ------------------------------------------------------------------------------------------
def test_the_independent_simulator_reproduces_erlang_c_waiting():
    """Check the checker: without timeouts hitting (T large vs the waits), P(wait > 0) is Erlang C."""
    lam, c, mu = 7.0, SLOTS, 1 / MEAN_SERVICE
    a = lam / mu
    top = a ** c / math.factorial(c) * c / (c - a)
    erlang_c = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    # mean response time of M/M/c = C / (c mu - lam) + 1 / mu
    arr, end, ok = independent_run(lam, 0, 1.0, 1.0, 4000.0, 5)
    resp = (end - arr)[ok & (arr > 100)]
    expected = erlang_c / (c * mu - lam) + 1 / mu
    assert abs(resp.mean() - expected) < 0.08 * expected


def run_map(clients, durations, loads, refine, reps) -> StabilityResult:
    return stability(mmc(), {k: CLIENTS[k] for k in clients}, durations=durations, loads=loads, refine=refine,
                     replications=reps, recover_within=WITHIN, settle=SETTLE, seed=11, workers=2, progress=False)


def test_map_boundary_agrees_with_an_independent_simulation():
    m = run_map(["immediate"], [30.0], [0.6, 1.0, 1.4], refine=2, reps=12)
    cells = m.cells()
    b = m.boundaries().iloc[0]
    assert np.isfinite(b["stable_load"]) and np.isfinite(b["unstable_load"])
    for load in (b["stable_load"], b["unstable_load"], 0.6, 1.4):
        row = cells[cells["load"] == load].iloc[0]
        n_ind = 40
        p_ind = independent_p(load, 3, 30.0, n_ind)
        pooled = (row["p_recover"] * row["runs"] + p_ind * n_ind) / (row["runs"] + n_ind)
        se = math.sqrt(max(pooled * (1 - pooled), 0.05) * (1 / row["runs"] + 1 / n_ind))
        assert abs(row["p_recover"] - p_ind) <= 3 * se, (load, row["p_recover"], p_ind)
    # on each side of the bracket the independent simulator agrees on which side it is, within its own error
    assert independent_p(b["stable_load"] - 0.2, 3, 30.0, 20) >= 0.5
    assert independent_p(b["unstable_load"] + 0.2, 3, 30.0, 20) < 0.5


def test_without_retries_every_dip_recovers_below_capacity():
    """No retries, load below capacity: the backlog a dip builds, (lam - mu/2) d, drains at mu - lam; every
    run recovers within that drain time (plus the 30 s the judgement needs)."""
    mu = SLOTS / MEAN_SERVICE
    loads = [0.5, 0.9, 1.2]  # lam = 3.5, 6.3, 8.4 < mu = 10
    d = 30.0
    drain = max((RATE * m - mu / 2) * d / (mu - RATE * m) for m in loads)
    m = stability(mmc(), {"none": CLIENTS["none"]}, durations=[d], loads=loads, refine=0, replications=6,
                  recover_within=drain + 30, settle=SETTLE, seed=5, workers=2, progress=False)
    assert (m.cells()["p_recover"] == 1.0).all()
    assert m.table["metastable"].sum() == 0
    # and the theory line for no retries is capacity itself
    f = fluid_inputs(mmc())
    assert f.attempts == 1 and m.fluid("none", [1e9])[0] == pytest.approx(mu / RATE, rel=1e-6)


@pytest.mark.parametrize("budget", [
    {"kind": "ratio", "ratio": 0.1, "window": "60s"},
    pytest.param({"kind": "aws"}, marks=pytest.mark.slow),
], ids=["ratio-10pct", "aws-quota"])
def test_a_retry_budget_widens_the_stable_region(budget, monkeypatch):
    monkeypatch.setitem(CLIENTS, "budget", {"timeout": TIMEOUT, "retry": {**IMMEDIATE, "budget": budget}})
    m = run_map(["immediate", "budget"], [30.0], [0.6, 1.0, 1.4], refine=2, reps=10)
    b = m.boundaries().set_index("client")
    assert b.loc["budget", "boundary"] - b.loc["budget", "uncertainty"] > \
        b.loc["immediate", "boundary"] + b.loc["immediate", "uncertainty"]
    # at the immediate-retry boundary's unstable side, the budget recovers: the Wilson intervals do not overlap
    cells = m.cells().set_index(["client", "load"])
    load = b.loc["immediate", "unstable_load"]
    budget_cells = cells
    if ("budget", load) not in cells.index:  # the budget's search did not visit that load: run it
        budget_cells = run_map(["budget"], [30.0], [load], refine=0, reps=10).cells().set_index(["client", "load"])
    assert budget_cells.loc[("budget", load), "p_low"] > cells.loc[("immediate", load), "p_high"]


def test_summary_flags_a_metastable_run_and_not_a_quick_recovery():
    def run(client, load, seed):
        sc = mmc().with_overrides({"client": CLIENTS[client], "workload.arrivals.rate": RATE * load,
                                   "providers.p.incidents": [{"start": 60, "duration": 30, "capacity": 0.5}]})
        return llmsim.simulate(sc, seed=seed).summary()

    stuck = run("immediate", 1.3, 1)
    assert stuck["collapsed"] == 1 and stuck["metastable"] == 1 and np.isnan(stuck["recovered_at"])
    quick = run("none", 0.5, 1)  # lam = 3.5 < 5 even during the dip: nothing to drain
    assert quick["metastable"] == 0 and quick["time_to_recover"] == 0
    drained = run("none", 1.0, 1)  # lam = 7 > 5 during the dip: a backlog that drains in about 60 s
    assert drained["metastable"] == 0


def test_detect_collapse_definitions_on_built_sequences():
    t = np.arange(0.0, 600.0, 0.1)
    c = CollapseCriteria()
    # a 20 s outage is shorter than min_duration: no collapse
    short = (t >= 100) & (t < 120)
    assert detect_collapse(t, t + 0.01, ~short, 600.0, 0.0, [(100.0, 120.0)], c)["collapsed"] == 0
    # an outage that outlives its trigger by more than metastable_after while load stays: metastable
    long = (t >= 100) & (t < 300)
    v = detect_collapse(t, t + 0.01, ~long, 600.0, 0.0, [(100.0, 130.0)], c)
    assert (v["collapsed"], v["recovered_at"], v["time_to_recover"], v["metastable"]) == (1, 300, 170, 1)
    # the same outage ending because the load went away (no arrivals from 130 to 300 s): not metastable
    keep = (t < 130) | (t >= 300)
    v = detect_collapse(t[keep], t[keep] + 0.01, ~long[keep], 600.0, 0.0, [(100.0, 130.0)], c)
    assert v["metastable"] == 0


def test_goodput_timeline_marks_the_trigger_and_the_collapse():
    sc = mmc().with_overrides({"client": CLIENTS["immediate"], "workload.arrivals.rate": RATE * 1.3,
                               "providers.p.incidents": [{"start": 60, "duration": 30, "capacity": 0.5}]})
    res = llmsim.simulate(sc, seed=1)
    tl = goodput_timeline(res)
    assert tl.loc[tl["trigger"], "time"].min() == 60 and tl.loc[tl["trigger"], "time"].max() == 85
    assert tl.loc[tl["time"] >= 200, "collapsed"].all()
    assert collapse_of(res)["metastable"] == 1


def test_wilson_interval_covers_its_proportion():
    lo, hi = wilson(3, 10)
    assert lo < 0.3 < hi and 0 <= lo and hi <= 1
    assert replication_seed(11, 0) == replication_seed(11, 0)


def test_stability_rejects_bad_input():
    with pytest.raises(llmsim.InputError, match="unknown kind"):
        stability(mmc(), {"a": "no-retries"}, kind="quake", durations=[10], workers=1, progress=False)
    with pytest.raises(llmsim.InputError, match="depth"):
        stability(mmc(), {"a": "no-retries"}, kind="dip", depth=1.5, durations=[10], workers=1, progress=False)
