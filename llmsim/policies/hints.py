"""How a retry uses the server's Retry-After hint.

>>> from llmsim.config.client import RetryAfterClamp, RetryAfterWindow
>>> h = RetryAfterPolicy(RetryAfterWindow(window=(0.0, 60.0)))   # OpenAI SDK: honour (0, 60], else backoff
>>> h.delay(2.0, 30.0), h.delay(2.0, 90.0), h.delay(2.0, float("nan"))
(30.0, 2.0, 2.0)
>>> RetryAfterPolicy(RetryAfterClamp(clamp=5.0)).delay(2.0, 30.0)     # AWS 2026: backoff + at most 5 s
7.0
>>> RetryAfterPolicy("max_of").delay(2.0, 1.0)
2.0
"""

from __future__ import annotations

from llmsim.config.client import RetryAfterClamp, RetryAfterMax, RetryAfterWindow

__all__ = ["RetryAfterPolicy"]


def _honor(cfg, backoff: float, ra: float) -> float:
    return ra


def _ignore(cfg, backoff: float, ra: float) -> float:
    return backoff


def _max_of(cfg, backoff: float, ra: float) -> float:
    return ra if ra > backoff else backoff


def _cap(cfg: RetryAfterMax, backoff: float, ra: float) -> float:
    return ra if ra < cfg.max else cfg.max


def _window(cfg: RetryAfterWindow, backoff: float, ra: float) -> float:
    lo, hi = cfg.window
    return ra if lo < ra <= hi else backoff


def _clamp(cfg: RetryAfterClamp, backoff: float, ra: float) -> float:
    return min(max(ra, backoff), backoff + cfg.clamp)


_BY_NAME = {"honor": _honor, "ignore": _ignore, "max_of": _max_of}
_BY_KIND = {RetryAfterMax: _cap, RetryAfterWindow: _window, RetryAfterClamp: _clamp}


class RetryAfterPolicy:
    """The ``retry_after`` of a retry config: honor (wait exactly the hint), ignore, max (min(hint,
    max)), window (hint if lo < hint <= hi else backoff), clamp (clamp(hint, backoff, backoff +
    clamp)), max_of (max(hint, backoff))."""

    __slots__ = ("cfg", "_rule")

    def __init__(self, cfg: str | RetryAfterMax | RetryAfterWindow | RetryAfterClamp):
        self.cfg = cfg
        self._rule = _BY_NAME[cfg] if isinstance(cfg, str) else _BY_KIND[type(cfg)]

    def delay(self, backoff: float, retry_after: float) -> float:
        ra = retry_after
        if ra != ra or ra <= 0:  # no usable hint (NaN: none sent, or not positive)
            return backoff
        return self._rule(self.cfg, backoff, ra)
