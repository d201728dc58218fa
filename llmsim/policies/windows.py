"""The time windows the policies share.

``TimeWindow``: a sliding window of the values seen over the last ``span`` seconds. An entry added
at time t counts while ``now - span < t``; ``trim`` drops the older ones and takes their values off
the running ``total``. Used by the retry budgets (Finagle, ratio), the SRE throttle, the spend
alert and the output-contract monitor.

``FixedWindow``: windows of ``span`` seconds aligned to time 0 (this minute, this day); ``roll``
says when a new one began, so its owner restarts its counts. Used by LiteLLM cooldowns (failures
this minute), usage-based routing (tokens this minute) and spend budgets.

>>> w = TimeWindow(10.0)
>>> w.add(0.0, 2.0); w.add(5.0, 1.0)
>>> w.count(9.0), w.total
(2, 3.0)
>>> w.count(10.0), w.total     # the entry at 0 s is 10 s old: out
(1, 1.0)
>>> m = FixedWindow(60.0)
>>> m.roll(5.0), m.roll(59.0), m.roll(60.0), m.index
(True, False, True, 1)
"""

from __future__ import annotations

from collections import deque

__all__ = ["TimeWindow", "FixedWindow"]


class TimeWindow:
    """Entries (time, value) of the last ``span`` seconds, their count and the sum of their values."""

    __slots__ = ("span", "entries", "total")

    def __init__(self, span: float):
        self.span = span
        self.entries: deque[tuple[float, float]] = deque()
        self.total = 0

    def add(self, now: float, value: float = 1) -> None:
        """One entry at ``now`` (times never decrease)."""
        self.entries.append((now, value))
        self.total += value

    def trim(self, now: float) -> None:
        """Drop the entries that left the window by ``now``."""
        entries = self.entries
        edge = now - self.span
        while entries and entries[0][0] <= edge:
            self.total -= entries.popleft()[1]

    def count(self, now: float) -> int:
        """How many entries are in the window ending ``now``."""
        self.trim(now)
        return len(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


class FixedWindow:
    """Which window of ``span`` seconds (aligned to time 0) ``now`` is in: ``index``."""

    __slots__ = ("span", "index")

    def __init__(self, span: float, index: int = -1):
        self.span = span
        self.index = index  # the current window (-1: none yet)

    def roll(self, now: float) -> bool:
        """Move to the window of ``now``; True when that is a new one (the counts restart)."""
        idx = int(now // self.span)
        if idx != self.index:
            self.index = idx
            return True
        return False
