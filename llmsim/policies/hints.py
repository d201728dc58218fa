"""How a client reads the server's Retry-After hint (``read_hint``) and how a retry uses it (``RetryAfterPolicy``).

A provider's hint is exact inside the model; a real client sees it only through a header, at that
header's precision: ``retry-after`` in whole seconds (rounded up, at least 1 s, as providers and
``llmsim serve`` send it), ``retry-after-ms`` and ``x-ratelimit-reset-*`` in milliseconds.

>>> read_hint("retry-after")(0.0004), read_hint("retry-after")(1.2), read_hint("retry-after-ms")(0.0004)
(1.0, 2.0, 0.001)
>>> read_hint("exact") is None, read_hint("none")(3.0) != read_hint("none")(3.0)
(True, True)
>>> from llmsim.config.client import RetryAfterClamp, RetryAfterWindow
>>> h = RetryAfterPolicy(RetryAfterWindow(window=(0.0, 60.0)))   # OpenAI SDK: honour (0, 60], else backoff
>>> h.delay(2.0, 30.0), h.delay(2.0, 90.0), h.delay(2.0, float("nan"))
(30.0, 2.0, 2.0)
>>> RetryAfterPolicy(RetryAfterClamp(clamp=5.0)).delay(2.0, 30.0)     # AWS 2026: backoff + at most 5 s
7.0
>>> RetryAfterPolicy("max_of").delay(2.0, 1.0)
2.0
>>> RetryAfterPolicy(RetryAfterWindow(window=(0.0, 60.0), jitter=0.75)).delay(2.0, 1.0, u=0.5)  # LiteLLM
1.375
"""

from __future__ import annotations

import math
from collections.abc import Callable

from llmsim.config.client import RetryAfterClamp, RetryAfterMax, RetryAfterWindow

__all__ = ["RetryAfterPolicy", "read_hint"]

NAN = float("nan")


def _whole_seconds(ra: float) -> float:
    """``retry-after: N``: whole seconds, rounded up, never 0 (what serve and real providers send)."""
    return float(max(1, math.ceil(ra)))


def _millis(ra: float) -> float:
    """``retry-after-ms`` / ``x-ratelimit-reset-*``: milliseconds, rounded up, at least 1 ms."""
    return max(1, math.ceil(ra * 1000.0)) / 1000.0


def _unread(ra: float) -> float:
    return NAN


_READERS: dict[str, Callable[[float], float] | None] = {
    "exact": None, "retry-after": _whole_seconds, "retry-after-ms": _millis, "reset": _millis, "none": _unread,
}


def read_hint(header: str) -> Callable[[float], float] | None:
    """The hint as a client reading ``header`` sees it (a function of the provider's positive hint), or
    None when it sees the exact value (``exact``: no rounding, nothing to call)."""
    return _READERS[header]


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

    __slots__ = ("cfg", "_rule", "jitter")

    def __init__(self, cfg: str | RetryAfterMax | RetryAfterWindow | RetryAfterClamp):
        self.cfg = cfg
        self._rule = _BY_NAME[cfg] if isinstance(cfg, str) else _BY_KIND[type(cfg)]
        self.jitter = getattr(cfg, "jitter", 0.0)  # added to an honoured hint, times the draw ``u``

    def delay(self, backoff: float, retry_after: float, u: float = 0.0) -> float:
        ra = retry_after
        if ra != ra or ra <= 0:  # no usable hint (NaN: none sent, or not positive)
            return backoff
        d = self._rule(self.cfg, backoff, ra)
        return d + u * self.jitter if self.jitter and d == ra else d
