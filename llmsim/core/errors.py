"""The one error type users see for bad input: it names where and why, in one line.

>>> str(ScenarioError("workload.arrivals.rate", "must be > 0", source="s.yaml"))
's.yaml: workload.arrivals.rate: must be > 0'
"""

from __future__ import annotations

__all__ = ["ScenarioError"]


class ScenarioError(ValueError):
    """Bad scenario input: ``path`` is the dotted field path (may be empty), ``reason`` the why."""

    def __init__(self, path: str, reason: str, source: str | None = None, more: int = 0):
        self.path = path
        self.reason = reason
        self.source = source
        self.more = more
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.path) if p]
        head = ": ".join(parts + [self.reason])
        if self.more:
            head += f" (and {self.more} more problem{'s' if self.more > 1 else ''})"
        return head
