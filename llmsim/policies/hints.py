"""How a retry uses the server's Retry-After hint.

>>> h = RetryAfterPolicy("window", lo=0.0, hi=60.0)   # OpenAI SDK: honour (0, 60], else backoff
>>> h.delay(2.0, 30.0), h.delay(2.0, 90.0), h.delay(2.0, float("nan"))
(30.0, 2.0, 2.0)
>>> RetryAfterPolicy("clamp", hi=5.0).delay(2.0, 30.0)     # AWS 2026: backoff + at most 5 s
7.0
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetryAfterPolicy", "from_config"]


@dataclass(frozen=True, slots=True)
class RetryAfterPolicy:
    """mode: honor (wait exactly the hint), ignore, cap (min(hint, hi)), window (hint if lo < hint <= hi
    else backoff), clamp (clamp(hint, backoff, backoff + hi)), max_of (max(hint, backoff))."""

    mode: str = "honor"
    lo: float = 0.0
    hi: float = float("inf")

    def delay(self, backoff: float, retry_after: float) -> float:
        ra = retry_after
        if ra != ra or ra <= 0 or self.mode == "ignore":  # no usable hint (NaN, or not positive)
            return backoff
        m = self.mode
        if m == "honor":
            return ra
        if m == "cap":
            return ra if ra < self.hi else self.hi
        if m == "window":
            return ra if self.lo < ra <= self.hi else backoff
        if m == "clamp":
            return min(max(ra, backoff), backoff + self.hi)
        if m == "max_of":
            return ra if ra > backoff else backoff
        raise ValueError(f"unknown Retry-After mode {m!r}")


def from_config(cfg) -> RetryAfterPolicy:
    if isinstance(cfg, str):
        return RetryAfterPolicy(cfg)
    if hasattr(cfg, "max"):
        return RetryAfterPolicy("cap", hi=cfg.max)
    if hasattr(cfg, "window"):
        return RetryAfterPolicy("window", lo=cfg.window[0], hi=cfg.window[1])
    return RetryAfterPolicy("clamp", hi=cfg.clamp)
