"""Circuit breaker over a time-based sliding window of 1-second buckets (resilience4j TIME_BASED).

>>> b = CircuitBreaker(window=10, min_calls=4, failure_rate=0.5, open_for=5, half_open_calls=1)
>>> for t in range(4):
...     permit = b.allow(t); b.record(t, permit, failed=True)
>>> b.state, b.allow(4.0), b.allow(9.5) is not None, b.state
('open', None, True, 'half_open')
"""

from __future__ import annotations

__all__ = ["CircuitBreaker", "CLOSED", "OPEN", "HALF_OPEN"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """CLOSED -> OPEN when calls >= min_calls and failures/calls >= failure_rate over the last ``window`` s.

    OPEN rejects until ``open_for`` has passed, then the next call moves it to HALF_OPEN, which lets
    ``half_open_calls`` calls through and re-decides when all of them have finished. ``allow`` returns
    a permit (the state epoch) or None; ``record`` ignores results of calls permitted in an earlier
    epoch, so a slow call from before an opening cannot close the breaker."""

    __slots__ = ("window", "min_calls", "failure_rate", "open_for", "half_open_calls", "state", "epoch",
                 "open_until", "_calls", "_fails", "_stamp", "_tot_calls", "_tot_fails", "_last_sec",
                 "_permits", "_ho_done", "_ho_fails", "opens", "on_change")

    def __init__(self, window: float, min_calls: int, failure_rate: float, open_for: float, half_open_calls: int,
                 on_change=None):
        self.window = max(1, int(round(window)))
        self.min_calls = min_calls
        self.failure_rate = failure_rate
        self.open_for = open_for
        self.half_open_calls = half_open_calls
        self.state = CLOSED
        self.epoch = 0
        self.open_until = 0.0
        self.opens = 0
        self.on_change = on_change
        self._reset_window()

    def _reset_window(self) -> None:
        w = self.window
        self._calls = [0] * w
        self._fails = [0] * w
        self._stamp = [-1] * w
        self._tot_calls = 0
        self._tot_fails = 0
        self._last_sec = -1

    def _transition(self, now: float, state: str) -> None:
        self.state = state
        self.epoch += 1
        if state == OPEN:
            self.opens += 1
            self.open_until = now + self.open_for
        elif state == HALF_OPEN:
            self._permits = self.half_open_calls
            self._ho_done = 0
            self._ho_fails = 0
        else:
            self._reset_window()
        if self.on_change is not None:
            self.on_change(now, state)

    def allow(self, now: float):
        """A permit (int) if a call may go out now, else None (rejected locally)."""
        state = self.state
        if state == CLOSED:
            return self.epoch
        if state == OPEN:
            if now < self.open_until:
                return None
            self._transition(now, HALF_OPEN)
        if self._permits > 0:
            self._permits -= 1
            return self.epoch
        return None

    def record(self, now: float, permit, failed: bool) -> None:
        """The result of a call made with ``permit``."""
        if permit != self.epoch:
            return
        if self.state == CLOSED:
            sec = int(now)
            w = self.window
            i = sec % w
            if self._stamp[i] != sec:
                self._advance(sec)
            self._calls[i] += 1
            self._tot_calls += 1
            if failed:
                self._fails[i] += 1
                self._tot_fails += 1
                if self._tot_calls >= self.min_calls and self._tot_fails >= self.failure_rate * self._tot_calls:
                    self._transition(now, OPEN)
            elif self._tot_calls >= self.min_calls and self._tot_fails >= self.failure_rate * self._tot_calls:
                self._transition(now, OPEN)
        elif self.state == HALF_OPEN:
            self._ho_done += 1
            self._ho_fails += failed
            if self._ho_done >= self.half_open_calls:
                if self._ho_fails >= self.failure_rate * self._ho_done:
                    self._transition(now, OPEN)
                else:
                    self._transition(now, CLOSED)

    def _advance(self, sec: int) -> None:
        """Drop buckets older than the window up to second ``sec``."""
        w = self.window
        start = max(self._last_sec + 1, sec - w + 1)
        for s in range(start, sec + 1):
            i = s % w
            if self._stamp[i] != s:
                self._tot_calls -= self._calls[i]
                self._tot_fails -= self._fails[i]
                self._calls[i] = 0
                self._fails[i] = 0
                self._stamp[i] = s
        if sec > self._last_sec:
            self._last_sec = sec

    def counts(self, now: float) -> tuple[int, int]:
        """(calls, failures) in the window ending now (closed state)."""
        self._advance(int(now))
        return self._tot_calls, self._tot_fails
