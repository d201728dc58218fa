"""Side by side: what the real client did and what the simulated policy did, with KS statistics.

>>> import pandas as pd
>>> from llmsim.bridges.fidelity.observe import Behaviour, _finish
>>> def beh(gaps):
...     rows = [{"request": i, "sent": s, "end": s, "outcome": "server_error", "status": 500,
...              "retry_after": float("nan")} for i, g in enumerate(gaps) for s in (0.0, g)]
...     return _finish(pd.DataFrame(rows))
>>> t = fidelity_table(beh([0.4, 0.45, 0.5]), beh([0.4, 0.45, 0.5]))
>>> t.loc["gap before attempt 2", ["real_mean", "sim_mean", "ks", "ks_tol"]].tolist()
[0.45, 0.45, 0.0, 0.0]
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from llmsim.bridges.fidelity.observe import Behaviour

__all__ = ["fidelity_table", "format_table", "ks_within"]


def ks_within(real: np.ndarray, sim: np.ndarray, tol: float) -> float:
    """KS statistic after allowing either sample to be off by up to ``tol`` seconds (a Levy-style
    distance): max over x of F_a(x - tol) - F_b(x), both ways. ``tol`` = 0 gives the plain KS statistic.

    >>> a, b = np.array([1.008, 1.009]), np.array([1.0, 1.0])
    >>> float(ks_within(a, b, 0.02)), float(ks_within(a, b, 0.0))
    (0.0, 1.0)
    """
    a, b = np.sort(real), np.sort(sim)
    xs = np.concatenate([a, b, a + tol, b + tol])

    def cdf(s, x):
        return np.searchsorted(s, x, side="right") / len(s)

    d1 = cdf(a, xs - tol) - cdf(b, xs)
    d2 = cdf(b, xs - tol) - cdf(a, xs)
    return float(max(0.0, d1.max(), d2.max()))


def _or_nan(fn, x: np.ndarray) -> float:
    """``fn(x)`` as a float, NaN for an empty sample."""
    return float(fn(x)) if len(x) else math.nan


def _rel_diff(rm: float, sm: float) -> float:
    """(sim - real) / |real|; 0 when both are equal (even 0), NaN when undefined."""
    return (sm - rm) / abs(rm) if rm == rm and sm == sm and rm != 0 else (0.0 if rm == sm else math.nan)


def _ks_pair(real: np.ndarray, sim: np.ndarray, tol: float) -> tuple[float, float]:
    """The two-sample KS statistic, plain and within ``tol`` (NaN when a sample is empty)."""
    if not (len(real) and len(sim)):
        return math.nan, math.nan
    return float(stats.ks_2samp(real, sim).statistic), ks_within(real, sim, tol)


def _row(name: str, real: np.ndarray, sim: np.ndarray, tol: float = 0.0) -> dict:
    """One metric's row: sample sizes, means, medians, their difference and the KS statistics."""
    real = real[np.isfinite(real)]
    sim = sim[np.isfinite(sim)]
    rm, sm = _or_nan(np.mean, real), _or_nan(np.mean, sim)
    ks, ks_tol = _ks_pair(real, sim, tol)
    return {"metric": name, "real_n": len(real), "sim_n": len(sim), "real_mean": rm, "sim_mean": sm,
            "real_se": float(real.std(ddof=1) / np.sqrt(len(real))) if len(real) > 1 else math.nan,
            "rel_diff": _rel_diff(rm, sm), "abs_diff": sm - rm, "ks": ks, "ks_tol": ks_tol,
            "real_p50": _or_nan(np.median, real), "sim_p50": _or_nan(np.median, sim)}


def fidelity_table(real: Behaviour, sim: Behaviour, tol: float = 0.02) -> pd.DataFrame:
    """One row per metric: attempts per request, each retry gap, Retry-After honoured (wait minus hint),
    time to give up, time to success, success share. ``ks`` = two-sample Kolmogorov-Smirnov statistic;
    ``ks_tol`` = the same once values may differ by ``tol`` seconds (the client's and the loopback's
    own overhead, which the simulation does not model: it matters for near-constant waits)."""
    rows = [_row("attempts per request", real.requests["attempts"].to_numpy(float),
                 sim.requests["attempts"].to_numpy(float))]
    k_max = int(max(real.attempts["attempt"].max(), sim.attempts["attempt"].max()))
    for k in range(1, k_max + 1):
        rows.append(_row(f"gap before attempt {k + 1}", real.gaps(k), sim.gaps(k), tol))

    def hinted(b: Behaviour) -> np.ndarray:
        a = b.attempts
        prev_ra = a.groupby("request", sort=False)["retry_after"].shift(1)
        sel = prev_ra.notna() & a["gap"].notna()
        return (a.loc[sel, "gap"] - prev_ra[sel]).to_numpy(float)

    rh, sh = hinted(real), hinted(sim)
    if len(rh) or len(sh):
        rows.append(_row("wait minus Retry-After", rh, sh, tol))

    def elapsed(b: Behaviour, ok: bool) -> np.ndarray:
        r = b.requests
        sel = (r["outcome"] == "ok") if ok else (r["outcome"] != "ok")
        return r.loc[sel, "elapsed"].to_numpy(float)

    for ok, name in ((False, "time to give up"), (True, "time to success")):
        re_, se = elapsed(real, ok), elapsed(sim, ok)
        if len(re_) or len(se):
            rows.append(_row(name, re_, se, tol))
    r_ok = (real.requests["outcome"] == "ok").to_numpy(float)
    s_ok = (sim.requests["outcome"] == "ok").to_numpy(float)
    row = _row("success share", r_ok, s_ok)
    row["ks"] = row["ks_tol"] = math.nan  # a share, not a distribution
    rows.append(row)
    return pd.DataFrame(rows).set_index("metric")


def format_table(table: pd.DataFrame, title: str = "") -> str:
    """Plain text rendering (the CLI uses rich)."""
    lines = [title] if title else []
    lines.append(f"{'metric':<26} {'real n':>7} {'sim n':>7} {'real mean':>10} {'sim mean':>10} {'diff':>8} "
                 f"{'KS':>6} {'KS±tol':>7}")
    for name, r in table.iterrows():
        diff = "" if r.rel_diff != r.rel_diff else f"{100 * r.rel_diff:+.1f}%"
        ks = "" if r.ks != r.ks else f"{r.ks:.3f}"
        kt = "" if r.ks_tol != r.ks_tol else f"{r.ks_tol:.3f}"
        lines.append(f"{name:<26} {int(r.real_n):>7d} {int(r.sim_n):>7d} {r.real_mean:>10.4g} {r.sim_mean:>10.4g} "
                     f"{diff:>8} {ks:>6} {kt:>7}")
    return "\n".join(lines)
