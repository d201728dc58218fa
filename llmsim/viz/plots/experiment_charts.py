"""Charts of many runs: sweep heatmaps, the cost vs tail-latency Pareto frontier, and paired-comparison
forest plots. They take plain DataFrames (or objects with a ``.table`` DataFrame, as ``llmsim.sweep``
returns), so they work with any source that has the documented columns:

- sweep table: one row per (point, replication): parameter columns (e.g. ``client.retry.max_attempts``),
  summary-metric columns (``latency_p95``, ``cost_total``, ... see ``llmsim.SUMMARY_METRICS``) and
  ``replication``. Columns that are not metrics nor ``replication``/``seed``/``point`` count as parameters.
- comparison: one row per (metric, client): ``metric``, ``client``, ``baseline``, ``diff_mean`` (client
  minus baseline), ``ci_low``, ``ci_high`` (a confidence interval of that difference). The result of
  ``llmsim.compare`` works too: its ``differences()`` (``diff`` and ``ci`` half-width) is read directly.

>>> import pandas as pd
>>> table = pd.DataFrame({"a": [1, 1, 2, 2], "b": [5, 6, 5, 6], "replication": 0,
...                       "latency_p95": [1.0, 2.0, 3.0, 4.0], "cost_total": [4.0, 3.0, 2.0, 1.0]})
>>> sweep_heatmap(table, x="a", y="b").to_dict()["layer"][0]["mark"]["type"]
'rect'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from llmsim.analysis.slo_eval import judge
from llmsim.config.slo import Target
from llmsim.experiments.stats import HIGHER_IS_BETTER, mean_ci
from llmsim.experiments.stats import NEUTRAL as NO_DIRECTION
from llmsim.results import SUMMARY_METRICS, Result
from llmsim.viz.plots import _prep as P

__all__ = ["sweep_heatmap", "pareto_frontier", "forest_plot", "HIGHER_IS_BETTER", "COMPARISON_COLUMNS"]

COMPARISON_COLUMNS = ("metric", "client", "baseline", "diff_mean", "ci_low", "ci_high")


def _sort_labels(values: pd.Series) -> list[str]:
    uniq = list(dict.fromkeys(values.tolist()))
    try:
        uniq = sorted(uniq)
    except TypeError:
        pass
    return [str(v) for v in uniq]


def _f(name: str) -> str:
    """A column name as a Vega-Lite field: dots and brackets escaped (``client.timeout`` is not nested)."""
    return name.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")


def _short(col: str) -> str:
    return col.rsplit(".", 1)[-1]


def sweep_heatmap(sweep, x: str, y: str, metric: str = "latency_p95", *, facet: str | None = None,
                  params: list[str] | None = None, fmt: str = ".3g") -> alt.LayerChart | alt.FacetChart:
    """Mean of ``metric`` over replications for each (``x``, ``y``) pair of sweep parameters, as a
    coloured grid with the values written in the cells (darker = worse). Other parameters must be
    constant, or named in ``facet`` (one small grid per value).
    """
    table = P.table_of(sweep)
    params = list(params) if params is not None else P.param_columns(table)
    keys = [x, y] + ([facet] if facet else [])
    _check_heatmap_columns(table, params, keys, metric)
    means = P.point_means(table, keys, [metric])
    for k in keys:
        means[k] = means[k].astype(str)
    means["label_color"] = np.where(_worse_half(means[metric], metric in HIGHER_IS_BETTER), "white", "black")
    chart = alt.layer(*_heatmap_marks(table, x, y, metric, fmt), data=means).properties(
        width=alt.Step(64), height=alt.Step(32))
    if facet:
        return chart.facet(column=alt.Column(field=_f(facet), type="nominal", title=facet)).properties(
            title=f"{metric} (mean)")
    return chart.properties(title=f"{metric} (mean over replications)")


def _check_heatmap_columns(table: pd.DataFrame, params: list[str], keys: list[str], metric: str) -> None:
    """ValueError unless the keys and the metric are columns and no other parameter varies."""
    for k in keys:
        if k not in table.columns:
            raise ValueError(f"no column {k!r} in the sweep table (parameters: {', '.join(params) or 'none'})")
    if metric not in table.columns:
        raise ValueError(f"no metric column {metric!r} in the sweep table")
    varying = [p for p in params if p not in keys and _varies(table, p)]
    if varying:
        raise ValueError(f"the sweep also varies {', '.join(map(repr, varying))}: pass facet=..., or filter the table")


def _varies(table: pd.DataFrame, col: str) -> bool:
    """The table has column ``col`` and more than one distinct value in it."""
    return col in table.columns and table[col].map(P._hashable).nunique(dropna=False) > 1


def _worse_half(values: pd.Series, higher_better: bool) -> pd.Series:
    """The cells on the worse side of the middle of the colour scale (dark cells, white labels)."""
    mid = (values.min() + values.max()) / 2
    return (values < mid) if higher_better else (values > mid)


def _heatmap_marks(table: pd.DataFrame, x: str, y: str, metric: str, fmt: str) -> tuple[alt.Chart, alt.Chart]:
    """The coloured cells and the values written in them."""
    higher_better = metric in HIGHER_IS_BETTER
    enc = dict(x=alt.X(field=_f(x), type="ordinal", title=x, sort=_sort_labels(table[x].map(P._hashable)),
                       axis=alt.Axis(labelAngle=0)),
               y=alt.Y(field=_f(y), type="ordinal", title=y, sort=_sort_labels(table[y].map(P._hashable))))
    rect = alt.Chart().mark_rect().encode(
        **enc, color=alt.Color(field=_f(metric), type="quantitative", title=metric,
                               scale=alt.Scale(scheme="orangered", reverse=higher_better)),
        tooltip=[alt.Tooltip(field=_f(x), type="nominal", title=x), alt.Tooltip(field=_f(y), type="nominal", title=y),
                 alt.Tooltip(field=_f(metric), type="quantitative", format=fmt, title=metric),
                 alt.Tooltip("n:Q", title="replications")])
    text = alt.Chart().mark_text(fontSize=11).encode(
        **enc, text=alt.Text(field=_f(metric), type="quantitative", format=fmt),
        color=alt.condition("datum.label_color == 'white'", alt.value("white"), alt.value("black")))
    return rect, text


def _points_from(source, params: list[str] | None, x: str, y: str) -> pd.DataFrame:
    """One row per point to plot: each Result's summary, or each sweep point's means of ``x`` and ``y``."""
    if _is_results(source):
        runs = P.named_results(source)
        rows = [{"label": name, **res.summary().to_dict()} for name, res in runs.items()]
        return pd.DataFrame(rows).assign(n=1)
    table = P.table_of(source)
    for c in (x, y):
        if c not in table.columns:
            raise ValueError(f"no column {c!r} in the table (columns: {', '.join(map(str, table.columns))})")
    params = [p for p in (params if params is not None else P.param_columns(table)) if p not in (x, y)]
    pts = P.point_means(table, params, [x, y])
    pts["label"] = _point_labels(pts, params)
    return pts


def _is_results(source) -> bool:
    """``source`` is a Result, or a non-empty list or dict of Results."""
    if isinstance(source, Result):
        return True
    if not isinstance(source, (Mapping, Sequence)) or isinstance(source, (str, pd.DataFrame)):
        return False
    items = source.values() if isinstance(source, Mapping) else source
    return bool(source) and all(isinstance(v, Result) for v in items)


def _point_labels(pts: pd.DataFrame, params: list[str]) -> list[str]:
    """``name=value, ...`` of each point's parameters (short names), or ``all`` when there are none."""
    values = zip(*(pts[p].tolist() for p in params), strict=True) if params else [()] * len(pts)
    return [", ".join(f"{_short(p)}={v}" for p, v in zip(params, vals, strict=True)) or "all" for vals in values]


def _eligible(pts: pd.DataFrame, targets: Sequence[Target]) -> np.ndarray:
    """Points that may be crowned: they meet every target (with 95 % confidence when the replications are known,
    column ``sure_<target>``; else on the mean); with no success-rate target, their success rate is within 1
    point of the best point's (a fast point that fails more is not "best")."""
    ok = np.ones(len(pts), dtype=bool)
    for t in targets:
        if f"sure_{t}" in pts.columns:
            ok &= pts[f"sure_{t}"].fillna(False).to_numpy(dtype=bool)
        elif t.metric in pts.columns:
            ok &= np.array([t.holds(float(v)) for v in pts[t.metric]], dtype=bool)
    if "success_rate" in pts.columns and not any(t.metric == "success_rate" for t in targets):
        ok &= (pts["success_rate"] >= pts["success_rate"].max() - 0.01).to_numpy()
    return ok


def _judged(table: pd.DataFrame, params: list[str], targets: Sequence[Target]) -> pd.DataFrame:
    """Per point, ``sure_<target>``: the target is met with 95 % confidence over its replications (one-sided t
    bound, ``llmsim.analysis.slo_eval.judge``) and ``mean_ok_<target>``: met on the mean."""
    t = table.copy()
    for p in params:
        t[p] = t[p].map(P._hashable)
    groups = t.groupby(params, sort=True, dropna=False) if params else [((), t)]
    rows = []
    for key, g in groups:
        row = dict(zip(params, key if isinstance(key, tuple) else (key,), strict=True))
        for target in targets:
            if target.metric in g.columns:
                status = judge(g[target.metric].to_numpy(dtype=float), target).status
                row[f"sure_{target}"] = status == "meets"
                row[f"mean_ok_{target}"] = status in ("meets", "likely")
        rows.append(row)
    return pd.DataFrame(rows)


def _half_widths(table: pd.DataFrame, params: list[str], cols: list[str]) -> pd.DataFrame:
    """95 % t half-widths of ``cols`` per point (NaN with one replication)."""
    t = table[[*params, *cols]].copy()
    for p in params:
        t[p] = t[p].map(P._hashable)
    if not params:
        return pd.DataFrame({f"{c}_ci": [mean_ci(t[c].to_numpy(dtype=float))[1]] for c in cols})
    g = t.groupby(params, sort=True, dropna=False)
    return g[cols].agg(lambda v: mean_ci(v.to_numpy(dtype=float))[1]).add_suffix("_ci").reset_index()


def pareto_frontier(source, x: str = "cost_total", y: str = "latency_p95", *, params: list[str] | None = None,
                    labels: bool = True, targets: Sequence[Target] = ()) -> alt.LayerChart:
    """Every sweep point (mean over replications, with 95 % error bars) by ``x`` against ``y``, both to
    minimise; among the points that meet every target (``targets``; with no success-rate target, those within
    1 point of the best success rate), the ones no other beats on both are the frontier (filled, joined by a
    staircase). Points that miss a target are drawn as crosses and never crowned. ``source``: a sweep table
    (or SweepResult / tune result with ``.table``), or Results as a list or dict ``{name: Result}``.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"k": [1, 2, 3], "cost_total": [1.0, 2.0, 3.0], "latency_p95": [3.0, 1.0, 2.0]})
    >>> rows = pareto_frontier(t).to_dict()["datasets"]
    >>> sorted({r["label"] for rs in rows.values() for r in rs if r.get("frontier") == "frontier"})
    ['k=1', 'k=2']
    """
    pts = _points_from(source, params, x, y)
    table = None if _is_results(source) else P.table_of(source)
    if table is not None:
        keys = [p for p in (params if params is not None else P.param_columns(table)) if p not in (x, y)]
        extra = [m for m in dict.fromkeys(["success_rate", *(t.metric for t in targets)])
                 if m in table.columns and m not in pts.columns]
        if extra:
            pts = pts.merge(P.point_means(table, keys, extra).drop(columns="n"), on=keys, how="left") if keys else \
                pts.assign(**{m: table[m].mean() for m in extra})
        cis = _half_widths(table, keys, [x, y])
        pts = pts.merge(cis, on=keys, how="left") if keys else pts.assign(**cis.iloc[0].to_dict())
        judged = [tg for tg in targets if tg.metric in table.columns]
        if judged:
            sure = _judged(table, keys, judged)
            pts = pts.merge(sure, on=keys, how="left") if keys else pts.assign(**sure.iloc[0].to_dict())
    eligible = _eligible(pts, targets)
    mask = np.zeros(len(pts), dtype=bool)
    if eligible.any():
        mask[eligible] = P.frontier_mask(pts[eligible], x, y)
    unsure = np.zeros(len(pts), dtype=bool)
    for tg in targets:
        if f"mean_ok_{tg}" in pts.columns:
            unsure |= (pts[f"mean_ok_{tg}"].fillna(False) & ~pts[f"sure_{tg}"].fillna(False)).to_numpy(dtype=bool)
    on_mean = _eligible(pts.drop(columns=[c for c in pts.columns if c.startswith("sure_")]), targets)
    missing = np.where(unsure & on_mean, "not sure to meet", "misses target")  # met on the mean, not for sure
    pts["frontier"] = np.where(mask, "frontier", np.where(eligible, "dominated", missing))
    pts = pts.drop(columns=[c for c in pts.columns if c.startswith(("sure_", "mean_ok_"))])
    for c in (x, y):
        half = pts[f"{c}_ci"] if f"{c}_ci" in pts else pd.Series(np.nan, index=pts.index)
        pts[f"{c}_lo"], pts[f"{c}_hi"] = pts[c] - half.fillna(0.0), pts[c] + half.fillna(0.0)
    front = pts[pts["frontier"] == "frontier"].sort_values([x, y])
    tooltip = [alt.Tooltip("label:N", title="point"),
               alt.Tooltip(field=_f(x), type="quantitative", format=".4~g", title=x),
               alt.Tooltip(field=_f(y), type="quantitative", format=".4~g", title=y),
               alt.Tooltip("frontier:N", title="status"), alt.Tooltip("n:Q", title="replications")]
    if "success_rate" in pts.columns:
        tooltip.insert(3, alt.Tooltip("success_rate:Q", format=".2%", title="success rate"))
    enc = dict(x=alt.X(field=_f(x), type="quantitative", title=f"{x} (mean, 95 % CI)", scale=alt.Scale(zero=False)),
               y=alt.Y(field=_f(y), type="quantitative", title=f"{y} (mean, 95 % CI)", scale=alt.Scale(zero=False)))
    domain = ["frontier", "dominated", "not sure to meet", "misses target"]
    colours = ["#0072b2", "#999999", "#e69f00", "#d55e00"]
    xbar = alt.Chart(pts).mark_rule(opacity=0.5).encode(
        x=alt.X(field=_f(f"{x}_lo"), type="quantitative"), x2=alt.X2(field=_f(f"{x}_hi")), y=enc["y"],
        color=alt.Color("frontier:N", scale=alt.Scale(domain=domain, range=colours), legend=None))
    ybar = alt.Chart(pts).mark_rule(opacity=0.5).encode(
        y=alt.Y(field=_f(f"{y}_lo"), type="quantitative"), y2=alt.Y2(field=_f(f"{y}_hi")), x=enc["x"],
        color=alt.Color("frontier:N", scale=alt.Scale(domain=domain, range=colours), legend=None))
    stairs = alt.Chart(front).mark_line(interpolate="step-after", color="#0072b2").encode(**enc)
    dots = alt.Chart(pts).mark_point(size=70).encode(
        **enc, tooltip=tooltip,
        shape=alt.Shape("frontier:N", title=None,
                        scale=alt.Scale(domain=domain, range=["circle", "circle", "diamond", "cross"])),
        color=alt.Color("frontier:N", title=None, scale=alt.Scale(domain=domain, range=colours)),
        fill=alt.Fill("frontier:N", scale=alt.Scale(domain=domain, range=["#0072b2", "white", "white", "#d55e00"]),
                      legend=None))
    layers = [xbar, ybar, stairs, dots]
    if labels and len(front) <= 30:
        layers.append(alt.Chart(front).mark_text(align="left", dx=7, dy=-7, fontSize=10).encode(**enc, text="label:N"))
    crowned = ", ".join(str(t) for t in targets) or "within 1 point of the best success rate"
    return alt.layer(*layers).properties(width="container", height=320,
                                         title=f"Pareto frontier: {x} vs {y} (crowned only if {crowned})")


def _comparison_table(comparison) -> pd.DataFrame:
    """The documented comparison columns from a DataFrame or from ``llmsim.compare``'s result."""
    if callable(getattr(comparison, "differences", None)):
        diffs = comparison.differences()
        diff, half = diffs["diff"], diffs["ci"]
        df = diffs.assign(diff_mean=diff, ci_low=diff - half, ci_high=diff + half,
                          baseline=str(getattr(comparison, "baseline", "baseline")))
        return df.dropna(subset=["diff_mean"])
    if not isinstance(comparison, pd.DataFrame):
        raise TypeError(f"expected a comparison DataFrame or llmsim.compare's result, got {type(comparison).__name__}")
    return comparison


def forest_plot(comparison, metrics: Sequence[str] | None = None) -> alt.FacetChart:
    """Paired differences (client minus baseline) with confidence intervals, one panel per metric.
    Green: the interval excludes 0 on the better side; red: on the worse side; grey: no clear difference.

    >>> import pandas as pd
    >>> cmp = pd.DataFrame({"metric": ["latency_p95", "cost_total"], "client": "sdk", "baseline": "naive",
    ...                     "diff_mean": [-1.5, 0.2], "ci_low": [-2.0, -0.1], "ci_high": [-1.0, 0.5]})
    >>> spec = forest_plot(cmp).to_dict()
    >>> sorted(r["verdict"] for rs in spec["datasets"].values() for r in rs)
    ['better', 'no clear difference']
    """
    df = _comparison_table(comparison)
    missing = [c for c in COMPARISON_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"comparison table lacks column(s) {', '.join(missing)} "
                         f"(needs {', '.join(COMPARISON_COLUMNS)})")
    df = df[list(COMPARISON_COLUMNS)].copy()
    if metrics is not None:
        df = df[df["metric"].isin(list(metrics))]
    if df.empty:
        raise ValueError("nothing to plot: no rows for those metrics")
    up = df["metric"].isin(HIGHER_IS_BETTER)
    neutral = df["metric"].isin(NO_DIRECTION)
    above, below = df["ci_low"] > 0, df["ci_high"] < 0
    better = ~neutral & ((up & above) | (~up & below))
    worse = ~neutral & ((up & below) | (~up & above))
    differs = neutral & (above | below)
    df["verdict"] = np.select([better, worse, differs], ["better", "worse", "differs"], "no clear difference")
    df["pair"] = df["client"].astype(str) + " vs " + df["baseline"].astype(str)
    order = [m for m in SUMMARY_METRICS if m in set(df["metric"])] + sorted(set(df["metric"]) - set(SUMMARY_METRICS))
    y = alt.Y("pair:N", title=None)
    color = alt.Color("verdict:N", title=None,
                      scale=alt.Scale(domain=["better", "worse", "differs", "no clear difference"],
                                      range=["#009e73", "#d55e00", "#0072b2", "#999999"]))
    zero = alt.Chart().mark_rule(color="#999", strokeDash=[3, 3]).encode(x=alt.datum(0))
    bars = alt.Chart().mark_rule(strokeWidth=2).encode(x=alt.X("ci_low:Q", title="difference (client - baseline)"),
                                                       x2="ci_high:Q", y=y, color=color)
    dots = alt.Chart().mark_point(filled=True, size=60).encode(
        x="diff_mean:Q", y=y, color=color,
        tooltip=[alt.Tooltip("metric:N"), alt.Tooltip("pair:N"), alt.Tooltip("diff_mean:Q", format=".4g"),
                 alt.Tooltip("ci_low:Q", format=".4g"), alt.Tooltip("ci_high:Q", format=".4g"),
                 alt.Tooltip("verdict:N")])
    return alt.layer(zero, bars, dots, data=df).properties(width=360, height=alt.Step(22)).facet(
        row=alt.Row("metric:N", title=None, sort=order, header=alt.Header(labelAngle=0, labelAlign="left")),
    ).resolve_scale(x="independent").properties(title="Paired differences with confidence intervals")
