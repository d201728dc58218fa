"""HTML variant of ``llmsim trace inspect``. Given the trace table, a page of charts on one time axis
(clock time when the trace records its origin, else h:mm since the first arrival): request rate,
tokens per second, outcomes and latency over time, then the statistics as a table. Without the table,
the statistics and an inline SVG rate chart. Both open offline.

>>> html = render_html({"rows": 2, "span_s": 60.0, "bin_s": 60.0, "rate_per_bin": [1, 1]}, "t.csv")
>>> "<svg" in html and "t.csv" in html
True
>>> import pandas as pd
>>> df = pd.DataFrame({"arrival_s": [0.0, 30.0, 61.0], "input_tokens": [10, 20, 30], "output_tokens": [5, 0, 7],
...                    "outcome": ["ok", "rate_limited", "ok"], "latency_s": [1.0, 0.2, 1.5]})
>>> [h for h, _ in trace_charts(df)]
['Requests per second', 'Tokens per second', 'Outcomes', 'Latency of successful requests']
"""

from __future__ import annotations

import datetime as dt
import html
import json

import altair as alt
import numpy as np
import pandas as pd

from llmsim.config.start_time import StartTime
from llmsim.viz.plots._prep import OUTCOME_COLORS, choose_freq
from llmsim.viz.plots.page import charts_page
from llmsim.viz.plots.time_axis import TimeAxis

__all__ = ["render_html", "svg_line", "trace_charts", "trace_page_html"]


def svg_line(values: list[float], width: int = 720, height: int = 220, label: str = "") -> str:
    """A minimal line chart as SVG."""
    n = len(values)
    top = max(values) if values and max(values) > 0 else 1.0
    pts = " ".join(f"{40 + (width - 50) * i / max(n - 1, 1):.1f},{height - 25 - (height - 40) * v / top:.1f}"
                   for i, v in enumerate(values))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="{html.escape(label)}"><rect width="100%" height="100%" fill="white"/>'
            f'<line x1="40" y1="{height - 25}" x2="{width - 10}" y2="{height - 25}" stroke="#888"/>'
            f'<line x1="40" y1="15" x2="40" y2="{height - 25}" stroke="#888"/>'
            f'<text x="4" y="20" font-size="11">{top:g}</text><text x="4" y="{height - 25}" font-size="11">0</text>'
            f'<text x="{width / 2:.0f}" y="{height - 6}" font-size="11" text-anchor="middle">'
            f'{html.escape(label)}</text><polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{pts}"/>'
            f"</svg>")


def _origin(df: pd.DataFrame) -> StartTime | None:
    """The trace's origin as a StartTime (clock labels), or None when it records none."""
    origin = df.attrs.get("origin")
    if not origin:
        return None
    try:
        when = dt.datetime.fromisoformat(str(origin)).replace(tzinfo=None)
    except ValueError:
        return None
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return StartTime(when.weekday(), (when - midnight).total_seconds(), when)


def _binned(df: pd.DataFrame, width: float, axis: TimeAxis) -> pd.DataFrame:
    t = df["arrival_s"].to_numpy(dtype=float)
    b = pd.Series((t // width) * width, index=df.index, name="t")
    g = df.assign(t=b).groupby("t")
    out = pd.DataFrame({"requests": g.size(), "input": g["input_tokens"].sum(), "output": g["output_tokens"].sum()})
    out = out.reset_index()
    out["per_s"] = out["requests"] / width
    return axis.with_clock(out.assign(time=(out["t"] + width / 2) / axis.div), "t")


def trace_charts(df: pd.DataFrame, width: int = 680) -> list[tuple[str, alt.TopLevelMixin]]:
    """The charts of a trace (canonical table): rate, tokens/s, outcomes and latency (those it has)."""
    span = float(df["arrival_s"].max()) if len(df) else 0.0
    axis = TimeAxis(max(span, 60.0), _origin(df))
    w = choose_freq(max(span, 60.0), 120)
    b = _binned(df, w, axis)
    charts = [("Requests per second", alt.Chart(b).mark_line(interpolate="step-after", point=True).encode(
        x=axis.x(), y=alt.Y("per_s:Q", title="requests per second"),
        tooltip=[axis.tooltip("from"), alt.Tooltip("per_s:Q", format=".3~g", title="req/s"),
                 alt.Tooltip("requests:Q")]).properties(width=width, height=180, title=f"arrivals per {w:g} s bin"))]
    tok = b.melt(id_vars=["time", "clock"], value_vars=["input", "output"], var_name="tokens", value_name="n")
    tok["per_s"] = tok["n"] / w
    charts.append(("Tokens per second", alt.Chart(tok).mark_line(interpolate="step-after").encode(
        x=axis.x(), y=alt.Y("per_s:Q", title="tokens per second"),
        color=alt.Color("tokens:N", scale=alt.Scale(domain=["input", "output"], range=["#0072b2", "#e69f00"])),
        tooltip=[axis.tooltip("from"), alt.Tooltip("tokens:N"), alt.Tooltip("per_s:Q", format=".4~g")]).properties(
        width=width, height=180)))
    if "outcome" in df and df["outcome"].notna().any():
        o = df.assign(t=(df["arrival_s"].to_numpy(dtype=float) // w) * w, outcome=df["outcome"].fillna("unknown"))
        o = o.groupby(["t", "outcome"]).size().rename("attempts").reset_index()
        o = axis.with_clock(o.assign(time=(o["t"] + w / 2) / axis.div), "t")
        present = list(dict.fromkeys([k for k in OUTCOME_COLORS if k in set(o["outcome"])]
                                     + sorted(set(o["outcome"]) - set(OUTCOME_COLORS))))
        charts.append(("Outcomes", alt.Chart(o).mark_bar().encode(
            x=axis.x(), y=alt.Y("attempts:Q", stack="zero", title="attempts"),
            color=alt.Color("outcome:N", scale=alt.Scale(domain=present,
                                                         range=[OUTCOME_COLORS.get(k, "#999999") for k in present])),
            tooltip=[axis.tooltip("from"), alt.Tooltip("outcome:N"), alt.Tooltip("attempts:Q")]).properties(
            width=width, height=180)))
    if "latency_s" in df and df["latency_s"].notna().any():
        ok = df[(df.get("outcome", pd.Series("ok", index=df.index)).fillna("ok") == "ok") & df["latency_s"].notna()]
        lat = ok.assign(time=ok["arrival_s"].astype(float) / axis.div, latency=ok["latency_s"].astype(float))
        lat = axis.with_clock(lat[["time", "latency"]].iloc[np.linspace(0, len(lat) - 1, min(len(lat), 3000))
                                                          .astype(int)] if len(lat) else lat[["time", "latency"]])
        charts.append(("Latency of successful requests", alt.Chart(lat).mark_circle(size=14, opacity=0.5).encode(
            x=axis.x(), y=alt.Y("latency:Q", title="latency (s)"),
            tooltip=[axis.tooltip(), alt.Tooltip("latency:Q", format=".3~g", title="seconds")]).properties(
            width=width, height=200)))
    return charts


def _stats_rows(stats: dict) -> str:
    rows = []
    for k, v in stats.items():
        if k == "rate_per_bin":
            continue
        text = json.dumps(v, default=str) if isinstance(v, (dict, list)) else str(v)
        if isinstance(v, float):
            text = f"{v:.4g}"
        rows.append(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(text)}</td></tr>")
    return f"<table><tbody>{''.join(rows)}</tbody></table>"


def trace_page_html(df: pd.DataFrame, stats: dict, source: str) -> str:
    """The offline chart page of a trace (see the module docstring)."""
    title = f"Trace {source}"
    body = (f"<h1>{html.escape(title)}</h1><p class=\"meta\">{len(df):,} attempts; time axis: "
            f"{'clock time from the trace origin' if _origin(df) else 'h:mm since the first arrival'}</p>")
    stats_html = f"<details><summary>Statistics</summary>{_stats_rows(stats)}</details>"
    return charts_page(trace_charts(df), title, body + stats_html)


def render_html(stats: dict, source: str, df: pd.DataFrame | None = None) -> str:
    """The chart page when the trace table ``df`` is given, else the statistics and an SVG rate line."""
    if df is not None and len(df):
        return trace_page_html(df, stats, source)
    chart = svg_line([float(v) for v in stats.get("rate_per_bin", [])],
                     label=f"requests per {stats.get('bin_s', 0):g} s bin (time from the first arrival)")
    body = {k: v for k, v in stats.items() if k != "rate_per_bin"}
    return ("<!doctype html><html><head><meta charset='utf-8'><title>trace "
            f"{html.escape(source)}</title></head><body style='font-family:sans-serif'>"
            f"<h1>Trace {html.escape(source)}</h1>{chart}<pre>{html.escape(json.dumps(body, indent=2))}</pre>"
            "</body></html>")
