"""Tier 2: the engine against queueing theory, with warm-up and replications.

Tolerances come from the spread of the replications (a t-interval), plus the acceptance bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import llmsim

from theory import erlang_b, mmc_mean_wait, mmck_blocking


def queue_scenario(seed: int, c: int, lam: float, horizon: float, warmup: float, limit=None) -> llmsim.Scenario:
    return llmsim.Scenario.model_validate({
        "horizon": horizon, "warmup": warmup, "seed": seed,
        "workload": {"arrivals": {"rate": lam}},
        "providers": [{"name": "p", "capacity": {"slots": c}, "queue": {"limit": limit},
                       "latency": {"service": {"dist": "exponential", "mean": 1.0}}}],
    })


def t_halfwidth(values, level=0.99) -> float:
    v = np.asarray(values, dtype=float)
    return float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))


def mean_waits(c, lam, reps, horizon, warmup, seed0=100):
    out = []
    for r in range(reps):
        res = llmsim.simulate(queue_scenario(seed0 + r, c, lam, horizon, warmup))
        a = res.attempts
        keep = a["sent"] >= warmup
        out.append(float((a["started"] - a["sent"])[keep].mean()))
    return np.array(out)


def test_mmc_mean_wait_matches_erlang_c():
    c, lam = 4, 2.8
    waits = mean_waits(c, lam, reps=12, horizon=12_000, warmup=500)
    theory = mmc_mean_wait(c, lam, 1.0)
    hw = t_halfwidth(waits)
    # theory inside the 99 % replication interval, and the interval itself is tight enough to mean something
    assert abs(waits.mean() - theory) <= hw, (waits.mean(), theory, hw)
    assert hw / theory < 0.08


@pytest.mark.slow
def test_mmc_mean_wait_within_3_percent_long_run():
    c, lam = 4, 2.8
    waits = mean_waits(c, lam, reps=64, horizon=20_000, warmup=500, seed0=1000)
    theory = mmc_mean_wait(c, lam, 1.0)
    assert abs(waits.mean() / theory - 1) < 0.03
    assert abs(waits.mean() - theory) <= t_halfwidth(waits)


@pytest.mark.parametrize("c,limit,lam", [(3, 2, 3.0), (5, 0, 4.0), (2, 6, 2.4)])
def test_queue_limit_blocking_matches_mmck(c, limit, lam):
    shares = []
    for r in range(4):
        res = llmsim.simulate(queue_scenario(200 + r, c, lam, horizon=8_000, warmup=200, limit=limit))
        shares.append(res.summary()["overloaded_share"])
    theory = mmck_blocking(c, c + limit, lam, 1.0)
    if limit == 0:
        assert theory == pytest.approx(erlang_b(c, lam))
    assert abs(np.mean(shares) - theory) < 0.01
    assert abs(np.mean(shares) - theory) <= max(t_halfwidth(shares), 0.002)


def test_little_law_holds():
    res = llmsim.simulate(queue_scenario(7, 3, 2.4, horizon=20_000, warmup=0))
    req = res.requests
    t0, t1 = 1_000.0, 19_000.0
    # time-average number in system over [t0, t1]
    overlap = (np.minimum(req["end"], t1) - np.maximum(req["arrival"], t0)).clip(lower=0)
    L = overlap.sum() / (t1 - t0)
    inside = req[(req["arrival"] >= t0) & (req["arrival"] < t1)]
    lam = len(inside) / (t1 - t0)
    W = inside["latency"].mean()
    assert L == pytest.approx(lam * W, rel=0.02)


def rpm_scenario(rpm: float, lam: float, horizon: float, warmup: float, seed: int = 5) -> llmsim.Scenario:
    return llmsim.Scenario.model_validate({
        "horizon": horizon, "warmup": warmup, "seed": seed,
        "workload": {"arrivals": {"rate": lam}},
        "providers": [{"name": "p", "capacity": {"slots": 10_000}, "rate_limits": {"rpm": rpm},
                       "latency": {"service": {"dist": "fixed", "value": 0.1}}}],
    })


@pytest.mark.parametrize("rpm,lam", [(60, 5.0), (600, 40.0), (120, 2.5)])
def test_rpm_only_rate_limited_share_tends_to_one_minus_r_over_lambda(rpm, lam):
    res = llmsim.simulate(rpm_scenario(rpm, lam, horizon=3_600, warmup=120))
    share = res.summary()["rate_limited_share"]
    theory = 1 - (rpm / 60) / lam
    # binomial noise of the share over the measured attempts
    n = res.summary()["requests"]
    assert abs(share - theory) < 0.01 + 3 * math.sqrt(theory * (1 - theory) / n)


@pytest.mark.parametrize("window", [1.0, 10.0, 60.0, 600.0])
def test_no_window_admits_more_than_burst_plus_rate(window):
    rpm = 120
    res = llmsim.simulate(rpm_scenario(rpm, 6.0, horizon=1_800, warmup=0))
    a = res.attempts
    admitted = np.sort(a.loc[a["outcome"] != "rate_limited", "sent"].to_numpy())
    burst, rate = rpm, rpm / 60
    # for every admitted attempt, count the admissions in [t, t + window]
    ends = np.searchsorted(admitted, admitted + window, side="right")
    worst = int((ends - np.arange(len(admitted))).max())
    assert worst <= burst + rate * window + 1e-9
    # and the bound is nearly reached over a long window (the limiter is not just refusing everything)
    if window >= 60:
        assert worst >= rate * window
