"""Side by side: what the real client did and what the simulated policy did, with the two tests LLM
serving simulators report their validation with: a two-sample Kolmogorov-Smirnov test (are the
distributions the same? ``ks``, ``ks_p``) and an equivalence test (TOST: two one-sided Welch t-tests,
are the means within +-``margin`` of the real mean? ``tost_p``, ``equivalent`` at alpha 0.05).

>>> import pandas as pd
>>> from llmsim.bridges.fidelity.observe import Behaviour, _finish
>>> def beh(gaps):
...     rows = [{"request": i, "sent": s, "end": s, "outcome": "server_error", "status": 500,
...              "retry_after": float("nan")} for i, g in enumerate(gaps) for s in (0.0, g)]
...     return _finish(pd.DataFrame(rows))
>>> t = fidelity_table(beh([0.4, 0.45, 0.5]), beh([0.4, 0.45, 0.5]))
>>> t.loc["gap before attempt 2", ["real_mean", "sim_mean", "ks", "ks_tol"]].tolist()
[0.45, 0.45, 0.0, 0.0]
>>> bool(t.loc["gap before attempt 2", "equivalent"])   # identical, but 3 values cannot show equivalence
False
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from llmsim.bridges.fidelity.observe import Behaviour

__all__ = ["fidelity_table", "format_table", "ks_within", "tost_p"]

ALPHA = 0.05  # the equivalence test's level
MARGIN = 0.10  # default equivalence margin: +-10 % of the real mean


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


def tost_p(real: np.ndarray, sim: np.ndarray, margin: float) -> float:
    """p-value of the two one-sided Welch t-tests (TOST) of H0: |mean(sim) - mean(real)| >= ``margin``
    (absolute); below alpha, the means are equivalent within the margin. NaN with fewer than 2 values
    on a side. When neither sample varies, 0 if the means are within the margin, else 1.

    >>> a = np.array([1.0, 1.1, 0.9, 1.05, 0.95] * 20)
    >>> tost_p(a, a + 0.01, 0.1) < 0.05, tost_p(a, a + 0.2, 0.1) < 0.05
    (True, False)
    """
    n1, n2 = len(real), len(sim)
    if n1 < 2 or n2 < 2:
        return math.nan
    d = float(np.mean(sim) - np.mean(real))
    v1, v2 = float(np.var(real, ddof=1)) / n1, float(np.var(sim, ddof=1)) / n2
    se = math.sqrt(v1 + v2)
    if se == 0.0:
        return 0.0 if abs(d) < margin else 1.0
    df = (v1 + v2) ** 2 / ((v1 * v1 / (n1 - 1) if v1 else 0.0) + (v2 * v2 / (n2 - 1) if v2 else 0.0))
    p_low = float(stats.t.sf((d + margin) / se, df))  # H0: d <= -margin
    p_high = float(stats.t.cdf((d - margin) / se, df))  # H0: d >= +margin
    return max(p_low, p_high)


def _or_nan(fn, x: np.ndarray) -> float:
    """``fn(x)`` as a float, NaN for an empty sample."""
    return float(fn(x)) if len(x) else math.nan


def _rel_diff(rm: float, sm: float) -> float:
    """(sim - real) / |real|; 0 when both are equal (even 0), NaN when undefined."""
    return (sm - rm) / abs(rm) if rm == rm and sm == sm and rm != 0 else (0.0 if rm == sm else math.nan)


def _ks_pair(real: np.ndarray, sim: np.ndarray, tol: float) -> tuple[float, float, float]:
    """The two-sample KS statistic, its p-value and the statistic within ``tol`` (NaN when a sample is empty)."""
    if not (len(real) and len(sim)):
        return math.nan, math.nan, math.nan
    res = stats.ks_2samp(real, sim)
    return float(res.statistic), float(res.pvalue), ks_within(real, sim, tol)


def _row(name: str, real: np.ndarray, sim: np.ndarray, tol: float = 0.0, margin: float = MARGIN) -> dict:
    """One metric's row: sample sizes, means, medians, their difference, the KS test and the TOST
    equivalence test within +-``margin`` of the real mean (at least ``tol``: a time's overhead)."""
    real = real[np.isfinite(real)]
    sim = sim[np.isfinite(sim)]
    rm, sm = _or_nan(np.mean, real), _or_nan(np.mean, sim)
    ks, ks_p, ks_tol = _ks_pair(real, sim, tol)
    band = max(margin * abs(rm), tol) if rm == rm else math.nan
    tp = tost_p(real, sim, band) if band == band else math.nan
    return {"metric": name, "real_n": len(real), "sim_n": len(sim), "real_mean": rm, "sim_mean": sm,
            "real_se": float(real.std(ddof=1) / np.sqrt(len(real))) if len(real) > 1 else math.nan,
            "rel_diff": _rel_diff(rm, sm), "abs_diff": sm - rm, "ks": ks, "ks_p": ks_p, "ks_tol": ks_tol,
            "margin": band, "tost_p": tp, "equivalent": bool(tp < ALPHA) if tp == tp else None,
            "real_p50": _or_nan(np.median, real), "sim_p50": _or_nan(np.median, sim)}


def fidelity_table(real: Behaviour, sim: Behaviour, tol: float = 0.02, margin: float = MARGIN) -> pd.DataFrame:
    """One row per metric: attempts per request, each retry gap, Retry-After honoured (wait minus hint),
    time to give up, time to success, success share. ``ks`` = two-sample Kolmogorov-Smirnov statistic
    (``ks_p`` its p-value: small means the distributions differ); ``ks_tol`` = the statistic once values
    may differ by ``tol`` seconds (the client's and the loopback's own overhead, which the simulation
    does not model: it matters for near-constant waits). ``tost_p`` / ``equivalent``: TOST of the means
    within ``margin`` (relative to the real mean; for times at least ``tol`` seconds; for the success
    share an absolute ``margin``)."""
    rows = [_row("attempts per request", real.requests["attempts"].to_numpy(float),
                 sim.requests["attempts"].to_numpy(float), margin=margin)]
    k_max = int(max(real.attempts["attempt"].max(), sim.attempts["attempt"].max()))
    for k in range(1, k_max + 1):
        rows.append(_row(f"gap before attempt {k + 1}", real.gaps(k), sim.gaps(k), tol, margin))

    def hinted(b: Behaviour) -> np.ndarray:
        a = b.attempts
        prev_ra = a.groupby("request", sort=False)["retry_after"].shift(1)
        sel = prev_ra.notna() & a["gap"].notna()
        return (a.loc[sel, "gap"] - prev_ra[sel]).to_numpy(float)

    rh, sh = hinted(real), hinted(sim)
    if len(rh) or len(sh):
        rows.append(_row("wait minus Retry-After", rh, sh, tol, margin))

    def elapsed(b: Behaviour, ok: bool) -> np.ndarray:
        r = b.requests
        sel = (r["outcome"] == "ok") if ok else (r["outcome"] != "ok")
        return r.loc[sel, "elapsed"].to_numpy(float)

    for ok, name in ((False, "time to give up"), (True, "time to success")):
        re_, se = elapsed(real, ok), elapsed(sim, ok)
        if len(re_) or len(se):
            rows.append(_row(name, re_, se, tol, margin))
    rows.extend(_share_rows(real, sim, margin))
    rows.extend(_router_rows(real, sim, margin))
    return pd.DataFrame(rows).set_index("metric")


def _router_rows(real: Behaviour, sim: Behaviour, margin: float) -> list[dict]:
    """For clients that route: the share of retries sent to another deployment (absolute margin), and
    the deployments cooled down per run (when the real run's count was observed)."""
    rows = []
    rf, sf = real.failovers(), sim.failovers()
    if len(rf) or len(sf):
        rows.append(_share_row("failover share", rf, sf, margin))
    if real.cooldowns is not None and sim.cooldowns is not None:
        rows.append(_row("cooldowns per run", np.asarray(real.cooldowns, float), np.asarray(sim.cooldowns, float),
                         margin=margin))
    return rows


def _share_rows(real: Behaviour, sim: Behaviour, margin: float) -> list[dict]:
    """Success share (equivalence within an absolute ``margin``), and the local-refusal share when a
    side refused requests without sending them (outcome ``rejected``: no deployment available)."""
    rows = []
    for name, outcome in (("success share", "ok"), ("refused locally", "rejected")):
        r = (real.requests["outcome"] == outcome).to_numpy(float)
        s = (sim.requests["outcome"] == outcome).to_numpy(float)
        if outcome != "ok" and not (r.any() or s.any()):
            continue
        rows.append(_share_row(name, r, s, margin))
    return rows


def _share_row(name: str, real: np.ndarray, sim: np.ndarray, margin: float) -> dict:
    """A row for a share (0/1 per request or retry): equivalence within an absolute ``margin``, no KS."""
    row = _row(name, real, sim, margin=0.0)
    row["margin"] = margin  # shares: absolute margin (0.10 = 10 points)
    row["tost_p"] = tost_p(real, sim, margin)
    row["equivalent"] = bool(row["tost_p"] < ALPHA) if row["tost_p"] == row["tost_p"] else None
    row["ks"] = row["ks_p"] = row["ks_tol"] = math.nan  # a share, not a distribution
    return row


def format_table(table: pd.DataFrame, title: str = "") -> str:
    """Plain text rendering (the CLI uses rich)."""
    lines = [title] if title else []
    lines.append(f"{'metric':<26} {'real n':>7} {'sim n':>7} {'real mean':>10} {'sim mean':>10} {'diff':>8} "
                 f"{'KS':>6} {'KS p':>7} {'KS±tol':>7} {'TOST p':>7} {'equiv':>5}")
    for name, r in table.iterrows():
        diff = "" if r.rel_diff != r.rel_diff else f"{100 * r.rel_diff:+.1f}%"
        eq = "" if r.equivalent is None or r.equivalent != r.equivalent else ("yes" if r.equivalent else "no")
        lines.append(f"{name:<26} {int(r.real_n):>7d} {int(r.sim_n):>7d} {r.real_mean:>10.4g} {r.sim_mean:>10.4g} "
                     f"{diff:>8} {_num(r.ks, 3):>6} {_num(r.ks_p, 3):>7} {_num(r.ks_tol, 3):>7} "
                     f"{_num(r.tost_p, 3):>7} {eq:>5}")
    return "\n".join(lines)


def _num(v: float, digits: int) -> str:
    """``v`` with ``digits`` decimals, nothing for NaN."""
    return "" if v != v else f"{v:.{digits}f}"
