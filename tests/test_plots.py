"""Charts: each converts to a valid Vega-Lite spec with inline data, and the data means what it says."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest
import vl_convert

import llmsim
from llmsim.viz import plots
from llmsim.viz.plots import _prep as P

from conftest import tiny_scenario

OPEN_FOR = 5.0


def stormy(**over) -> dict:
    """One provider, an incident, a contention step and a breaker that opens: every chart has something to show."""
    sc = tiny_scenario(name="stormy", horizon="6m", client={
        "timeout": "10s", "retry": {"max_attempts": 3},
        "circuit_breaker": {"window": "10s", "min_calls": 10, "failure_rate": 0.5, "open_for": f"{OPEN_FOR}s",
                            "half_open_calls": 2}})
    p = sc["providers"][0]
    p["incidents"] = [{"name": "gpu fire", "start": "2m", "duration": "1m", "server_error_rate": 0.9, "capacity": 0.5}]
    p["capacity"]["contention"] = [["0s", 0.0], ["4m", 0.25]]
    sc.update(over)
    return sc


@pytest.fixture(scope="module")
def storm() -> llmsim.Result:
    return llmsim.simulate(stormy(), seed=5)


@pytest.fixture(scope="module")
def quiet() -> llmsim.Result:
    return llmsim.simulate(tiny_scenario(horizon="4m", warmup="30s"), seed=2)


def compiles(chart) -> dict:
    """The Vega spec Vega-Lite compiles the chart to (what a browser would draw): schema-valid is not enough."""
    from llmsim.viz.plots.export import vegalite_version

    return vl_convert.vegalite_to_vega(chart.to_dict(), vl_version=vegalite_version())


def datasets(chart) -> list[pd.DataFrame]:
    spec = chart.to_dict()  # validates against the Vega-Lite schema
    assert "$schema" in spec
    assert compiles(chart)["marks"]
    return [pd.DataFrame(rows) for rows in spec.get("datasets", {}).values()]


def dataset_with(chart, *columns) -> pd.DataFrame:
    found = [d for d in datasets(chart) if set(columns) <= set(d.columns)]
    assert found, f"no dataset with {columns}"
    return max(found, key=len)


def test_every_chart_is_valid_vegalite_with_small_inline_data(storm, quiet):
    charts = [plots.over_time(storm), plots.amplification(storm), plots.breaker_timeline(storm), plots.spend(storm),
              plots.latency_cdf([storm, quiet]), plots.over_time(quiet), plots.breaker_timeline(quiet)]
    for chart in charts:
        assert isinstance(chart, alt.TopLevelMixin)
        data = datasets(chart)
        assert data and sum(len(d) for d in data) > 0
        assert all(len(d) <= 5000 for d in data)
        assert all("url" not in (layer.get("data") or {}) for layer in _walk(chart.to_dict()))


def _walk(spec):
    yield spec
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for sub in spec.get(key, []):
            yield from _walk(sub)
    if "spec" in spec:
        yield from _walk(spec["spec"])


def test_charts_are_deterministic(storm):
    again = llmsim.simulate(stormy(), seed=5)
    assert plots.over_time(storm).to_dict() == plots.over_time(again).to_dict()
    assert plots.spend(storm).to_dict() == plots.spend(again).to_dict()


def test_latency_cdf_runs_from_zero_to_one_per_policy(storm, quiet):
    chart = plots.latency_cdf({"storm": storm, "quiet": quiet})
    data = dataset_with(chart, "policy", "value", "share")
    assert set(data["policy"]) == {"storm", "quiet"}
    for name, res in {"storm": storm, "quiet": quiet}.items():
        d = data[data["policy"] == name]
        assert d["share"].iloc[0] == 0 and d["share"].iloc[-1] == pytest.approx(1.0)
        assert (np.diff(d["share"]) >= 0).all() and (np.diff(d["value"]) >= 0).all()
        ok = P.measured_requests(res).query("outcome == 'ok'")["latency"]
        assert d["value"].iloc[-1] == pytest.approx(ok.max()) and d["value"].iloc[0] == pytest.approx(ok.min())


def test_cdf_points_downsample_to_true_quantiles():
    rng = np.random.default_rng(1)
    x = rng.lognormal(size=50_000)
    pts = P.cdf_points(x, max_points=300)
    assert len(pts) == 301
    for v, p in pts.iloc[1:].itertuples(index=False):
        assert (x <= v).mean() >= p - 1e-12  # at least share p of the sample is at or below v
        assert (x < v).mean() < p + 1e-9     # and v is the smallest such observed value
    assert P.cdf_points([], 10).empty


def test_named_results_keeps_names_unique(quiet):
    assert list(P.named_results([quiet, quiet])) == ["tiny #1", "tiny #2"]
    with pytest.raises(TypeError):
        plots.latency_cdf(["not a result"])
    with pytest.raises(TypeError):
        plots.over_time(None)


def test_over_time_capacity_follows_contention_and_incident(storm):
    cap = P.capacity_left(storm)
    p = storm.scenario.providers[0]
    sched = p.capacity.contention_schedule()
    inc = p.incidents[0]
    for start, _end, slots, share in cap[["start", "end", "slots", "share"]].itertuples(index=False):
        left = 1 - sched.at(start)
        if inc.start <= start < inc.start + inc.duration:
            left *= inc.capacity
        assert share == pytest.approx(slots / p.capacity.slots)
        assert abs(share - left) <= 1 / p.capacity.slots + 1e-9
    assert cap["start"].iloc[0] == 0 and cap["end"].iloc[-1] == storm.scenario.horizon
    assert (cap["start"].to_numpy()[1:] == cap["end"].to_numpy()[:-1]).all()  # contiguous steps


def test_over_time_outcome_shares_cover_every_attempt(storm):
    chart = plots.over_time(storm, freq="30s")
    out = dataset_with(chart, "outcome", "share", "attempts")
    assert out["attempts"].sum() == len(storm.attempts)
    assert np.allclose(out.groupby("t")["share"].sum(), 1.0)
    lat = dataset_with(chart, "quantile", "seconds")
    assert set(lat["quantile"]) == {"p50", "p95"}
    wide = lat.pivot(index="t", columns="quantile", values="seconds").dropna()
    assert (wide["p95"] >= wide["p50"]).all()


def test_incidents_match_the_scenario(storm):
    inc = P.incident_windows(storm)
    cfg = storm.scenario.providers[0].incidents[0]
    assert inc[["provider", "incident"]].values.tolist() == [["p", "gpu fire"]]
    assert (inc["start"].iloc[0], inc["end"].iloc[0]) == (cfg.start, cfg.start + cfg.duration)


def test_amplification_ratio_adds_up_to_the_summary(storm):
    assert storm.scenario.warmup == 0
    data = dataset_with(plots.amplification(storm, freq="20s"), "ratio", "sent", "requests")
    assert data["sent"].sum() / data["requests"].sum() == pytest.approx(storm.summary()["attempts_per_request"])
    assert (storm.attempts["outcome"] == "rejected").any()  # the breaker refused some: they are not "sent"


def test_breaker_timeline_intervals_follow_the_breaker(storm):
    iv = P.state_intervals(storm)
    assert set(iv["state"]) == {"closed", "open", "half_open"}
    assert (iv["start"].to_numpy()[1:] == iv["end"].to_numpy()[:-1]).all()
    opened = iv[iv["state"] == "open"]
    cut = opened["end"] >= storm.scenario.horizon
    lasted = opened.loc[~cut, "end"] - opened.loc[~cut, "start"]
    assert len(lasted) >= 3 and (lasted >= OPEN_FOR - 1e-9).all()  # open for at least open_for
    bars = dataset_with(plots.breaker_timeline(storm), "state", "time", "time_end")
    assert len(bars) == len(iv)
    binned = dataset_with(plots.breaker_timeline(storm, max_intervals=3), "share", "subject")
    assert binned["share"].between(0, 1 + 1e-9).all()
    seconds_open = (iv.loc[iv["state"] != "closed", "end"] - iv.loc[iv["state"] != "closed", "start"]).sum()
    width = binned["end"].iloc[0] - binned["start"].iloc[0]
    assert (binned["share"] * width).sum() == pytest.approx(seconds_open)


def test_breaker_timeline_without_breaker_says_so(quiet):
    spec = plots.breaker_timeline(quiet).to_dict()
    texts = [r["text"] for rows in spec["datasets"].values() for r in rows]
    assert texts == ["no breaker or cooldown events in this run"]


def test_spend_ends_at_the_total_cost_and_marks_events(storm):
    chart = plots.spend(storm, freq="30s")
    sp = dataset_with(chart, "series", "cost")
    total = sp[sp["series"] == "all attempts"]["cost"]
    wasted = sp[sp["series"].str.startswith("wasted")]["cost"]
    att = storm.attempts
    assert total.iloc[-1] == pytest.approx(att["cost"].sum())
    assert wasted.iloc[-1] == pytest.approx(att.loc[att["outcome"] != "ok", "cost"].sum())
    assert (np.diff(total) >= 0).all() and (wasted.to_numpy() <= total.to_numpy() + 1e-12).all()
    marks = dataset_with(chart, "label", "kind")
    assert "incident_start" in set(marks["kind"])
    assert (marks["label"] == "breaker open").sum() == storm.summary()["breaker_opens"]


# -- experiments: tables built from real runs -------------------------------------------------------------

@pytest.fixture(scope="module")
def sweep_table() -> pd.DataFrame:
    """What llmsim.sweep's table looks like: parameters + summary metrics + replication."""
    base = llmsim.Scenario.model_validate(stormy(horizon="3m"))
    rows = []
    for attempts in (1, 2, 4):
        for timeout in ("3s", "10s"):
            sc = base.with_overrides({"client.retry.max_attempts": attempts, "client.timeout": timeout})
            for rep in range(2):
                s = llmsim.simulate(sc, seed=100 + rep).summary()
                rows.append({"client.retry.max_attempts": attempts, "client.timeout": timeout, **s.to_dict(),
                             "replication": rep})
    return pd.DataFrame(rows)


def test_sweep_heatmap_cells_are_means_over_replications(sweep_table):
    chart = plots.sweep_heatmap(sweep_table, x="client.retry.max_attempts", y="client.timeout", metric="cost_total")
    cells = dataset_with(chart, "cost_total", "n")
    assert len(cells) == 6 and (cells["n"] == 2).all()
    want = sweep_table.groupby(["client.retry.max_attempts", "client.timeout"])["cost_total"].mean()
    for _, row in cells.iterrows():
        assert row["cost_total"] == pytest.approx(want[(int(row["client.retry.max_attempts"]), row["client.timeout"])])
    with pytest.raises(ValueError, match="also varies 'client.timeout'"):
        plots.sweep_heatmap(sweep_table, x="client.retry.max_attempts", y="replication")
    with pytest.raises(ValueError, match="no column"):
        plots.sweep_heatmap(sweep_table, x="nope", y="client.timeout")
    faceted = plots.sweep_heatmap(sweep_table, x="client.retry.max_attempts", y="replication",
                                  facet="client.timeout", params=["client.retry.max_attempts", "client.timeout"])
    assert "facet" in faceted.to_dict() and compiles(faceted)["marks"]


def test_sweep_charts_draw_dotted_parameter_names(sweep_table, tmp_path):
    """Parameter columns are dotted paths: drawn as names and values, never looked up as nested fields."""
    heat = plots.sweep_heatmap(sweep_table, x="client.retry.max_attempts", y="client.timeout")
    svg = plots.save_chart(heat, tmp_path / "heat.svg").read_text()
    assert "undefined" not in svg
    for label in ("client.retry.max_attempts", "client.timeout", "3s", "10s", ">4<", ">2<"):
        assert label in svg
    svg = plots.save_chart(plots.pareto_frontier(sweep_table, x="client.retry.max_attempts", y="cost_total"),
                           tmp_path / "front.svg").read_text()
    assert "undefined" not in svg and "NaN" not in svg


def test_pareto_frontier_points_are_non_dominated(sweep_table):
    chart = plots.pareto_frontier(sweep_table, x="cost_total", y="latency_p95")
    pts = dataset_with(chart, "frontier", "cost_total", "latency_p95", "label", "success_rate")
    pts = pts.drop_duplicates("label")
    assert len(pts) == 6
    # success rate per point computed here from the raw table: only points within 1 point of the best compete
    succ = sweep_table.groupby(["client.retry.max_attempts", "client.timeout"])["success_rate"].mean()
    assert ((pts["frontier"] == "misses target") == (pts["success_rate"] < succ.max() - 0.01)).all()
    eligible = pts[pts["frontier"] != "misses target"]
    front = pts[pts["frontier"] == "frontier"]
    rest = pts[pts["frontier"] == "dominated"]
    assert len(front) >= 1
    for _, a in front.iterrows():  # no eligible point beats a frontier point on both
        beats = (eligible["cost_total"] <= a["cost_total"]) & (eligible["latency_p95"] <= a["latency_p95"]) & (
            (eligible["cost_total"] < a["cost_total"]) | (eligible["latency_p95"] < a["latency_p95"]))
        assert not beats.any()
    for _, b in rest.iterrows():  # every other point is beaten by a frontier point
        assert ((front["cost_total"] <= b["cost_total"]) & (front["latency_p95"] <= b["latency_p95"])).any()


def test_frontier_never_crowns_a_point_that_misses_the_success_target():
    """The fastest and cheapest point fails 12 % of requests: with a 99 % target it is a cross, not the best."""
    from llmsim.config.slo import parse_slo

    t = pd.DataFrame({"k": [1, 1, 2, 2, 3, 3], "replication": [0, 1] * 3,
                      "cost_total": [1.0, 1.1, 2.0, 2.1, 3.0, 3.1], "latency_p95": [1.0, 1.2, 2.0, 2.2, 3.0, 2.9],
                      "success_rate": [0.87, 0.88, 0.995, 0.996, 0.999, 0.998]})
    pts = dataset_with(plots.pareto_frontier(t, targets=parse_slo({"success_rate": "99%"})), "frontier", "label",
                       "cost_total_lo").drop_duplicates("label").set_index("label")
    assert pts.loc["k=1", "frontier"] == "misses target"
    assert pts.loc["k=2", "frontier"] == "frontier" and pts.loc["k=3", "frontier"] == "dominated"
    from scipy import stats  # the error bar: a t interval over the two replications

    half = stats.t.ppf(0.975, 1) * np.std([2.0, 2.1], ddof=1) / np.sqrt(2)
    assert pts.loc["k=2", "cost_total_lo"] == pytest.approx(2.05 - half)


def test_frontier_mask_ties_and_nans():
    df = pd.DataFrame({"x": [1, 1, 2, np.nan, 0.5], "y": [2, 2, 1, 0, 5]})
    assert P.frontier_mask(df, "x", "y").tolist() == [True, True, True, False, True]


def test_pareto_frontier_from_results(storm, quiet):
    pts = dataset_with(plots.pareto_frontier({"storm": storm, "quiet": quiet}), "label", "frontier")
    assert set(pts["label"]) == {"storm", "quiet"}


@pytest.fixture(scope="module")
def comparison() -> pd.DataFrame:
    """What llmsim.compare gives: paired differences (common random numbers) with 95 % t intervals."""
    from scipy import stats

    base = llmsim.Scenario.model_validate(stormy(horizon="3m"))
    clients = {"1 try": base.with_overrides({"client.retry.max_attempts": 1}),
               "4 tries": base.with_overrides({"client.retry.max_attempts": 4}),
               "4 tries, 3s timeout": base.with_overrides({"client.retry.max_attempts": 4, "client.timeout": "3s"})}
    seeds = [11, 12, 13, 14]
    runs = {name: [llmsim.simulate(sc, seed=s).summary() for s in seeds] for name, sc in clients.items()}
    rows = []
    for name in ("4 tries", "4 tries, 3s timeout"):
        for metric in ("success_rate", "latency_p95", "cost_total", "attempts_per_request"):
            d = np.array([b[metric] - a[metric] for a, b in zip(runs["1 try"], runs[name], strict=True)])
            half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
            rows.append({"metric": metric, "client": name, "baseline": "1 try", "diff_mean": d.mean(),
                         "ci_low": d.mean() - half, "ci_high": d.mean() + half})
    return pd.DataFrame(rows)


def test_forest_plot_verdicts_follow_the_intervals(comparison):
    chart = plots.forest_plot(comparison)
    rows = dataset_with(chart, "verdict", "diff_mean", "ci_low", "ci_high")
    assert len(rows) == len(comparison)
    assert "facet" in chart.to_dict()
    for _, r in rows.iterrows():
        higher = r["metric"] == "success_rate"
        if r["ci_low"] <= 0 <= r["ci_high"]:
            assert r["verdict"] == "no clear difference"
        else:
            assert r["verdict"] == ("better" if (r["ci_low"] > 0) == higher else "worse")
    amp = rows[(rows["metric"] == "attempts_per_request") & (rows["client"] == "4 tries")]
    assert (amp["verdict"] == "worse").all()  # more tries, more attempts: the paired interval sees it
    with pytest.raises(ValueError, match="ci_low"):
        plots.forest_plot(comparison.drop(columns="ci_low"))
    assert len(dataset_with(plots.forest_plot(comparison, metrics=["cost_total"]), "verdict")) == 2


def test_forest_plot_reads_a_compare_result(comparison):
    """llmsim.compare's result gives differences() with diff and a ci half-width, baseline = its mean."""

    class FakeCompare:
        baseline = "1 try"

        def differences(self):
            half = (comparison["ci_high"] - comparison["ci_low"]) / 2
            return pd.DataFrame({"client": comparison["client"], "metric": comparison["metric"], "baseline": 1.23,
                                 "value": 0.0, "diff": comparison["diff_mean"], "ci": half})

    rows = dataset_with(plots.forest_plot(FakeCompare()), "verdict", "ci_low", "pair")
    assert set(rows["pair"]) == {"4 tries vs 1 try", "4 tries, 3s timeout vs 1 try"}
    merged = rows.merge(comparison, on=["metric", "client"], suffixes=("", "_want"))
    assert np.allclose(merged["ci_low"], merged["ci_low_want"])
    assert np.allclose(merged["ci_high"], merged["ci_high_want"])
    with pytest.raises(TypeError):
        plots.forest_plot([1, 2])


# -- export ----------------------------------------------------------------------------------------------

def test_save_chart_png_svg_json_html(tmp_path, quiet):
    chart = plots.latency_cdf(quiet)
    png = plots.save_chart(chart, tmp_path / "cdf.png", scale=1)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plots.save_chart(chart, tmp_path / "cdf.svg").read_text()
    assert svg.startswith("<svg") and "latency of successful requests" in svg
    spec = json.loads(plots.save_chart(chart, tmp_path / "cdf.json").read_text())
    assert "$schema" not in spec and spec["layer"]
    page = plots.save_chart(chart, tmp_path / "cdf.html").read_text()
    assert page.count('class="vis"') == 1 and "<script src" not in page
    with pytest.raises(ValueError, match="cannot save"):
        plots.save_chart(chart, tmp_path / "cdf.gif")


def test_readme_image_command_writes_an_image(tmp_path):
    import yaml

    from llmsim.viz.plots.__main__ import main

    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(stormy(horizon="2m")))
    assert main([str(tmp_path / "day.svg"), "--scenario", str(scenario)]) == 0
    assert (tmp_path / "day.svg").read_text().startswith("<svg")
    assert main([str(tmp_path / "x.svg"), "--scenario", str(tmp_path / "missing.yaml")]) == 2
