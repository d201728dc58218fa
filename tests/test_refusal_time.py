"""Refusals take time (``latency.refusal`` / ``latency.error``): checked against the distribution they
are drawn from and against queueing theory, not against numbers the simulator printed.

A refused attempt is in flight until its answer arrives: the client's timeout, deadline or a hedge
can end it first, and it never holds a slot."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import llmsim
from llmsim.core.samplers import LogNormal

from theory import erlang_b

NO_BACKOFF = {"kind": "constant", "base": 0, "jitter": "none"}


def refuse_everything(latency: dict, client: dict, horizon: float = 200.0, rate: float = 1.0,
                      seed: int = 3, overload: bool = True) -> llmsim.Scenario:
    """Every attempt is refused at arrival: no slot at all (529), or an RPM limit that never fits (429)."""
    prov = {"name": "p", "latency": {"service": {"dist": "fixed", "value": 0.1}, **latency}}
    if overload:
        prov |= {"capacity": {"slots": 1, "contention": 1.0}, "queue": {"limit": 0}}
    else:  # a bucket of capacity 1 / 60: no request ever fits (Retry-After inf)
        prov |= {"capacity": {"slots": 10}, "rate_limits": {"rpm": 1, "window": "1s"}}
    return llmsim.Scenario.model_validate({
        "horizon": horizon, "seed": seed, "workload": {"arrivals": {"rate": rate}},
        "providers": [prov], "client": client})


def attempt_gaps(res) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(end - sent of every attempt; of the attempts followed by another; the gap to that next one)."""
    a = res.attempts.sort_values(["request_id", "attempt"])
    dur = (a["end"] - a["sent"]).to_numpy()
    gap = (a.groupby("request_id")["sent"].shift(-1) - a["sent"]).to_numpy()
    has_next = ~np.isnan(gap)
    return dur, dur[has_next], gap[has_next]


def test_no_backoff_attempts_are_spaced_by_the_refusal_time():
    median, p95 = 0.08, 0.3
    client = {"retry": {"max_attempts": 4, "on": ["overloaded"], "backoff": NO_BACKOFF}}
    res = llmsim.simulate(refuse_everything({"error": {"dist": "lognormal", "median": median, "p95": p95}}, client))
    a = res.attempts
    assert (a["outcome"] == "overloaded").all() and len(a) > 400
    dur, dur_before, gaps = attempt_gaps(res)
    # with no backoff, the next attempt leaves the instant the refusal arrives
    assert len(gaps) > 300
    np.testing.assert_allclose(gaps, dur_before, atol=1e-9)
    # the durations follow the configured log-normal (KS against its exact CDF)
    sigma = LogNormal(median, p95).sigma
    assert stats.kstest(dur, stats.lognorm(s=sigma, scale=median).cdf).pvalue > 1e-3
    n = len(dur)
    # sample median within 4 standard errors of the true one (asymptotic SE of a median)
    se = 1.0 / (2 * stats.lognorm(s=sigma, scale=median).pdf(median) * math.sqrt(n))
    assert abs(np.median(dur) - median) < 4 * se


def test_refusal_and_error_times_are_separate():
    lat = {"refusal": "250ms", "error": "40ms"}
    client = {"retry": {"max_attempts": 2, "on": ["overloaded", "rate_limited"], "backoff": NO_BACKOFF}}
    over = llmsim.simulate(refuse_everything(lat, client, horizon=30))
    limited = llmsim.simulate(refuse_everything(lat, client, horizon=30, overload=False))
    assert set(over.attempts["outcome"]) == {"overloaded"}
    assert set(limited.attempts["outcome"]) == {"rate_limited"}
    np.testing.assert_allclose((over.attempts["end"] - over.attempts["sent"]).to_numpy(), 0.04)
    np.testing.assert_allclose((limited.attempts["end"] - limited.attempts["sent"]).to_numpy(), 0.25)


def test_zero_refusal_time_answers_at_once():
    client = {"retry": {"max_attempts": 3, "on": ["overloaded"], "backoff": NO_BACKOFF}}
    res = llmsim.simulate(refuse_everything({"refusal": 0}, client, horizon=20))
    a = res.attempts
    assert (a["end"] == a["sent"]).all()


def test_a_timeout_shorter_than_the_refusal_time_gives_the_timeout_outcome():
    client = {"timeout": "0.5s", "retry": {"max_attempts": 2, "on": ["overloaded", "timeout"],
                                          "backoff": NO_BACKOFF}}
    res = llmsim.simulate(refuse_everything({"error": "2s"}, client, horizon=30))
    a = res.attempts
    assert set(a["outcome"]) == {"timeout"}
    np.testing.assert_allclose((a["end"] - a["sent"]).to_numpy(), 0.5)
    assert (a["cost"] == 0).all()
    assert set(res.requests["outcome"]) == {"timeout"}


def test_a_deadline_during_the_refusal_ends_the_request_at_the_deadline():
    client = {"deadline": "0.3s", "retry": {"max_attempts": 5, "on": ["overloaded"], "backoff": NO_BACKOFF}}
    res = llmsim.simulate(refuse_everything({"error": "0.2s"}, client, horizon=30))
    req = res.requests
    assert set(req["outcome"]) == {"deadline"}
    np.testing.assert_allclose((req["end"] - req["arrival"]).to_numpy(), 0.3)
    assert (res.attempts.groupby("request_id").size() == 2).all()  # refused at 0.2, cut at 0.3


def test_a_hedge_winner_cancels_an_attempt_whose_refusal_is_on_the_way():
    # rpm 60 over a 1 s window: one request fits; the hedge sent 50 ms later is refused (429), its
    # answer due after 1 s, but the first attempt finishes at 0.2 s and the hedge is cancelled then
    scen = llmsim.Scenario.model_validate({
        "horizon": 100, "seed": 1, "workload": {"arrivals": {"rate": 0.2}},
        "providers": [{"name": "p", "capacity": {"slots": 10}, "rate_limits": {"rpm": 60, "window": "1s"},
                       "latency": {"service": {"dist": "fixed", "value": 0.2}, "refusal": "1s"}}],
        "client": {"hedge": {"max_hedged": 1, "delay": "50ms"}}})
    res = llmsim.simulate(scen)
    a = res.attempts
    first, hedge = a[a["attempt"] == 0], a[a["attempt"] == 1]
    req = res.requests
    isolated = req[np.r_[True, np.diff(req["arrival"].to_numpy()) > 2.0]]  # the bucket is full again
    assert set(isolated["outcome"]) == {"ok"}
    isolated = set(isolated["request_id"])
    hedge = hedge[hedge["request_id"].isin(isolated)]
    assert len(hedge) > 5 and set(hedge["outcome"]) == {"cancelled"}
    ends = first.set_index("request_id").loc[hedge["request_id"], "end"].to_numpy()
    np.testing.assert_allclose(hedge["end"].to_numpy(), ends)
    assert (hedge["cost"] == 0).all()


@pytest.mark.parametrize("c,lam", [(3, 2.5), (6, 5.0)])
def test_refusals_hold_no_slot_erlang_b(c, lam):
    """M/M/c/c with refusals that take 5x a mean service: the blocking share is still Erlang B (a
    refusal holding a slot would raise it)."""
    shares = []
    for r in range(4):
        res = llmsim.simulate(llmsim.Scenario.model_validate({
            "horizon": 6_000, "warmup": 200, "seed": 500 + r, "workload": {"arrivals": {"rate": lam}},
            "providers": [{"name": "p", "capacity": {"slots": c}, "queue": {"limit": 0},
                           "latency": {"service": {"dist": "exponential", "mean": 1.0}, "error": "5s"}}]}))
        shares.append(res.summary()["overloaded_share"])
    theory = erlang_b(c, lam)
    sd = np.std(shares, ddof=1)
    hw = stats.t.ppf(0.995, len(shares) - 1) * sd / math.sqrt(len(shares))
    assert abs(np.mean(shares) - theory) <= max(hw, 0.004), (np.mean(shares), theory, hw)


# -- client.overhead ----------------------------------------------------------------------------
def test_client_overhead_delays_every_attempt_by_its_draw():
    client = {"overhead": {"dist": "lognormal", "median": "24ms", "p95": "75ms"},
              "retry": {"max_attempts": 3, "on": ["overloaded"], "backoff": NO_BACKOFF}}
    res = llmsim.simulate(refuse_everything({"error": "100ms"}, client, horizon=300))
    a = res.attempts.sort_values(["request_id", "attempt"])
    first = a[a["attempt"] == 0].set_index("request_id")["sent"]
    arrival = res.requests.set_index("request_id")["arrival"]
    lag = (first - arrival.loc[first.index]).to_numpy()  # overhead of the first attempt
    gap = (a.groupby("request_id")["sent"].shift(-1) - a["end"]).dropna().to_numpy()  # overhead of the retries
    draws = np.concatenate([lag, gap])
    assert len(draws) > 600 and (draws > 0).all()
    sigma = LogNormal(0.024, 0.075).sigma
    assert stats.kstest(draws, stats.lognorm(s=sigma, scale=0.024).cdf).pvalue > 1e-3
    np.testing.assert_allclose((a["end"] - a["sent"]).to_numpy(), 0.1)  # the answer time is unchanged


def test_overhead_longer_than_the_timeout_never_reaches_the_provider():
    client = {"overhead": "2s", "timeout": "1s"}
    scen = llmsim.Scenario.model_validate({
        "horizon": 30, "seed": 2, "workload": {"arrivals": {"rate": 1}},
        "providers": [{"name": "p", "capacity": {"slots": 1}, "rate_limits": {"rpm": 6000},
                       "latency": {"service": {"dist": "fixed", "value": 0.1}}}], "client": client})
    res = llmsim.simulate(scen)
    assert set(res.requests["outcome"]) == {"timeout"}
    np.testing.assert_allclose((res.requests["end"] - res.requests["arrival"]).to_numpy(), 1.0)
    assert (res.attempts["cost"] == 0).all() and res.attempts["started"].isna().all()


def test_a_hedge_winner_cancels_an_attempt_still_in_the_client_overhead():
    # overhead 50 ms, service 1 ms: the first attempt ends at 51 ms; the hedge launched at 10 ms
    # would leave at 60 ms, so it is cancelled at 51 ms before the provider sees it
    scen = llmsim.Scenario.model_validate({
        "horizon": 60, "seed": 1, "workload": {"arrivals": {"rate": 0.5}},
        "providers": [{"name": "p", "capacity": {"slots": 1}, "queue": {"limit": 0},
                       "latency": {"service": {"dist": "fixed", "value": 0.001}}}],
        "client": {"overhead": "50ms", "hedge": {"max_hedged": 1, "delay": "10ms"}}})
    res = llmsim.simulate(scen)
    a = res.attempts
    hedge = a[a["attempt"] == 1]
    assert len(hedge) > 10 and set(hedge["outcome"]) == {"cancelled"}
    np.testing.assert_allclose((hedge["end"] - hedge["sent"]).to_numpy(), 0.0)
    req = res.requests.set_index("request_id")
    np.testing.assert_allclose(hedge["end"].to_numpy(), req.loc[hedge["request_id"], "arrival"].to_numpy() + 0.051)
    assert set(res.requests["outcome"]) == {"ok"}  # one slot, no queue: the hedge never took it
