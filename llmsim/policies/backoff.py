"""Backoff delays: constant, linear and exponential schedules with every common jitter.

``delay(n, u, prev)`` for retry n (0 = first retry), a uniform u in [0, 1) and the previous delay.
Brooker's variants (aws-samples/aws-arch-backoff-simulator) plus additive (tenacity
wait_exponential_jitter, gRPC), multiplicative (OpenAI SDK, LiteLLM, Polly) and Polly's
decorrelated jitter v2.

>>> b = Backoff(base=0.5, cap=8.0, jitter="none")
>>> [b.delay(n, 0.3, None) for n in range(6)]
[0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
>>> Backoff(base=0.5, cap=8.0, jitter="full").delay(2, 0.5, None)
1.0
>>> Backoff(base=0.5, cap=8.0, jitter=("multiplicative", 0.75, 1.0)).delay(0, 0.0, None)  # OpenAI: 1 - 0.25 u
0.5
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Backoff", "from_config", "polly_v2_delay"]

_RP_SCALING = 1 / 1.4  # Polly's DecorrelatedJitterBackoffV2 constants
_P_FACTOR = 4.0


def polly_v2_delay(n: int, u: float, prev_formula: float, base: float) -> tuple[float, float]:
    """Polly v8 decorrelated jitter v2 (credit @george-polevoy): returns (delay, formula value).

    t = n + u; next = 2**t * tanh(sqrt(4 t)); delay = (next - prev) / 1.4 * base."""
    t = n + u
    nxt = 2.0**t * math.tanh(math.sqrt(_P_FACTOR * t))
    return (nxt - prev_formula) * _RP_SCALING * base, nxt


@dataclass(frozen=True, slots=True)
class Backoff:
    """kind exponential: base * multiplier**n; linear: base * (n + 1); constant: base; clamped to
    [min, cap], then jittered. ``jitter`` is a name or a tuple ("additive", j) /
    ("multiplicative", lo, hi)."""

    base: float
    cap: float
    multiplier: float = 2.0
    jitter: object = "full"
    kind: str = "exponential"
    min: float = 0.0

    def expo(self, n: int) -> float:
        if self.kind == "constant":
            d = self.base
        elif self.kind == "linear":
            d = self.base * (n + 1)
        elif self.kind == "envoy":
            d = self.cap if n > 1000 else self.base * (2.0 ** (n + 1) - 1)
        else:
            d = self.cap if n > 1000 else self.base * self.multiplier**n
        return min(self.cap, max(self.min, d))

    def delay(self, n: int, u: float, prev: float | None) -> float:
        j = self.jitter
        if j == "none":
            return self.expo(n)
        if j == "full":
            return u * self.expo(n)
        if j == "equal":
            e = self.expo(n)
            return e / 2.0 + u * e / 2.0
        if j == "decorrelated":
            # s = min(cap, U(base, 3 * s_prev)), s_0 = base
            last = self.base if prev is None else prev
            hi = 3.0 * last
            return min(self.cap, self.base + u * (hi - self.base)) if hi > self.base else min(self.cap, self.base)
        if j == "polly-v2":
            return self.step(n, u, prev)[0]
        if isinstance(j, tuple):
            if j[0] == "additive":
                return min(self.cap, self.expo(n) + u * j[1])
            if j[0] == "multiplicative":
                return self.expo(n) * (j[2] - (j[2] - j[1]) * u)  # in (lo, hi], as the OpenAI SDK
        raise ValueError(f"unknown jitter {j!r}")

    def step(self, n: int, u: float, prev):
        """(delay, state to pass as ``prev`` next time): the state is the previous delay, except for
        polly-v2 where it is the previous value of Polly's formula (0 before the first retry)."""
        if self.jitter == "polly-v2":
            d, formula = polly_v2_delay(n, u, 0.0 if prev is None else prev, self.base)
            return min(self.cap, max(0.0, d)), formula
        d = self.delay(n, u, prev)
        return d, d


def from_config(cfg) -> Backoff:
    """Build from a ``config.client.Backoff``."""
    j = cfg.jitter
    if hasattr(j, "additive"):
        jitter: object = ("additive", j.additive)
    elif hasattr(j, "multiplicative"):
        jitter = ("multiplicative", j.multiplicative[0], j.multiplicative[1])
    else:
        jitter = j
    return Backoff(base=cfg.base, cap=max(cfg.cap, cfg.base) if cfg.kind == "constant" else cfg.cap,
                   multiplier=cfg.multiplier, jitter=jitter, kind=cfg.kind, min=cfg.min)
