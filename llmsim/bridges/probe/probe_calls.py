"""Logical calls in one run of the command: attempts grouped by request body and timing, and how many were
in flight at once.

A retry sends the same body as the attempt it repeats and starts after that attempt ended. So an attempt
joins the open call with its body whose last attempt failed and ended before it was sent; otherwise it
starts a new call (a different body, an answered call sent again, or the same body sent concurrently).

>>> import pandas as pd
>>> t = pd.DataFrame({"arrival_s": [0.0, 0.5, 0.6, 1.5], "latency_s": [0.1, 0.1, 0.1, 0.1],
...                   "outcome": ["rate_limited", "ok", "rate_limited", "ok"], "body": ["a", "a", "b", "b"]})
>>> [list(c.index) for c in logical_calls(t)]
[[0, 1], [2, 3]]
>>> peak_in_flight(t)
1
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["logical_calls", "peak_in_flight"]


def logical_calls(run: pd.DataFrame) -> list[pd.DataFrame]:
    """The run's attempts (sorted by send time) grouped into logical calls, in order of their first attempt."""
    if run.empty:
        return []
    body = run["body"] if "body" in run else pd.Series([""] * len(run), index=run.index)
    calls: list[list] = []
    open_by_body: dict[str, list[int]] = {}  # body -> indices (into calls) of calls that may still retry
    for idx, sent, outcome, b in zip(run.index, run["arrival_s"], run["outcome"], body):
        home = None
        for c in open_by_body.get(b, []):
            last = calls[c][-1]
            if run.at[last, "arrival_s"] + run.at[last, "latency_s"] <= sent + 1e-6:
                home = c
                break
        if home is None:
            calls.append([])
            home = len(calls) - 1
            open_by_body.setdefault(b, []).append(home)
        calls[home].append(idx)
        if outcome == "ok":
            open_by_body[b].remove(home)
    return [run.loc[c] for c in calls]


def peak_in_flight(run: pd.DataFrame) -> int:
    """The most attempts of ``run`` in flight at the same moment."""
    if run.empty:
        return 0
    start = run["arrival_s"].to_numpy(float)
    end = start + run["latency_s"].to_numpy(float)
    events = np.concatenate([np.c_[start, np.ones_like(start)], np.c_[end, -np.ones_like(end)]])
    order = np.lexsort((events[:, 1], events[:, 0]))
    return int(np.max(np.cumsum(events[order, 1])))
