"""Latency pictures that show the failures: the success rate beside p50/p95/p99 on one time axis, and a
latency heatmap over time (Honeycomb-style) whose failed requests are rows of their own, one per outcome.
A latency line alone hides the requests that never succeeded; these charts put them next to it.

>>> import llmsim
>>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "6m", "warmup": "1m"}), seed=1)
>>> len(latency_and_success(res).to_dict()["vconcat"])
2
>>> latency_buckets(pd.Series([0.05, 0.7, 3.0, 500.0])).tolist()
['< 100ms', '500ms-1s', '2-5s', '> 2m']
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from llmsim.config.slo import Target
from llmsim.results import Result
from llmsim.viz.plots import _prep as P
from llmsim.viz.plots.time_axis import TimeAxis

__all__ = ["latency_and_success", "latency_heatmap", "success_over_time", "latency_buckets"]

_EDGES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
_LABELS = ("< 100ms", "100-200ms", "200-500ms", "500ms-1s", "1-2s", "2-5s", "5-10s", "10-20s", "20-30s", "30-60s",
           "1-2m", "> 2m")
_QUANTILE_COLORS = {"p50": "#56b4e9", "p95": "#0072b2", "p99": "#000000"}


def _axis(res: Result) -> TimeAxis:
    end = float(res.requests["end"].max()) if len(res.requests) else 0.0
    return TimeAxis(res.scenario.horizon, res.scenario.start_time(), end if end == end else None)


def latency_buckets(latency: pd.Series) -> pd.Series:
    """Each latency (seconds) as the label of its bucket (log-spaced, 100 ms to 2 min)."""
    idx = np.searchsorted(np.asarray(_EDGES), latency.to_numpy(dtype=float), side="right")
    return pd.Series(np.asarray(_LABELS, dtype=object)[idx], index=latency.index)


def _per_bin(res: Result, width: float) -> pd.DataFrame:
    """Per time bin (by arrival, measured requests): requests, success rate, p50/p95/p99 of successes."""
    req = P.measured_requests(res)
    b = (req["arrival"].to_numpy(dtype=float) // width).astype(np.int64)
    ok = (req["outcome"].astype(str) == "ok").to_numpy()
    df = pd.DataFrame({"bin": b, "ok": ok, "latency": req["latency"].to_numpy(dtype=float)})
    g = df.groupby("bin")
    out = pd.DataFrame({"requests": g.size(), "ok": g["ok"].sum()})
    lat = df[df["ok"]].groupby("bin")["latency"]
    for q in (50, 95, 99):
        out[f"p{q}"] = lat.quantile(q / 100)
    out["success_rate"] = out["ok"] / out["requests"]
    out["failed"] = out["requests"] - out["ok"]
    return out.reset_index().assign(t=lambda d: d["bin"] * width)


def success_over_time(res: Result, freq=None, *, width: int = 680, targets=(), axis: TimeAxis | None = None,
                      zoom: str | None = None):
    """Success rate of the requests arriving in each bin, with the success-rate SLO target dashed. ``zoom``: the
    name of a brush whose span the time axis follows (the whole run while none is drawn)."""
    axis = axis or _axis(res)
    w = P.choose_freq(res.scenario.horizon) if freq is None else float(freq)
    d = _per_bin(res, w)
    d = axis.with_clock(d.assign(time=(d["t"] + w / 2) / axis.div))
    low = float(min(0.9, d["success_rate"].min())) if len(d) else 0.9
    x = axis.x()
    if zoom is not None:
        x = alt.X("time:Q", title=axis.title, scale=alt.Scale(domain={"param": zoom, "encoding": "x"}, nice=False),
                  axis=alt.Axis(labelExpr=axis.label_expr(), labelOverlap=True, tickCount=8))
    line = alt.Chart(d).mark_line(interpolate="step-after", color="#d55e00", clip=True,
                                  point=alt.OverlayMarkDef(size=10)).encode(
        x=x, y=alt.Y("success_rate:Q", title="success rate", axis=alt.Axis(format="%"),
                            scale=alt.Scale(domain=[max(0.0, low), 1.0])),
        tooltip=[axis.tooltip(), alt.Tooltip("success_rate:Q", format=".1%", title="success rate"),
                 alt.Tooltip("failed:Q", title="failed requests"), alt.Tooltip("requests:Q")])
    layers = [line]
    target = [t for t in targets if isinstance(t, Target) and t.metric == "success_rate"]
    if target:
        rule = pd.DataFrame({"y": [target[0].bound], "label": [f"target {target[0].bound_text()}"]})
        layers.append(alt.Chart(rule).mark_rule(strokeDash=[5, 3], color="#555").encode(
            y="y:Q", tooltip=[alt.Tooltip("label:N", title="SLO")]))
    days = axis.day_lines()
    if days is not None:
        layers.insert(0, days.encode(x=x))
    if zoom is not None:  # with no brush drawn the axis spans the whole run, as the brushed panel's does
        layers.append(alt.Chart(pd.DataFrame({"time": axis.domain})).mark_point(opacity=0).encode(x=x))
    return alt.layer(*layers).properties(width=width, height=140, title="Success rate of requests by arrival time")


def latency_and_success(result, freq=None, *, width: int = 680, targets=()) -> alt.VConcatChart:
    """p50/p95/p99 of successful requests over time, and the success rate right under it on the same time
    axis: a fast p95 in a bin where most requests failed is visible as such."""
    res = result
    axis = _axis(res)
    w = P.choose_freq(res.scenario.horizon) if freq is None else float(freq)
    d = _per_bin(res, w)
    d = d.assign(time=(d["t"] + w / 2) / axis.div)
    lat = d.melt(id_vars=["time", "t", "requests", "failed"], value_vars=["p50", "p95", "p99"], var_name="quantile",
                 value_name="seconds")
    lat = axis.with_clock(lat)
    brush = alt.selection_interval(encodings=["x"], name="zoom")
    lines = alt.Chart(lat).mark_line(invalid="break-paths-filter-domains").encode(
        x=axis.x(), y=alt.Y("seconds:Q", title="latency of successes (s)"),
        color=alt.Color("quantile:N", title="latency", scale=alt.Scale(domain=list(_QUANTILE_COLORS),
                                                                       range=list(_QUANTILE_COLORS.values()))),
        tooltip=[axis.tooltip(), alt.Tooltip("quantile:N"), alt.Tooltip("seconds:Q", format=".3~s", title="seconds"),
                 alt.Tooltip("failed:Q", title="failed requests in bin"), alt.Tooltip("requests:Q")])
    top = alt.layer(lines).add_params(brush).properties(
        width=width, height=200, title=f"{res.scenario.name}: latency p50/p95/p99 (drag to zoom the page's other "
                                       "time charts)")
    bottom = success_over_time(res, w, width=width, targets=targets, axis=axis, zoom=brush.name)
    return alt.vconcat(top, bottom).resolve_scale(x="independent")  # the bottom follows the brush


def latency_heatmap(result, freq=None, *, width: int = 680) -> alt.LayerChart:
    """Requests by arrival time (x) and latency bucket (y), coloured by count; failed requests are rows of
    their own at the bottom, one per outcome (a request that failed has no latency worth bucketing)."""
    res = result
    axis = _axis(res)
    w = P.choose_freq(res.scenario.horizon, 100) if freq is None else float(freq)
    req = P.measured_requests(res)
    outcome = req["outcome"].astype(str)
    row = latency_buckets(req["latency"]).where(outcome == "ok", "failed: " + outcome)
    df = pd.DataFrame({"t": (req["arrival"].to_numpy(dtype=float) // w) * w, "row": row.to_numpy()})
    cells = df.groupby(["t", "row"]).size().rename("requests").reset_index()
    cells = axis.with_clock(cells.assign(time=cells["t"] / axis.div, time_end=(cells["t"] + w) / axis.div), "t")
    failures = sorted(r for r in cells["row"].unique() if r.startswith("failed: "))
    order = [lab for lab in reversed(_LABELS) if lab in set(cells["row"])] + failures
    cells["kind"] = np.where(cells["row"].str.startswith("failed: "), "failed", "ok")
    y = alt.Y("row:N", sort=order, title="latency bucket / failure")
    tip = [axis.tooltip("from"), alt.Tooltip("row:N", title="bucket"), alt.Tooltip("requests:Q")]
    ok = alt.Chart(cells[cells["kind"] == "ok"]).mark_rect().encode(
        x=axis.x(), x2="time_end:Q", y=y, tooltip=tip,
        color=alt.Color("requests:Q", title="successful requests", scale=alt.Scale(scheme="blues", type="log")))
    bad = alt.Chart(cells[cells["kind"] == "failed"]).mark_rect().encode(
        x=axis.x(), x2="time_end:Q", y=y, tooltip=tip,
        color=alt.Color("requests:Q", title="failed requests", scale=alt.Scale(scheme="oranges", type="log")))
    layers = [ok, bad] if failures else [ok]
    return alt.layer(*layers).resolve_scale(color="independent").properties(
        width=width, height=alt.Step(16), title=f"{res.scenario.name}: requests by latency over time (failures apart)")
