"""Goodput collapse and recovery of one run, from plain arrays (docs/stability.md has the definitions).

Goodput share = successful completions per second / arrivals per second, per ``bin_width`` bin. A run has
**collapsed** when the share stays below ``share`` for at least ``min_duration`` (after the warm-up); it has
**recovered** at the start of the first later stretch where the share stays at or above ``share`` for
``recovery_window``. ``time_to_recover`` counts from the end of the last trigger (incident, capacity dip,
load burst) that began before the collapse ended (or from the collapse when no trigger is known). A collapse
is **metastable** when, ``metastable_after`` seconds after the trigger ended, goodput is still collapsed while
the offered load is still at least ``load_share`` of what it was before the trigger.

This module lives in ``core`` (numpy only) so that ``Result.summary()`` can use it: ``results`` sits below
``analysis`` in the layers. ``llmsim.analysis.collapse`` is the user-facing side (whole Results, other
criteria, timelines).

>>> import numpy as np
>>> arrival = np.arange(0.0, 600.0, 0.1)                     # 10 requests/s
>>> broken = (arrival >= 100) & (arrival < 400)              # nothing succeeds for 300 s
>>> v = detect_collapse(arrival, arrival + 0.05, ~broken, 600.0, triggers=[(100.0, 130.0)])
>>> v["collapsed"], v["recovered_at"], v["time_to_recover"], v["metastable"]
(1.0, 400.0, 270.0, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CollapseCriteria", "COLLAPSE_METRICS", "detect_collapse", "collapse_bins", "collapse_from_counts",
           "trigger_windows"]

#: the summary metrics this module adds (docs/stability.md)
COLLAPSE_METRICS = ("collapsed", "recovered_at", "time_to_recover", "metastable")


@dataclass(frozen=True)
class CollapseCriteria:
    """The named thresholds of collapse detection (seconds and shares).

    >>> CollapseCriteria().share, CollapseCriteria(min_duration=60).min_duration
    (0.5, 60)
    """

    share: float = 0.5  #: goodput below this share of the offered load counts as collapsed
    min_duration: float = 30.0  #: ... for at least this long
    recovery_window: float = 30.0  #: recovered once the share stays >= ``share`` this long
    bin_width: float = 5.0  #: width of the goodput and offered-load bins
    metastable_after: float = 60.0  #: still collapsed this long after the trigger ended -> metastable
    load_share: float = 0.8  #: ... while offered load stayed at least this share of its pre-trigger level


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the runs of True in ``flags``."""
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _first_collapse(bad: np.ndarray, need: int) -> tuple[int, int] | None:
    for start, end in _runs(bad):
        if end - start >= need:
            return start, end
    return None


def _recovery_bin(good: np.ndarray, after: int, need: int) -> int | None:
    """First bin >= ``after`` that starts ``need`` good bins in a row (or good bins up to the end, if >= need)."""
    for start, end in _runs(good[after:]):
        if end - start >= need:
            return after + start
    return None


def _healthy(warmup: float) -> dict[str, float]:
    return {"collapsed": 0.0, "recovered_at": float(warmup), "time_to_recover": 0.0, "metastable": 0.0}


def detect_collapse(arrival: np.ndarray, end: np.ndarray, ok: np.ndarray, horizon: float, warmup: float = 0.0,
                    triggers: list[tuple[float, float]] | None = None,
                    criteria: CollapseCriteria | None = None) -> dict[str, float]:
    """``collapsed``, ``recovered_at``, ``time_to_recover``, ``metastable`` (floats: 1/0, seconds or NaN) of
    one run: request arrival and end times, which requests succeeded, the horizon, and the trigger windows.

    Not collapsed: recovered_at = the warm-up's end (healthy all along; a number, so that paired comparisons of
    healthy runs give 0, not NaN), time_to_recover 0. Collapsed and never recovered before the horizon:
    recovered_at and time_to_recover NaN."""
    c = criteria or CollapseCriteria()
    edges = collapse_bins(horizon, warmup, c)
    if len(edges) < 2:
        return _healthy(warmup)
    offered = np.histogram(arrival, edges)[0].astype(float)
    goodput = np.histogram(end[ok], edges)[0].astype(float)
    return collapse_from_counts(offered, goodput, edges, horizon, warmup, triggers, c)


def collapse_bins(horizon: float, warmup: float = 0.0, criteria: CollapseCriteria | None = None) -> np.ndarray:
    """The bin edges of collapse detection: from the warm-up's end to the horizon, ``bin_width`` apart."""
    return np.arange(warmup, horizon + 1e-9, (criteria or CollapseCriteria()).bin_width)


def collapse_from_counts(offered: np.ndarray, goodput: np.ndarray, edges: np.ndarray, horizon: float,
                         warmup: float = 0.0, triggers: list[tuple[float, float]] | None = None,
                         criteria: CollapseCriteria | None = None) -> dict[str, float]:
    """``detect_collapse`` from the counts per bin (arrivals, successful ends) on ``collapse_bins`` edges:
    what a summary-only run accumulates instead of keeping every request."""
    c = criteria or CollapseCriteria()
    w = c.bin_width
    if len(edges) < 2:
        return _healthy(warmup)
    bad = goodput < c.share * offered
    first = _first_collapse(bad, int(np.ceil(c.min_duration / w)))
    if first is None:
        return _healthy(warmup)
    start, stop = first
    t_collapse = float(edges[start])
    rec = _recovery_bin(~bad, stop, int(np.ceil(c.recovery_window / w)))
    recovered_at = float(edges[rec]) if rec is not None else float("nan")
    past = [b for a, b in (triggers or []) if a <= (recovered_at if rec is not None else horizon)]
    trigger_end = max(past) if past else None
    origin = t_collapse if trigger_end is None else trigger_end
    ttr = max(0.0, recovered_at - origin) if rec is not None else float("nan")
    return {"collapsed": 1.0, "recovered_at": recovered_at, "time_to_recover": ttr,
            "metastable": float(_metastable(trigger_end, recovered_at, offered, edges, c, horizon))}


def _metastable(trigger_end: float | None, recovered_at: float, offered: np.ndarray, edges: np.ndarray,
                c: CollapseCriteria, horizon: float) -> bool:
    """Still collapsed ``metastable_after`` s past the trigger's end, with the offered load still up."""
    if trigger_end is None:
        return False
    check = trigger_end + c.metastable_after
    if check > horizon or recovered_at <= check:  # recovered_at NaN compares False: never recovered
        return False
    starts = edges[:-1]
    before = offered[starts < trigger_end]
    after = offered[(starts >= trigger_end) & (starts < check)]
    if not len(before) or not len(after):
        return False
    return bool(after.mean() >= c.load_share * before.mean())


def trigger_windows(kind: np.ndarray, time: np.ndarray, number: np.ndarray, subject: np.ndarray, horizon: float
                    ) -> list[tuple[float, float]]:
    """Trigger windows from an event log's columns: each incident (``incident_start`` .. ``incident_end``,
    matched in order) and each stretch where a provider's capacity is below its largest value.

    >>> trigger_windows(np.array(["capacity", "incident_start", "capacity", "incident_end", "capacity"]),
    ...                 np.array([0.0, 60.0, 60.0, 90.0, 90.0]), np.array([10.0, np.nan, 5.0, np.nan, 10.0]),
    ...                 np.array(["p"] * 5), 600.0)
    [(60.0, 90.0), (60.0, 90.0)]
    """
    starts = np.sort(time[kind == "incident_start"])
    ends = np.sort(time[kind == "incident_end"])
    out = [(float(a), float(b)) for a, b in zip(starts, ends)]
    for name in np.unique(subject[kind == "capacity"]):
        cap = (kind == "capacity") & (subject == name)
        order = np.argsort(time[cap], kind="stable")
        t, v = time[cap][order], number[cap][order]
        for a, b in _runs(v < v.max()):
            out.append((float(t[a]), float(t[b]) if b < len(t) else horizon))
    return out
