"""LiteLLM config import: two deployment groups, fallbacks, cooldowns; unknown keys reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import llmsim
from llmsim.bridges.importers import import_litellm
from llmsim.cli import app
from llmsim.core.errors import InputError, ScenarioError

FIXTURE = Path(__file__).parent / "fixtures" / "litellm_router.yaml"


def test_two_groups_fallbacks_cooldowns_import_and_run():
    imp = import_litellm(FIXTURE)
    sc = llmsim.load_scenario(imp.scenario)
    assert [p.name for p in sc.providers] == ["gpt-4o-0", "gpt-4o-1", "claude-sonnet-0"]
    assert sc.provider("gpt-4o-0").rate_limits.rpm == 120 and sc.provider("gpt-4o-1").rate_limits.tpm == 100000
    assert sc.provider("gpt-4o-0").pricing.input_per_mtok == pytest.approx(2.5)
    c = sc.client
    assert c.retry.max_attempts == 3 and c.retry.backoff.min == 0.5 and c.timeout == 45
    assert c.route.strategy == "weighted" and c.route.order == ["gpt-4o-0", "gpt-4o-1"]
    assert c.route.weights == [120, 60]
    assert (c.route.ejection.cooldown_time, c.route.ejection.allowed_fails) == (30, 2)
    assert c.route.fallbacks[0].on == ["context_window"] and c.route.fallbacks[0].to == ["claude-sonnet-0"]
    assert c.route.fallbacks[1].to == ["claude-sonnet-0"]
    res = llmsim.simulate(sc.with_overrides({"horizon": "2m"}), seed=1)
    assert len(res.requests) > 100
    assert set(res.attempts["provider"].astype(str)) >= {"gpt-4o-0", "gpt-4o-1"}
    assert res.summary()["cost_total"] > 0


def test_unknown_key_is_reported_not_dropped():
    imp = import_litellm(FIXTURE)
    assert [n.path for n in imp.unknown()] == ["router_settings.magic_autoscale"]
    notes = {n.path: n.status for n in imp.notes}
    assert notes["router_settings.context_window_fallbacks"] == "mapped"
    assert notes["general_settings"] == "ignored"
    assert notes["router_settings.num_retries"] == "mapped"
    # every key of the file appears in the report
    cfg = yaml.safe_load(FIXTURE.read_text())
    for section in ("router_settings", "litellm_settings"):
        for k in cfg[section]:
            assert f"{section}.{k}" in notes


def test_other_strategies_and_sdk_retries_nest():
    cfg = {"model_list": [{"model_name": "m", "litellm_params": {"model": "openai/m", "tpm": 1000, "max_retries": 2}},
                          {"model_name": "m", "litellm_params": {"model": "azure/m", "tpm": 2000}}],
           "router_settings": {"routing_strategy": "usage-based-routing-v2", "disable_cooldowns": True}}
    imp = import_litellm(cfg)
    layers = imp.client["layers"]
    assert [next(iter(layer)) for layer in layers] == ["retry", "route", "retry"]  # router x SDK retries
    assert layers[1]["route"]["strategy"] == "usage" and "ejection" not in layers[1]["route"]
    assert layers[1]["route"]["usage_limits"] == {"m-0": {"tpm": 1000.0}, "m-1": {"tpm": 2000.0}}
    llmsim.load_scenario(imp.scenario)


def test_bad_configs_one_line_errors():
    with pytest.raises(InputError, match="model_list"):
        import_litellm({"router_settings": {}})
    with pytest.raises(InputError, match="routing_strategy"):
        import_litellm({"model_list": [{"model_name": "m", "litellm_params": {"model": "x"}}],
                        "router_settings": {"routing_strategy": "psychic"}})
    with pytest.raises(InputError, match="no model group 'zz'"):
        import_litellm(FIXTURE, model="zz")


def test_cli_import(tmp_path):
    out = tmp_path / "sc.yaml"
    r = CliRunner().invoke(app, ["import", "litellm", str(FIXTURE), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "unknown      router_settings.magic_autoscale" in r.output
    assert llmsim.load_scenario(out).client.route.order == ["gpt-4o-0", "gpt-4o-1"]
    r = CliRunner().invoke(app, ["import", "litellm", str(FIXTURE), "--strict"])
    assert r.exit_code == 2 and "magic_autoscale" in r.output
    r = CliRunner().invoke(app, ["import", "litellm", str(FIXTURE), "--client-only", "--model", "claude-sonnet"])
    assert r.exit_code == 0 and yaml.safe_load(r.stdout)["route"]["order"] == ["claude-sonnet-0"]
    r = CliRunner().invoke(app, ["import", "litellm", str(tmp_path / "missing.yaml")])
    assert r.exit_code == 2 and "no such file" in r.output


def test_cli_fidelity_bad_input():
    r = CliRunner().invoke(app, ["fidelity", "--workload", "nope"])
    assert r.exit_code == 2 and "unknown workload" in r.output
    r = CliRunner().invoke(app, ["fidelity"])
    assert r.exit_code == 2


def test_context_window_fallbacks_send_long_prompts_to_the_larger_model():
    cfg = yaml.safe_load(FIXTURE.read_text())
    for dep in cfg["model_list"]:
        if dep["model_name"] == "gpt-4o":
            dep.setdefault("model_info", {})["max_input_tokens"] = 4000
    imp = import_litellm(cfg)
    sc = llmsim.load_scenario(imp.scenario).with_overrides({
        "horizon": "2m", "workload.input_tokens": {"dist": "lognormal", "median": 2000, "p95": 12000},
        "workload.max_tokens": 512})
    res = llmsim.simulate(sc, seed=2)
    att = res.attempts
    cw = att[att["outcome"] == "context_window"]
    assert len(cw) > 0 and set(cw["provider"].astype(str)) <= {"gpt-4o-0", "gpt-4o-1"}
    # each of those requests went on to claude-sonnet-0 in the same call
    after = att[att["request_id"].isin(cw["request_id"]) & (att["outcome"] != "context_window")]
    assert set(after["provider"].astype(str)) <= {"claude-sonnet-0", "none"}


def test_client_litellm_in_a_scenario(tmp_path):
    imp = import_litellm(FIXTURE)
    data = {**imp.scenario, "client": {"litellm": str(FIXTURE), "deadline": "60s"}, "horizon": "2m"}
    sc = llmsim.load_scenario(data)
    assert sc.client.route == llmsim.load_scenario(imp.scenario).client.route and sc.client.deadline == 60
    assert len(llmsim.simulate(sc, seed=1).requests) > 100
    # providers the LiteLLM config routes to must exist in the scenario: one clear line otherwise
    other = {**data, "providers": [{"name": "p", "capacity": {"slots": 4}}]}
    with pytest.raises(ScenarioError, match="no provider named 'gpt-4o-0'"):
        llmsim.load_scenario(other)
    with pytest.raises(ScenarioError, match="client"):
        llmsim.load_scenario({**data, "client": {"litellm": str(tmp_path / "missing.yaml")}})
