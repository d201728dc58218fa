"""Small aggregated tables behind the charts (pure pandas, no Altair): everything here is testable alone.

>>> choose_freq(10 * 3600), choose_freq(600)
(300.0, 5.0)
>>> frontier_mask(pd.DataFrame({"cost": [1, 2, 3, 2], "p95": [5, 3, 4, 6]}), "cost", "p95").tolist()
[True, True, False, False]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from llmsim.results import SUMMARY_METRICS, Result

__all__ = [
    "OUTCOME_COLORS", "named_results", "choose_freq", "time_unit", "measured_requests", "cdf_points",
    "bin_table", "attempt_outcomes", "capacity_left", "incident_windows", "state_intervals", "spend_table",
    "event_markers", "frontier_mask", "table_of", "param_columns", "point_means",
]

#: one colour per outcome, the same in every chart: the Okabe-Ito colour-blind-safe palette (success in blue,
#: never green beside red), greys for the outcomes the client decides itself
OUTCOME_COLORS = {
    "ok": "#0072b2", "rate_limited": "#e69f00", "overloaded": "#d55e00", "server_error": "#cc79a7",
    "timeout": "#f0e442", "deadline": "#56b4e9", "invalid": "#009e73", "rejected": "#999999",
    "spend_blocked": "#000000",
}
_NICE_WIDTHS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 604800)
_NOT_PARAMS = {"replication", "seed", "point", "run", "error"}


def named_results(results) -> dict[str, Result]:
    """A Result, a list of Results or a dict name -> Result, as a dict with unique display names."""
    if isinstance(results, Result):
        items = [(results.scenario.name, results)]
    elif isinstance(results, Mapping):
        items = [(str(k), v) for k, v in results.items()]
    elif isinstance(results, Sequence) and not isinstance(results, (str, bytes)):
        items = _uniquely_named(results)
    else:
        raise TypeError(f"expected a Result, a list of Results or a dict name -> Result, got {type(results).__name__}")
    if not items:
        raise ValueError("no results to plot")
    for name, r in items:
        if not isinstance(r, Result):
            raise TypeError(f"{name!r} is a {type(r).__name__}, not an llmsim Result")
    return dict(items)


def _uniquely_named(results: Sequence) -> list[tuple[str, Result]]:
    """(name, result) pairs named by scenario; when names repeat, by scenario and seed, else numbered."""
    items = [(r.scenario.name if isinstance(r, Result) else "?", r) for r in results]
    names = [n for n, _ in items]
    if len(set(names)) == len(names):
        return items
    seeded = [f"{n} (seed {r.seed})" for n, r in items]
    names = seeded if len(set(seeded)) == len(seeded) else [f"{n} #{i + 1}" for i, n in enumerate(names)]
    return [(n, r) for n, (_, r) in zip(names, items, strict=True)]


def choose_freq(horizon: float, max_bins: int = 150) -> float:
    """The smallest round bin width (seconds) that cuts ``horizon`` into at most ``max_bins`` bins."""
    for w in _NICE_WIDTHS:
        if horizon / w <= max_bins:
            return float(w)
    return float(np.ceil(horizon / max_bins))


def time_unit(horizon: float) -> tuple[float, str]:
    """Divisor and axis label for a run's time axis: minutes up to 2 h, hours beyond."""
    return (60.0, "minutes since start") if horizon <= 2 * 3600 else (3600.0, "hours since start")


def measured_requests(res: Result) -> pd.DataFrame:
    """Requests that arrived after the warm-up (the ones the summary counts)."""
    return res.requests[res.requests["arrival"] >= res.scenario.warmup]


def cdf_points(values, max_points: int = 400) -> pd.DataFrame:
    """Empirical CDF as at most ``max_points + 1`` points (value, share), from (min, 0) to (max, 1).

    Large samples are reduced to their quantiles at evenly spaced shares (exact observed values)."""
    v = np.sort(np.asarray(values, dtype=float))
    v = v[~np.isnan(v)]
    n = len(v)
    if n == 0:
        return pd.DataFrame({"value": pd.Series(dtype=float), "share": pd.Series(dtype=float)})
    if n <= max_points:
        share = np.arange(1, n + 1) / n
        vals = v
    else:
        share = np.linspace(1.0 / max_points, 1.0, max_points)
        vals = np.quantile(v, share, method="inverted_cdf")
    return pd.DataFrame({"value": np.concatenate([[v[0]], vals]), "share": np.concatenate([[0.0], share])})


def bin_table(res: Result, width: float) -> pd.DataFrame:
    """``Result.timeseries`` at ``width`` seconds with a ``t`` column (bin start, seconds) and ``t_end``."""
    ts = res.timeseries(width).reset_index()
    ts = ts.rename(columns={"time": "t"})
    ts["t_end"] = ts["t"] + width
    return ts


def attempt_outcomes(res: Result, width: float) -> pd.DataFrame:
    """Long table per (bin, outcome) of attempts sent: ``t``, ``outcome``, ``attempts``, ``share`` of the
    bin's attempts and ``per_s`` (attempts per second)."""
    att = res.attempts
    if att.empty:
        return pd.DataFrame(columns=["t", "outcome", "attempts", "share", "per_s"])
    t = np.floor(att["sent"].to_numpy(dtype=float) / width) * width
    counts = pd.crosstab(t, att["outcome"].astype(str))
    counts = counts.loc[:, counts.sum(axis=0) > 0]
    long = counts.stack().rename("attempts").reset_index()
    long.columns = ["t", "outcome", "attempts"]
    total = long.groupby("t")["attempts"].transform("sum")
    long["share"] = long["attempts"] / total
    long["per_s"] = long["attempts"] / width
    order = {k: i for i, k in enumerate(OUTCOME_COLORS)}
    long["order"] = long["outcome"].map(order).fillna(len(order)).astype(int)
    return long.sort_values(["t", "order"]).reset_index(drop=True)


def _run_end(res: Result) -> float:
    end = res.requests["end"].max() if len(res.requests) else np.nan
    return float(max(res.scenario.horizon, end)) if pd.notna(end) else float(res.scenario.horizon)


def capacity_left(res: Result) -> pd.DataFrame:
    """Step intervals of the slots left to this client per provider: ``provider``, ``start``, ``end``,
    ``slots`` and ``share`` (of the provider's full ``capacity.slots``; contention and incidents lower it)."""
    ev = res.events[res.events["kind"] == "capacity"]
    full = {p.name: p.capacity.slots for p in res.scenario.providers}
    rows = []
    stop = float(res.scenario.horizon)
    for name, g in ev.groupby("subject", sort=False, observed=True):
        g = g.assign(time=g["time"].astype(float)).sort_values("time", kind="stable")
        g = g.drop_duplicates("time", keep="last")
        times = g["time"].to_numpy()
        slots = g["number"].to_numpy(dtype=float)
        ends = np.append(times[1:], stop)
        for a, b, s in zip(times, ends, slots, strict=True):
            if b > a:
                rows.append((str(name), a, b, s, s / full.get(str(name), np.nan)))
    return pd.DataFrame(rows, columns=["provider", "start", "end", "slots", "share"])


def incident_windows(res: Result) -> pd.DataFrame:
    """Incidents as windows ``provider``, ``incident``, ``start``, ``end`` (from the run's events)."""
    ev = res.events[res.events["kind"].isin(["incident_start", "incident_end"])].sort_values("time", kind="stable")
    open_: dict[tuple[str, str], list[float]] = {}
    rows = []
    for t, kind, subject, value in ev[["time", "kind", "subject", "value"]].itertuples(index=False):
        key = (str(subject), str(value))
        if kind == "incident_start":
            open_.setdefault(key, []).append(float(t))
        elif open_.get(key):
            rows.append((*key, open_[key].pop(0), float(t)))
    for key, starts in open_.items():
        rows.extend((*key, s, _run_end(res)) for s in starts)
    return pd.DataFrame(rows, columns=["provider", "incident", "start", "end"]).sort_values("start", kind="stable")


def state_intervals(res: Result, kinds=("breaker", "cooldown")) -> pd.DataFrame:
    """Intervals of each (kind, subject) state: ``kind``, ``subject``, ``state``, ``start``, ``end``.

    A breaker state holds from its event until the next event of the same kind and subject (or the end of
    the run). A cooldown (or ejection) event only says one began: it is drawn for the configured cooldown
    (``cooldown_time``, or ``base_ejection_time``), cut at the next one, in state ``cooldown``/``ejected``."""
    ev = res.events[res.events["kind"].isin(list(kinds))]
    stop = _run_end(res)
    span = _cooldown_span(res)
    parts = []
    for (kind, subject), g in ev.groupby(["kind", "subject"], sort=True, observed=True):
        g = g.assign(time=g["time"].astype(float)).sort_values("time", kind="stable")
        start = g["time"].to_numpy()
        end = np.append(start[1:], stop)
        state = g["value"].astype(str).to_numpy()
        if kind != "breaker":
            end = np.minimum(end, start + span)
            state = np.where(state == "", str(kind), state)
        parts.append(pd.DataFrame({"kind": str(kind), "subject": str(subject), "state": state,
                                   "start": start, "end": end}))
    if not parts:
        return pd.DataFrame(columns=["kind", "subject", "state", "start", "end"])
    out = pd.concat(parts, ignore_index=True)
    return out[out["end"] > out["start"]].reset_index(drop=True)


def _cooldown_span(res: Result) -> float:
    """How long one cooldown or ejection lasts by the client's config (the first route that sets one; 5 s,
    LiteLLM's default, when none is found). A Retry-After may have made a real one longer or shorter."""
    client = res.scenario.client
    routes = [client.route] + [getattr(layer, "route", None) for layer in (client.layers or [])]
    for route in routes:
        ej = getattr(route, "ejection", None)
        for name in ("cooldown_time", "base_ejection_time"):
            if ej is not None and hasattr(ej, name):
                return float(getattr(ej, name))
    return 5.0


def spend_table(res: Result, width: float) -> pd.DataFrame:
    """Cumulative spend at the end of each bin, long: ``t`` (bin end, seconds), ``series``, ``cost``.

    ``all attempts`` is every billed attempt; ``wasted`` those that did not deliver (outcome other than ok).
    An attempt is counted when it ends (when it was sent if it never ended)."""
    att = res.attempts
    when = att["end"].to_numpy(dtype=float)
    when = np.where(np.isnan(when), att["sent"].to_numpy(dtype=float), when)
    stop = max(_run_end(res), float(np.nanmax(when)) if len(when) else 0.0)
    edges = np.arange(0.0, stop + width, width)
    if edges[-1] < stop:
        edges = np.append(edges, edges[-1] + width)
    idx = np.clip(np.searchsorted(edges, when, side="right") - 1, 0, len(edges) - 2)
    cost = att["cost"].to_numpy(dtype=float)
    wasted = np.where(att["outcome"].astype(str).to_numpy() != "ok", cost, 0.0)
    total = np.cumsum(np.bincount(idx, weights=cost, minlength=len(edges) - 1))
    waste = np.cumsum(np.bincount(idx, weights=wasted, minlength=len(edges) - 1))
    t = np.concatenate([[0.0], edges[1:]])
    return pd.concat([
        pd.DataFrame({"t": t, "series": "all attempts", "cost": np.concatenate([[0.0], total])}),
        pd.DataFrame({"t": t, "series": "wasted (did not deliver)", "cost": np.concatenate([[0.0], waste])}),
    ], ignore_index=True)


def event_markers(res: Result, max_markers: int = 400) -> pd.DataFrame:
    """Moments worth marking on a time chart: ``t``, ``kind``, ``subject``, ``label``.

    Every event except capacity steps and breaker recoveries (closed / half_open) and incident ends;
    past ``max_markers`` the frequent kinds (e.g. session starts) are thinned to an evenly spaced subset
    while every event of a rare kind (an alert, a guard trip, an onset: at most 20 of its kind) is kept."""
    ev = res.events
    keep = ~ev["kind"].isin(["capacity", "incident_end"])
    keep &= ~((ev["kind"] == "breaker") & ev["value"].astype(str).isin(["closed", "half_open"]))
    ev = ev[keep].sort_values("time", kind="stable")
    out = pd.DataFrame({"t": ev["time"].astype(float).to_numpy(), "kind": ev["kind"].astype(str).to_numpy(),
                        "subject": ev["subject"].astype(str).to_numpy()})
    values = ev["value"].astype(str).to_numpy()
    out["label"] = [f"{k} {v}" if k == "breaker" else k for k, v in zip(out["kind"], values, strict=True)]
    if len(out) > max_markers:
        counts = out["kind"].map(out["kind"].value_counts())
        rare = out[counts <= 20]
        common = out[counts > 20]
        room = max(2, max_markers - len(rare))
        if len(common) > room:
            common = common.iloc[np.unique(np.linspace(0, len(common) - 1, room).round().astype(int))]
        out = pd.concat([rare, common]).sort_values("t", kind="stable")
    return out.reset_index(drop=True)


def frontier_mask(df: pd.DataFrame, x: str, y: str) -> np.ndarray:
    """True for rows not dominated when both ``x`` and ``y`` are minimised (rows with NaN are False).

    A row is dominated when another is no worse on both and strictly better on one."""
    a = df[x].to_numpy(dtype=float)
    b = df[y].to_numpy(dtype=float)
    valid = ~(np.isnan(a) | np.isnan(b))
    no_worse = (a[None, :] <= a[:, None]) & (b[None, :] <= b[:, None])
    better = (a[None, :] < a[:, None]) | (b[None, :] < b[:, None])
    dominated = (no_worse & better & valid[None, :]).any(axis=1)
    return valid & ~dominated


def table_of(source) -> pd.DataFrame:
    """The sweep table of a SweepResult (``.table``) or a DataFrame itself."""
    table = getattr(source, "table", source)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected a SweepResult or a DataFrame, got {type(source).__name__}")
    return table


def param_columns(table: pd.DataFrame) -> list[str]:
    """Columns of a sweep table that are parameters: neither summary metrics nor bookkeeping."""
    return [c for c in table.columns if c not in SUMMARY_METRICS and c not in _NOT_PARAMS]


def _hashable(v):
    if isinstance(v, (list, dict, tuple)):
        return json.dumps(v, sort_keys=True, default=str)
    return v


def point_means(table: pd.DataFrame, params: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean of ``metrics`` per combination of ``params`` over replications, with ``n`` rows per point."""
    missing = [c for c in [*params, *metrics] if c not in table.columns]
    if missing:
        raise ValueError(f"column(s) {', '.join(map(repr, missing))} not in the table "
                         f"(columns: {', '.join(map(str, table.columns))})")
    t = table[[*params, *metrics]].copy()
    for p in params:
        t[p] = t[p].map(_hashable)
    if not params:
        return t[metrics].mean().to_frame().T.assign(n=len(t))
    g = t.groupby(params, sort=True, dropna=False)
    return g[metrics].mean().join(g.size().rename("n")).reset_index()
