"""Fit a backoff curve to the waits a client left between failed attempts.

Sample ``(n, wait)``: the client waited ``wait`` seconds before retry ``n`` (n = 0 for the first retry).
The model is ``wait = d_n * J`` with ``d_n = base * multiplier**n`` and a jitter factor J: none (J = 1),
multiplicative U(lo, 1] (OpenAI/Anthropic SDKs: lo = 0.75) or full U(0, 1) (tenacity's
wait_random_exponential, AWS); or additive, ``d_n + U(0, j)`` (LiteLLM's 0.5 * 2^n + U(0, 0.75),
tenacity's wait_exponential_jitter). Multiplicative jitter's spread grows with d_n, additive jitter's does
not: the two families are told apart by their maximum likelihoods (uniform densities, the same number of
parameters), so additive wins when the waits' spread stays the same from one retry to the next.
The multiplier is the slope of log(wait) against n (jitter only shifts the intercept; for additive jitter
the value among 1, 1.5, 2, 3, 4 that makes the residuals' range smallest), the jitter family comes from the
spread of the normalised waits ``wait / multiplier**n``, the base from their top (unbiased uniform
end-point estimate; for additive jitter the lower envelope, corrected for its bias), and the goodness of
fit is the Kolmogorov-Smirnov p-value of the normalised waits (or residuals) against the fitted family.

>>> fit = fit_backoff([(0, 0.5), (1, 1.0), (2, 2.0), (0, 0.5), (1, 1.0)])
>>> fit.kind, fit.jitter, round(fit.base, 3), fit.multiplier
('exponential', 'none', 0.5, 2.0)
>>> fit_backoff([(0, 1.0), (1, 1.01), (2, 0.99)]).kind
'constant'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

__all__ = ["BackoffFit", "fit_backoff"]

_NICE = (1.0, 1.5, 2.0, 3.0, 4.0)
# log-likelihood the additive family must gain over the multiplicative one (a likelihood ratio of e^3 = 20): in
# 300 synthetic probes each, openai-python's waits (3 runs of 2 retries) were never taken for additive, and
# LiteLLM's (4 runs of 4 retries) were in 99 % (the synthetic checks in tests/test_probe.py)
_MARGIN = 3.0


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
    cap_seen: bool = False  # the waits stopped growing: ``cap`` was measured, not just the longest wait seen

    def describe(self) -> str:
        j = {"none": "no jitter", "full": "full jitter U(0, d)", "additive": f"jitter d + U(0, {self.additive:.2f})",
             "multiplicative": f"jitter d*U({self.lo:.2f}, 1]"}[self.jitter]
        curve = f"{self.base:.3g} s constant" if self.kind == "constant" else \
            f"{self.base:.3g} s x {self.multiplier:g}^n"
        cap = f", capped at {self.cap:.3g} s" if self.cap_seen else ""
        return f"{curve}{cap}, {j} (KS p = {self.p_value:.2f}, {self.n} waits)"


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


def _min_residual_bias(x: np.ndarray, j: float) -> float:
    """E[min_i r_i / x_i] for r_i ~ U(0, j): how far the lower envelope min(w / x) sits above the base."""
    t = np.linspace(0.0, j / float(x.max()), 256)
    survival = np.prod(np.clip(1.0 - np.outer(t, x) / j, 0.0, None), axis=1)
    return float(np.sum((survival[1:] + survival[:-1]) / 2) * (t[1] - t[0]))


def _additive(n: np.ndarray, w: np.ndarray) -> BackoffFit | None:
    """d_n + U(0, j) (LiteLLM, tenacity's wait_exponential_jitter): the lower envelope min(w / m**n) is the base's
    maximum likelihood estimate (less its bias), the residuals above the curve are the jitter; the multiplier
    minimises the residuals' range (the likelihood's maximum)."""
    if len(set(n.tolist())) < 2:
        return None
    k = len(w)

    def width(m: float) -> float:
        return float((w - float((w / m ** n).min()) * m ** n).max())

    m = min(_NICE, key=width)
    x = m ** n
    j = width(m)
    if j <= 0:
        return None
    b = float((w / x).min())
    for _ in range(3):  # the bias of the envelope depends on j, j on the corrected base: a few rounds settle it
        b = max(0.0, float((w / x).min()) - _min_residual_bias(x, j))
        j = float((w - b * x).max()) * (k + 1) / k
    r = np.clip(w - b * x, 0.0, None)
    p = float(stats.kstest(r / j, stats.uniform(0, 1).cdf).pvalue)
    fit = BackoffFit("constant" if m == 1.0 else "exponential", b, m, b * m ** float(n.max()), "additive", 0.0, p,
                     k, j)
    return fit


def _loglik_additive(n: np.ndarray, w: np.ndarray, fit: BackoffFit) -> float:
    """The additive family's maximum log-likelihood: every wait in [d_n, d_n + j] with density 1 / j."""
    x = fit.multiplier ** n
    return -len(w) * math.log(max(float((w - float((w / x).min()) * x).max()), 1e-9))


def _loglik_scaled(n: np.ndarray, w: np.ndarray, multiplier: float) -> float:
    """The multiplicative family's maximum log-likelihood: wait / d_n uniform, so density 1 / (x_n * range)."""
    x = multiplier ** n
    u = w / x
    return -float(np.log(x).sum()) - len(w) * math.log(max(float(u.max() - u.min()), 1e-9))


def _fit_curve(n: np.ndarray, w: np.ndarray) -> BackoffFit:
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
    if add is not None and _loglik_additive(n, w, add) - _loglik_scaled(n, w, m) > _MARGIN:
        return add
    return fit


def _first_capped_level(n: np.ndarray, w: np.ndarray) -> int | None:
    """The retry index from which the waits stopped growing (a cap), if their means grew over at least two levels
    before it (by 1.3x a level on average, 1.1x at least) and every later level's mean stays within 25 % of the
    last growing one."""
    levels = sorted(set(int(v) for v in n))
    mean = {lv: float(w[n == lv].mean()) for lv in levels}
    for i in range(2, len(levels)):
        grew = all(mean[levels[t]] >= 1.1 * mean[levels[t - 1]] for t in range(1, i)) and \
            mean[levels[i - 1]] >= 1.3 ** (i - 1) * mean[levels[0]]
        flat = all(mean[lv] < 1.25 * mean[levels[i - 1]] for lv in levels[i:])
        if grew and flat:
            return levels[i]
    return None


def _cap_from(fit: BackoffFit, capped: np.ndarray) -> float:
    """The cap the waits at the capped levels show (the scheduled wait before jitter)."""
    k = len(capped)
    if fit.jitter == "additive":
        return max(0.0, float(capped.min()) - fit.additive / (k + 1))
    if fit.jitter == "none":
        return float(np.median(capped))
    top, bottom = float(capped.max()), float(capped.min())
    return top * (k + 1) / k if fit.jitter == "full" or k == 1 else top + (top - bottom) / (k - 1)


def fit_backoff(samples: list[tuple[int, float]]) -> BackoffFit | None:
    """The backoff that explains ``samples`` best (None without samples). Waits that stop growing after at
    least two growing levels are a cap: the curve is fitted below it and ``cap`` measured from them.

    >>> ws = [(i, min(0.5 * 2 ** i, 2.0)) for i in range(5)]
    >>> f = fit_backoff(ws); (f.base, f.multiplier, f.cap, f.cap_seen)
    (0.5, 2.0, 2.0, True)
    """
    if not samples:
        return None
    n = np.array([s[0] for s in samples], dtype=float)
    w = np.array([s[1] for s in samples], dtype=float)
    first = _first_capped_level(n, w)
    if first is None:
        return _fit_curve(n, w)
    below = n < first
    fit = _fit_curve(n[below], w[below])
    return replace(fit, cap=_cap_from(fit, w[~below]), cap_seen=True, n=len(w))
