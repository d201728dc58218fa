"""Limit semantics (opt-in): cache-aware ITPM and per-model output burn, checked against the refill arithmetic of
a token bucket (a bucket of R tokens per minute admits R per minute once drained, whatever is offered)."""

from __future__ import annotations

import pytest

from llmsim import simulate
from llmsim.config.loading import load_scenario
from llmsim.provider.buckets import RateLimiterSet

ITPM = 2_000_000
PROMPT, CACHED = 10_000, 8_000  # an 80 % cache hit rate


def _admitted_per_minute(limits: RateLimiterSet, cost_args: tuple, tokens: int, every: float = 0.005,
                         minutes: int = 10) -> float:
    """``tokens`` admitted per minute from minute 2 on (the first minute spends the bucket that starts full),
    offering one request every ``every`` seconds (far above any limit here)."""
    admitted = 0
    n = int(minutes * 60 / every)
    for i in range(n):
        t = i * every
        if limits.admit(t, *cost_args) == 0.0 and t >= 120.0:
            admitted += tokens
    return admitted / (minutes - 2)


@pytest.mark.parametrize("counts_reads, expected", [(False, ITPM / (1 - 0.8)), (True, ITPM)])
def test_cache_aware_itpm_admits_five_times_the_limit_at_an_80_percent_hit_rate(counts_reads, expected):
    # Anthropic's example: a 2M ITPM limit with an 80 % cache hit rate processes about 10M input tokens a
    # minute, since only the 20 % uncached input is counted; when cache reads count, 2M
    limits = RateLimiterSet(itpm=ITPM, itpm_counts_cache_reads=counts_reads)
    got = _admitted_per_minute(limits, (PROMPT, CACHED, 0, 0), PROMPT)
    # the bucket's level moves by at most one request's cost between the window's ends
    assert abs(got - expected) <= PROMPT, (got, expected)


def test_output_burn_divides_the_output_a_limit_admits():
    # Bedrock, Claude 4 family: output burns quota at 5x, so a 100k OTPM quota admits 20k output tokens/min
    otpm, out, burn = 100_000, 500, 5
    for b, expected in ((1.0, otpm), (burn, otpm / burn)):
        limits = RateLimiterSet(otpm=otpm, admission="actual", output_burn=b)
        got = _admitted_per_minute(limits, (100, 0, 4096, out), out)
        assert abs(got - expected) <= out * b, (b, got, expected)


def test_burn_applies_to_the_max_tokens_reservation_against_tpm():
    # reservation = input + max_tokens * burn: 1000 + 200 * 5 = 2000 tokens of a 2M TPM quota -> 1000 req/min
    limits = RateLimiterSet(tpm=2_000_000, output_burn=5)
    got = _admitted_per_minute(limits, (1000, 0, 200, 50), 1)
    assert abs(got - 1000) <= 1


def _scenario(counts_reads: bool) -> dict:
    return {
        "horizon": "10m", "seed": 4,
        "workload": {"arrivals": {"rate": "35/s"}, "input_tokens": {"dist": "fixed", "value": PROMPT},
                     "output_tokens": {"dist": "fixed", "value": 1}, "max_tokens": 1, "cached_input_share": 0.8},
        "providers": [{"preset": "anthropic/claude-sonnet-4.5", "tier": 4, "name": "sonnet",
                       "rate_limits": {"itpm_counts_cache_reads": counts_reads}}],
        "client": {"retry": {"max_attempts": 1}},
    }


@pytest.mark.parametrize("counts_reads, expected", [(False, 10_000_000), (True, 2_000_000)])
def test_a_tier_4_sonnet_scenario_serves_the_cache_aware_input_rate(counts_reads, expected):
    # 35 req/s offer 21M input tokens a minute; tier 4 allows 2M ITPM (4000 RPM, 400k OTPM do not bind)
    res = simulate(load_scenario(_scenario(counts_reads)))
    att = res.attempts
    ok = att[(att["outcome"] == "ok") & (att["sent"] >= 120.0)]
    per_minute = len(ok) * PROMPT / 8  # every prompt is PROMPT tokens
    # bucket arithmetic: within one request's cost plus the bucket's swing over the window
    assert abs(per_minute - expected) <= 0.02 * expected, per_minute


def _reserving(admission: str) -> dict:
    return {
        "horizon": "10m", "seed": 2,
        "workload": {"arrivals": {"rate": "10/s"}, "input_tokens": {"dist": "fixed", "value": 100},
                     "output_tokens": {"dist": "fixed", "value": 500}, "max_tokens": 4096},
        "providers": [{"name": "p", "capacity": {"slots": 100},
                       "latency": {"ttft": {"dist": "fixed", "value": 0.2}, "tokens_per_s": 1000},
                       "rate_limits": {"otpm": 100_000, "admission": admission}}],
        "client": {"retry": {"max_attempts": 1}},
    }


@pytest.mark.parametrize("admission, per_answer", [("reserve", 500), ("max_tokens", 4096)])
def test_a_reservation_corrected_at_the_bill_costs_the_tokens_generated(admission, per_answer):
    # OTPM 100k: charged max_tokens (4096) and never corrected, 24.4 answers a minute; corrected to the
    # 500 tokens generated, 200 a minute. In flight at 200/min: about 0.7 s each, 2-3 answers, so at most
    # a few reservations (4096 each) are outstanding at any time: within 3 %.
    res = simulate(load_scenario(_reserving(admission)))
    att = res.attempts
    ok = att[(att["outcome"] == "ok") & (att["sent"] >= 120.0)]
    expected = 100_000 / per_answer
    assert abs(len(ok) / 8 - expected) <= 0.03 * expected + 1, (len(ok) / 8, expected)


def test_an_attempt_dropped_from_the_queue_releases_its_reservation():
    # one slot busy for the whole run, a 1 s queue timeout, OTPM room for 10 reservations of 4096: with the
    # release each attempt timed out in the queue gives its 4096 back, so all 120 arrivals (1/s) are admitted;
    # without it (admission: max_tokens) ten fill the bucket, which refills one every 6 s (10 x 4096 / 60 s):
    # about 10 + 110 / 6 = 28 admitted in 2 minutes
    def run(admission):
        sc = {"horizon": "2m", "warmup": 0, "seed": 1,
              "workload": {"arrivals": {"rate": "1/s"}, "max_tokens": 4096,
                           "output_tokens": {"dist": "fixed", "value": 100}},
              "providers": [{"name": "p", "capacity": {"slots": 1}, "queue": {"timeout": "1s"},
                             "latency": {"service": {"dist": "fixed", "value": "1h"}, "refusal": 0},
                             "rate_limits": {"otpm": 10 * 4096, "admission": admission}}]}
        return simulate(load_scenario(sc)).attempts["outcome"].value_counts()

    reserve, plain = run("reserve"), run("max_tokens")
    assert reserve["rate_limited"] == 0 and reserve["overloaded"] > 100
    admitted = plain["overloaded"] + plain["ok"]
    assert abs(admitted - (10 + 110 / 6)) <= 2
