"""Did goodput collapse, did it come back, and was the collapse metastable? (docs/stability.md)

The definitions and their named thresholds (``CollapseCriteria``) are those of ``llmsim.core.goodput_collapse``, which
``Result.summary()`` uses for its ``collapsed``, ``recovered_at``, ``time_to_recover`` and ``metastable``
metrics; here they apply to whole Results with other criteria, and give the per-bin timeline behind them.

>>> import llmsim
>>> sc = llmsim.Scenario.model_validate({"horizon": 300, "workload": {"arrivals": {"rate": "5/s"}},
...     "providers": [{"name": "p", "capacity": {"slots": 10}, "latency": {"service": {"dist": "fixed", "value": 1}},
...                    "incidents": [{"start": 60, "duration": 30, "capacity": 0.1}]}]})
>>> v = collapse_of(llmsim.simulate(sc, seed=1))
>>> v["collapsed"], v["recovered_at"], v["time_to_recover"], v["metastable"]  # the backlog drains at once
(1.0, 90.0, 0.0, 0.0)
>>> goodput_timeline(llmsim.simulate(sc, seed=1)).columns.tolist()
['time', 'offered', 'goodput', 'share', 'collapsed', 'trigger']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llmsim.core.goodput_collapse import COLLAPSE_METRICS, CollapseCriteria, detect_collapse, trigger_windows
from llmsim.results import Result

__all__ = ["CollapseCriteria", "COLLAPSE_METRICS", "collapse_of", "triggers_of", "goodput_timeline",
           "collapse_sentence"]


def triggers_of(result: Result) -> list[tuple[float, float]]:
    """The trigger windows of a run: its incidents and the stretches of reduced provider capacity."""
    ev = result.events
    return trigger_windows(*(ev[k].to_numpy() for k in ("kind", "time", "number", "subject")),
                           result.scenario.horizon)


def collapse_of(result: Result, criteria: CollapseCriteria | None = None,
                triggers: list[tuple[float, float]] | None = None) -> dict[str, float]:
    """The collapse metrics of ``result`` under ``criteria``; ``triggers`` default to ``triggers_of(result)``."""
    req, sc = result.requests, result.scenario
    return detect_collapse(req["arrival"].to_numpy(), req["end"].to_numpy(), (req["outcome"] == "ok").to_numpy(),
                           sc.horizon, sc.warmup, triggers_of(result) if triggers is None else triggers, criteria)


def goodput_timeline(result: Result, criteria: CollapseCriteria | None = None,
                     triggers: list[tuple[float, float]] | None = None) -> pd.DataFrame:
    """Per ``criteria.bin_width`` bin from time 0 to the horizon: offered load and goodput (per second), their
    ``share``, whether the bin is below the collapse share, and whether a trigger is active."""
    c = criteria or CollapseCriteria()
    req, horizon = result.requests, result.scenario.horizon
    edges = np.arange(0.0, horizon + 1e-9, c.bin_width)
    ok = (req["outcome"] == "ok").to_numpy()
    offered = np.histogram(req["arrival"].to_numpy(), edges)[0] / c.bin_width
    goodput = np.histogram(req["end"].to_numpy()[ok], edges)[0] / c.bin_width
    starts = edges[:-1]
    windows = triggers_of(result) if triggers is None else triggers
    active = np.zeros(len(starts), bool)
    for a, b in windows:
        active |= (starts + c.bin_width > a) & (starts < b)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(offered > 0, goodput / offered, np.nan)
    return pd.DataFrame({"time": starts, "offered": offered, "goodput": goodput, "share": share,
                         "collapsed": goodput < c.share * offered, "trigger": active})


def collapse_sentence(summary) -> str:
    """One line for a report from a summary's collapse metrics.

    >>> collapse_sentence({"collapsed": 1.0, "recovered_at": float("nan"), "time_to_recover": float("nan"),
    ...                    "metastable": 1.0})
    'Goodput collapsed and did not recover: metastable (still collapsed after the trigger ended, load unchanged).'
    """
    if not summary.get("collapsed"):
        return "Goodput did not collapse (docs/stability.md)."
    if summary.get("metastable"):
        tail = "metastable (still collapsed after the trigger ended, load unchanged)."
    else:
        tail = "not metastable."
    if np.isnan(summary.get("recovered_at", np.nan)):
        return f"Goodput collapsed and did not recover: {tail}"
    return (f"Goodput collapsed and recovered at {summary['recovered_at']:.0f} s, "
            f"{summary['time_to_recover']:.0f} s after the trigger ended: {tail}")
