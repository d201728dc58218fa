"""What a client did, attempt by attempt, whether recorded live or simulated: the same columns.

``behaviour_from_trace`` reads a canonical trace (``llmsim serve --record`` or ``LiveServer.log``);
``behaviour_from_result`` reads a simulation Result. Both return a ``Behaviour``: one row per
attempt (request, attempt, sent, end, outcome, status, retry_after, gap = time since the previous
attempt of the same request ended) and one row per logical request (attempts, outcome of the last
attempt, elapsed = last end - first send).

>>> import pandas as pd
>>> tr = pd.DataFrame({"logical_request_id": ["a", "a", "b"], "attempt": [0, 1, 0],
...                    "arrival_s": [0.0, 1.5, 0.2], "latency_s": [1.0, 0.5, 0.3],
...                    "outcome": ["server_error", "ok", "ok"], "http_status": [500, 200, 200],
...                    "retry_after_s": [None, None, None]})
>>> b = behaviour_from_trace(tr)
>>> b.attempts["gap"].dropna().tolist(), b.requests["attempts"].tolist()
([0.5], [2, 1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Behaviour", "behaviour_from_trace", "behaviour_from_result"]


@dataclass
class Behaviour:
    """Attempt and request tables of one client run (live or simulated)."""

    attempts: pd.DataFrame
    requests: pd.DataFrame
    untagged: int = 0  # attempts with no logical request id (each counted as its own request)
    cooldowns: list | None = None  # deployments cooled down, per run (None: not observed)

    def gaps(self, k: int) -> np.ndarray:
        """Waits before attempt ``k`` (k >= 1): its send time minus the end of attempt k - 1."""
        a = self.attempts
        return a.loc[a["attempt"] == k, "gap"].to_numpy(dtype=float)

    def failovers(self) -> np.ndarray:
        """Per retry that reached a provider after an attempt that did: 1 if it went to another one.

        >>> rows = [{"request": 0, "sent": float(t), "end": float(t), "outcome": "rate_limited", "status": 429,
        ...          "retry_after": 1.0, "provider": p} for t, p in enumerate(["a", "b", "b"])]
        >>> _finish(pd.DataFrame(rows)).failovers().tolist()
        [1.0, 0.0]
        """
        a = self.attempts
        if "provider" not in a:
            return np.array([])
        prov = a["provider"].where(a["outcome"] != "rejected")
        prev = prov.groupby(a["request"], sort=False).shift(1)
        sel = (a["attempt"] > 0) & prov.notna() & prev.notna()
        return (prov[sel] != prev[sel]).to_numpy(dtype=float)


def _finish(att: pd.DataFrame, untagged: int = 0) -> Behaviour:
    att = att.sort_values(["request", "sent"], kind="stable", ignore_index=True)
    att["attempt"] = att.groupby("request", sort=False).cumcount()
    prev_end = att.groupby("request", sort=False)["end"].shift(1)
    att["gap"] = att["sent"] - prev_end
    g = att.groupby("request", sort=False)
    req = pd.DataFrame({"attempts": g.size(), "outcome": g["outcome"].last(), "first_sent": g["sent"].min(),
                        "end": g["end"].max()})
    req["elapsed"] = req["end"] - req["first_sent"]
    return Behaviour(att, req.reset_index(), untagged)


def behaviour_from_trace(trace: pd.DataFrame) -> Behaviour:
    """From a canonical trace: attempts grouped by logical_request_id (ordered by send time)."""
    lid = trace["logical_request_id"].astype("string") if "logical_request_id" in trace else None
    untagged = 0
    if lid is None:
        lid = pd.Series([f"row{i}" for i in range(len(trace))], index=trace.index, dtype="string")
        untagged = len(trace)
    else:
        miss = lid.isna()
        untagged = int(miss.sum())
        lid = lid.where(~miss, pd.Series([f"row{i}" for i in range(len(trace))], index=trace.index))
    sent = trace["arrival_s"].to_numpy(dtype=float)
    latency = pd.to_numeric(trace["latency_s"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    att = pd.DataFrame({
        "request": lid.to_numpy(dtype=object),
        "sent": sent,
        "end": sent + latency,
        "outcome": trace["outcome"].astype(str).to_numpy(),
        "status": pd.to_numeric(trace["http_status"], errors="coerce").fillna(0).astype(int).to_numpy(),
        "retry_after": pd.to_numeric(trace["retry_after_s"], errors="coerce").to_numpy(dtype=float, na_value=np.nan),
        "provider": _providers(trace["provider"]) if "provider" in trace else None,
    })
    return _finish(att, untagged)


def _providers(col: pd.Series) -> np.ndarray:
    """Provider names as objects, None where there is none."""
    s = col.astype(object)
    return s.where(s.notna() & (s != ""), None).to_numpy(dtype=object)


def behaviour_from_result(res, offset: int = 0) -> Behaviour:
    """From a simulation Result (requests renumbered from ``offset`` so replications can be pooled)."""
    a = res.attempts
    att = pd.DataFrame({
        "request": a["request_id"].to_numpy(dtype=np.int64) + offset,
        "sent": a["sent"].to_numpy(dtype=float),
        "end": a["end"].to_numpy(dtype=float),
        "outcome": a["outcome"].astype(str).to_numpy(),
        "status": a["status"].to_numpy(dtype=int),
        "retry_after": a["retry_after"].to_numpy(dtype=float),
        "provider": _providers(a["provider"]),
    })
    b = _finish(att)
    ev = getattr(res, "events", None)
    b.cooldowns = [int((ev["kind"] == "cooldown").sum())] if ev is not None and len(ev) else [0]
    return b


def pool(behaviours: list[Behaviour]) -> Behaviour:
    """Several runs as one (request ids must not collide)."""
    cool = [c for b in behaviours for c in (b.cooldowns or [])]
    return Behaviour(pd.concat([b.attempts for b in behaviours], ignore_index=True),
                     pd.concat([b.requests for b in behaviours], ignore_index=True),
                     sum(b.untagged for b in behaviours), cool if any(b.cooldowns for b in behaviours) else None)
