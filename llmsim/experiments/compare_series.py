"""A comparison's candidates over time, kept small: each run of ``compare`` also returns a few numbers per time
bin (requests arriving, successes, attempts sent, spend, wasted spend, p95 latency of the successes), computed
in the worker from the tables it already holds; the compare page merges them across replications and draws
every candidate on shared axes. No table leaves the worker: about 60 bins x 7 numbers per run.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday").with_overrides({"horizon": "10m", "warmup": 0, "keep": "all"})
>>> out = summary_and_series(sc, 1)
>>> bool(round(out["success_rate"], 6) == round(sum(out.series["ok"]) / sum(out.series["requests"]), 6))
True
>>> series_bin_width(10 * 3600), series_bin_width(600)
(600.0, 10.0)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from llmsim.config.scenario import Scenario
from llmsim.core.outcomes import LOCAL_OUTCOMES
from llmsim.results import Result
from llmsim.simulator import simulate

__all__ = ["SERIES_FIELDS", "SummaryWithSeries", "summary_and_series", "run_series", "series_bin_width",
           "series_frame", "merged_series", "binned_quantile"]

#: The numbers each run keeps per bin: ``t`` (bin start, s), request counts by arrival, attempts sent to a
#: provider (locally refused ones not counted, as in the summary's amplification), spend and wasted spend by
#: attempt end ($), and the p95 latency of the bin's successful requests (NaN when none succeeded).
SERIES_FIELDS = ("t", "requests", "ok", "attempts", "cost", "wasted", "latency_p95")
_WIDTHS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


class SummaryWithSeries(dict):
    """A run's summary metrics (the dict) and its per-bin ``series`` (field -> list; None without tables)."""

    series: dict[str, list[float]] | None = None


def series_bin_width(horizon: float, max_bins: int = 60) -> float:
    """The smallest round width (seconds) cutting ``horizon`` into at most ``max_bins`` bins."""
    return float(next((w for w in _WIDTHS if horizon / w <= max_bins), np.ceil(horizon / max_bins)))


def _bin(times: np.ndarray, width: float, n: int) -> np.ndarray:
    """Bin index of each time; ``n`` (one past the last bin) beyond the horizon: the run's drain is not drawn,
    and piling it into the last bin would draw a spike that never happened."""
    b = (np.nan_to_num(times, nan=0.0) // width).astype(np.int64)
    return np.where((b >= 0) & (b < n), b, n)


def run_series(res: Result, width: float | None = None) -> dict[str, list[float]]:
    """The per-bin numbers of ``SERIES_FIELDS`` from 0 to the horizon (warm-up included; what ends after the
    horizon, the drain, left out)."""
    width = width or series_bin_width(res.scenario.horizon)
    n = max(1, int(np.ceil(res.scenario.horizon / width)))
    req, att = res.requests, res.attempts
    rb = _bin(req["arrival"].to_numpy(dtype=float), width, n)
    ok = (req["outcome"] == "ok").to_numpy(dtype=bool)  # on the categorical codes: no strings made
    att_ok = (att["outcome"] == "ok").to_numpy(dtype=bool)
    sent = ~att["outcome"].isin(list(LOCAL_OUTCOMES)).to_numpy(dtype=bool)
    sent_at = att["sent"].to_numpy(dtype=float)
    ab = _bin(sent_at, width, n)
    ends = att["end"].to_numpy(dtype=float)
    cb = _bin(np.where(np.isnan(ends), sent_at, ends), width, n)
    cost = att["cost"].to_numpy(dtype=float)
    p95 = binned_quantile(rb[ok], req["latency"].to_numpy(dtype=float)[ok], n, 0.95)
    def counts(bins: np.ndarray, weights: np.ndarray | None = None) -> list[float]:
        return np.bincount(bins, weights=weights, minlength=n + 1)[:n].astype(float).tolist()

    return {"t": (np.arange(n) * width).tolist(), "requests": counts(rb), "ok": counts(rb[ok]),
            "attempts": counts(ab[sent]), "cost": counts(cb, cost),
            "wasted": counts(cb, np.where(att_ok, 0.0, cost)), "latency_p95": p95.tolist()}


def binned_quantile(bins: np.ndarray, values: np.ndarray, n: int, q: float) -> np.ndarray:
    """The ``q`` quantile of ``values`` in each of bins 0..n-1 (linear interpolation, as numpy's and pandas'
    default; NaN for an empty bin), with one sort instead of a group-by; values in bin ``n`` are ignored.

    >>> binned_quantile(np.array([0, 0, 0, 2]), np.array([3.0, 1.0, 2.0, 5.0]), 3, 0.5).tolist()
    [2.0, nan, 5.0]
    """
    if len(values) == 0:
        return np.full(n, np.nan)
    # one float sort of bin x span + value (values >= 0 here, span above the largest): a third of a lexsort's
    # cost; the value comes back within ~1e-12 of itself
    span = float(values.max()) + 1.0
    v = np.sort(bins * span + values)
    v = v - np.floor(v / span) * span
    m = np.bincount(bins, minlength=n + 1)[:n]
    start = np.concatenate(([0], np.cumsum(m)[:-1]))
    out = np.full(n, np.nan)
    has = m > 0
    h = (m[has] - 1) * q
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, m[has] - 1)
    base = start[has]
    out[has] = v[base + lo] + (h - lo) * (v[base + hi] - v[base + lo])
    return out


def summary_and_series(scenario: Scenario, seed: int) -> SummaryWithSeries:
    """``compare``'s measure: the run's summary and, when it kept its tables, its ``run_series``."""
    res = simulate(scenario, seed)
    out = SummaryWithSeries(res.summary())
    if res.requests is not None and res.attempts is not None:
        out.series = run_series(res)
    return out


def series_frame(records: Mapping[tuple[int, int], dict], replications: int | None = None) -> pd.DataFrame | None:
    """The runs' series as one long table (``point``, ``replication``, then ``SERIES_FIELDS``), in (point,
    replication, t) order; None when no run kept one."""
    parts = []
    for (i, r), rec in sorted(records.items()):
        s = rec.get("series")
        if not s or (replications is not None and r >= replications):
            continue
        parts.append(pd.DataFrame({k: np.asarray(s[k], dtype=float) for k in SERIES_FIELDS}).assign(
            point=i, replication=r))
    if not parts:
        return None
    df = pd.concat(parts, ignore_index=True)
    return df[["point", "replication", *SERIES_FIELDS]].astype({"point": "int64", "replication": "int64"})


def merged_series(frame: pd.DataFrame, width: float) -> pd.DataFrame:
    """Per point and bin, merged across replications: counts summed (``runs`` replications), ``success_rate``
    = successes / requests, ``amplification`` = attempts sent / requests arriving, ``spend_per_hour`` and
    ``wasted_per_hour`` averaged over the replications ($/h), ``latency_p95`` the replications' mean of the bin's
    p95 of successes (its ``p95_low``/``p95_high`` the lowest and highest).

    >>> f = pd.DataFrame({"point": 0, "replication": [0, 1], "t": 0.0, "requests": [10.0, 30.0],
    ...                   "ok": [5.0, 27.0], "attempts": [12.0, 36.0], "cost": [1.0, 3.0], "wasted": [0.0, 1.0],
    ...                   "latency_p95": [1.0, 3.0]})
    >>> merged_series(f, 3600.0)[["success_rate", "amplification", "spend_per_hour", "latency_p95"]].values.tolist()
    [[0.8, 1.2, 2.0, 2.0]]
    """
    g = frame.groupby(["point", "t"], sort=True)
    out = g[["requests", "ok", "attempts", "cost", "wasted"]].sum()
    out["runs"] = g["replication"].nunique()
    per_req = out["requests"].where(out["requests"] > 0)
    out["success_rate"] = out["ok"] / per_req
    out["amplification"] = out["attempts"] / per_req
    out["failed"] = out["requests"] - out["ok"]
    out["spend_per_hour"] = out["cost"] / out["runs"] / width * 3600.0
    out["wasted_per_hour"] = out["wasted"] / out["runs"] / width * 3600.0
    lat = g["latency_p95"]
    out["latency_p95"], out["p95_low"], out["p95_high"] = lat.mean(), lat.min(), lat.max()
    return out.reset_index()
