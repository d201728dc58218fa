"""Scenario configuration: units, loading, overrides, schema, and one-line errors naming the field."""

from __future__ import annotations

import copy

import pytest

import llmsim
from llmsim.config.loading import read_yaml
from llmsim.core.errors import ScenarioError
from llmsim.core.units import UnitError, parse_duration, parse_rate

from conftest import FIXTURES, tiny_scenario


@pytest.mark.parametrize("text,seconds", [("250ms", 0.25), ("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400),
                                          ("1h30m", 5400), (12, 12.0), ("1.5s", 1.5), ("45", 45.0)])
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text,per_s", [("12/s", 12), ("700/min", 700 / 60), ("40000/h", 40000 / 3600), (3, 3.0)])
def test_rates(text, per_s):
    assert parse_rate(text) == pytest.approx(per_s)


@pytest.mark.parametrize("bad", ["5mins", "3x", "", "-1s", "1h-3m", True, None])
def test_bad_durations(bad):
    with pytest.raises(UnitError):
        parse_duration(bad)


def test_unit_typo_suggests():
    with pytest.raises(UnitError, match="did you mean 'min'"):
        parse_duration("5mins")


def test_shared_example_loads_unchanged():
    sc = llmsim.load_scenario(FIXTURES / "morning-peak.yaml")
    assert [p.name for p in sc.providers] == ["primary", "backup"]
    assert sc.client.retry.on == ["rate_limited", "overloaded", "server_error", "timeout"]  # `on:` is not a boolean
    assert sc.workload.arrivals.schedule[1] == (1800.0, 12.0)
    assert sc.providers[0].capacity.contention[1] == (1800.0, 0.85)


def test_shared_example_runs():
    sc = llmsim.load_scenario(FIXTURES / "morning-peak.yaml", {"horizon": "15m", "warmup": "1m"})
    res = llmsim.simulate(sc)
    assert len(res.requests) > 1000
    assert set(res.attempts["provider"].astype(str)) <= {"primary", "backup", "none"}


def test_overrides_return_validated_copy():
    sc = llmsim.Scenario.model_validate(tiny_scenario())
    sc2 = sc.with_overrides({"client.retry.max_attempts": 5, "providers.p.capacity.slots": 3,
                             "providers.0.queue.timeout": "20s"})
    assert sc2.client.retry.max_attempts == 5 and sc.client.retry is None
    assert sc2.providers[0].capacity.slots == 3
    assert sc2.providers[0].queue.timeout == 20.0


@pytest.mark.parametrize("overrides,path", [
    ({"client.retry.max_atempts": 5}, "client.retry"),
    ({"providers.q.capacity.slots": 3}, "providers.q.capacity.slots"),
    ({"providers.0.capacity.slots": -1}, "providers[0].capacity.slots"),
])
def test_bad_overrides_name_the_path(overrides, path):
    sc = llmsim.Scenario.model_validate(tiny_scenario())
    with pytest.raises(ScenarioError) as exc:
        sc.with_overrides(overrides)
    assert exc.value.path == path


def _mutations():
    def arrivals(d, v):
        d["workload"]["arrivals"] = v
    return [
        ("negative rate", lambda d: arrivals(d, {"rate": "-3/s"}), "workload.arrivals.rate", "rate must be"),
        ("unknown key", lambda d: d["providers"][0]["capacity"].update(slotz=3), "providers[0].capacity",
         "did you mean 'slots'"),
        ("misspelt unit", lambda d: d["providers"][0].update(queue={"timeout": "20secs"}),
         "providers[0].queue.timeout", "did you mean 'sec'"),
        ("schedule out of order", lambda d: arrivals(d, {"schedule": [["0s", "1/s"], ["1h", "2/s"], ["30m", "1/s"]]}),
         "workload.arrivals", "must increase"),
        ("unknown route provider", lambda d: d.update(client={"route": {"order": ["p", "backpu"]}}),
         "client.route.order[1]", "no provider named 'backpu'"),
        ("contention above one", lambda d: d["providers"][0]["capacity"].update(contention=1.5),
         "providers[0].capacity.contention", "less than or equal to 1"),
        ("lognormal p95 below median", lambda d: d["workload"].update(
            input_tokens={"dist": "lognormal", "median": 5, "p95": 1}), "workload.input_tokens", "p95"),
        ("unknown top-level key", lambda d: d.update(horizn="1h"), "", "did you mean 'horizon'"),
        ("warm-up too long", lambda d: d.update(warmup="2h"), "warmup", "shorter than horizon"),
    ]


@pytest.mark.parametrize("name,mutate,path,reason", _mutations(), ids=[m[0] for m in _mutations()])
def test_bad_input_is_one_line_naming_the_field(name, mutate, path, reason):
    data = copy.deepcopy(tiny_scenario())
    mutate(data)
    with pytest.raises(ScenarioError) as exc:
        llmsim.load_scenario(data)
    assert exc.value.path == path
    assert reason in exc.value.reason
    assert "\n" not in str(exc.value)


def test_yaml_syntax_error_names_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("name: x\nhorizon: [1h\n")
    with pytest.raises(ScenarioError, match=r"YAML syntax error at line \d+"):
        llmsim.load_scenario(f)


def test_missing_file():
    with pytest.raises(ScenarioError, match="no such file"):
        llmsim.load_scenario("does/not/exist.yaml")


def test_yaml_12_booleans_only():
    assert read_yaml("on: [a]\nyes: 1\nflag: true", "x") == {"on": ["a"], "yes": 1, "flag": True}


def test_packaged_default_scenario_is_valid():
    assert "tuesday" in llmsim.packaged_scenarios()
    assert llmsim.load_scenario("tuesday").horizon == 36_000


def test_json_schema_has_fields():
    schema = llmsim.Scenario.model_json_schema()
    assert {"horizon", "workload", "providers", "client"} <= set(schema["properties"])


def test_distribution_means_are_analytic():
    import numpy as np
    from pydantic import TypeAdapter

    from llmsim.config.distribution_specs import Distribution
    ta = TypeAdapter(Distribution)
    rng = np.random.default_rng(0)
    for spec in [{"dist": "fixed", "value": 3}, {"dist": "exponential", "mean": 2},
                 {"dist": "lognormal", "median": 100, "p95": 400}, {"dist": "gamma", "mean": 5, "cv": 0.5},
                 {"dist": "empirical", "values": [1, 2, 6]}]:
        d = ta.validate_python(spec)
        s = d.build()
        x = s.sample(rng, 400_000)
        se = x.std() / np.sqrt(len(x))
        assert abs(x.mean() - s.mean) <= 5 * se + 1e-12, spec
    ln = ta.validate_python({"dist": "lognormal", "median": 100, "p95": 400}).build()
    x = ln.sample(rng, 400_000)
    assert np.quantile(x, 0.5) == pytest.approx(100, rel=0.02)
    assert np.quantile(x, 0.95) == pytest.approx(400, rel=0.02)


def test_token_counts_take_no_units():
    """A token count written as a duration ("250ms") is a mistake, not 0.25 tokens."""
    for path, value, where in [("workload.input_tokens", "250ms", "workload.input_tokens"),
                               ("workload.output_tokens", {"dist": "lognormal", "median": "2s", "p95": 900},
                                "workload.output_tokens")]:
        with pytest.raises(ScenarioError) as exc:
            llmsim.load_scenario("tuesday", {path: value})
        assert where in str(exc.value) and "token count is a plain number" in str(exc.value)
    sc = llmsim.load_scenario("tuesday", {"workload.input_tokens": 700,
                                          "providers.0.latency.ttft": "250ms"})
    assert sc.workload.input_tokens.value == 700 and sc.providers[0].latency.ttft.value == 0.25
