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
    logical = first_attempts(trace)
    t0 = float(trace["arrival_s"].min())
    t = logical["arrival_s"].to_numpy(dtype=float) - t0
    counts = rate_curve(t, bin_s)
    horizon = len(counts) * bin_s
    schedule = [[float(i * bin_s), float(c / bin_s)] for i, c in enumerate(counts)]
    sec = np.bincount(t.astype(np.int64))
    report["workload"] = {"logical_requests": int(len(t)), "bins": len(counts), "bin_s": bin_s,
                          "dispersion_index_1s": float(sec.var() / sec.mean()) if sec.mean() > 0 else float("nan")}
    out_max = int(max(1, logical["output_tokens"].max()))
    workload = {"arrivals": {"schedule": schedule},
                "input_tokens": fit_tokens(logical["input_tokens"].to_numpy(), tokens),
                "output_tokens": fit_tokens(logical["output_tokens"].to_numpy(), tokens),
                "max_tokens": out_max}

    provider: dict = {"name": "fitted", "capacity": {"slots": 1}}
    has = {c: c in trace and trace[c].notna().any() for c in ("latency_s", "ttft_s", "outcome", "cost_usd")}
    ok = trace["outcome"].eq("ok").fillna(False).to_numpy(dtype=bool) if has["outcome"] else \
        np.ones(len(trace), bool)
    latency = {}
    if has["ttft_s"]:
        ttft = trace.loc[ok, "ttft_s"].dropna().to_numpy(dtype=float)
        if len(ttft):
            latency["ttft"] = _lognormal(ttft)
    else:
        report["not_fitted"].append("latency.ttft (no ttft_s)")
    if has["latency_s"] and has["ttft_s"]:
        sub = trace.loc[ok, ["latency_s", "ttft_s", "output_tokens"]].dropna()
        gen = (sub["latency_s"] - sub["ttft_s"]).to_numpy(dtype=float)
        o = sub["output_tokens"].to_numpy(dtype=float)
        sel = (gen > 0) & (o > 0)
        if sel.any():
            latency["tokens_per_s"] = float(np.median(o[sel] / gen[sel]))
    else:
        report["not_fitted"].append("latency.tokens_per_s (needs latency_s and ttft_s)")
    if latency:
        provider["latency"] = latency
    if has["latency_s"]:
        lat = trace["latency_s"].to_numpy(dtype=float, na_value=np.nan)
        a = trace["arrival_s"].to_numpy(dtype=float)
        m = np.isfinite(lat)
        peak = concurrency_peak(a[m], a[m] + lat[m])
        provider["capacity"]["slots"] = max(1, peak)
        report["capacity"] = {"peak_concurrency": peak, "note": "a lower bound: the provider served this many at once"}
    else:
        rate_peak = counts.max() / bin_s
        provider["capacity"]["slots"] = int(max(64, math.ceil(rate_peak * 120)))
        report["not_fitted"].append("capacity (no latency_s: ample slots, 120 s of peak arrivals)")

    if has["outcome"]:
        oc = trace["outcome"].astype("string")
        known = oc.notna()
        n = int(known.sum())
        srv = float(oc[known].isin(FAILED_SERVER).mean())
        rl = float((oc[known] == "rate_limited").mean())
        provider["errors"] = {"server_error_rate": srv}
        rel = trace["arrival_s"].to_numpy(dtype=float) - t0
        hour = (rel // 3600).astype(int)
        by_hour = pd.DataFrame({"hour": hour[known.to_numpy()], "srv": oc[known].isin(FAILED_SERVER).to_numpy(),
                                "rl": (oc[known] == "rate_limited").to_numpy()}).groupby("hour").mean()
        report["errors"] = {"attempts_with_outcome": n, "server_error_share": srv, "rate_limited_share": rl,
                            "by_hour": {int(h): {"server_error": float(r.srv), "rate_limited": float(r.rl)}
                                        for h, r in by_hour.iterrows()}}
        incidents = [{"name": f"hour {int(h)}", "start": float(h * 3600), "duration": 3600.0,
                      "server_error_rate": float(r.srv)} for h, r in by_hour.iterrows()
                     if len(by_hour) > 1 and r.srv >= 2 * srv and r.srv > 0]
        if incidents:
            provider["incidents"] = incidents
        if rl > 0:
            limited = (oc == "rate_limited").fillna(False).to_numpy(dtype=bool)
            span = float(rel.max())
            accepted = rate_curve(rel[~limited], 60.0, span)
            hit = rate_curve(rel[limited], 60.0, span) > 0
            rpm = float(np.median(accepted[hit]))
            provider["rate_limits"] = {"rpm": max(rpm, 1.0)}
            report["rate_limits"] = {"rpm": rpm, "note": "median accepted attempts per minute in minutes with 429s"}
        else:
            report["not_fitted"].append("rate_limits (no 429s recorded)")
    else:
        report["not_fitted"].append("errors and rate limits (no outcomes)")

    if has["cost_usd"]:
        sub = trace.loc[ok, ["input_tokens", "output_tokens", "cost_usd"]].dropna()
        if len(sub) >= 2:
            X = sub[["input_tokens", "output_tokens"]].to_numpy(dtype=float)
            coef, *_ = np.linalg.lstsq(X, sub["cost_usd"].to_numpy(dtype=float), rcond=None)
            provider["pricing"] = {"input_per_mtok": float(max(coef[0], 0) * 1e6),
                                   "output_per_mtok": float(max(coef[1], 0) * 1e6)}
    else:
        report["not_fitted"].append("pricing (no cost_usd)")

    client: dict = {}
    if "logical_request_id" in trace and trace["logical_request_id"].notna().any():
        per = trace.groupby("logical_request_id").size()
        if per.max() > 1:
            client = {"retry": {"max_attempts": int(min(per.max(), 100))}}
            report["client"] = {"max_attempts_seen": int(per.max()), "note": "backoff and timeout not recorded"}
    scenario = {"name": name, "description": f"fitted to {trace.attrs.get('source', 'a trace')} by llmsim trace fit",
                "horizon": float(horizon), "seed": int(seed), "workload": workload, "providers": [provider],
                "client": client}
    return scenario, report
