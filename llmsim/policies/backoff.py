"""Backoff delays with Brooker's jitter variants (aws-samples/aws-arch-backoff-simulator).

``delay(n, u, prev)`` for retry n (0 = first retry), a uniform u in [0, 1) and the previous delay.

>>> b = ExponentialBackoff(base=0.5, cap=8.0, jitter="none")
>>> [b.delay(n, 0.3, None) for n in range(6)]
[0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
>>> ExponentialBackoff(base=0.5, cap=8.0, jitter="full").delay(2, 0.5, None)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExponentialBackoff", "from_config"]


@dataclass(frozen=True, slots=True)
class ExponentialBackoff:
    """expo(n) = min(cap, base * multiplier**n); constant when multiplier == 1."""

    base: float
    cap: float
    multiplier: float = 2.0
    jitter: str = "full"

    def expo(self, n: int) -> float:
        if n > 64:
            return self.cap
        return min(self.cap, self.base * self.multiplier**n)

    def delay(self, n: int, u: float, prev: float | None) -> float:
        j = self.jitter
        if j == "decorrelated":
            # s = min(cap, U(base, 3 * s_prev)), s_0 = base
            last = self.base if prev is None else prev
            hi = 3.0 * last
            return min(self.cap, self.base + u * (hi - self.base)) if hi > self.base else min(self.cap, self.base)
        e = self.expo(n)
        if j == "none":
            return e
        if j == "full":
            return u * e
        if j == "equal":
            return e / 2.0 + u * e / 2.0
        raise ValueError(f"unknown jitter {j!r}")


def from_config(cfg) -> ExponentialBackoff:
    """Build from a ``config.client.Backoff``."""
    mult = 1.0 if cfg.kind == "constant" else cfg.multiplier
    return ExponentialBackoff(base=cfg.base, cap=max(cfg.cap, cfg.base) if cfg.kind == "constant" else cfg.cap,
                              multiplier=mult, jitter=cfg.jitter)
