"""Charts of one run (or several runs side by side): latency CDFs, the day over time, retry
amplification, breaker states and spend. Each returns an Altair chart that you can restyle.

>>> import llmsim
>>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "6m", "warmup": "1m"}), seed=1)
>>> spec = over_time(res).to_dict()
>>> len(spec["vconcat"])
2
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from llmsim.core.outcomes import LOCAL_OUTCOMES
from llmsim.core.units import parse_duration
from llmsim.results import Result
from llmsim.viz.plots import _prep as P
from llmsim.viz.plots.time_axis import TimeAxis

__all__ = ["latency_cdf", "over_time", "amplification", "breaker_timeline", "spend"]

_INCIDENT_COLOR = "#e53935"
_STATE_COLORS = {"closed": "#cfe8f7", "half_open": "#e69f00", "open": "#d55e00", "cooldown": "#cc79a7",
                 "ejected": "#56b4e9"}


def _one(result) -> Result:
    if not isinstance(result, Result):
        raise TypeError(f"expected an llmsim Result, got {type(result).__name__}")
    return result


def _width(res: Result, freq) -> float:
    w = P.choose_freq(res.scenario.horizon) if freq is None else parse_duration(freq)
    if w <= 0:
        raise ValueError("freq must be > 0")
    return w


def _axis(res: Result) -> TimeAxis:
    """The shared time axis of a run's charts: clock time when the scenario says when it starts, else h:mm."""
    end = float(res.requests["end"].max()) if len(res.requests) else 0.0
    return TimeAxis(res.scenario.horizon, res.scenario.start_time(), end if end == end else None)


def _outcome_scale(outcomes) -> alt.Scale:
    present = [o for o in P.OUTCOME_COLORS if o in set(outcomes)]
    present += sorted(set(outcomes) - set(present))
    return alt.Scale(domain=present, range=[P.OUTCOME_COLORS.get(o, "#000000") for o in present])


def _incidents_layer(res: Result, axis: TimeAxis, *, label: bool = False) -> alt.Chart | alt.LayerChart:
    inc = P.incident_windows(res)
    inc = inc.assign(time=inc["start"] / axis.div, time_end=inc["end"] / axis.div,
                     text=inc["incident"] + " (" + inc["provider"] + ")", clock_end=axis.clock_labels(inc["end"]))
    inc = axis.with_clock(inc, "start")
    rect = alt.Chart(inc).mark_rect(color=_INCIDENT_COLOR, opacity=0.13).encode(
        x=axis.x(), x2="time_end:Q",
        tooltip=[alt.Tooltip("incident:N"), alt.Tooltip("provider:N"),
                 axis.tooltip("from"), alt.Tooltip("clock_end:N", title="to")],
    )
    days = axis.day_lines()
    if days is not None:
        rect = alt.layer(rect, days)
    if not label:
        return rect
    text = alt.Chart(inc).mark_text(align="left", baseline="top", dx=3, dy=3, fontSize=10,
                                    color=_INCIDENT_COLOR).encode(x=axis.x(), y=alt.value(0), text="text:N")
    return alt.layer(rect, text)


def latency_cdf(results, *, metric: str = "latency", log: bool = True, max_points: int = 400) -> alt.LayerChart:
    """Empirical CDF of the latency (or ``metric="ttft"``) of successful requests after the warm-up, one
    line per run. ``results``: a Result, a list of Results or a dict ``{policy name: Result}``.

    >>> import llmsim
    >>> sc = llmsim.load_scenario("tuesday").with_overrides({"horizon": "6m", "warmup": "1m"})
    >>> runs = {"3 tries": llmsim.simulate(sc, seed=1),
    ...         "1 try": llmsim.simulate(sc.with_overrides({"client.retry.max_attempts": 1}), seed=1)}
    >>> chart = latency_cdf(runs)
    >>> sorted({row["policy"] for rows in chart.to_dict()["datasets"].values() for row in rows if "policy" in row})
    ['1 try', '3 tries']
    """
    if metric not in ("latency", "ttft"):
        raise ValueError(f"metric must be 'latency' or 'ttft', got {metric!r}")
    frames = []
    for name, res in P.named_results(results).items():
        req = P.measured_requests(res)
        pts = P.cdf_points(req.loc[req["outcome"] == "ok", metric], max_points)
        frames.append(pts.assign(policy=name))
    data = pd.concat(frames, ignore_index=True)
    positive = bool((data["value"] > 0).all()) and len(data) > 0
    scale = alt.Scale(type="log") if log and positive else alt.Scale()
    title = "latency" if metric == "latency" else "time to first token"
    lines = alt.Chart(data).mark_line(interpolate="step-after").encode(
        x=alt.X("value:Q", title=f"{title} of successful requests (s)", scale=scale),
        y=alt.Y("share:Q", title="share of requests at or below", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        color=alt.Color("policy:N", title=None, sort=list(dict.fromkeys(data["policy"]))),
        tooltip=[alt.Tooltip("policy:N"), alt.Tooltip("value:Q", format=".3f", title="seconds"),
                 alt.Tooltip("share:Q", format=".1%")],
    )
    p95 = alt.Chart(pd.DataFrame({"share": [0.95]})).mark_rule(strokeDash=[4, 3], color="#777").encode(y="share:Q")
    return alt.layer(p95, lines).properties(title=f"{title.capitalize()} CDF (dashed: p95)", width=480, height=300)


def over_time(result, freq=None, *, log_latency: bool = False, width: int = 680) -> alt.VConcatChart:
    """The run as it unfolded: p50/p95 latency of requests arriving in each bin, over the share of
    capacity left to you (contention and incident cuts shaded behind, right axis), then the outcome
    shares of attempts sent; incidents shaded red. ``freq``: bin width ("5min"), automatic by default.

    >>> import llmsim
    >>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "6m", "warmup": "1m"}), seed=2)
    >>> over_time(res, freq="30s").to_dict()["vconcat"][0]["layer"][0]["mark"]["type"]
    'rect'
    """
    res = _one(result)
    w = _width(res, freq)
    axis = _axis(res)
    ts = P.bin_table(res, w)
    lat = ts.melt(id_vars=["t", "requests"], value_vars=["latency_p50", "latency_p95"], var_name="quantile",
                  value_name="seconds")
    lat = axis.with_clock(lat.assign(time=(lat["t"] + w / 2) / axis.div,
                                     quantile=lat["quantile"].str.replace("latency_", "")))
    cap = P.capacity_left(res)
    contention = {p.name: p.capacity.contention_schedule() for p in res.scenario.providers}
    others = [contention[p].at(s) if p in contention else np.nan
              for p, s in zip(cap["provider"], cap["start"], strict=True)]
    cap = cap.assign(time=cap["start"] / axis.div, time_end=cap["end"] / axis.div, others=others)
    incidents = _incidents_layer(res, axis)

    capacity = alt.Chart(cap).mark_rect(opacity=0.16).encode(
        x=axis.x(), x2="time_end:Q",
        y=alt.Y("share:Q", title="capacity left (shaded)", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%", orient="right", grid=False)),
        y2=alt.datum(0),
        color=alt.Color("provider:N", title="capacity left to you", scale=alt.Scale(scheme="tableau10")),
        tooltip=[alt.Tooltip("provider:N"), alt.Tooltip("slots:Q", title="slots left"),
                 alt.Tooltip("share:Q", format=".0%", title="share of full capacity"),
                 alt.Tooltip("others:Q", format=".0%", title="held by other tenants")],
    )
    yscale = alt.Scale(type="log") if log_latency else alt.Scale(zero=True)
    lines = alt.Chart(lat).mark_line(point=alt.OverlayMarkDef(size=12), invalid="break-paths-filter-domains").encode(
        x=axis.x(), y=alt.Y("seconds:Q", title="latency (s)", scale=yscale, axis=alt.Axis(orient="left")),
        color=alt.Color("quantile:N", title="latency",
                        scale=alt.Scale(domain=["p50", "p95"], range=["#1565c0", "#111111"])),
        tooltip=[axis.tooltip(), alt.Tooltip("quantile:N"), alt.Tooltip("seconds:Q", format=".3f"),
                 alt.Tooltip("requests:Q", title="requests in bin")],
    )
    top = alt.layer(capacity, _incidents_layer(res, axis, label=True), lines).resolve_scale(
        y="independent", color="independent").properties(
        width=width, height=230, title=f"{res.scenario.name}: latency of requests by arrival time")

    out = P.attempt_outcomes(res, w)
    out = axis.with_clock(out.assign(time=(out["t"] + w / 2) / axis.div))
    shares = alt.Chart(out).mark_area(interpolate="step").encode(
        x=axis.x(), y=alt.Y("share:Q", stack="normalize", title="share of attempts", axis=alt.Axis(format="%")),
        color=alt.Color("outcome:N", scale=_outcome_scale(out["outcome"]), title="attempt outcome"),
        order=alt.Order("order:Q"),
        tooltip=[axis.tooltip(), alt.Tooltip("outcome:N"), alt.Tooltip("attempts:Q"),
                 alt.Tooltip("share:Q", format=".1%")],
    )
    bottom = alt.layer(shares, incidents).properties(width=width, height=150, title="Outcome of attempts sent")
    return alt.vconcat(top, bottom).resolve_scale(color="independent")


def amplification(result, freq=None, *, width: int = 680) -> alt.VConcatChart:
    """Retry amplification over time: attempts per second stacked by outcome against requests arriving
    per second (black line), then attempts sent to a provider per arriving request (1 = no retries; as
    the summary's ``attempts_per_request``, attempts refused locally, e.g. by an open breaker, do not count).

    >>> import llmsim
    >>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "6m", "warmup": "1m"}), seed=2)
    >>> len(amplification(res).to_dict()["vconcat"])
    2
    """
    res = _one(result)
    w = _width(res, freq)
    axis = _axis(res)
    ts = P.bin_table(res, w)
    out = P.attempt_outcomes(res, w)
    out = axis.with_clock(out.assign(time=(out["t"] + w / 2) / axis.div))
    sent = out[~out["outcome"].isin(LOCAL_OUTCOMES)].groupby("t")["attempts"].sum()
    ts = axis.with_clock(ts.assign(time=(ts["t"] + w / 2) / axis.div, requests_per_s=ts["requests"] / w,
                                   sent=ts["t"].map(sent).fillna(0.0)))
    ts["ratio"] = ts["sent"] / ts["requests"].where(ts["requests"] > 0)
    incidents = _incidents_layer(res, axis)
    stacked = alt.Chart(out).mark_area(interpolate="step").encode(
        x=axis.x(), y=alt.Y("per_s:Q", stack="zero", title="per second"),
        color=alt.Color("outcome:N", scale=_outcome_scale(out["outcome"]), title="attempt outcome"),
        order=alt.Order("order:Q"),
        tooltip=[axis.tooltip(), alt.Tooltip("outcome:N"), alt.Tooltip("per_s:Q", format=".2f")],
    )
    offered = alt.Chart(ts).mark_line(color="black", interpolate="step").encode(
        x=axis.x(), y="requests_per_s:Q",
        tooltip=[axis.tooltip(), alt.Tooltip("requests_per_s:Q", format=".2f")])
    top = alt.layer(incidents, stacked, offered).properties(
        width=width, height=200, title=f"{res.scenario.name}: attempts/s by outcome vs requests/s arriving (black)")
    one = alt.Chart(pd.DataFrame({"ratio": [1.0]})).mark_rule(strokeDash=[4, 3], color="#777").encode(y="ratio:Q")
    ratio = alt.Chart(ts.dropna(subset=["ratio"])).mark_line(color="#6a1b9a").encode(
        x=axis.x(),
        y=alt.Y("ratio:Q", title="attempts per request", scale=alt.Scale(domain=_ratio_domain(ts["ratio"]))),
        tooltip=[axis.tooltip(), alt.Tooltip("ratio:Q", format=".3f"),
                 alt.Tooltip("sent:Q", title="attempts sent"), alt.Tooltip("requests:Q", title="requests arriving")])
    bottom = alt.layer(incidents, one, ratio).properties(
        width=width, height=120, title="Amplification: attempts sent to a provider per request")
    return alt.vconcat(top, bottom)


def _ratio_domain(ratio: pd.Series) -> list[float]:
    """At least 1 to 2 attempts per request, so a handful of retries is not drawn as a spike.

    >>> _ratio_domain(pd.Series([1.0, 1.0015])), _ratio_domain(pd.Series([0.8, 3.2]))
    ([1.0, 2.0], [0.8, 3.2])
    """
    r = ratio.dropna()
    if r.empty:
        return [1.0, 2.0]
    return [float(min(1.0, r.min())), float(max(2.0, r.max()))]


def _binned_states(iv: pd.DataFrame, width: float) -> pd.DataFrame:
    """Share of each bin that each subject spent outside the closed state (for very many intervals)."""
    acc: dict[tuple[str, int], float] = {}
    for subject, start, end in iv.loc[iv["state"] != "closed", ["subject", "start", "end"]].itertuples(index=False):
        for i in range(int(start // width), int(np.ceil(end / width))):
            overlap = min(end, (i + 1) * width) - max(start, i * width)
            if overlap > 0:
                acc[(subject, i)] = acc.get((subject, i), 0.0) + overlap
    rows = [(s, i * width, (i + 1) * width, v / width) for (s, i), v in sorted(acc.items())]
    return pd.DataFrame(rows, columns=["subject", "start", "end", "share"])


def breaker_timeline(result, *, kinds=("breaker", "cooldown"), max_intervals: int = 2000,
                     width: int = 680) -> alt.LayerChart:
    """Breaker (and cooldown) states per provider over time: closed light, half-open amber, open red.

    Past ``max_intervals`` state changes the chart shows, per time bin, the share of time each provider
    was not closed. A run without such events gives a chart that says so.

    >>> import llmsim
    >>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "6m", "warmup": "1m"}), seed=2)
    >>> breaker_timeline(res).to_dict()["layer"][0]["mark"]["type"]
    'text'
    """
    res = _one(result)
    axis = _axis(res)
    iv = P.state_intervals(res, kinds)
    if iv.empty:
        msg = pd.DataFrame({"text": [f"no {' or '.join(kinds)} events in this run"]})
        return alt.layer(alt.Chart(msg).mark_text(size=14, color="#555").encode(text="text:N")).properties(
            width=width, height=60, title=f"{res.scenario.name}: breaker states")
    if iv["kind"].nunique() > 1:
        iv = iv.assign(subject=iv["kind"] + ": " + iv["subject"])
    height = max(60, 28 * iv["subject"].nunique())
    title = f"{res.scenario.name}: breaker states"
    y = alt.Y("subject:N", title=None)
    if len(iv) > max_intervals:
        b = _binned_states(iv, P.choose_freq(res.scenario.horizon, 300))
        b = axis.with_clock(b.assign(time=b["start"] / axis.div, time_end=b["end"] / axis.div), "start")
        chart = alt.Chart(b).mark_rect().encode(
            x=axis.x(), x2="time_end:Q", y=y,
            color=alt.Color("share:Q", title="share of time not closed", scale=alt.Scale(domain=[0, 1], scheme="reds")),
            tooltip=[alt.Tooltip("subject:N"), axis.tooltip(),
                     alt.Tooltip("share:Q", format=".0%")])
        return alt.layer(chart).properties(width=width, height=height, title=title + f" ({len(iv):,} changes, binned)")
    iv = axis.with_clock(iv.assign(time=iv["start"] / axis.div, time_end=iv["end"] / axis.div,
                                   seconds=iv["end"] - iv["start"]), "start")
    states = list(dict.fromkeys([s for s in _STATE_COLORS if s in set(iv["state"])] + sorted(set(iv["state"]))))
    chart = alt.Chart(iv).mark_bar().encode(
        x=axis.x(), x2="time_end:Q", y=y,
        color=alt.Color("state:N",
                        scale=alt.Scale(domain=states, range=[_STATE_COLORS.get(s, "#000") for s in states])),
        tooltip=[alt.Tooltip("subject:N"), alt.Tooltip("state:N"), axis.tooltip("from"),
                 alt.Tooltip("seconds:Q", format=".1f", title="lasted (s)")])
    return alt.layer(chart).properties(width=width, height=height, title=title)


def spend(result, freq=None, *, max_markers: int = 400, width: int = 680) -> alt.LayerChart:
    """Cumulative spend (all attempts, and the part wasted on attempts that did not deliver) with
    incidents shaded and events marked: breaker openings, incident starts and any guard or alert events.

    >>> import llmsim
    >>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "6m", "warmup": "1m"}), seed=2)
    >>> [layer.get("mark", {}).get("type", "layer") for layer in spend(res).to_dict()["layer"]]  # no events to mark
    ['layer', 'line']
    """
    res = _one(result)
    w = _width(res, freq)
    axis = _axis(res)
    sp = P.spend_table(res, w)
    sp = axis.with_clock(sp.assign(time=sp["t"] / axis.div))
    marks = P.event_markers(res, max_markers)
    marks = axis.with_clock(marks.assign(time=marks["t"] / axis.div))
    rules = alt.Chart(marks).mark_rule(opacity=0.6 if len(marks) <= 40 else 0.25, strokeWidth=1).encode(
        x=axis.x(), color=alt.Color("label:N", title="event", scale=alt.Scale(scheme="set1")),
        tooltip=[alt.Tooltip("label:N", title="event"), alt.Tooltip("subject:N"), axis.tooltip()])
    lines = alt.Chart(sp).mark_line().encode(
        x=axis.x(), y=alt.Y("cost:Q", title="cumulative spend (USD)", axis=alt.Axis(format="$,.2f")),
        strokeDash=alt.StrokeDash("series:N", title=None),
        tooltip=[alt.Tooltip("series:N"), axis.tooltip(), alt.Tooltip("cost:Q", format="$,.4f")])
    layers = alt.layer(_incidents_layer(res, axis, label=True), *([rules] if len(marks) else []), lines)
    return layers.resolve_scale(color="independent").properties(
        width=width, height=240, title=f"{res.scenario.name}: spend over time")
