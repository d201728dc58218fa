"""Output contract checks as pure functions and objects (no SimPy).

>>> next_step("retry", attempts_made=1, max_attempts=2), next_step("retry", 2, 2), next_step("accept", 1, 5)
('retry', None, None)
>>> from llmsim.config.contracts import ContractMonitor
>>> m = InvalidShareMonitor(ContractMonitor(window=60, threshold=0.5, min_outputs=2))
>>> m.observe(0.0, False), m.observe(1.0, True), m.triggered_at
(False, True, 1.0)
"""

from __future__ import annotations

from llmsim.config.contracts import ContractMonitor
from llmsim.policies.windows import TimeWindow

__all__ = ["next_step", "InvalidShareMonitor", "expected_invalid_delivered", "expected_attempts"]


def next_step(on_invalid: str, attempts_made: int, max_attempts: int) -> str | None:
    """What the client does after an invalid answer: ``retry``, ``fallback``, or None (deliver it)."""
    if on_invalid == "accept" or attempts_made >= max_attempts:
        return None
    return on_invalid


def expected_invalid_delivered(q: float, max_attempts: int) -> float:
    """Share of requests delivered invalid when each answer is invalid with probability q,
    independently, and invalid answers are retried up to ``max_attempts`` attempts in all: q**N.

    >>> expected_invalid_delivered(0.1, 3)
    0.0010000000000000002
    """
    return q ** max_attempts


def expected_attempts(q: float, max_attempts: int) -> float:
    """Mean attempts per request under the same model: (1 - q**N) / (1 - q) (N when q = 1).

    >>> round(expected_attempts(0.5, 2), 6)
    1.5
    """
    if q >= 1.0:
        return float(max_attempts)
    return (1.0 - q ** max_attempts) / (1.0 - q)


class InvalidShareMonitor:
    """The ``ContractMonitor`` config at run time: share of invalid answers among those validated
    over the last ``window`` seconds; the condition holds when at least ``min_outputs`` were seen and
    the share reached ``threshold`` (first time only)."""

    __slots__ = ("cfg", "seen", "triggered", "triggered_at")

    def __init__(self, cfg: ContractMonitor):
        self.cfg = cfg
        self.seen = TimeWindow(cfg.window)  # total: invalid answers in the window
        self.triggered = False
        self.triggered_at = float("nan")  # when the condition first held (NaN: not yet)

    def observe(self, now: float, invalid: bool) -> bool:
        """Record one validated answer; True when the condition holds for the first time (now)."""
        if self.triggered:
            return False
        seen = self.seen
        seen.add(now, invalid)
        seen.trim(now)
        n = len(seen)
        if n >= self.cfg.min_outputs and seen.total >= self.cfg.threshold * n:
            self.triggered = True
            self.triggered_at = now
            return True
        return False
