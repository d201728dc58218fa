"""The provider model's decisions, one rule at a time (pure objects and small engine runs)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import llmsim
from llmsim.bridges.serve.runtime import LiveProvider, Ticket
from llmsim.config import Provider
from llmsim.engine.arrivals import ExplicitArrivals
from llmsim.engine.station import Attempt, Station
from llmsim.provider.buckets import RateLimiterSet
from llmsim.provider.model import ProviderModel
from llmsim.provider.slots import DONE, DROPPED, LEAVING, ORPHANED, Service, SlotQueue

from conftest import tiny_scenario


def model(**over) -> ProviderModel:
    return ProviderModel(Provider.model_validate({"name": "p", "capacity": {"slots": 10}, **over}), 0)


# -- rate limits -------------------------------------------------------------------------------------
def test_admission_counts_max_tokens_or_actual_output():
    strict = RateLimiterSet(tpm=1000, admission="max_tokens")
    assert strict.admit(0.0, 100, 0, 500, 50) == 0.0  # 600 of 1000
    assert strict.admit(0.0, 100, 0, 500, 50) > 0.0  # another 600 does not fit
    lenient = RateLimiterSet(tpm=1000, admission="actual")
    assert [lenient.admit(0.0, 100, 0, 500, 50) for _ in range(6)] == [0.0] * 6  # 150 each
    assert lenient.admit(0.0, 100, 0, 500, 50) > 0.0


def test_retry_after_is_the_exact_refill_time():
    r = RateLimiterSet(rpm=60)  # 1 token per second, 60 in the bucket
    for _ in range(60):
        assert r.admit(0.0, 1, 0, 1, 1) == 0.0
    wait = r.admit(0.0, 1, 0, 1, 1)
    assert wait == pytest.approx(1.0)
    assert r.admit(wait - 1e-6, 1, 0, 1, 1) > 0.0 and r.admit(wait, 1, 0, 1, 1) == 0.0


def test_itpm_counts_uncached_input_and_otpm_the_output():
    r = RateLimiterSet(itpm=1000, otpm=300)
    assert r.admit(0.0, 1500, 1000, 100, 100) == 0.0  # only 500 uncached input tokens count
    assert r.admit(0.0, 500, 0, 100, 100) == 0.0  # itpm now full (1000), otpm 200
    assert r.admit(0.0, 1, 0, 100, 100) > 0.0  # itpm has no room left
    o = RateLimiterSet(otpm=300)
    assert [o.admit(0.0, 1, 0, 100, 10) for _ in range(3)] == [0.0] * 3
    assert o.admit(0.0, 1, 0, 100, 10) == pytest.approx(100 / (300 / 60))  # 100 tokens at 5/s


def test_refused_attempts_count_against_rpm_when_configured():
    free = RateLimiterSet(rpm=2)
    counted = RateLimiterSet(rpm=2, count_refused=True)
    for r in (free, counted):
        r.admit(0.0, 1, 0, 1, 1)
        r.admit(0.0, 1, 0, 1, 1)
    # 10 s later a third of a token has come back: both refuse, but only the counting one charges
    # the refusal, so its bucket is emptier afterwards
    assert free.admit(10.0, 1, 0, 1, 1) > 0.0 and counted.admit(10.0, 1, 0, 1, 1) > 0.0
    assert counted.rpm.level_at(10.0) < free.rpm.level_at(10.0)


def test_bucket_window_sets_the_burst():
    r = RateLimiterSet(rpm=600, window=1.0)  # Azure-style: 600 RPM enforced as 10 per second
    assert sum(r.admit(0.0, 1, 0, 1, 1) == 0.0 for _ in range(20)) == 10


# -- latency, errors, incidents, capacity --------------------------------------------------------------
def test_latency_is_ttft_plus_tokens_over_a_speed_slowed_by_load():
    m = model(latency={"ttft": "500ms", "tokens_per_s": 100, "load_slowdown": 3.0})
    idle = m.plan(0.0, 0.5, 0.99, 200, busy=1, eff=10)
    full = m.plan(0.0, 0.5, 0.99, 200, busy=10, eff=10)
    assert idle.speed == pytest.approx(100 / (1 + 2 * 0.1)) and idle.duration == pytest.approx(0.5 + 200 / idle.speed)
    assert full.speed == pytest.approx(100 / 3)


def test_server_errors_fail_at_ttft_and_bill_input_only():
    m = model(errors={"server_error_rate": 0.3}, pricing={"input_per_mtok": 1, "output_per_mtok": 4})
    assert m.plan(0.0, 0.4, 0.29, 100, 1, 10).error and not m.plan(0.0, 0.4, 0.31, 100, 1, 10).error
    p = m.plan(0.0, 0.4, 0.1, 100, 1, 10)
    assert p.duration == p.ttft == 0.4 and m.generated_tokens(p, 100, 10.0) == 0


def test_incidents_change_errors_latency_and_capacity_while_they_last():
    m = model(capacity={"slots": 10, "contention": [[0, 0.2]]},
              incidents=[{"start": 100, "duration": 50, "server_error_rate": 0.5, "capacity": 0.5,
                          "extra_latency": "2s", "slowdown": 2.0}])
    assert m.effective_slots(99) == 8 and m.effective_slots(100) == 4 and m.effective_slots(150) == 8
    assert m.error_schedule.at(120) == 0.5 and m.error_schedule.at(160) == 0.0
    during = m.plan(120.0, 0.5, 0.9, 100, 1, 4)
    after = m.plan(160.0, 0.5, 0.9, 100, 1, 8)
    assert during.ttft == pytest.approx((0.5 + 2.0) * 2) and after.ttft == pytest.approx(0.5)
    assert during.speed == pytest.approx(after.speed / 2)


def test_capacity_drop_lets_work_in_progress_finish():
    data = tiny_scenario(horizon="2m")
    data["workload"]["arrivals"] = {"rate": "20/s"}
    data["providers"][0].update(capacity={"slots": 10, "contention": [[0, 0.0], [60, 0.9]]},
                                latency={"service": {"dist": "fixed", "value": 5.0}})
    att = llmsim.simulate(data).attempts
    started = att[att["started"].notna()]
    # in service at 60 s when capacity fell from 10 to 1: they all complete normally
    running = started[(started["started"] < 60) & (started["started"] + 5 > 60)]
    assert len(running) == 10 and (running["outcome"] == "ok").all()
    # afterwards at most one at a time (new starts wait until busy falls below 1)
    later = started[started["started"] >= 65].sort_values("started")
    assert (later["started"].diff().dropna() >= 5 - 1e-9).all()


def test_abandoned_work_is_billed_until_the_provider_notices():
    base = tiny_scenario(horizon="3m")
    base["workload"]["output_tokens"] = {"dist": "fixed", "value": 1000}
    base["workload"]["max_tokens"] = 1000
    base["client"] = {"timeout": "5s"}
    out = {}
    for notice in ("0s", "2s", "never"):
        data = {**base, "providers": [{**base["providers"][0], "capacity": {"slots": 100}, "abort_notice": notice,
                                        "latency": {"ttft": "500ms", "tokens_per_s": 10}}]}
        att = llmsim.simulate(data).attempts
        out[notice] = att.loc[att["outcome"] == "timeout", "billed_output_tokens"]
    # tokens made from the first token (0.5 s) to the notice, at 10 tokens/s
    assert (out["0s"] == math.floor((5 - 0.5) * 10)).all()
    assert (out["2s"] == math.floor((5 + 2 - 0.5) * 10)).all()
    assert (out["never"] == 1000).all()  # never noticed: the whole answer is made and billed


def test_queue_limit_and_timeout_answer_overloaded_with_the_configured_status():
    data = tiny_scenario(horizon="1m")
    data["workload"]["arrivals"] = {"rate": "10/s"}
    data["providers"][0].update(capacity={"slots": 1}, queue={"limit": 3, "timeout": "2s", "status": 503},
                                latency={"service": {"dist": "fixed", "value": 1.0}})
    att = llmsim.simulate(data).attempts
    over = att[att["outcome"] == "overloaded"]
    assert len(over) > 0 and (over["status"] == 503).all() and (over["cost"] == 0).all()
    waited = (att["started"] - att["sent"]).dropna()
    assert waited.max() <= 2.0 + 1e-9  # nobody is served after waiting past the queue timeout


def test_simulator_and_live_endpoint_share_one_slot_state_machine():
    """Slots, queue and abandonment live once (llmsim.provider.slots): the SimPy station and the asyncio
    endpoint are both SlotQueues and touch only its transitions."""
    assert issubclass(Station, SlotQueue) and issubclass(LiveProvider, SlotQueue)
    assert issubclass(Attempt, Service) and issubclass(Ticket, Service)
    for cls in (Station, LiveProvider):
        assert "fill" not in vars(cls) and "free" not in vars(cls)  # the machine's, not re-implemented


def test_orphans_are_served_until_dropped_and_abandoned_service_frees_at_notice():
    class Desk(SlotQueue):
        def _serve(self, s, now):
            self.occupy(s, now)

        def _serve_orphan(self, s, now):
            self.occupy(s, now)
            s.state = DONE

    d = Desk(model(queue={"limit": 1, "timeout": "10s"}, abort_notice="2s", capacity={"slots": 1}))
    a, b, c = Service(0.0), Service(0.0), Service(0.0)
    d._serve(a, 0.0)
    d.wait(b)
    assert d.queue_full() and not d.has_free_slot()
    assert d.leave_queue(b, 1.0) == 3.0 and b.state == ORPHANED  # dropped when noticed (1 s + 2 s)
    d.drop(b)
    assert b.state == DROPPED and d.live_queue == 0 and not d.queue_full()
    d.wait(c)
    assert d.leave_queue(c, 9.5) == 10.0  # the queue timeout comes first
    d.free(5.0)  # a slot frees before c is dropped: served as an orphan until then
    assert c.state == DONE and d.busy == 1 and d.live_queue == 0
    a.end_at, a.state = 20.0, LEAVING
    assert d.release_time(a, 4.0) == 6.0 and d.release_time(a, 19.0) == 20.0


def test_attempt_starts_as_a_fresh_service():
    """Attempt sets its provider part inline (hot path): it must equal a new Service's."""
    att, svc = Attempt(None, 0, 0, 12.5, 30.0, "timeout"), Service(12.5)
    for name in Service.__slots__:
        a, s = getattr(att, name), getattr(svc, name)
        assert a == s or (a != a and s != s), name


def test_retry_after_honoured_exactly_is_admitted_on_any_grid_time():
    """A client that comes back exactly at now + Retry-After finds its token there (floating-point
    rounding of the refill must not refuse it again with a hint of 1e-16 s): rpm 60 over a 1 s window,
    two requests at each of 500 arrival times on a 0.1 s grid."""
    for k in range(500):
        t = round(0.1 * k, 10)
        limits = RateLimiterSet(rpm=60, window=1.0)
        assert limits.admit(t, 10, 0, 10, 5) == 0.0
        wait = limits.admit(t, 10, 0, 10, 5)
        assert wait == pytest.approx(1.0)
        assert limits.admit(t + wait, 10, 0, 10, 5) == 0.0, t


def test_honoured_retry_after_is_not_refused_again_in_the_engine():
    """The issue's example: rpm 60, window 1 s, two requests at t = 0.15, retries honouring the hint:
    the second request is refused once (Retry-After 1 s) and admitted at 1.15."""
    sc = llmsim.Scenario.model_validate({
        "horizon": 30, "seed": 1,
        "workload": {"arrivals": {"rate": 1}, "input_tokens": 10, "output_tokens": 5, "max_tokens": 10},
        "providers": [{"name": "p", "capacity": {"slots": 10}, "rate_limits": {"rpm": 60, "window": "1s"},
                       "latency": {"ttft": "10ms", "tokens_per_s": 1000, "refusal": 0}}],  # answered at once
        "client": {"retry": {"max_attempts": 3, "on": ["rate_limited"], "retry_after": "honor"}}})
    arrivals = ExplicitArrivals(np.array([0.15, 0.15]), np.full(2, 10), np.full(2, 5))
    att = llmsim.simulate(sc, arrivals=arrivals).attempts
    second = att[att["request_id"] == 1]
    assert second["outcome"].astype(str).tolist() == ["rate_limited", "ok"]
    assert second["sent"].tolist() == pytest.approx([0.15, 1.15])
