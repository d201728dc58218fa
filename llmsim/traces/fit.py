"""Fit a scenario to a trace: the workload always, the provider where latencies and outcomes are recorded.

Workload (from logical requests = first attempts): a piecewise-constant Poisson rate per ``bin_s``
bin (the horizon covers whole bins), token distributions as ``empirical`` quantiles (``tokens=
"empirical"``, the default: 1000 quantiles, KS distance to the data about 1/1000) or ``lognormal``
(median, p95), and max_tokens = the largest output seen. Burstiness inside bins (index of
dispersion of 1 s counts) is reported, not modelled: the config has only Poisson arrivals.

Provider: TTFT log-normal (median, p95 of successful attempts), tokens/s = median output_tokens /
(latency - ttft), baseline server-error rate and per-hour windows where it is at least twice as
high (as incidents), an RPM limit = median accepted attempts per minute over the minutes that saw 429s,
capacity slots = the peak concurrency of recorded attempts (a lower bound), prices by least squares
on cost_usd. Anything the trace does not record is left at an ample default and listed under
``report["not_fitted"]``.

>>> import pandas as pd
>>> tr = pd.DataFrame({"arrival_s": [0.0, 10.0, 70.0], "input_tokens": [10, 20, 30], "output_tokens": [1, 2, 3]})
>>> sc, rep = fit_scenario(tr, bin_s=60)
>>> sc["workload"]["arrivals"]["schedule"], sc["horizon"]
([[0.0, 0.03333333333333333], [60.0, 0.016666666666666666]], 120.0)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from llmsim.traces.replay import first_attempts
from llmsim.traces.trace_stats import rate_curve

__all__ = ["fit_scenario", "fit_tokens", "concurrency_peak"]

FAILED_SERVER = ("server_error", "error")


def fit_tokens(x: np.ndarray, kind: str = "empirical", quantiles: int = 1000) -> dict:
    """A distribution config for token counts."""
    x = np.asarray(x, dtype=float)
    if kind == "lognormal":
        pos = x[x > 0]
        med, p95 = np.quantile(pos, [0.5, 0.95])
        return {"dist": "lognormal", "median": float(max(med, 1.0)), "p95": float(max(p95, med, 1.0))}
    if kind != "empirical":
        raise ValueError(f"tokens must be 'empirical' or 'lognormal', got {kind!r}")
    q = min(quantiles, len(x))
    vals = np.rint(np.quantile(x, (np.arange(q) + 0.5) / q, method="inverted_cdf"))
    return {"dist": "empirical", "values": [int(v) for v in vals]}


def concurrency_peak(start: np.ndarray, end: np.ndarray) -> int:
    """Largest number of intervals [start, end) open at once."""
    ev = np.concatenate([np.stack([start, np.ones(len(start))], 1), np.stack([end, -np.ones(len(end))], 1)])
    ev = ev[np.lexsort((ev[:, 1], ev[:, 0]))]  # ends before starts at equal times
    return int(np.cumsum(ev[:, 1]).max()) if len(ev) else 0


def _lognormal(x: np.ndarray) -> dict:
    med, p95 = np.quantile(x, [0.5, 0.95])
    med = max(float(med), 1e-3)
    return {"dist": "lognormal", "median": med, "p95": max(float(p95), med)}


def fit_scenario(trace: pd.DataFrame, bin_s: float = 60.0, tokens: str = "empirical", name: str = "fitted",
                 seed: int = 0) -> tuple[dict, dict]:
    """(scenario dict, report dict). The scenario validates and runs as is."""
    report: dict = {"not_fitted": []}
    t0 = float(trace["arrival_s"].min())
    workload, counts = _fit_workload(trace, t0, bin_s, tokens, report)
    provider = _fit_provider(trace, t0, counts, bin_s, report)
    client = _fit_client(trace, report)
    scenario = {"name": name, "description": f"fitted to {trace.attrs.get('source', 'a trace')} by llmsim trace fit",
                "horizon": float(len(counts) * bin_s), "seed": int(seed), "workload": workload,
                "providers": [provider], "client": client}
    return scenario, report


def _fit_workload(trace: pd.DataFrame, t0: float, bin_s: float, tokens: str, report: dict) -> tuple[dict, np.ndarray]:
    """The workload of the logical requests, and their counts per bin."""
    logical = first_attempts(trace)
    t = logical["arrival_s"].to_numpy(dtype=float) - t0
    counts = rate_curve(t, bin_s)
    sec = np.bincount(t.astype(np.int64))
    report["workload"] = {"logical_requests": int(len(t)), "bins": len(counts), "bin_s": bin_s,
                          "dispersion_index_1s": float(sec.var() / sec.mean()) if sec.mean() > 0 else float("nan")}
    out_max = int(max(1, logical["output_tokens"].max()))
    workload = {"arrivals": {"schedule": [[float(i * bin_s), float(c / bin_s)] for i, c in enumerate(counts)]},
                "input_tokens": fit_tokens(logical["input_tokens"].to_numpy(), tokens),
                "output_tokens": fit_tokens(logical["output_tokens"].to_numpy(), tokens),
                "max_tokens": out_max}
    return workload, counts


def _fit_provider(trace: pd.DataFrame, t0: float, counts: np.ndarray, bin_s: float, report: dict) -> dict:
    """The provider, from what the trace records; what it does not is listed in ``report["not_fitted"]``."""
    provider: dict = {"name": "fitted", "capacity": {"slots": 1}}
    has = {c: c in trace and trace[c].notna().any() for c in ("latency_s", "ttft_s", "outcome", "cost_usd")}
    ok = trace["outcome"].eq("ok").fillna(False).to_numpy(dtype=bool) if has["outcome"] else \
        np.ones(len(trace), bool)
    latency = _fit_latency(trace, ok, has, report["not_fitted"])
    if latency:
        provider["latency"] = latency
    provider["capacity"]["slots"] = _fit_slots(trace, has["latency_s"], counts, bin_s, report)
    if has["outcome"]:
        provider.update(_fit_errors(trace, t0, report))
    else:
        report["not_fitted"].append("errors and rate limits (no outcomes)")
    if has["cost_usd"]:
        provider.update(_fit_prices(trace, ok))
    else:
        report["not_fitted"].append("pricing (no cost_usd)")
    return provider


def _fit_latency(trace: pd.DataFrame, ok: np.ndarray, has: dict[str, bool], not_fitted: list[str]) -> dict:
    """TTFT (log-normal) and tokens/s of the successful attempts."""
    latency = {}
    if has["ttft_s"]:
        ttft = trace.loc[ok, "ttft_s"].dropna().to_numpy(dtype=float)
        if len(ttft):
            latency["ttft"] = _lognormal(ttft)
    else:
        not_fitted.append("latency.ttft (no ttft_s)")
    if has["latency_s"] and has["ttft_s"]:
        sub = trace.loc[ok, ["latency_s", "ttft_s", "output_tokens"]].dropna()
        gen = (sub["latency_s"] - sub["ttft_s"]).to_numpy(dtype=float)
        o = sub["output_tokens"].to_numpy(dtype=float)
        sel = (gen > 0) & (o > 0)
        if sel.any():
            latency["tokens_per_s"] = float(np.median(o[sel] / gen[sel]))
    else:
        not_fitted.append("latency.tokens_per_s (needs latency_s and ttft_s)")
    return latency


def _fit_slots(trace: pd.DataFrame, has_latency: bool, counts: np.ndarray, bin_s: float, report: dict) -> int:
    """The peak concurrency of the recorded attempts, else room for 120 s of the peak arrival rate."""
    if has_latency:
        lat = trace["latency_s"].to_numpy(dtype=float, na_value=np.nan)
        a = trace["arrival_s"].to_numpy(dtype=float)
        m = np.isfinite(lat)
        peak = concurrency_peak(a[m], a[m] + lat[m])
        report["capacity"] = {"peak_concurrency": peak, "note": "a lower bound: the provider served this many at once"}
        return max(1, peak)
    rate_peak = counts.max() / bin_s
    report["not_fitted"].append("capacity (no latency_s: ample slots, 120 s of peak arrivals)")
    return int(max(64, math.ceil(rate_peak * 120)))


def _fit_errors(trace: pd.DataFrame, t0: float, report: dict) -> dict:
    """The server-error rate, hours with at least twice that rate (as incidents), and an RPM limit from 429s."""
    oc = trace["outcome"].astype("string")
    known = oc.notna()
    srv = float(oc[known].isin(FAILED_SERVER).mean())
    rl = float((oc[known] == "rate_limited").mean())
    part: dict = {"errors": {"server_error_rate": srv}}
    rel = trace["arrival_s"].to_numpy(dtype=float) - t0
    hour = (rel // 3600).astype(int)
    by_hour = pd.DataFrame({"hour": hour[known.to_numpy()], "srv": oc[known].isin(FAILED_SERVER).to_numpy(),
                            "rl": (oc[known] == "rate_limited").to_numpy()}).groupby("hour").mean()
    report["errors"] = {"attempts_with_outcome": int(known.sum()), "server_error_share": srv, "rate_limited_share": rl,
                        "by_hour": {int(h): {"server_error": float(r.srv), "rate_limited": float(r.rl)}
                                    for h, r in by_hour.iterrows()}}
    incidents = [{"name": f"hour {int(h)}", "start": float(h * 3600), "duration": 3600.0,
                  "server_error_rate": float(r.srv)} for h, r in by_hour.iterrows()
                 if len(by_hour) > 1 and r.srv >= 2 * srv and r.srv > 0]
    if incidents:
        part["incidents"] = incidents
    if rl > 0:
        part["rate_limits"] = _fit_rpm(oc, rel, report)
    else:
        report["not_fitted"].append("rate_limits (no 429s recorded)")
    return part


def _fit_rpm(oc: pd.Series, rel: np.ndarray, report: dict) -> dict:
    """The median accepted attempts per minute, over the minutes that saw 429s."""
    limited = (oc == "rate_limited").fillna(False).to_numpy(dtype=bool)
    span = float(rel.max())
    accepted = rate_curve(rel[~limited], 60.0, span)
    hit = rate_curve(rel[limited], 60.0, span) > 0
    rpm = float(np.median(accepted[hit]))
    report["rate_limits"] = {"rpm": rpm, "note": "median accepted attempts per minute in minutes with 429s"}
    return {"rpm": max(rpm, 1.0)}


def _fit_prices(trace: pd.DataFrame, ok: np.ndarray) -> dict:
    """Prices per million input and output tokens, by least squares on the successful attempts' cost_usd."""
    sub = trace.loc[ok, ["input_tokens", "output_tokens", "cost_usd"]].dropna()
    if len(sub) < 2:
        return {}
    X = sub[["input_tokens", "output_tokens"]].to_numpy(dtype=float)
    coef, *_ = np.linalg.lstsq(X, sub["cost_usd"].to_numpy(dtype=float), rcond=None)
    return {"pricing": {"input_per_mtok": float(max(coef[0], 0) * 1e6),
                        "output_per_mtok": float(max(coef[1], 0) * 1e6)}}


def _fit_client(trace: pd.DataFrame, report: dict) -> dict:
    """A retry of as many attempts as a logical request made (at most 100), where the trace shows retries."""
    if "logical_request_id" not in trace or not trace["logical_request_id"].notna().any():
        return {}
    per = trace.groupby("logical_request_id").size()
    if not per.max() > 1:
        return {}
    report["client"] = {"max_attempts_seen": int(per.max()), "note": "backoff and timeout not recorded"}
    return {"retry": {"max_attempts": int(min(per.max(), 100))}}
