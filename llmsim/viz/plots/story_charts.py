"""The money story and the contract story of a run, guarded and unguarded on one axis.

``spend_rate``: $/hour over time for this run and (optionally) its unguarded twin, wasted spend as its own
band, the spend alert's threshold dashed, and the onset and the alert marked (never thinned away).
``contract_rates``: the share of answers that broke the contract, the share of requests delivered broken
(with and without the guard), the monitor's threshold, the change point and the alert marked.

>>> import llmsim
>>> sc = llmsim.load_scenario("contract-drift-guarded").with_overrides(
...     {"horizon": "40m", "warmup": 0, "providers.gpt-4o.quality.changes": [["10m", 0.08]]})
>>> res = llmsim.simulate(sc, seed=1)
>>> sorted(contract_table(res, 600.0)["series"].unique())
['answers invalid (all attempts)', 'delivered invalid']
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from llmsim.results import Result
from llmsim.viz.plots import _prep as P
from llmsim.viz.plots.time_axis import TimeAxis

__all__ = ["spend_rate", "spend_rate_table", "contract_rates", "contract_table", "story_markers"]

_SERIES_COLORS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00"]


def _axis(res: Result) -> TimeAxis:
    return TimeAxis(res.scenario.horizon, res.scenario.start_time())


def _bins(res: Result, max_bins: int = 170) -> float:
    return P.choose_freq(res.scenario.horizon, max_bins)


def spend_rate_table(res: Result, width: float, name: str = "this run") -> pd.DataFrame:
    """Per bin (by attempt end): ``t``, ``series`` (name), ``per_hour`` (spend, $/h) and ``wasted_per_hour``
    (attempts that did not deliver)."""
    att = res.attempts
    when = att["end"].to_numpy(dtype=float)
    when = np.where(np.isnan(when), att["sent"].to_numpy(dtype=float), when)
    n = int(math.ceil(res.scenario.horizon / width))
    idx = np.clip((when // width).astype(np.int64), 0, n - 1)
    cost = att["cost"].to_numpy(dtype=float)
    wasted = np.where(att["outcome"].astype(str).to_numpy() != "ok", cost, 0.0)
    spend = np.bincount(idx, weights=cost, minlength=n)[:n]
    waste = np.bincount(idx, weights=wasted, minlength=n)[:n]
    return pd.DataFrame({"t": np.arange(n) * width, "series": name, "per_hour": spend / width * 3600.0,
                         "wasted_per_hour": waste / width * 3600.0})


def story_markers(res: Result, kinds: dict[str, float]) -> pd.DataFrame:
    """Rows ``t``, ``label`` for the given label -> time (NaN times dropped)."""
    rows = [(t, label) for label, t in kinds.items() if t == t and t is not None]
    return pd.DataFrame(rows, columns=["t", "label"])


def _markers_layer(marks: pd.DataFrame, axis: TimeAxis) -> list[alt.Chart]:
    if marks.empty:
        return []
    marks = axis.with_clock(marks.assign(time=marks["t"] / axis.div, ypos=4 + 14 * np.arange(len(marks))), "t")
    rule = alt.Chart(marks).mark_rule(color="#333", strokeWidth=1.5, strokeDash=[6, 3]).encode(
        x=axis.x(), tooltip=[alt.Tooltip("label:N", title="event"), axis.tooltip()])
    text = alt.Chart(marks).mark_text(align="left", baseline="top", dx=4, fontSize=11, color="#333").encode(
        x=axis.x(), y=alt.Y("ypos:Q", scale=None), text="label:N")  # one line each: close markers stay legible
    return [rule, text]


def _hline(value: float, label: str) -> alt.Chart:
    return alt.Chart(pd.DataFrame({"y": [value], "label": [label]})).mark_rule(
        strokeDash=[2, 2], color="#d55e00", strokeWidth=1.5).encode(y="y:Q", tooltip=[alt.Tooltip("label:N")])


def spend_rate(result: Result, twin: Result | None = None, *, names=("guarded", "unguarded"), width: int = 680,
               markers: dict[str, float] | None = None) -> alt.LayerChart:
    """Spend rate ($/hour) over time: this run, its unguarded ``twin`` (same seed) when given, wasted spend
    as a shaded band, the spend alert's threshold (if the client has one) and ``markers`` (label -> seconds;
    e.g. onset and alert)."""
    res = result
    axis = _axis(res)
    w = _bins(res)
    frames = [spend_rate_table(res, w, names[0] if twin is not None else "spend")]
    if twin is not None:
        frames.append(spend_rate_table(twin, w, names[1]))
    d = pd.concat(frames, ignore_index=True)
    d = axis.with_clock(d.assign(time=d["t"] / axis.div), "t")
    series = list(dict.fromkeys(d["series"]))
    color = alt.Color("series:N", title=None, sort=series,
                      scale=alt.Scale(domain=series, range=_SERIES_COLORS[:len(series)]))
    tip = [axis.tooltip("from"), alt.Tooltip("series:N"), alt.Tooltip("per_hour:Q", format="$,.2f", title="$/hour"),
           alt.Tooltip("wasted_per_hour:Q", format="$,.2f", title="wasted $/hour")]
    band = alt.Chart(d[d["series"] == series[0]]).mark_area(interpolate="step-after", color="#e69f00",
                                                            opacity=0.5).encode(
        x=axis.x(), y=alt.Y("wasted_per_hour:Q"), tooltip=tip)
    lines = alt.Chart(d).mark_line(interpolate="step-after").encode(
        x=axis.x(), y=alt.Y("per_hour:Q", title="spend rate ($/hour; orange band: wasted)",
                            axis=alt.Axis(format="$,.4~g")),
        color=color, strokeDash=alt.StrokeDash("series:N", sort=series, legend=None), tooltip=tip)
    layers: list = [band, lines]
    spend_cfg = res.scenario.client.spend
    alert = getattr(spend_cfg, "alert", None) if spend_cfg is not None else None
    if alert is not None:
        layers.append(_hline(alert.threshold * 3600.0, f"alert threshold ${alert.threshold * 3600:.4g}/h"))
    layers += _markers_layer(story_markers(res, markers or {}), axis)
    days = axis.day_lines()
    if days is not None:
        layers.insert(0, days)
    return alt.layer(*layers).properties(width=width, height=240, title=f"{res.scenario.name}: spend rate over time")


def contract_table(res: Result, width: float, name: str | None = None) -> pd.DataFrame:
    """Per bin: ``share`` of ``answers invalid (all attempts)`` (of answered attempts, by end) and of
    ``delivered invalid`` (requests delivered with a broken contract, of requests delivered, by end)."""
    n = int(math.ceil(res.scenario.horizon / width))
    att, req = res.attempts, res.requests
    rows = []
    for label, frame in (("answers invalid (all attempts)", att), ("delivered invalid", req)):
        out = frame["outcome"].astype(str).to_numpy()
        answered = np.isin(out, ["ok", "invalid"])
        when = frame["end"].to_numpy(dtype=float)
        keep = answered & ~np.isnan(when)
        idx = np.clip((when[keep] // width).astype(np.int64), 0, n - 1)
        total = np.bincount(idx, minlength=n)[:n]
        bad = np.bincount(idx, weights=(out[keep] == "invalid").astype(float), minlength=n)[:n]
        share = np.divide(bad, total, out=np.full(n, np.nan), where=total > 0)
        series = label if name is None else f"{label}, {name}"
        rows.append(pd.DataFrame({"t": np.arange(n) * width, "series": series, "share": share, "answers": total,
                                  "invalid": bad}))
    return pd.concat(rows, ignore_index=True)


def contract_rates(result: Result, twin: Result | None = None, *, names=("guarded", "unguarded"), width: int = 680,
                   markers: dict[str, float] | None = None) -> alt.LayerChart:
    """The contract story: invalid answers from the provider against invalid answers delivered, for this
    run and (when given) its unguarded twin, with the monitor's threshold and the change point and alert."""
    res = result
    axis = _axis(res)
    w = _bins(res)
    if twin is None:
        d = contract_table(res, w)
    else:
        d = pd.concat([contract_table(res, w, names[0]),
                       contract_table(twin, w, names[1]).query("series.str.startswith('delivered')",
                                                               engine="python")], ignore_index=True)
    d = axis.with_clock(d.assign(time=d["t"] / axis.div), "t")
    series = list(dict.fromkeys(d["series"]))
    lines = alt.Chart(d).mark_line(interpolate="step-after").encode(
        x=axis.x(), y=alt.Y("share:Q", title="share invalid", axis=alt.Axis(format="%")),
        color=alt.Color("series:N", title=None, sort=series,
                        scale=alt.Scale(domain=series, range=_SERIES_COLORS[:len(series)])),
        tooltip=[axis.tooltip("from"), alt.Tooltip("series:N"), alt.Tooltip("share:Q", format=".2%"),
                 alt.Tooltip("invalid:Q", title="invalid"), alt.Tooltip("answers:Q", title="answers")])
    layers: list = [lines]
    validation = res.scenario.client.validation
    monitor = getattr(validation, "monitor", None) if validation is not None else None
    if monitor is not None:
        layers.append(_hline(monitor.threshold, f"monitor threshold {monitor.threshold:.4g}"))
    layers += _markers_layer(story_markers(res, markers or {}), axis)
    days = axis.day_lines()
    if days is not None:
        layers.insert(0, days)
    return alt.layer(*layers).properties(width=width, height=220,
                                         title=f"{res.scenario.name}: broken answers, sent and delivered")
