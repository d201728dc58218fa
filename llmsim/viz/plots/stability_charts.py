"""Pictures of a stability map (``llmsim.experiments.stability``): the recovery probability per client on shared
axes (trigger duration x load multiplier) with the simulated boundary, the fluid estimate and the scenario's own
operating point (load 1); and the goodput timeline of a collapsed and a recovered run.

>>> import pandas as pd
>>> from llmsim.experiments.stability import StabilityResult
>>> table = pd.DataFrame({"client": "a", "duration": [10.0, 10.0], "load": [1.0, 2.0], "replication": 0,
...     "seed": 1, "recovered": [True, False], "collapsed": [0.0, 1.0], "metastable": [0.0, 1.0],
...     "time_to_recover": [0.0, float("nan")], "cost_total": 0.0, "attempts_per_request": 1.0})
>>> meta = {"clients": ["a"], "trigger": {"kind": "dip", "depth": 0.5},
...         "fluid": {"a": {"mu": 10, "lam": 7, "attempts": 1, "timeout": 10}}}
>>> "hconcat" in stability_map(StabilityResult(table, meta)).to_dict()
True
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import numpy as np
import pandas as pd

from llmsim.analysis.collapse import goodput_timeline
from llmsim.core.goodput_collapse import CollapseCriteria
from llmsim.viz.plots.page import charts_page, escape_html

__all__ = ["stability_map", "recovery_timeline", "cell_bands", "stability_page"]

_P_SCALE = alt.Scale(domain=[0, 1], scheme="redyellowgreen")


def cell_bands(cells: pd.DataFrame) -> pd.DataFrame:
    """``cells`` with ``y0``/``y1``: each load's band reaches halfway to its neighbours in its column."""
    parts = []
    for _, g in cells.groupby(["client", "duration"], sort=False):
        g = g.sort_values("load").copy()
        m = g["load"].to_numpy(float)
        mids = (m[1:] + m[:-1]) / 2
        half = (m[1] - m[0]) / 2 if len(m) > 1 else 0.05
        g["y0"] = np.concatenate(([m[0] - half], mids))
        g["y1"] = np.concatenate((mids, [m[-1] + ((m[-1] - m[-2]) / 2 if len(m) > 1 else 0.05)]))
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    out["median_time_to_recover"] = out["median_time_to_recover"].replace(np.inf, np.nan)
    return out


def _client_chart(cells: pd.DataFrame, bounds: pd.DataFrame, client: str, y: alt.Scale, width: int) -> alt.Chart:
    c = cells[cells["client"] == client]
    b = bounds[bounds["client"] == client].copy()
    b["low"] = b["boundary"] - b["uncertainty"].fillna(0)
    b["high"] = b["boundary"] + b["uncertainty"].fillna(0)
    x = alt.X("duration:O", title="trigger duration (s)")
    heat = alt.Chart(c).mark_rect(stroke="white", strokeWidth=0.3).encode(
        x=x, y=alt.Y("y0:Q", scale=y, title="load multiplier"), y2="y1:Q",
        color=alt.Color("p_recover:Q", scale=_P_SCALE, title="P(recover)"),
        tooltip=["duration:Q", "load:Q", "runs:Q", alt.Tooltip("p_recover:Q", format=".2f"),
                 alt.Tooltip("p_low:Q", format=".2f"), alt.Tooltip("p_high:Q", format=".2f"),
                 alt.Tooltip("median_time_to_recover:Q", format=".0f", title="median time to recover (s)")])
    line = alt.Chart(b).mark_line(point=True, color="black").encode(x=x, y=alt.Y("boundary:Q", scale=y))
    bars = alt.Chart(b).mark_rule(color="black").encode(x=x, y=alt.Y("low:Q", scale=y), y2="high:Q")
    fluid = alt.Chart(b).mark_line(color="#1f4e9c", strokeDash=[5, 3]).encode(
        x=x, y=alt.Y("fluid:Q", scale=y), tooltip=[alt.Tooltip("fluid:Q", format=".2f", title="fluid estimate")])
    here = alt.Chart(pd.DataFrame({"load": [1.0]})).mark_rule(color="#555", strokeDash=[2, 2]).encode(
        y=alt.Y("load:Q", scale=y))
    return alt.layer(heat, bars, line, fluid, here).properties(title=client, width=width, height=260)


def stability_map(result, width: int = 220) -> alt.HConcatChart:
    """Recovery probability per cell, one panel per client on shared axes; black: the simulated boundary
    (P(recover) = 1/2) with its uncertainty; dashed blue: the fluid estimate; grey dotted: load 1 (the scenario
    as it is)."""
    cells = cell_bands(result.cells())
    bounds = result.boundaries()
    lo = float(min(cells["y0"].min(), 1.0, np.nanmin(bounds["fluid"].to_numpy(float))))
    hi = float(max(cells["y1"].max(), 1.0))
    y = alt.Scale(domain=[max(0.0, lo), hi], zero=False, clamp=True)
    charts = [_client_chart(cells, bounds, c, y, width) for c in result.clients]
    return alt.hconcat(*charts).resolve_scale(color="shared", y="shared")


def recovery_timeline(runs: Mapping[str, object], criteria: CollapseCriteria | None = None,
                      width: int = 640) -> alt.VConcatChart:
    """Offered load and goodput (per second) over time of each named run (e.g. ``{"collapsed": res,
    "recovered": res}`` from ``StabilityResult.example_runs``), the trigger shaded."""
    panels = []
    for name, res in runs.items():
        tl = goodput_timeline(res, criteria)
        long = tl.melt(id_vars=["time"], value_vars=["offered", "goodput"], var_name="series", value_name="rate")
        trig = tl[tl["trigger"]]
        shade = alt.Chart(pd.DataFrame({"start": [trig["time"].min()], "end": [trig["time"].max() + (
            tl["time"].iloc[1] - tl["time"].iloc[0] if len(tl) > 1 else 0)]})).mark_rect(
            color="#f4c7c3", opacity=0.5).encode(x="start:Q", x2="end:Q")
        lines = alt.Chart(long).mark_line().encode(
            x=alt.X("time:Q", title="time (s)"), y=alt.Y("rate:Q", title="requests/s"),
            color=alt.Color("series:N", scale=alt.Scale(domain=["offered", "goodput"], range=["#888", "#2a7"])))
        layers = [shade, lines] if len(trig) else [lines]
        panels.append(alt.layer(*layers).properties(title=f"{name} run", width=width, height=150))
    return alt.vconcat(*panels)


def _boundary_table(bounds: pd.DataFrame) -> str:
    head = ("client", "duration (s)", "boundary load", "+-", "P(recover) stable side", "unstable side", "fluid")
    rows = []
    for _, b in bounds.iterrows():
        cells = (b["client"], f"{b['duration']:g}", f"{b['boundary']:.3g}", f"{b['uncertainty']:.2g}",
                 f"{b['p_stable']:.2f} [{b['p_stable_low']:.2f}, {b['p_stable_high']:.2f}]",
                 f"{b['p_unstable']:.2f} [{b['p_unstable_low']:.2f}, {b['p_unstable_high']:.2f}]",
                 f"{b['fluid']:.3g}")
        rows.append("<tr>" + "".join(f"<td>{escape_html(c)}</td>" for c in cells) + "</tr>")
    return ("<table><tr>" + "".join(f"<th>{escape_html(h)}</th>" for h in head) + "</tr>" + "".join(rows)
            + "</table>")


def stability_page(result, timeline_cell: tuple[str, float, float] | None = None) -> str:
    """An offline HTML page: settings, boundary table, the map, and the timeline of a collapsed and a recovered
    run of ``timeline_cell`` = (client, duration, load) (default: the first client's longest duration at its
    boundary)."""
    m = result.meta
    bounds = result.boundaries()
    t = m.get("trigger", {})
    intro = (f"<h1>Stability map: {escape_html(m.get('scenario', ''))}</h1><p class='meta'>trigger "
             f"{escape_html(t.get('kind'))} depth {escape_html(t.get('depth'))}; recovery within "
             f"{escape_html(m.get('recover_within'))} s of the trigger's end; {escape_html(m.get('replications'))} "
             "replications per cell with common random numbers; see docs/stability.md</p>")
    charts = [("Recovery probability", stability_map(result))]
    if timeline_cell is None and len(bounds):
        first = bounds[bounds["client"] == result.clients[0]].iloc[-1]
        timeline_cell = (str(first["client"]), float(first["duration"]), float(first["boundary"]))
    if timeline_cell is not None and "base" in m:
        runs = result.example_runs(*timeline_cell)
        if runs:
            c, d, load = timeline_cell
            charts.append((f"Runs of {c} near load {load:.3g}, trigger {d:g} s", recovery_timeline(runs)))
    return charts_page(charts, title=f"stability {m.get('scenario', '')}",
                       body_html=intro + "<h2>Boundaries</h2>" + _boundary_table(bounds))
