"""A comparison over time: every candidate on the same axes (overlays, one colour each), for the share of
requests that succeeded, the p95 latency of the successes (a circle sized by the bin's failed share, so a
fast p95 over mostly failed requests shows as such), retry amplification and the spend rate with its
wasted part. The panels share one clock-time axis: drag on the top panel to zoom the others; hovering any
panel marks the same instant in all of them, and its tooltip gives every candidate's value at that time.

Each panel has one y scale for every candidate: two policies are never drawn on different scales.

>>> import pandas as pd
>>> from llmsim.viz.plots.time_axis import TimeAxis
>>> from llmsim.viz.plots.export import chart_spec
>>> over = pd.DataFrame({"client": ["a", "a", "b", "b"], "t": [0.0, 60.0] * 2, "width": 60.0,
...                      "requests": 10.0, "failed": [0.0, 1.0, 0.0, 5.0], "success_rate": [1.0, 0.9, 1.0, 0.5],
...                      "amplification": [1.0, 1.1, 1.0, 2.0], "spend_per_hour": 3.0, "wasted_per_hour": 0.5,
...                      "latency_p95": [1.0, 2.0, 1.0, 3.0], "runs": 3})
>>> spec = chart_spec(over_time_panels(over, TimeAxis(120.0, None), ["a", "b"]))
>>> len(spec["vconcat"]), sorted(p["name"] for p in spec["params"])
(4, ['hover0', 'hover1', 'hover2', 'hover3', 'zoom'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import pandas as pd

from llmsim.config.scenario import validate_scenario
from llmsim.config.slo import Target
from llmsim.core.errors import InputError
from llmsim.core.units import parse_duration
from llmsim.experiments.compare_series import merged_series, run_series, series_bin_width
from llmsim.results import Result
from llmsim.viz.plots.time_axis import TimeAxis

__all__ = ["compare_over_time", "runs_over_time", "over_time_panels", "CANDIDATE_COLORS"]

#: Okabe-Ito, colour-blind safe: one colour per candidate, the same in every panel
CANDIDATE_COLORS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442")
_ZOOM = "zoom"


def compare_over_time(cmp, targets: Sequence[Target] = (), *, width: int = 680) -> alt.VConcatChart | None:
    """The over-time panels of a ``CompareResult`` (None when its runs kept no time series)."""
    over = cmp.over_time()
    if over is None or over.empty:
        return None
    try:
        sc = validate_scenario(cmp.sweep.meta["scenario"])
        axis = TimeAxis(sc.horizon, sc.start_time())
    except (InputError, KeyError):  # saved by another version: elapsed time over the bins drawn
        axis = TimeAxis(float((over["t"] + over["width"]).max()), None)
    return over_time_panels(over, axis, list(cmp.clients), targets, width=width)


def runs_over_time(runs: Mapping[str, Result], freq=None, *, targets: Sequence[Target] = (),
                   width: int = 680) -> alt.VConcatChart:
    """The same panels for simulated runs you hold (name -> Result, e.g. two policies on one seed): every run on
    the same axes, so two policies are never drawn on different scales. ``freq``: bin width ("2min"; default
    about 60 bins over the longest horizon)."""
    names = list(runs)
    if not names:
        raise ValueError("give at least one run: {name: Result}")
    horizon = max(r.scenario.horizon for r in runs.values())
    w = series_bin_width(horizon) if freq is None else parse_duration(freq)
    frames = [pd.DataFrame(run_series(r, w)).assign(point=i, replication=0) for i, r in enumerate(runs.values())]
    over = merged_series(pd.concat(frames, ignore_index=True), w)
    over.insert(0, "client", [names[int(i)] for i in over["point"]])
    axis = TimeAxis(horizon, runs[names[0]].scenario.start_time())
    return over_time_panels(over.drop(columns="point").assign(width=w), axis, names, targets, width=width)


def _hover_table(over: pd.DataFrame, axis: TimeAxis, clients: Sequence[str]) -> tuple[pd.DataFrame, list]:
    """One row per bin with every candidate's values as text: the tooltip of the hover rule."""
    rows = []
    for t, g in over.groupby("time", sort=True):
        row = {"time": t}
        by = g.set_index("client")
        for c in clients:
            if c not in by.index:
                continue
            r = by.loc[c]
            p95 = "-" if r["latency_p95"] != r["latency_p95"] else _seconds(float(r["latency_p95"]))
            row[c] = (f"ok {r['success_rate']:.1%} · p95 {p95} · x{r['amplification']:.2f} · "
                      f"${r['spend_per_hour']:,.3g}/h")
        rows.append(row)
    df = axis.with_clock(pd.DataFrame(rows))
    tips = [axis.tooltip()] + [alt.Tooltip(f"{_field(c)}:N", title=c) for c in clients if c in df.columns]
    return df.rename(columns={c: _field(c) for c in clients}), tips


def _field(name: str) -> str:
    """A column name Vega-Lite reads as one field (no dots, brackets or quotes)."""
    return "c_" + "".join(ch if ch.isalnum() else "_" for ch in name)


def _seconds(s: float) -> str:
    return f"{s * 1000:.3g}ms" if s < 1 else f"{s:.3g}s"


def over_time_panels(over: pd.DataFrame, axis: TimeAxis, clients: Sequence[str], targets: Sequence[Target] = (),
                     *, width: int = 680) -> alt.VConcatChart:
    """The four panels from a table of ``CompareResult.over_time()`` rows, on ``axis``."""
    over = over.assign(time=(over["t"] + over["width"] / 2) / axis.div)
    over = axis.with_clock(over)
    over["failed_share"] = over["failed"] / over["requests"].where(over["requests"] > 0)
    colors = alt.Color("client:N", title="candidate", sort=list(clients),
                       scale=alt.Scale(domain=list(clients), range=list(CANDIDATE_COLORS[:len(clients)])))
    hover_df, hover_tips = _hover_table(over, axis, clients)
    hovers = [alt.selection_point(fields=["time"], nearest=True, on="pointerover", clear="pointerout", empty=False,
                                  name=f"hover{i}") for i in range(4)]
    # written out: Altair's `a | b | c` keeps empty=False on the first terms only, and an empty hover would
    # then draw the rule at every bin
    any_hover = {"or": [{"param": h.name, "empty": False} for h in hovers]}
    zoom = alt.selection_interval(encodings=["x"], name=_ZOOM)
    panels = [
        _panel(0, over, axis, _success_layers(over, axis, colors, targets), hover_df, hover_tips, hovers, any_hover,
               "Share of requests that succeeded (drag here to zoom the panels below)", width, zoom),
        _panel(1, over, axis, _latency_layers(over, axis, colors), hover_df, hover_tips, hovers, any_hover,
               "p95 latency of the successes (circle: share of the bin's requests that failed)", width),
        _panel(2, over, axis, _amplification_layers(over, axis, colors), hover_df, hover_tips, hovers, any_hover,
               "Retry amplification: attempts sent per request arriving", width),
        _panel(3, over, axis, _spend_layers(over, axis, colors), hover_df, hover_tips, hovers, any_hover,
               "Spend rate ($/hour; dashed: wasted on attempts that did not deliver)", width),
    ]
    chart = alt.vconcat(*panels).resolve_scale(color="shared")
    runs = int(over["runs"].max()) if len(over) else 0
    chart = chart.properties(title=alt.TitleParams(
        f"Candidates over time (merged over {runs} replication{'s' if runs != 1 else ''} per candidate)",
        anchor="start"))
    return _pinned(chart)


def _x(axis: TimeAxis, zoomed: bool) -> alt.X:
    """The shared time axis; a zoomed panel takes its domain from the brush (the whole run while none is
    drawn) and lets Vega place the ticks, since the round clock ticks of the whole run may not fall inside."""
    if not zoomed:
        return axis.x()
    return alt.X("time:Q", title=axis.title, scale=alt.Scale(domain={"param": _ZOOM, "encoding": "x"}, nice=False),
                 axis=alt.Axis(labelExpr=axis.label_expr(), labelOverlap=True, tickCount=8))


def _timed(layer) -> bool:
    return isinstance(layer.data, pd.DataFrame) and "time" in layer.data.columns


def _panel(i: int, over: pd.DataFrame, axis: TimeAxis, layers: list, hover_df: pd.DataFrame, hover_tips: list,
           hovers: list, any_hover: dict, title: str, width: int, zoom=None) -> alt.LayerChart:
    """One panel: its layers on the (zoomed) time axis, a hover catcher and the linked hover rule."""
    zoomed = zoom is None
    x = _x(axis, zoomed)
    built = [layer.encode(x=x) if _timed(layer) else layer for layer in layers]
    if zoom is not None:
        built[0] = built[0].add_params(zoom)
    catcher = alt.Chart(hover_df, name=f"hover{i}view").mark_rule(opacity=0, strokeWidth=12).encode(
        x=x, tooltip=hover_tips).add_params(hovers[i])
    rule = alt.Chart(hover_df).mark_rule(color="#444", strokeWidth=1).encode(
        x=x, opacity={"condition": {"test": any_hover, "value": 0.8}, "value": 0.0}, tooltip=hover_tips)
    days = axis.day_lines()
    extra = [days.encode(x=x)] if days is not None else []
    if zoomed:  # with no brush drawn, a zoomed panel spans the whole run like the top one, not only its bins
        ends = pd.DataFrame({"time": axis.domain})
        extra.append(alt.Chart(ends).mark_point(opacity=0).encode(x=x))
    return alt.layer(*extra, *built, catcher, rule).properties(width=width, height=130 if i else 150, title=title)


def _tip(axis: TimeAxis, *fields: alt.Tooltip) -> list:
    return [axis.tooltip(), alt.Tooltip("client:N", title="candidate"), *fields,
            alt.Tooltip("runs:Q", title="replications")]


def _success_layers(over, axis, colors, targets) -> list:
    low = float(min(0.9, over["success_rate"].min())) if over["success_rate"].notna().any() else 0.9
    line = alt.Chart(over, name="zoomview").mark_line(interpolate="step-after", clip=True).encode(
        y=alt.Y("success_rate:Q", title="success", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[max(0.0, low), 1.0])),
        color=colors, tooltip=_tip(axis, alt.Tooltip("success_rate:Q", format=".1%", title="success"),
                                   alt.Tooltip("failed:Q", title="failed requests"), alt.Tooltip("requests:Q")))
    out = [line]
    goal = [t for t in targets if t.metric == "success_rate"]
    if goal:
        rule = pd.DataFrame({"y": [goal[0].bound], "label": [f"target {goal[0].bound_text()}"]})
        out.append(alt.Chart(rule).mark_rule(strokeDash=[5, 3], color="#555").encode(
            y="y:Q", tooltip=[alt.Tooltip("label:N", title="SLO")]))
    return out


def _latency_layers(over, axis, colors) -> list:
    tip = _tip(axis, alt.Tooltip("latency_p95:Q", format=".3~s", title="p95 (s, mean over replications)"),
               alt.Tooltip("p95_low:Q", format=".3~s", title="lowest replication"),
               alt.Tooltip("p95_high:Q", format=".3~s", title="highest replication"),
               alt.Tooltip("failed_share:Q", format=".1%", title="failed"))
    y = alt.Y("latency_p95:Q", title="p95 of successes (s)")
    line = alt.Chart(over).mark_line(clip=True, invalid="break-paths-filter-domains").encode(y=y, color=colors,
                                                                                           tooltip=tip)
    failed = over[over["failed_share"] > 0]
    dots = alt.Chart(failed).mark_circle(clip=True, opacity=0.55).encode(
        y=y, color=colors, tooltip=tip,
        size=alt.Size("failed_share:Q", title="failed share", scale=alt.Scale(domain=[0, 1], range=[10, 400]),
                      legend=alt.Legend(format="%")))
    return [line, dots] if len(failed) else [line]


def _amplification_layers(over, axis, colors) -> list:
    r = over["amplification"].dropna()
    domain = [float(min(1.0, r.min())) if len(r) else 1.0, float(max(2.0, r.max())) if len(r) else 2.0]
    one = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(strokeDash=[4, 3], color="#777").encode(y="y:Q")
    line = alt.Chart(over).mark_line(clip=True).encode(
        y=alt.Y("amplification:Q", title="attempts per request", scale=alt.Scale(domain=domain)), color=colors,
        tooltip=_tip(axis, alt.Tooltip("amplification:Q", format=".3f", title="attempts per request")))
    return [line, one]


def _spend_layers(over, axis, colors) -> list:
    tip = _tip(axis, alt.Tooltip("spend_per_hour:Q", format="$,.3~g", title="$/hour"),
               alt.Tooltip("wasted_per_hour:Q", format="$,.3~g", title="wasted $/hour"))
    y = alt.Y("spend_per_hour:Q", title="$/hour", axis=alt.Axis(format="$,.3~g"))
    spend = alt.Chart(over).mark_line(clip=True, interpolate="step-after").encode(y=y, color=colors, tooltip=tip)
    wasted = alt.Chart(over).mark_line(clip=True, interpolate="step-after", strokeDash=[4, 3]).encode(
        y="wasted_per_hour:Q", color=colors, tooltip=tip)
    return [spend, wasted]


def _pinned(chart: alt.VConcatChart) -> alt.VConcatChart:
    """The chart with each selection defined on one view only: Altair lifts a layer's selection to every
    layer of its panel, which Vega rejects as a duplicate signal (the zoom belongs to the success line, each
    hover to its panel's catcher)."""
    spec = chart.to_dict()
    owner = {_ZOOM: "zoomview", **{f"hover{i}": f"hover{i}view" for i in range(4)}}
    for p in spec.get("params", []):
        if "views" in p and p["name"] in owner:
            p["views"] = [v for v in p["views"] if v.startswith(owner[p["name"]])][:1]
    return alt.VConcatChart.from_dict(spec)
