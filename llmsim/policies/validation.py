"""Output contract checks as pure functions and objects (no SimPy).

>>> next_step("retry", attempts_made=1, max_attempts=2), next_step("retry", 2, 2), next_step("accept", 1, 5)
('retry', None, None)
>>> m = ContractMonitor(window=60, threshold=0.5, min_outputs=2)
>>> m.observe(0.0, False), m.observe(1.0, True), m.triggered_at
(False, True, 1.0)
"""

from __future__ import annotations

from collections import deque

__all__ = ["next_step", "ContractMonitor", "expected_invalid_delivered", "expected_attempts"]


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


class ContractMonitor:
    """Share of invalid answers among those validated over the last ``window`` seconds; the condition
    holds when at least ``min_outputs`` were seen and the share reached ``threshold`` (first time only)."""

    __slots__ = ("window", "threshold", "min_outputs", "_seen", "_bad", "triggered_at")

    def __init__(self, window: float, threshold: float, min_outputs: int):
        self.window = window
        self.threshold = threshold
        self.min_outputs = min_outputs
        self._seen: deque[tuple[float, bool]] = deque()
        self._bad = 0
        self.triggered_at = float("nan")

    def observe(self, now: float, invalid: bool) -> bool:
        """Record one validated answer; True when the condition holds for the first time (now)."""
        if self.triggered_at == self.triggered_at:
            return False
        seen = self._seen
        seen.append((now, invalid))
        self._bad += invalid
        edge = now - self.window
        while seen[0][0] <= edge:
            self._bad -= seen.popleft()[1]
        if len(seen) >= self.min_outputs and self._bad >= self.threshold * len(seen):
            self.triggered_at = now
            return True
        return False
