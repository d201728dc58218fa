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
from llmsim.core.goodput_collapse import COLLAPSE_METRICS, collapse_from_counts, detect_collapse, trigger_windows
from llmsim.core.outcomes import LOCAL_OUTCOMES
from llmsim.core.units import parse_duration
from llmsim.engine.recorder import EVENT_COLUMNS, event_frame
from llmsim.engine.streaming import StreamedSummary

__all__ = ["Result", "SUMMARY_METRICS", "EVENT_COLUMNS", "summarize", "summary_metrics", "upgrade_events",
           "ExactValues", "outcome_codes", "breaker_opens"]

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


class ExactValues:
    """Quantiles and mean of a sample held in full (the other kind: ``LogHistogram``, streamed)."""

    def __init__(self, values: np.ndarray):
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def quantile(self, q: float) -> float:
        return _quantile(self.values, q)

    def mean(self) -> float:
        return float(self.values.mean()) if len(self.values) else float("nan")


def outcome_codes(col: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(codes, categories) of an outcome column: views of a categorical column, no string per row."""
    if not isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype("category")
    return col.cat.codes.to_numpy(), [str(c) for c in col.cat.categories]


def _by_name(codes: np.ndarray, names: list[str]) -> dict[str, int]:
    """How many rows hold each outcome (codes -1, missing values, are not counted)."""
    counts = np.bincount(codes[codes >= 0].astype(np.intp), minlength=len(names))
    return {name: int(c) for name, c in zip(names, counts, strict=True)}


def summary_metrics(n: int, ok_latency, ok_ttft, attempt_outcomes: dict[str, int], cost_total: float,
                    wasted_cost: float, span: float, breaker_opens: int, invalid: int) -> dict[str, float]:
    """``SUMMARY_METRICS`` from their ingredients over the measured requests (``n``) and their attempts:
    latency and TTFT of the successful ones (``ExactValues`` or a streamed histogram), attempt counts
    by outcome, money, the measured span and the breaker openings. Exact and streamed summaries share it.

    >>> m = summary_metrics(2, ExactValues(np.array([1.0, 3.0])), ExactValues(np.array([0.5, 0.5])),
    ...                     {"ok": 2, "rate_limited": 2}, 1.0, 0.25, 10.0, 0, 0)
    >>> m["success_rate"], m["latency_p50"], m["rate_limited_share"], m["goodput"]
    (1.0, 2.0, 0.5, 0.2)
    """
    nan = float("nan")
    n_ok = len(ok_latency)
    n_att = sum(attempt_outcomes.values())
    n_sent = n_att - sum(attempt_outcomes.get(o, 0) for o in LOCAL_OUTCOMES)

    def share(name: str) -> float:
        return attempt_outcomes.get(name, 0) / n_sent if n_sent else nan

    return {
        "requests": float(n),
        "success_rate": n_ok / n if n else nan,
        "latency_p50": ok_latency.quantile(0.50),
        "latency_p95": ok_latency.quantile(0.95),
        "latency_p99": ok_latency.quantile(0.99),
        "latency_mean": ok_latency.mean(),
        "ttft_p50": ok_ttft.quantile(0.50),
        "ttft_p95": ok_ttft.quantile(0.95),
        "attempts_per_request": n_sent / n if n else nan,
        "rate_limited_share": share("rate_limited"),
        "overloaded_share": share("overloaded"),
        "timeout_share": share("timeout"),
        "server_error_share": share("server_error"),
        "rejected_share": attempt_outcomes.get("rejected", 0) / n_att if n_att else nan,
        "cost_total": float(cost_total),
        "cost_per_success": cost_total / n_ok if n_ok else nan,
        "wasted_cost": float(wasted_cost),
        "goodput": n_ok / span,
        "breaker_opens": float(breaker_opens),
        "invalid_delivered": float(invalid),
    }


def _measured_attempts(requests: pd.DataFrame, measured: np.ndarray, a_req: np.ndarray, warmup: float) -> np.ndarray:
    """Which attempts belong to a measured request (by id; both tables sorted by id, as built)."""
    if warmup <= 0:
        return np.ones(len(a_req), bool)
    r_id = requests["request_id"].to_numpy()
    if len(r_id) == 0:
        return np.zeros(len(a_req), bool)
    if np.all(r_id[1:] > r_id[:-1]):  # sorted and unique: look each attempt's request up
        pos = np.minimum(np.searchsorted(r_id, a_req), len(r_id) - 1)
        return measured[pos] & (r_id[pos] == a_req)
    return np.isin(a_req, r_id[measured])


def breaker_opens(events: pd.DataFrame, warmup: float) -> int:
    """Circuit-breaker openings after the warm-up."""
    return int(((events["kind"] == "breaker") & (events["value"] == "open") & (events["time"] >= warmup)).sum())


def summarize(requests: pd.DataFrame, attempts: pd.DataFrame, events: pd.DataFrame, warmup: float,
              horizon: float) -> pd.Series:
    """Summary metrics over requests that arrived after the warm-up (and their attempts).

    Latency and TTFT quantiles are over successful requests; the *_share metrics are shares of the
    attempts that reached a provider; attempts_per_request counts those attempts per request.
    Works on column views (outcome codes, boolean masks): no copy of a table."""
    measured = requests["arrival"].to_numpy() >= warmup
    r_codes, r_names = outcome_codes(requests["outcome"])
    ok = measured & (r_codes == (r_names.index("ok") if "ok" in r_names else -2))
    a_codes, a_names = outcome_codes(attempts["outcome"])
    in_att = _measured_attempts(requests, measured, attempts["request_id"].to_numpy(), warmup)
    if not in_att.all():
        a_codes = a_codes[in_att]
    cost = attempts["cost"].to_numpy()
    invalid = r_names.index("invalid") if "invalid" in r_names else -2
    m = summary_metrics(int(measured.sum()), ExactValues(requests["latency"].to_numpy()[ok]),
                        ExactValues(requests["ttft"].to_numpy()[ok]), _by_name(a_codes, a_names),
                        float((cost if in_att.all() else cost[in_att]).sum()),
                        float(requests["wasted_cost"].to_numpy()[measured].sum()), horizon - warmup,
                        breaker_opens(events, warmup), int((measured & (r_codes == invalid)).sum()))
    return pd.Series(m, name="value")


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
    requests: pd.DataFrame | None
    attempts: pd.DataFrame | None
    events: pd.DataFrame | None = field(default_factory=lambda: event_frame(*((),) * len(EVENT_COLUMNS)))
    #: the summary, when the tables it needs were not kept (``keep: requests`` or ``summary``)
    kept_summary: pd.Series | None = field(default=None, repr=False)

    @classmethod
    def streamed(cls, scenario: Scenario, seed: int, s: StreamedSummary) -> Result:
        """The Result of a summary-only run (``keep: summary``): no tables, the streamed summary."""
        m = summary_metrics(s.n, s.latency, s.ttft, s.attempt_outcomes(), s.cost_total, s.wasted_cost,
                            scenario.horizon - scenario.warmup, s.breaker_opens, s.invalid)
        triggers = trigger_windows(*(np.asarray(v, dtype=object if i in (0, 3) else float)
                                     for i, v in enumerate(s.triggers)), scenario.horizon)
        m.update(collapse_from_counts(s.offered, s.goodput, s.edges, scenario.horizon, scenario.warmup, triggers))
        return cls(scenario, seed, None, None, None,
                   kept_summary=_with_provisioned_fee(pd.Series(m, name="value"), scenario))

    def summary(self) -> pd.Series:
        """The summary metrics (``SUMMARY_METRICS``, docs/model.md), warm-up excluded; the collapse ones:
        docs/stability.md."""
        if self.kept_summary is not None:
            return self.kept_summary.copy()
        sc, req, ev = self.scenario, self.requests, self.events
        triggers = trigger_windows(*(ev[k].to_numpy() for k in ("kind", "time", "number", "subject")), sc.horizon)
        collapse = detect_collapse(req["arrival"].to_numpy(), req["end"].to_numpy(),
                                   (req["outcome"] == "ok").to_numpy(), sc.horizon, sc.warmup, triggers)
        out = pd.concat([summarize(req, self.attempts, ev, sc.warmup, sc.horizon), pd.Series(collapse, name="value")])
        return _with_provisioned_fee(out, sc)

    def _tables_needed(self, what: str) -> None:
        if self.requests is None or self.attempts is None or self.events is None:
            raise ValueError(f"{what} needs the tables; this run kept only {self.scenario.keep!r} "
                             "(run with keep: all)")

    def timeseries(self, freq: str | float = "1min") -> pd.DataFrame:
        """Per time bin (index ``time`` = bin start in seconds): arrivals, successes, latency p50/p95 of
        requests arriving in the bin, attempts by outcome sent in the bin, cost, and provider capacity."""
        self._tables_needed("timeseries()")
        width = parse_duration(freq)
        if width <= 0:
            raise ValueError("freq must be > 0")
        req = self.requests
        end = max(self.scenario.horizon, float(req["end"].max()) if len(req) else 0.0)
        edges = np.arange(0.0, end + width, width)
        index = pd.Index(edges[:-1], name="time")
        nb = len(index)
        out = pd.DataFrame(index=index)
        rbin = np.floor(req["arrival"].to_numpy() / width)
        r_codes, r_names = outcome_codes(req["outcome"])
        is_ok = r_codes == (r_names.index("ok") if "ok" in r_names else -2)
        out["requests"] = _bin_counts(rbin, nb)
        out["ok"] = _bin_counts(rbin[is_ok], nb)
        out["success_rate"] = out["ok"] / out["requests"].where(out["requests"] > 0)
        okl = pd.Series(req["latency"].to_numpy()[is_ok]).groupby(rbin[is_ok] * width)
        out["latency_p50"] = okl.quantile(0.5).reindex(index)
        out["latency_p95"] = okl.quantile(0.95).reindex(index)
        att = self.attempts
        abin = np.floor(att["sent"].to_numpy() / width)
        a_codes, a_names = outcome_codes(att["outcome"])
        inside = (abin >= 0) & (abin < nb) & (a_codes >= 0)
        flat = abin[inside].astype(np.intp) * len(a_names) + a_codes[inside]
        counts = np.bincount(flat, minlength=nb * len(a_names)).reshape(nb, len(a_names))
        out["attempts"] = counts.sum(axis=1)
        for name in ("ok", "rate_limited", "overloaded", "server_error", "timeout", "deadline", "rejected",
                     "invalid", "spend_blocked"):
            out[f"attempts_{name}"] = counts[:, a_names.index(name)] if name in a_names else 0
        out["cost"] = att["cost"].groupby(abin * width).sum().reindex(index, fill_value=0.0).to_numpy()
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
                if getattr(self, name) is not None:
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
        """Read a folder written by ``save`` (tables a ``keep: requests|summary`` run did not keep are None)."""
        src = Path(path)
        meta = json.loads((src / "result.json").read_text(encoding="utf-8"))
        tables = {name: pd.read_parquet(src / f"{name}.parquet") if (src / f"{name}.parquet").exists() else None
                  for name in ("requests", "attempts", "events")}
        events = tables["events"]
        if events is not None and meta.get("format", 1) < 2:
            events = upgrade_events(events)
        res = cls(Scenario.model_validate(meta["scenario"]), int(meta["seed"]), tables["requests"],
                  tables["attempts"], events)
        if any(t is None for t in tables.values()):
            saved = meta["summary"]  # written with sorted keys: back in the summary's order
            order = [m for m in SUMMARY_METRICS if m in saved] + [m for m in saved if m not in SUMMARY_METRICS]
            res.kept_summary = pd.Series({k: (float("nan") if saved[k] is None else saved[k]) for k in order},
                                         name="value", dtype=float)
        return res


def _bin_counts(bins: np.ndarray, nb: int) -> np.ndarray:
    """How many of ``bins`` (bin numbers, floats) fall in each of the bins 0..nb-1."""
    b = bins[(bins >= 0) & (bins < nb)].astype(np.intp)
    return np.bincount(b, minlength=nb)[:nb]


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
