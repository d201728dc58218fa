"""Tier 1 for issue 4: pure spend guard and contract checks, scripted validation, config errors."""

from __future__ import annotations

import math

import pytest

import llmsim
from llmsim.config.contracts import ContractMonitor
from llmsim.config.guards import SpendGuards
from llmsim.engine.scripted import run_scripted
from llmsim.policies.spend import SessionSpend, SpendGuard
from llmsim.policies.validation import InvalidShareMonitor, expected_attempts, next_step

from conftest import tiny_scenario


def guard(**cfg) -> tuple[SpendGuard, list]:
    events = []
    return SpendGuard(SpendGuards.model_validate(cfg), on_event=lambda *e, **kw: events.append((*e, kw))), events


# -- spend guard (pure) ----------------------------------------------------------------------------
def test_session_caps_block_at_each_limit():
    g, _ = guard(session={"max_steps": 2, "max_tokens": 1000, "max_cost": 0.5})
    s = SessionSpend()
    s.steps = 2
    assert g.admit(0.0, s) is None
    s.steps = 3
    assert g.admit(0.0, s) == "session_steps"
    s.steps, s.tokens = 1, 1000
    assert g.admit(0.0, s) == "session_tokens"
    s.tokens, s.cost = 999, 0.5
    assert g.admit(0.0, s) == "session_cost"
    assert g.admit(0.0, None) is None  # open-loop requests have no session caps


def test_budget_blocks_until_next_window_and_announces_once():
    g, events = guard(budgets=[{"window": 100, "limit": 1.0}])
    g.bill(10.0, 0.6, 10, None)
    assert g.admit(20.0, None) is None
    g.bill(30.0, 0.5, 10, None)
    g.bill(31.0, 0.5, 10, None)
    assert g.admit(40.0, None) == "budget"
    assert g.admit(99.9, None) == "budget"
    assert g.admit(100.0, None) is None  # a new window
    assert [e[1] for e in events] == ["budget_exhausted"]
    assert events[0][0] == 30.0


def test_budget_scope_sessions_ignores_open_loop():
    g, _ = guard(budgets=[{"window": 100, "limit": 1.0, "scope": "sessions"}])
    g.bill(1.0, 5.0, 10, None)  # open-loop spend does not count
    assert g.admit(2.0, SessionSpend()) is None
    g.bill(3.0, 1.0, 10, SessionSpend())
    assert g.admit(4.0, SessionSpend()) == "budget"
    assert g.admit(4.0, None) is None  # and open-loop requests are not blocked


def test_alert_rolling_window_triggers_then_fires_with_action():
    g, events = guard(alert={"threshold": 1.0, "window": 10, "action": "block"})  # 10 USD over 10 s
    assert not g.bill(0.0, 6.0, 1, None)
    assert not g.bill(10.0, 6.0, 1, None)  # the bill at t=0 left the window (0 <= 10 - 10)
    assert g.bill(15.0, 4.0, 1, None)  # 6 + 4 within (5, 15]
    assert g.triggered_at == 15.0
    assert not g.bill(16.0, 100.0, 1, None)  # fires once
    assert g.admit(17.0, None) is None  # not seen yet
    g.fire(20.0)
    assert g.admit(21.0, None) == "alert_block"
    assert events == [(20.0, "spend_alert", "block", {"number": 15.0})]


def test_alert_throttle_spaces_attempts():
    g, _ = guard(alert={"threshold": 1.0, "window": 10, "action": "throttle", "throttle_rate": "1/min"})
    g.bill(0.0, 20.0, 1, None)
    g.fire(0.0)
    assert g.admit(1.0, None) is None
    assert g.admit(30.0, None) == "alert_throttle"
    assert g.admit(61.0, None) is None


def test_page_only_alert_blocks_nothing():
    g, _ = guard(alert={"threshold": 1.0, "window": 10})
    g.bill(0.0, 20.0, 1, None)
    g.fire(1.0)
    assert g.admit(2.0, None) is None and g.fired_at == 1.0


# -- contract checks (pure) ------------------------------------------------------------------------
def test_next_step():
    assert next_step("retry", 1, 3) == "retry"
    assert next_step("fallback", 2, 3) == "fallback"
    assert next_step("fallback", 3, 3) is None
    assert next_step("accept", 1, 3) is None


def test_contract_monitor_window_and_min_outputs():
    m = InvalidShareMonitor(ContractMonitor(window=10, threshold=0.5, min_outputs=4))
    assert not any(m.observe(t, True) for t in (0.0, 1.0, 2.0))  # only 3 seen
    assert not m.observe(20.0, True)  # the old ones left the window: 1 seen
    for t in (21.0, 22.0):
        assert not m.observe(t, False)
    assert m.observe(23.0, True)  # 2 of 4 invalid
    assert m.triggered_at == 23.0


def test_expected_attempts_theory():
    assert expected_attempts(0.0, 5) == 1.0
    assert expected_attempts(1.0, 5) == 5.0
    assert math.isclose(expected_attempts(0.3, 3), 1 + 0.3 + 0.09)


# -- validation in the real client pipeline, scripted provider ------------------------------------
@pytest.mark.parametrize("max_attempts, outcomes, delivered", [
    (3, ["invalid", "invalid", "ok"], "ok"),
    (2, ["invalid", "invalid"], "invalid"),
])
def test_validation_retry(max_attempts, outcomes, delivered):
    cfg = {"validation": {"on_invalid": "retry", "max_attempts": max_attempts, "delay": "2s"}}
    req, att = run_scripted(cfg, {"p": [("invalid", 1.0), ("invalid", 1.0), ("ok", 1.0)]})
    assert att["outcome"].tolist() == outcomes
    assert att["sent"].tolist() == [3.0 * k for k in range(len(outcomes))]  # 1 s answer + 2 s delay
    assert req["outcome"].tolist() == [delivered]
    assert req["attempts"].tolist() == [len(outcomes)]


def test_validation_fallback_goes_to_next_provider():
    cfg = {"validation": {"on_invalid": "fallback", "max_attempts": 2}, "route": {"order": ["a", "b"]}}
    req, att = run_scripted(cfg, {"a": [("invalid", 1.0)], "b": [("ok", 1.0)]})
    assert att["provider"].astype(str).tolist() == ["a", "b"]
    assert req["outcome"].tolist() == ["ok"]


@pytest.mark.parametrize("client", [{}, {"validation": {"on_invalid": "accept"}}])
def test_without_retry_invalid_is_delivered(client):
    req, att = run_scripted(client, {"p": [("invalid", 1.0), ("ok", 1.0)]})
    assert att["outcome"].tolist() == ["invalid"]
    assert req["outcome"].tolist() == ["invalid"]
    assert req["ttft"].tolist() == [1.0]


# -- bad parameters: one clear error naming the field ---------------------------------------------
@pytest.mark.parametrize("path, value, needle", [
    ("providers.0.pricing.input_per_mtok", -1, "providers[0].pricing.input_per_mtok"),
    ("providers.0.pricing.discount", 1.5, "providers[0].pricing.discount"),
    ("providers.0.quality", {"invalid_rate": 1.2}, "providers[0].quality.invalid_rate"),
    ("providers.0.quality", {"changes": [["2h", 0.1], ["1h", 0.2]]}, "providers[0].quality.changes"),
    ("workload.sessions", [{"name": "s", "starts": {"rate": 1}, "stop_probability": 0}],
     "workload.sessions[0].stop_probability"),
    ("workload.sessions", [{"name": "s", "starts": {"rate": 1}, "stop_probability": 0.2, "runaway": -0.1}],
     "workload.sessions[0].runaway"),
    ("workload.sessions", [{"name": "s", "starts": {"rate": 1}}], "workload.sessions[0]"),
    ("client.spend", {"budgets": [{"window": 0, "limit": 5}]}, "client.spend.budgets[0].window"),
    ("client.spend", {"budgets": [{"window": "1d", "limit": -5}]}, "client.spend.budgets[0].limit"),
    ("client.spend", {"session": {}}, "client.spend.session"),
    ("client.spend", {"alert": {"threshold": "5/h", "action": "throttle"}}, "throttle_rate"),
    ("client.validation", {"on_invalid": "retry", "max_attempts": 0}, "client.validation.max_attempts"),
    ("client.validation", {"monitor": {"threshold": 1.5}}, "client.validation.monitor.threshold"),
])
def test_bad_parameters_name_the_field(path, value, needle):
    sc = llmsim.Scenario.model_validate(tiny_scenario())
    with pytest.raises(llmsim.ScenarioError) as exc:
        sc.with_overrides({path: value})
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_workload_needs_arrivals_or_sessions():
    with pytest.raises(llmsim.ScenarioError, match="workload"):
        llmsim.load_scenario(tiny_scenario(workload={"input_tokens": 100}))


@pytest.mark.parametrize("name", ["runaway-agents", "runaway-agents-guarded", "contract-drift",
                                  "contract-drift-guarded"])
def test_packaged_story_scenarios_validate(name):
    assert name in llmsim.packaged_scenarios()
    sc = llmsim.load_scenario(name)
    assert sc.horizon == 7 * 86400


def test_cli_run_prints_the_spend_and_contract_reports():
    import json

    from typer.testing import CliRunner

    from llmsim.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["run", "runaway-agents-guarded", "--set", "horizon=3d12h", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["spend"]["onset"] == 3 * 86400 + 9 * 3600
    assert doc["spend"]["runaway_steps"] == 200  # the step cap
    assert doc["spend"]["time_to_detect"] >= 1800  # the alert is seen 30 minutes late
    r = runner.invoke(app, ["run", "contract-drift", "--set", "horizon=1d", "--set", "workload.arrivals.rate=0.05/s"])
    assert r.exit_code == 0 and "contract report" in r.stdout


@pytest.mark.parametrize("name, seconds", [("hourly", 3600.0), ("daily", 86400.0), ("weekly", 604800.0),
                                           ("12h", 43200.0)])
def test_budget_window_names(name, seconds):
    assert SpendGuards.model_validate({"budgets": [{"window": name, "limit": 1}]}).budgets[0].window == seconds


@pytest.mark.parametrize("first, outcomes, sent, delivered", [
    (0.5, ["invalid", "deadline"], [0.0, 1.5], "deadline"),  # the retry fits before the deadline, then is cut
    (1.2, ["invalid"], [0.0], "invalid"),  # 1.2 s + 1 s delay passes the 2 s deadline: delivered as it is
])
def test_validation_retry_never_passes_the_deadline(first, outcomes, sent, delivered):
    cfg = {"deadline": "2s", "validation": {"on_invalid": "retry", "max_attempts": 5, "delay": "1s"}}
    req, att = run_scripted(cfg, {"p": [("invalid", first), ("invalid", 1.5)]})
    assert att["outcome"].tolist() == outcomes
    assert att["sent"].tolist() == sent
    assert req["outcome"].tolist() == [delivered]
