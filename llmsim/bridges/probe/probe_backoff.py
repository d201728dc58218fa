"""Fit a backoff curve to the waits a client left between failed attempts.

Sample ``(n, wait)``: the client waited ``wait`` seconds before retry ``n`` (n = 0 for the first retry).
The model is ``wait = d_n * J`` with ``d_n = base * multiplier**n`` and a jitter factor J: none (J = 1),
multiplicative U(lo, 1] (OpenAI/Anthropic SDKs: lo = 0.75) or full U(0, 1) (tenacity's
wait_random_exponential, AWS); or additive, ``d_n + U(0, j)`` (LiteLLM), taken only when the fit above is
rejected (KS p < 0.05) and the additive one is not: with a few waits the two families are hard to tell
apart, and the SDKs' multiplicative jitter is the common case. The multiplier is the slope of log(wait)
against n (jitter only shifts the intercept), the jitter family comes from the spread of the normalised
waits ``wait / multiplier**n``,
the base from their top (unbiased uniform end-point estimate), and the goodness of fit is the
Kolmogorov-Smirnov p-value of the normalised waits against the fitted family.

>>> fit = fit_backoff([(0, 0.5), (1, 1.0), (2, 2.0), (0, 0.5), (1, 1.0)])
>>> fit.kind, fit.jitter, round(fit.base, 3), fit.multiplier
('exponential', 'none', 0.5, 2.0)
>>> fit_backoff([(0, 1.0), (1, 1.01), (2, 0.99)]).kind
'constant'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["BackoffFit", "fit_backoff"]

_NICE = (1.0, 1.5, 2.0, 3.0, 4.0)


@dataclass(frozen=True)
class BackoffFit:
    """The fitted curve: ``kind`` exponential or constant, jitter none / multiplicative / full, and
    ``lo`` the multiplicative jitter's lower end; ``p_value`` the KS goodness of fit; ``n`` samples."""

    kind: str
    base: float
    multiplier: float
    cap: float
    jitter: str
    lo: float
    p_value: float
    n: int
    additive: float = 0.0  # jitter "additive": d + U(0, additive)

    def describe(self) -> str:
        j = {"none": "no jitter", "full": "full jitter U(0, d)", "additive": f"jitter d + U(0, {self.additive:.2f})",
             "multiplicative": f"jitter d*U({self.lo:.2f}, 1]"}[self.jitter]
        curve = f"{self.base:.3g} s constant" if self.kind == "constant" else \
            f"{self.base:.3g} s x {self.multiplier:g}^n"
        return f"{curve}, {j} (KS p = {self.p_value:.2f}, {self.n} waits)"


def _multiplier(n: np.ndarray, w: np.ndarray) -> float:
    if len(set(n.tolist())) < 2:
        return 2.0  # one retry level only: the slope is unknown, assume doubling
    slope = np.polyfit(n, np.log(np.maximum(w, 1e-4)), 1)[0]
    m = max(1.0, math.exp(slope))
    nice = min(_NICE, key=lambda v: abs(math.log(v / m)))
    return nice if abs(math.log(nice / m)) < 0.2 else round(m, 2)


def _full_jitter_multiplier(n: np.ndarray, w: np.ndarray, first: float) -> float:
    """Maximum likelihood multiplier under waits U(0, b * m**n) (b at its MLE, max of w / m**n), among the
    usual values and the slope's estimate: the slope of log U(0, 1) waits is too noisy on its own."""
    if len(set(n.tolist())) < 2:
        return first

    def loglik(m: float) -> float:
        return -len(w) * math.log(float((w / m ** n).max())) - math.log(m) * float(n.sum())

    return max((*_NICE, first), key=loglik)


def _additive(n: np.ndarray, w: np.ndarray) -> BackoffFit | None:
    """d_n + U(0, j) (LiteLLM, tenacity's wait_exponential_jitter): the lower envelope is the curve, the residuals
    above it are the jitter; the multiplier minimises the residuals' range (their likelihood's maximum)."""
    if len(set(n.tolist())) < 2:
        return None
    k = len(w)

    def width(m: float) -> float:
        b = float((w / m ** n).min())
        return float((w - b * m ** n).max())

    m = min(_NICE, key=width)
    b = float((w / m ** n).min())
    r = w - b * m ** n
    j = float(r.max()) * (k + 1) / k
    if j <= 0.05 * b:
        return None
    p = float(stats.kstest(r / j, stats.uniform(0, 1).cdf).pvalue)
    return BackoffFit("constant" if m == 1.0 else "exponential", b, m, b * m ** float(n.max()), "additive", 0.0, p,
                      k, j)


def fit_backoff(samples: list[tuple[int, float]]) -> BackoffFit | None:
    """The backoff that explains ``samples`` best (None without samples)."""
    if not samples:
        return None
    n = np.array([s[0] for s in samples], dtype=float)
    w = np.array([s[1] for s in samples], dtype=float)
    m = _multiplier(n, w)
    u = w / m ** n
    k = len(u)
    top, bottom = float(u.max()), float(u.min())
    if bottom / top > 0.9 or k == 1:
        jitter, lo, base = "none", 1.0, float(np.median(u))
        p = 1.0 if k < 3 else float(stats.kstest(u, stats.uniform(bottom, top - bottom + 1e-9).cdf).pvalue)
        p = 1.0 if bottom / top > 0.9 else p
    else:
        base = top + (top - bottom) / (k - 1)  # unbiased end point of a uniform sample
        lo_q = bottom / base
        lo = max(0.0, (lo_q * (k + 1) - 1) / k)
        if lo < 0.35:
            jitter, lo = "full", 0.0
            m = _full_jitter_multiplier(n, w, m)
            u = w / m ** n
            base = float(u.max()) * (k + 1) / k
        else:
            jitter, lo = "multiplicative", round(lo, 2)
        p = float(stats.kstest(u / base, stats.uniform(lo, 1 - lo).cdf).pvalue)
    kind = "constant" if m == 1.0 else "exponential"
    cap = base * m ** float(n.max())
    fit = BackoffFit(kind, base, m, cap, jitter, lo, p, k)
    add = _additive(n, w) if jitter != "none" else None
    return add if add is not None and p < 0.05 <= add.p_value else fit
