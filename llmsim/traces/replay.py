"""Replay a trace as the workload: exact arrivals and sizes, with window, time scaling, rate
multiplier and looping.

Simulated time 0 is the start of the window (default: the trace's first arrival). Where the trace
records logical requests (``logical_request_id``), only their first attempts are replayed, sized by
the first attempt's input and the largest output any attempt delivered, so the simulated client
policy generates its own retries.

- ``time_scale``: multiplies every time offset (2 = half the rate, 0.5 = twice the rate).
- ``rate_multiplier`` m: m < 1 keeps each request with probability m (thinning); m >= 1 superposes
  floor(m) copies plus one thinned copy for the fraction, each extra copy shifted by U(0, copy_shift)
  seconds and wrapped around the window, so the rate curve keeps its shape.
- ``loop``: repeat the window back to back until the horizon.

Randomness (thinning, shifts) comes from the run's seed through a named stream, so replays are
deterministic and the same for every client policy.

>>> import pandas as pd
>>> tr = pd.DataFrame({"arrival_s": [5.0, 6.0, 9.0], "input_tokens": [10, 20, 30], "output_tokens": [1, 2, 3]})
>>> a, info = replay_arrivals(tr, ReplayOptions(window=(1.0, 10.0)), seed=0)
>>> a.times.tolist(), a.input_tokens.tolist(), info["requests"]
([0.0, 3.0], [20, 30], 2)
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from llmsim.config.workload import ReplayOptions
from llmsim.core.streams import Streams
from llmsim.engine.arrivals import ExplicitArrivals
from llmsim.traces.load import iter_trace

__all__ = ["ReplayOptions", "replay_arrivals", "replay_file", "first_attempts", "REPLAY_COLUMNS"]

REPLAY_COLUMNS = ["arrival_s", "input_tokens", "output_tokens", "cached_input_tokens", "logical_request_id"]


def first_attempts(trace: pd.DataFrame) -> pd.DataFrame:
    """One row per logical request: its first attempt, with the largest output any attempt delivered.

    Rows without a logical_request_id are their own logical request.

    >>> t = pd.DataFrame({"arrival_s": [0.0, 1.0, 2.0], "input_tokens": [5, 5, 7], "output_tokens": [0, 40, 9],
    ...                   "logical_request_id": ["a", "a", None]})
    >>> first_attempts(t)[["arrival_s", "output_tokens"]].values.tolist()
    [[0.0, 40.0], [2.0, 9.0]]
    """
    if "logical_request_id" not in trace or trace["logical_request_id"].isna().all():
        return trace
    lid = trace["logical_request_id"]
    has = lid.notna().to_numpy()
    out_max = trace.loc[has, "output_tokens"].groupby(lid[has]).max()
    keep = ~has | ~lid.duplicated().to_numpy()
    res = trace.loc[keep].copy()
    sel = res["logical_request_id"].notna()
    res.loc[sel, "output_tokens"] = res.loc[sel, "logical_request_id"].map(out_max).to_numpy()
    return res


def replay_arrivals(trace: pd.DataFrame, options: ReplayOptions | None = None, seed: int = 0,
                    horizon: float | None = None) -> tuple[ExplicitArrivals, dict]:
    """ExplicitArrivals for the engine, plus counts (rows, requests, dropped past the horizon, copies)."""
    opt = options or ReplayOptions()
    info = {"rows": len(trace)}
    tr = first_attempts(trace) if opt.first_attempts else trace
    info["logical_requests"] = len(tr)
    t, sizes, span = _windowed(*_columns(tr), opt.window)
    t = t * opt.time_scale
    span *= opt.time_scale
    idx, times = _copies(t, span, opt, Streams(seed).rng("trace-replay"))
    info["copies"] = opt.rate_multiplier
    if opt.loop and horizon is not None and span > 0 and len(times):
        idx, times = _looped(idx, times, span, horizon)
    order = np.argsort(times, kind="stable")
    times, idx = times[order], idx[order]
    if horizon is not None:
        inside = times < horizon
        info["dropped_after_horizon"] = int((~inside).sum())
        times, idx = times[inside], idx[inside]
    info["requests"] = len(times)
    inp, out, cached = sizes
    arr = ExplicitArrivals.from_arrays(times, inp[idx], out[idx], None if cached is None else cached[idx])
    return arr, info


def _columns(tr: pd.DataFrame) -> tuple[np.ndarray, tuple]:
    """Arrival offsets from the first arrival, and the (input, output, cached or None) token arrays."""
    t_all = tr["arrival_s"].to_numpy(dtype=float)
    t0 = float(t_all.min()) if len(t_all) else 0.0
    inp = tr["input_tokens"].to_numpy(dtype=np.int64)
    out = tr["output_tokens"].to_numpy(dtype=np.int64)
    cached = tr["cached_input_tokens"] if "cached_input_tokens" in tr else None
    cached = None if cached is None or cached.isna().all() else cached.fillna(0).to_numpy(dtype=np.int64)
    return t_all - t0, (inp, out, cached)


def _windowed(t: np.ndarray, sizes: tuple, window: tuple | None) -> tuple[np.ndarray, tuple, float]:
    """The arrivals inside the window, shifted to start at 0, and the span they cover."""
    if window is None:
        gap = float(np.mean(np.diff(t))) if len(t) > 1 else 1.0
        return t, sizes, (float(t[-1]) + gap) if len(t) else 0.0
    a, b = window
    sel = (t >= a) & (t < b)
    inp, out, cached = sizes
    return t[sel] - a, (inp[sel], out[sel], None if cached is None else cached[sel]), b - a


def _copies(t: np.ndarray, span: float, opt: ReplayOptions, rng) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and times after the rate multiplier: thinned below 1, shifted extra copies above."""
    m = opt.rate_multiplier
    n = len(t)
    whole, frac = int(math.floor(m)), m - math.floor(m)
    if whole == 0:
        keep = rng.random(n) < m
        return np.flatnonzero(keep), t[keep]
    idx_parts, time_parts = [np.arange(n)], [t]
    extra = [1.0] * (whole - 1) + ([frac] if frac > 1e-12 else [])
    for p in extra:
        keep = rng.random(n) < p if p < 1.0 else np.ones(n, bool)
        tt = t[keep] + rng.uniform(0.0, opt.copy_shift)
        idx_parts.append(np.flatnonzero(keep))
        time_parts.append(np.mod(tt, span) if span > 0 else tt)
    return np.concatenate(idx_parts), np.concatenate(time_parts)


def _looped(idx: np.ndarray, times: np.ndarray, span: float, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """The window repeated back to back until the horizon."""
    reps = int(math.ceil(horizon / span))
    return np.tile(idx, reps), np.concatenate([times + r * span for r in range(reps)])


def replay_file(path: str | Path, options: ReplayOptions | None = None, seed: int = 0,
                horizon: float | None = None, format: str | None = None, mapping: dict | None = None,
                time_unit: str | None = None) -> tuple[ExplicitArrivals, dict]:
    """Like ``replay_arrivals`` but reads the file chunk by chunk, keeping only the replay columns
    (a few million rows fit in little memory). The lean table of the last files read is kept, so the
    seeds, policies and sweep points of one experiment parse the file once."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size, format,
           None if mapping is None else tuple(sorted(mapping.items())), time_unit)
    return replay_arrivals(_lean_trace(key), options, seed, horizon)


@functools.lru_cache(maxsize=2)
def _lean_trace(key: tuple) -> pd.DataFrame:
    path, _, _, format, mapping, time_unit = key
    parts = [df[REPLAY_COLUMNS] for df in iter_trace(path, format, None if mapping is None else dict(mapping),
                                                       time_unit)]
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
