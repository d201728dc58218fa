"""Result of one run: request, attempt and event tables, summary metrics, time series, save/load.

>>> import llmsim
>>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "10m", "warmup": "1m"}), seed=1)
>>> s = res.summary()
>>> bool(0.0 <= s["success_rate"] <= 1.0)
True
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from llmsim.config.scenario import Scenario
from llmsim.core.goodput_collapse import COLLAPSE_METRICS, detect_collapse, trigger_windows
from llmsim.core.outcomes import LOCAL_OUTCOMES
from llmsim.core.units import parse_duration
from llmsim.engine.recorder import EVENT_COLUMNS, event_frame

__all__ = ["Result", "SUMMARY_METRICS", "EVENT_COLUMNS", "summarize", "upgrade_events"]

SUMMARY_METRICS = (
    "requests", "success_rate", "latency_p50", "latency_p95", "latency_p99", "latency_mean", "ttft_p50", "ttft_p95",
    "attempts_per_request", "rate_limited_share", "overloaded_share", "timeout_share", "server_error_share",
    "rejected_share", "cost_total", "cost_per_success", "wasted_cost", "goodput", "breaker_opens",
    "invalid_delivered",
) + COLLAPSE_METRICS
#: 2: typed events (``number``, ``session_id``); folders written as 1 are upgraded when loaded
_FORMAT_VERSION = 2
#: event kinds whose format-1 ``value`` was a number written as text
_NUMBER_KINDS = ("capacity", "budget_exhausted", "spend_alert", "contract_alert")


def _quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if len(values) else float("nan")


def summarize(requests: pd.DataFrame, attempts: pd.DataFrame, events: pd.DataFrame, warmup: float,
              horizon: float) -> pd.Series:
    """Summary metrics over requests that arrived after the warm-up (and their attempts).

    Latency and TTFT quantiles are over successful requests; the *_share metrics are shares of the
    attempts that reached a provider; attempts_per_request counts those attempts per request."""
    req = requests[requests["arrival"] >= warmup]
    n = len(req)
    ok = req[req["outcome"] == "ok"]
    lat = ok["latency"].to_numpy()
    ttft = ok["ttft"].to_numpy()
    measured = attempts["request_id"].isin(req["request_id"]) if warmup > 0 else np.ones(len(attempts), bool)
    att = attempts[measured]
    outcome = att["outcome"].astype(str)
    sent = ~outcome.isin(LOCAL_OUTCOMES)
    n_sent = int(sent.sum())

    def share(name: str) -> float:
        return float((outcome[sent] == name).sum() / n_sent) if n_sent else float("nan")

    cost_total = float(att["cost"].sum())
    n_ok = len(ok)
    opens = events[(events["kind"] == "breaker") & (events["value"] == "open") & (events["time"] >= warmup)]
    return pd.Series({
        "requests": float(n),
        "success_rate": n_ok / n if n else float("nan"),
        "latency_p50": _quantile(lat, 0.50),
        "latency_p95": _quantile(lat, 0.95),
        "latency_p99": _quantile(lat, 0.99),
        "latency_mean": float(lat.mean()) if n_ok else float("nan"),
        "ttft_p50": _quantile(ttft, 0.50),
        "ttft_p95": _quantile(ttft, 0.95),
        "attempts_per_request": n_sent / n if n else float("nan"),
        "rate_limited_share": share("rate_limited"),
        "overloaded_share": share("overloaded"),
        "timeout_share": share("timeout"),
        "server_error_share": share("server_error"),
        "rejected_share": float((outcome == "rejected").sum() / len(att)) if len(att) else float("nan"),
        "cost_total": cost_total,
        "cost_per_success": cost_total / n_ok if n_ok else float("nan"),
        "wasted_cost": float(req["wasted_cost"].sum()),
        "goodput": n_ok / (horizon - warmup),
        "breaker_opens": float(len(opens)),
        "invalid_delivered": float((req["outcome"] == "invalid").sum()),
    }, name="value")


def _with_provisioned_fee(summary: pd.Series, sc: Scenario) -> pd.Series:
    """``cost_total`` and ``cost_per_success`` plus the hourly fee of provisioned providers over the measured
    window (billed whether used or not; docs/providers.md). Unchanged without provisioned providers."""
    fee = sum(p.provisioned.fee(sc.horizon - sc.warmup) for p in sc.providers if p.provisioned is not None)
    if fee:
        summary = summary.copy()
        summary["cost_total"] += fee
        n_ok = round(summary["requests"] * summary["success_rate"]) if summary["requests"] else 0
        summary["cost_per_success"] = summary["cost_total"] / n_ok if n_ok else float("nan")
    return summary


@dataclass
class Result:
    """Tables of one simulation run. ``requests``: one row per logical request; ``attempts``: one row
    per attempt sent to (or refused before) a provider; ``events``: the event log (``EVENT_COLUMNS``:
    capacity, incident, breaker, routing, session, spend and contract events; docs/model.md)."""

    scenario: Scenario
    seed: int
    requests: pd.DataFrame
    attempts: pd.DataFrame
    events: pd.DataFrame = field(default_factory=lambda: event_frame(*((),) * len(EVENT_COLUMNS)))

    def summary(self) -> pd.Series:
        """The summary metrics (``SUMMARY_METRICS``, docs/model.md), warm-up excluded; the collapse ones:
        docs/stability.md."""
        sc, req, ev = self.scenario, self.requests, self.events
        triggers = trigger_windows(*(ev[k].to_numpy() for k in ("kind", "time", "number", "subject")), sc.horizon)
        collapse = detect_collapse(req["arrival"].to_numpy(), req["end"].to_numpy(),
                                   (req["outcome"] == "ok").to_numpy(), sc.horizon, sc.warmup, triggers)
        out = pd.concat([summarize(req, self.attempts, ev, sc.warmup, sc.horizon), pd.Series(collapse, name="value")])
        return _with_provisioned_fee(out, sc)

    def timeseries(self, freq: str | float = "1min") -> pd.DataFrame:
        """Per time bin (index ``time`` = bin start in seconds): arrivals, successes, latency p50/p95 of
        requests arriving in the bin, attempts by outcome sent in the bin, cost, and provider capacity."""
        width = parse_duration(freq)
        if width <= 0:
            raise ValueError("freq must be > 0")
        end = max(self.scenario.horizon, float(self.requests["end"].max()) if len(self.requests) else 0.0)
        edges = np.arange(0.0, end + width, width)
        index = pd.Index(edges[:-1], name="time")
        req = self.requests
        rbin = pd.Series(np.floor(req["arrival"].to_numpy() / width) * width, index=req.index)
        out = pd.DataFrame(index=index)
        out["requests"] = req.groupby(rbin).size().reindex(index, fill_value=0)
        is_ok = req["outcome"] == "ok"
        out["ok"] = is_ok.groupby(rbin).sum().reindex(index, fill_value=0)
        out["success_rate"] = out["ok"] / out["requests"].where(out["requests"] > 0)
        okl = req.loc[is_ok, "latency"].groupby(rbin[is_ok])
        out["latency_p50"] = okl.quantile(0.5).reindex(index)
        out["latency_p95"] = okl.quantile(0.95).reindex(index)
        att = self.attempts
        abin = np.floor(att["sent"].to_numpy() / width) * width
        counts = pd.crosstab(abin, att["outcome"].astype(str)).reindex(index, fill_value=0)
        out["attempts"] = counts.sum(axis=1)
        for name in ("ok", "rate_limited", "overloaded", "server_error", "timeout", "deadline", "rejected",
                     "invalid", "spend_blocked"):
            out[f"attempts_{name}"] = counts[name] if name in counts else 0
        out["cost"] = att.groupby(abin)["cost"].sum().reindex(index, fill_value=0.0).to_numpy()
        cap = self.events[self.events["kind"] == "capacity"]
        for name, g in cap.groupby("subject"):
            s = pd.Series(g["number"].to_numpy(), index=g["time"].to_numpy()).sort_index()
            s = s[~s.index.duplicated(keep="last")]
            out[f"capacity_{name}"] = s.reindex(index, method="ffill").to_numpy()
        return out

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write requests/attempts/events as parquet plus result.json, atomically (all or nothing)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            for name in ("requests", "attempts", "events"):
                getattr(self, name).to_parquet(tmp / f"{name}.parquet", index=False)
            meta = {
                "format": _FORMAT_VERSION,
                "seed": self.seed,
                "scenario": self.scenario.model_dump(mode="json"),
                "summary": {k: (None if pd.isna(v) else float(v)) for k, v in self.summary().items()},
            }
            (tmp / "result.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
            _swap_into_place(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | Path) -> Result:
        """Read a folder written by ``save``."""
        src = Path(path)
        meta = json.loads((src / "result.json").read_text(encoding="utf-8"))
        tables = {name: pd.read_parquet(src / f"{name}.parquet") for name in ("requests", "attempts", "events")}
        events = tables["events"] if meta.get("format", 1) >= 2 else upgrade_events(tables["events"])
        return cls(Scenario.model_validate(meta["scenario"]), int(meta["seed"]), tables["requests"],
                   tables["attempts"], events)


def upgrade_events(old: pd.DataFrame) -> pd.DataFrame:
    """A format-1 event table (``time``, ``kind``, ``subject``, ``value``, all values text) in the typed
    schema: numbers move to ``number``; session events ``"<id>[ runaway]"`` / ``"<id> <reason>"``
    become ``session_id`` plus the value ``runaway`` (or empty) / the reason.

    >>> old = pd.DataFrame({"time": [0.0, 5.0, 9.0], "kind": ["capacity", "session_start", "session_end"],
    ...                     "subject": ["p", "chat", "chat"], "value": ["8", "3 runaway", "3 done"]})
    >>> upgrade_events(old)[["value", "number", "session_id"]].values.tolist()
    [['', 8.0, -1], ['runaway', nan, 3], ['done', nan, 3]]
    """
    kind = old["kind"].astype(str).to_numpy()
    value = old["value"].astype(str).to_numpy().copy()
    number = np.full(len(old), np.nan)
    session = np.full(len(old), -1, dtype=np.int64)
    nums = np.isin(kind, _NUMBER_KINDS)
    number[nums] = value[nums].astype(float)
    value[nums] = ""
    sess = np.isin(kind, ("session_start", "session_end"))
    for i in np.flatnonzero(sess):
        sid, _, rest = value[i].partition(" ")
        session[i] = int(sid)
        value[i] = rest
    return event_frame(old["time"].to_numpy(dtype=float), kind, old["subject"].astype(str).to_numpy(), value, number,
                       session)


def _swap_into_place(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(old)
    os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
