"""Calibration report: how close a simulation comes to the recorded trace.

Compares (a) token distributions of logical requests (two-sample KS statistic), (b) the arrival rate
curve per bin (relative L1 error, and a chi-square statistic sum (sim - rec)^2 / rec with its
p-value: under a piecewise Poisson fit of the same bins, sim ~ Poisson(rec) per bin), (c) latency
and TTFT of successful attempts (KS) where recorded, and (d) outcome shares of attempts.

>>> import pandas as pd
>>> tr = pd.DataFrame({"arrival_s": [0.0, 1.0], "input_tokens": [5, 6], "output_tokens": [1, 2]})
>>> rc = rate_comparison(tr["arrival_s"].to_numpy(), tr["arrival_s"].to_numpy(), 60.0)
>>> rc["rel_l1"], rc["bins"]
(0.0, 1)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from llmsim.traces.replay import first_attempts
from llmsim.traces.trace_stats import has_values, rate_curve

__all__ = ["calibration_report", "rate_comparison", "ks"]


def ks(a, b) -> float:
    """Two-sample Kolmogorov-Smirnov statistic (nan when a side is empty)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(a) or not len(b):
        return float("nan")
    return float(stats.ks_2samp(a, b).statistic)


def rate_comparison(recorded: np.ndarray, simulated: np.ndarray, bin_s: float, span: float | None = None) -> dict:
    """Per-bin counts of two arrival sets (both from time 0)."""
    end = span if span is not None else max(float(np.max(recorded, initial=0)), float(np.max(simulated, initial=0)))
    r = rate_curve(recorded, bin_s, end)
    s = rate_curve(simulated, bin_s, end)
    n = min(len(r), len(s))
    r, s = r[:n], s[:n]
    pos = r > 0
    chi2 = float(np.sum((s[pos] - r[pos]) ** 2 / r[pos]))
    return {"bins": int(n), "bin_s": bin_s, "recorded": r.tolist(), "simulated": s.tolist(),
            "rel_l1": float(np.abs(s - r).sum() / max(r.sum(), 1)),
            "chi2": chi2, "chi2_df": int(pos.sum()), "chi2_p": float(stats.chi2.sf(chi2, int(pos.sum())))}


def calibration_report(trace: pd.DataFrame, result, bin_s: float = 60.0) -> dict:
    """Compare a trace with a simulation Result of a scenario fitted to (or replaying) it."""
    logical = first_attempts(trace)
    t0 = float(trace["arrival_s"].min())
    req = result.requests
    out = {
        "ks_input_tokens": ks(logical["input_tokens"], req["input_tokens"]),
        "ks_output_tokens": ks(logical["output_tokens"], req["output_tokens"]),
        "rate": rate_comparison(logical["arrival_s"].to_numpy(dtype=float) - t0, req["arrival"].to_numpy(), bin_s,
                                span=result.scenario.horizon - 1e-9),
        "requests_recorded": int(len(logical)), "requests_simulated": int(len(req)),
    }
    ok = trace["outcome"].eq("ok").fillna(False).to_numpy(dtype=bool) if has_values(trace, "outcome") else None
    att = result.attempts
    sim_ok = att["outcome"].astype(str) == "ok"
    sims = {"latency_s": (att["end"] - att["sent"])[sim_ok], "ttft_s": (att["first_token"] - att["sent"])[sim_ok]}
    for col, sim in sims.items():
        if has_values(trace, col):
            rec = trace.loc[ok if ok is not None else slice(None), col].dropna().to_numpy(dtype=float)
            out[f"ks_{col}"] = ks(rec, sim.dropna())
    if ok is not None:
        out["outcome_shares"] = _outcome_shares(trace["outcome"], att["outcome"].astype(str))
    return out


def _outcome_shares(recorded: pd.Series, simulated: pd.Series) -> dict:
    """outcome -> its share of the recorded and of the simulated attempts."""
    rec_share = recorded.value_counts(normalize=True)
    sim_share = simulated.value_counts(normalize=True)
    names = sorted(set(rec_share.index.astype(str)) | {n for n, v in sim_share.items() if v > 0})
    return {n: {"recorded": float(rec_share.get(n, 0.0)), "simulated": float(sim_share.get(n, 0.0))}
            for n in names}
