"""Backoff delays: constant, linear and exponential schedules with every common jitter.

``delay(n, u, prev)`` for retry n (0 = first retry), a uniform u in [0, 1) and the previous delay.
Brooker's variants (aws-samples/aws-arch-backoff-simulator) plus additive (tenacity
wait_exponential_jitter, gRPC), multiplicative (OpenAI SDK, LiteLLM, Polly) and Polly's
decorrelated jitter v2.

>>> from llmsim.config.client import Backoff
>>> b = BackoffPolicy(Backoff(base=0.5, cap=8.0, jitter="none"))
>>> [b.delay(n, 0.3, None) for n in range(6)]
[0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
>>> BackoffPolicy(Backoff(base=0.5, cap=8.0, jitter="full")).delay(2, 0.5, None)
1.0
>>> BackoffPolicy(Backoff(base=0.5, cap=8.0, jitter={"multiplicative": (0.75, 1.0)})).delay(0, 0.0, None)
0.5
"""

from __future__ import annotations

import math

from llmsim.config.client import AdditiveJitter, Backoff

__all__ = ["BackoffPolicy", "polly_v2_delay"]

_RP_SCALING = 1 / 1.4  # Polly's DecorrelatedJitterBackoffV2 constants
_P_FACTOR = 4.0


def polly_v2_delay(n: int, u: float, prev_formula: float, base: float) -> tuple[float, float]:
    """Polly v8 decorrelated jitter v2 (credit @george-polevoy): returns (delay, formula value).

    t = n + u; next = 2**t * tanh(sqrt(4 t)); delay = (next - prev) / 1.4 * base."""
    t = n + u
    nxt = 2.0**t * math.tanh(math.sqrt(_P_FACTOR * t))
    return (nxt - prev_formula) * _RP_SCALING * base, nxt


def _schedule(b: BackoffPolicy, n: int) -> float:
    """The delay before jitter and clamping."""
    kind = b.kind
    if kind == "constant":
        return b.base
    if kind == "linear":
        return b.base * (n + 1)
    if n > 1000:
        return math.inf  # clamped to the cap
    if kind == "envoy":
        return b.base * (2.0 ** (n + 1) - 1)
    return b.base * b.multiplier**n


class BackoffPolicy:
    """The ``config.client.Backoff`` schedule: kind exponential: base * multiplier**n; linear:
    base * (n + 1); constant: base; clamped to [min, cap], then jittered."""

    __slots__ = ("cfg", "cap", "_jitter", "kind", "base", "multiplier", "floor")

    def __init__(self, cfg: Backoff):
        self.cfg = cfg
        # read on every retry: kept in slots (a pydantic model's attribute costs several times a slot's)
        self.kind, self.base, self.multiplier, self.floor = cfg.kind, cfg.base, cfg.multiplier, cfg.min
        self.cap = max(cfg.cap, cfg.base) if cfg.kind == "constant" else cfg.cap
        j = cfg.jitter
        self._jitter = _JITTERS[j] if isinstance(j, str) else (
            _additive if isinstance(j, AdditiveJitter) else _multiplicative)

    def expo(self, n: int) -> float:
        return min(self.cap, max(self.floor, _schedule(self, n)))

    def delay(self, n: int, u: float, prev: float | None) -> float:
        return self._jitter(self, n, u, prev)

    def step(self, n: int, u: float, prev):
        """(delay, state to pass as ``prev`` next time): the state is the previous delay, except for
        polly-v2 where it is the previous value of Polly's formula (0 before the first retry)."""
        if self._jitter is _polly_v2:
            d, formula = polly_v2_delay(n, u, 0.0 if prev is None else prev, self.base)
            return min(self.cap, max(0.0, d)), formula
        d = self._jitter(self, n, u, prev)
        return d, d


def _none(b: BackoffPolicy, n: int, u: float, prev) -> float:
    return b.expo(n)


def _full(b: BackoffPolicy, n: int, u: float, prev) -> float:
    return u * b.expo(n)


def _equal(b: BackoffPolicy, n: int, u: float, prev) -> float:
    e = b.expo(n)
    return e / 2.0 + u * e / 2.0


def _decorrelated(b: BackoffPolicy, n: int, u: float, prev) -> float:
    """s = min(cap, U(base, 3 * s_prev)), s_0 = base."""
    base = b.base
    hi = 3.0 * (base if prev is None else prev)
    return min(b.cap, base + u * (hi - base)) if hi > base else min(b.cap, base)


def _polly_v2(b: BackoffPolicy, n: int, u: float, prev) -> float:
    return b.step(n, u, prev)[0]


def _additive(b: BackoffPolicy, n: int, u: float, prev) -> float:
    return min(b.cap, b.expo(n) + u * b.cfg.jitter.additive)


def _multiplicative(b: BackoffPolicy, n: int, u: float, prev) -> float:
    lo, hi = b.cfg.jitter.multiplicative
    return b.expo(n) * (hi - (hi - lo) * u)  # in (lo, hi], as the OpenAI SDK


_JITTERS = {"none": _none, "full": _full, "equal": _equal, "decorrelated": _decorrelated, "polly-v2": _polly_v2}
