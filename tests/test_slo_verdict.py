"""SLO targets as input and the verdict of a comparison: parsing against the written form, pass/fail against
values computed here from the raw tables, and the choice against synthetic runs whose truth is known."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import llmsim
from llmsim.analysis.slo_eval import monthly_factor, slo_table
from llmsim.cli import app
from llmsim.config.slo import Target, merge_slo, parse_slo, parse_slo_option
from llmsim.core.errors import InputError, ScenarioError
from llmsim.viz.plots._prep import event_markers
from llmsim.viz.text_tables import fmt_metric
from llmsim.viz.verdict import build_verdict, compare_verdict

from conftest import tiny_scenario

# -- parsing -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric, text, op, bound", [
    ("success_rate", "99%", ">=", 0.99),
    ("success_rate", "<= 50%", "<=", 0.5),
    ("latency_p95", "10s", "<=", 10.0),
    ("latency_p99", "1500ms", "<=", 1.5),
    ("latency_p95", "2m", "<=", 120.0),
    ("cost_per_1k_requests", "$0.50", "<=", 0.5),
    ("cost_total", "$1,200", "<=", 1200.0),
    ("goodput", 5, ">=", 5.0),
    ("timeout_share", "> 1%", ">", 0.01),
])
def test_slo_bounds_read_as_written(metric, text, op, bound):
    (t,) = parse_slo({metric: text})
    assert (t.metric, t.op) == (metric, op) and t.bound == pytest.approx(bound, rel=1e-12)


@pytest.mark.parametrize("item, expected", [
    ("latency_p95<=10s", Target("latency_p95", "<=", 10.0)),
    ("success_rate >= 99.5%", Target("success_rate", ">=", 0.995)),
    ("success_rate=99%", Target("success_rate", ">=", 0.99)),  # a bare = takes the usual direction
])
def test_slo_option(item, expected):
    got = parse_slo_option(item)
    assert (got.metric, got.op) == (expected.metric, expected.op) and got.bound == pytest.approx(expected.bound)


@pytest.mark.parametrize("spec, words", [
    ({"latency_p95": "10 parsecs"}, "cannot read the bound"),
    ({"latncy_p95": "1s"}, "no metric 'latncy_p95'"),
    ({"success_rate": "-5%"}, ">= 0"),
    ({"success_rate": True}, "expected a bound"),
])
def test_bad_slo_is_one_clear_error(spec, words):
    with pytest.raises(InputError, match=re.escape(words)):
        parse_slo(spec)
    with pytest.raises(ScenarioError) as exc:  # and in a scenario: a ScenarioError naming the field
        llmsim.load_scenario("tuesday").with_overrides({"slo": spec})
    assert str(exc.value).startswith("slo")


def test_command_line_overrides_the_scenario_on_the_same_metric_and_direction():
    base = parse_slo({"latency_p95": "10s", "success_rate": "99%"})
    merged = merge_slo(base, [parse_slo_option("latency_p95<=5s"), parse_slo_option("latency_p95>=1s")])
    assert sorted(str(t) for t in merged) == ["latency_p95 <= 5s", "latency_p95 >= 1s", "success_rate >= 99%"]


def test_target_holds_at_the_bound_only_for_inclusive_operators():
    assert Target("latency_p95", "<=", 2.0).holds(2.0) and not Target("latency_p95", "<", 2.0).holds(2.0)
    assert not Target("success_rate", ">=", 0.9).holds(float("nan"))


# -- a run against its targets -----------------------------------------------------------------------------


def test_slo_table_against_the_raw_tables():
    res = llmsim.simulate(llmsim.Scenario.model_validate(tiny_scenario(horizon="3m")), seed=1)
    req, att = res.requests, res.attempts
    cost_per_1k = att["cost"].sum() / len(req) * 1000  # no warm-up: every request and attempt counts
    success = float((req["outcome"] == "ok").mean())
    targets = [Target("cost_per_1k_requests", "<=", cost_per_1k * 1.01),
               Target("cost_per_1k_requests", "<=", cost_per_1k * 0.99),
               Target("success_rate", ">=", success), Target("success_rate", ">", success)]
    tab = slo_table(res.summary(), targets)
    assert tab["value"].iloc[0] == pytest.approx(cost_per_1k, rel=1e-9)
    assert tab["met"].tolist() == [True, False, True, False]


def test_monthly_factor_is_thirty_days_over_the_window():
    assert monthly_factor(10 * 3600 - 300) == pytest.approx(30 * 86400 / 35700)
    assert np.isnan(monthly_factor(0))


# -- the verdict on runs whose truth is known ----------------------------------------------------------------


def _runs(spec: dict[str, tuple[float, float, float]], n: int = 12, seed: int = 0) -> pd.DataFrame:
    """candidate -> (success mean, cost mean, p95 mean); replication r shares noise (common random numbers)."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n, 3))
    rows = []
    for name, (succ, cost, p95) in spec.items():
        own = rng.normal(size=(n, 3)) * 0.2
        for r in range(n):
            z = shared[r] + own[r]
            rows.append({"client": name, "replication": r, "requests": 1000.0, "success_rate": succ + 0.001 * z[0],
                         "cost_total": cost + 0.01 * z[1], "latency_p95": p95 + 0.05 * z[2],
                         "latency_p50": 0.5, "latency_p99": p95 * 2, "wasted_cost": 0.0, "error": None})
    return pd.DataFrame(rows)


SPEC = {"fast-but-failing": (0.874, 1.0, 1.0), "sdk": (0.995, 2.0, 2.0), "belt-and-braces": (0.9993, 3.0, 2.5)}


def test_cheapest_candidate_meeting_every_target_is_chosen_not_the_fastest():
    table = _runs(SPEC)
    v = build_verdict(table, "client", list(SPEC), "fast-but-failing", parse_slo({"success_rate": "99%"}), 3600.0)
    assert v.feasible == ["sdk", "belt-and-braces"]
    assert v.choice == "sdk" and v.confidence > 0.99
    assert v.headline.startswith("Deploy sdk")
    assert not v.meets.loc["fast-but-failing"].all()
    cost = {d.metric: d for d in v.differences}["cost_total"]  # against the baseline, which it beats on success
    assert cost.reference == "fast-but-failing" and cost.significant and cost.diff == pytest.approx(1.0, abs=0.02)


def test_no_candidate_meets_an_impossible_target():
    v = build_verdict(_runs(SPEC), "client", list(SPEC), "sdk", parse_slo({"success_rate": "99.99%"}))
    assert v.choice is None and "No candidate meets every target" in v.headline and "belt-and-braces" in v.headline


def test_candidates_that_differ_only_in_noise_get_no_winner():
    table = _runs({"a": (0.99, 1.0, 1.0), "b": (0.99, 1.0, 1.0)})
    v = build_verdict(table, "client", ["a", "b"], "a")
    assert v.choice is None and v.headline.startswith("No significant difference")


def test_without_targets_a_significantly_more_reliable_candidate_wins():
    v = build_verdict(_runs(SPEC), "client", list(SPEC), "fast-but-failing")
    assert v.choice == "belt-and-braces" and "most reliable" in v.headline


def test_compare_of_one_policy_under_two_names_has_no_winner():
    sc = llmsim.Scenario.model_validate(tiny_scenario(horizon="2m"))
    cmp = llmsim.compare(sc, clients={"a": "openai-sdk", "b": "openai-sdk"}, replications=3, workers=1,
                         progress=False)
    v = compare_verdict(cmp)
    assert v.choice is None and "No significant difference between a and b" in v.headline


def test_verdict_numbers_have_units_and_at_most_four_significant_digits():
    v = build_verdict(_runs(SPEC), "client", list(SPEC), "fast-but-failing", parse_slo({"success_rate": "99%"}),
                      35700.0)
    text = " ".join(v.lines())
    for number in re.findall(r"\d[\d,]*\.?\d*", text):
        digits = number.replace(",", "").replace(".", "").lstrip("0")
        assert len(digits.rstrip("0") if "." not in number else digits) <= 4, number


def test_money_is_formatted_for_people():
    assert [fmt_metric("cost_total", v) for v in (20019.0, 1234.5, 45.69, 0.000195)] == \
        ["$20.02k", "$1,234", "$45.69", "$0.000195"]
    assert fmt_metric("latency_p95", 3600.0) == "1h" and fmt_metric("goodput", 12345.0) == "12.35k/s"


# -- markers that must never be thinned away -----------------------------------------------------------------


def test_a_rare_alert_survives_marker_thinning():
    n = 1000
    ev = pd.DataFrame({"time": np.r_[np.arange(n, dtype=float), 500.5], "kind": ["session_start"] * n + ["spend_alert"],
                       "subject": "agents", "value": ""})
    marks = event_markers(SimpleNamespace(events=ev), max_markers=50)
    assert (marks["kind"] == "spend_alert").sum() == 1 and len(marks) <= 50


# -- the command line ----------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_run_slo_pass_fail_and_bad_slo(tmp_path):
    import yaml

    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(tiny_scenario(horizon="2m", slo={"success_rate": "90%"})))
    got = runner.invoke(app, ["run", str(scenario), "--slo", "latency_p95<=1ms", "--json"])
    assert got.exit_code == 0, got.output
    import json

    slo = {row["target"]: row["met"] for row in json.loads(got.output)["slo"]}
    assert slo == {"success_rate >= 90%": True, "latency_p95 <= 1ms": False}
    got = runner.invoke(app, ["run", str(scenario), "--slo", "latency_p95<=ten"])
    assert got.exit_code == 2 and len(got.output.strip().splitlines()) == 1 and "--slo" in got.output


def test_cli_compare_prints_the_verdict_first(tmp_path):
    import yaml

    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(tiny_scenario(horizon="1m")))
    got = runner.invoke(app, ["compare", str(scenario), "-c", "no-retries", "-c", "openai-sdk", "-r", "2", "-w", "1",
                              "--no-progress", "--slo", "success_rate>=50%"])
    assert got.exit_code == 0, got.output
    first = got.output.strip().splitlines()[0]
    assert first.startswith("Deploy ") or first.startswith("No ")


def _page_numbers(page: str) -> list[str]:
    """Numbers shown on a page: scripts, styles and the scenario's own YAML left out."""
    text = re.sub(r"<(script|style|pre)\b.*?</\1>", " ", page, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.findall(r"\d[\d,]*(?:\.\d+)?", text)


def _significant(number: str) -> int:
    digits = number.replace(",", "")
    if "." in digits:
        return len(digits.replace(".", "").lstrip("0"))
    return len(digits.lstrip("0").rstrip("0")) or 1


def test_no_number_on_the_pages_has_more_than_four_significant_digits(tmp_path):
    from llmsim.viz.report import experiment_report_html, report_html

    sc = llmsim.Scenario.model_validate(tiny_scenario(horizon="25m", slo={"success_rate": "99%"}))
    pages = [report_html(llmsim.simulate(sc, seed=2))]
    cmp = llmsim.compare(sc.with_overrides({"horizon": "2m"}), clients=["no-retries", "openai-sdk"], replications=2,
                         workers=1, progress=False)
    pages.append(experiment_report_html(cmp, targets=sc.targets()))
    for page in pages:
        bad = [n for n in _page_numbers(page) if _significant(n) > 4]
        assert not bad, bad[:10]


# -- tune accepts the derived cost_per_1k_requests ------------------------------------------------------------


def test_tune_constraint_on_cost_per_1k_requests_is_computed_from_each_run():
    sc = llmsim.Scenario.model_validate(tiny_scenario(horizon="1m"))
    runs = llmsim.tune(sc, {"client.retry.max_attempts": [1, 3]}, constraints={"cost_per_1k_requests": "<= 1000"},
                       budget=4, workers=1, progress=False)
    table = runs.table
    by_hand = (table["cost_total"] / table["requests"] * 1000).groupby(table["point"]).mean()
    got = runs.candidates.set_index("candidate")["cost_per_1k_requests_mean"]
    assert got.to_dict() == pytest.approx(by_hand.to_dict(), rel=1e-12)
    assert runs.candidates["feasible"].all()
    bound = float(by_hand.min()) / 2  # below every candidate's cost per 1k requests: none can meet it
    none = llmsim.tune(sc, {"client.retry.max_attempts": [1, 3]},
                       constraints={"cost_per_1k_requests": f"<= {bound}"}, budget=4, workers=1, progress=False)
    assert not none.candidates["feasible"].any()


def test_cli_tune_accepts_an_slo_on_cost_per_1k_requests(tmp_path):
    import yaml

    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(tiny_scenario(horizon="1m")))
    got = runner.invoke(app, ["tune", str(scenario), "--param", "client.retry.max_attempts=1,3", "--budget", "4",
                              "-w", "1", "--no-progress", "--slo", "cost_per_1k_requests<=$1000"])
    assert got.exit_code == 0, got.output
    assert "cost_per_1k_requests" in got.output and "meets the constraints" in " ".join(got.output.split())


# -- targets judged with confidence (one-sided t bound over replications), not on the mean --------------------

SUCCESS = [0.990, 0.993, 0.995, 0.992, 0.996]
# by hand: mean 0.9932; deviations -32, -2, 18, -12, 28 (x 1e-4); sum of squares 22.8e-6, s^2 = 5.7e-6;
# se = sqrt(5.7e-6 / 5) = 1.06771e-3; t(0.95, 4 df) = 2.131847 (one-sided 95 %, a t table: 7 digits, so abs=1e-6)
_HALF = 2.131847 * (5.7e-6 / 5) ** 0.5


@pytest.mark.parametrize(("bound", "status"), [(0.990, "meets"), (0.991, "likely"), (0.995, "uncertain"),
                                               (0.996, "misses")])
def test_success_target_judged_on_the_one_sided_t_bound(bound, status):
    from llmsim.analysis.slo_eval import judge

    j = judge(SUCCESS, Target("success_rate", ">=", bound))
    assert j.mean == pytest.approx(0.9932) and j.bound == pytest.approx(0.9932 - _HALF, abs=1e-6)
    assert j.status == status


@pytest.mark.parametrize(("bound", "status"), [(2.7, "meets"), (2.4, "likely"), (2.1, "uncertain"),
                                               (1.9, "misses")])
def test_latency_ceiling_judged_on_the_upper_bound(bound, status):
    from llmsim.analysis.slo_eval import judge

    values = [2.0, 2.5, 2.2, 2.4, 2.1]  # mean 2.24, deviations -.24 .26 -.04 .16 -.14: s^2 = 0.172 / 4
    half = 2.131847 * (0.172 / 4 / 5) ** 0.5
    j = judge(values, Target("latency_p95", "<=", bound))
    assert j.bound == pytest.approx(2.24 + half, abs=1e-6) and j.status == status


def _two(cheap: list[float], dear: list[float]) -> pd.DataFrame:
    """Two candidates over 5 replications: success rates as given; cost 1 (cheap) and 2 (dear) plus shared noise."""
    rows = []
    for r in range(5):
        for name, succ, cost in (("cheap", cheap[r], 1.0), ("dear", dear[r], 2.0)):
            rows.append({"client": name, "replication": r, "requests": 1000.0, "success_rate": succ,
                         "cost_total": cost + 0.01 * r, "latency_p50": 0.5, "latency_p95": 1.0, "latency_p99": 2.0,
                         "wasted_cost": 0.0, "error": None})
    return pd.DataFrame(rows)


def test_a_candidate_that_meets_only_on_the_mean_does_not_beat_one_that_meets_with_confidence():
    dear = [0.999, 0.9992, 0.9991, 0.9993, 0.999]
    v = build_verdict(_two(SUCCESS, dear), "client", ["cheap", "dear"], "cheap", [Target("success_rate", ">=", 0.991)])
    assert v.status.loc["cheap"].tolist() == ["likely"] and v.meets.loc["dear"].all()
    assert v.choice == "dear" and v.feasible == ["dear"]
    assert "likely: success_rate >= 99.1%" in " ".join(v.lines())


def test_when_no_candidate_is_sure_the_verdict_says_likely():
    v = build_verdict(_two(SUCCESS, SUCCESS), "client", ["cheap", "dear"], "cheap",
                      [Target("success_rate", ">=", 0.991)])
    assert v.feasible == [] and v.choice == "cheap"
    assert "likely meet" in v.headline and "run more replications" in v.why


def test_the_winners_confidence_covers_every_target_and_the_cost():
    from scipy import stats

    dear = [0.999, 0.9992, 0.9991, 0.9993, 0.999]
    targets = [Target("success_rate", ">=", 0.990), Target("latency_p95", "<=", 2.0)]
    v = build_verdict(_two(SUCCESS, dear), "client", ["cheap", "dear"], "dear", targets)
    assert v.choice == "cheap"
    # success: t = (0.9932 - 0.990) / se with 4 df; latency and the cost comparison are certain (no spread)
    c_success = stats.t.cdf((0.9932 - 0.990) / (5.7e-6 / 5) ** 0.5, 4)
    assert v.target_confidence["success_rate >= 99%"] == pytest.approx(c_success, rel=1e-9)
    assert v.target_confidence["latency_p95 <= 2s"] == 1.0
    assert v.confidence == pytest.approx(c_success, rel=1e-9)  # 1 - sum of the misses; cost and p95 add 0
    assert v.confidence < 0.99 and "success_rate >= 99% 98" in v.why


def test_sweep_frontier_does_not_crown_a_point_that_meets_the_target_only_on_the_mean():
    """k=1 is cheapest and its mean success (99.2 %) is above 99 %, but over two replications (98.5 %, 99.9 %)
    the one-sided bound is far below (t(0.95, 1) = 6.314): not sure, so k=2 is crowned."""
    from llmsim.viz import plots

    t = pd.DataFrame({"k": [1, 1, 2, 2], "replication": [0, 1] * 2, "cost_total": [1.0, 1.1, 2.0, 2.1],
                      "latency_p95": [1.0, 1.2, 2.0, 2.2], "success_rate": [0.985, 0.999, 0.995, 0.996]})
    assert 0.992 - 6.314 * np.std([0.985, 0.999], ddof=1) / np.sqrt(2) < 0.99 < 0.995 - 6.314 * 0.000708
    spec = plots.pareto_frontier(t, targets=parse_slo({"success_rate": "99%"})).to_dict()
    rows = [r for d in spec["datasets"].values() for r in d if "frontier" in r and "label" in r]
    status = {r["label"]: r["frontier"] for r in rows}
    assert status == {"k=1": "not sure to meet", "k=2": "frontier"}
