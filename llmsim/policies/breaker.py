"""Circuit breakers: resilience4j time- and count-based sliding windows (failure and slow-call
rates), consecutive-failure breakers, growing open durations, half-open permits (Polly: one probe).

>>> b = CircuitBreaker(window=10, min_calls=4, failure_rate=0.5, open_for=5, half_open_calls=1)
>>> for t in range(4):
...     permit = b.allow(t); b.record(t, permit, failed=True)
>>> b.state, b.allow(4.0), b.allow(9.5) is not None, b.state
('open', None, True, 'half_open')
"""

from __future__ import annotations

from collections import deque

__all__ = ["CircuitBreaker", "CLOSED", "OPEN", "HALF_OPEN", "from_config"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """CLOSED -> OPEN when calls >= min_calls and failures/calls >= failure_rate (or slow calls/calls
    >= slow_call_rate) over the window; ``kind``: "time" (last ``window`` seconds, 1 s buckets),
    "count" (last ``window`` calls) or "consecutive" (``min_calls`` failures in a row).

    OPEN rejects until open_for * open_growth**(openings in a row - 1) (at most max_open) has
    passed; then the next call (or the timer, when ``automatic``: the transition is dated at the
    end of the open period) moves it to HALF_OPEN, which lets ``half_open_calls`` through and
    re-decides when all have finished. ``allow`` returns a permit (the state epoch) or None; results
    of calls permitted in an earlier epoch are ignored."""

    __slots__ = ("kind", "window", "min_calls", "failure_rate", "slow_rate", "slow_duration", "open_for",
                 "growth", "max_open", "half_open_calls", "automatic", "state", "epoch", "open_until", "opens",
                 "streak", "on_change", "_calls", "_fails", "_slows", "_stamp", "_tot_calls", "_tot_fails",
                 "_tot_slows", "_last_sec", "_ring", "_permits", "_ho_done", "_ho_fails", "_ho_slows", "_consec")

    def __init__(self, window: float = 30, min_calls: int = 20, failure_rate: float = 0.5, open_for: float = 30,
                 half_open_calls: int = 3, on_change=None, kind: str = "time", slow_call_rate: float = 1.0,
                 slow_call_duration: float | None = None, open_growth: float = 1.0, max_open: float | None = None,
                 automatic: bool = False):
        self.kind = kind
        self.window = max(1, int(round(window)))
        self.min_calls = min_calls
        self.failure_rate = failure_rate
        self.slow_rate = slow_call_rate
        self.slow_duration = float("inf") if slow_call_duration is None else slow_call_duration
        self.open_for = open_for
        self.growth = open_growth
        self.max_open = float("inf") if max_open is None else max_open
        self.half_open_calls = half_open_calls
        self.automatic = automatic
        self.state = CLOSED
        self.epoch = 0
        self.open_until = 0.0
        self.opens = 0
        self.streak = 0  # openings since the last close
        self.on_change = on_change
        self._reset_window()

    def _reset_window(self) -> None:
        w = self.window
        self._calls = [0] * w
        self._fails = [0] * w
        self._slows = [0] * w
        self._stamp = [-1] * w
        self._tot_calls = self._tot_fails = self._tot_slows = 0
        self._last_sec = -1
        self._ring: deque = deque()
        self._consec = 0

    def _transition(self, now: float, state: str) -> None:
        self.state = state
        self.epoch += 1
        if state == OPEN:
            self.opens += 1
            self.streak += 1
            self.open_until = now + min(self.max_open, self.open_for * self.growth ** (self.streak - 1))
        elif state == HALF_OPEN:
            self._permits = self.half_open_calls
            self._ho_done = self._ho_fails = self._ho_slows = 0
        else:
            self.streak = 0
            self._reset_window()
        if self.on_change is not None:
            self.on_change(now, state)

    def available(self, now: float) -> bool:
        """Would ``allow`` give a permit now? (does not take one)"""
        if self.state == CLOSED:
            return True
        if self.state == OPEN:
            return now >= self.open_until
        return self._permits > 0

    def allow(self, now: float):
        """A permit (int) if a call may go out now, else None (rejected locally)."""
        state = self.state
        if state == CLOSED:
            return self.epoch
        if state == OPEN:
            if now < self.open_until:
                return None
            self._transition(self.open_until if self.automatic else now, HALF_OPEN)
        if self._permits > 0:
            self._permits -= 1
            return self.epoch
        return None

    def record(self, now: float, permit, failed: bool, duration: float = 0.0) -> None:
        """The result of a call made with ``permit`` (``duration``: how long it took, for slow calls)."""
        if permit != self.epoch:
            return
        slow = duration > self.slow_duration  # resilience4j: slower than the threshold
        if self.state == CLOSED:
            if self.kind == "consecutive":
                self._consec = self._consec + 1 if failed else 0
                if self._consec >= self.min_calls:
                    self._transition(now, OPEN)
                return
            if self.kind == "count":
                ring = self._ring
                ring.append((failed, slow))
                self._tot_calls += 1
                self._tot_fails += failed
                self._tot_slows += slow
                if len(ring) > self.window:
                    f, s = ring.popleft()
                    self._tot_calls -= 1
                    self._tot_fails -= f
                    self._tot_slows -= s
            else:
                sec = int(now)
                i = sec % self.window
                if self._stamp[i] != sec:
                    self._advance(sec)
                self._calls[i] += 1
                self._fails[i] += failed
                self._slows[i] += slow
                self._tot_calls += 1
                self._tot_fails += failed
                self._tot_slows += slow
            n = self._tot_calls
            if n >= self.min_calls and (self._tot_fails >= self.failure_rate * n
                                        or self._tot_slows >= self.slow_rate * n):
                self._transition(now, OPEN)
        elif self.state == HALF_OPEN:
            self._ho_done += 1
            self._ho_fails += failed
            self._ho_slows += slow
            if self._ho_done >= self.half_open_calls:
                n = self._ho_done
                if self._ho_fails >= self.failure_rate * n or self._ho_slows >= self.slow_rate * n:
                    self._transition(now, OPEN)
                else:
                    self._transition(now, CLOSED)

    def _advance(self, sec: int) -> None:
        """Drop 1 s buckets older than the window up to second ``sec``."""
        w = self.window
        for s in range(max(self._last_sec + 1, sec - w + 1), sec + 1):
            i = s % w
            if self._stamp[i] != s:
                self._tot_calls -= self._calls[i]
                self._tot_fails -= self._fails[i]
                self._tot_slows -= self._slows[i]
                self._calls[i] = self._fails[i] = self._slows[i] = 0
                self._stamp[i] = s
        if sec > self._last_sec:
            self._last_sec = sec

    def counts(self, now: float) -> tuple[int, int]:
        """(calls, failures) in the window ending now (closed state)."""
        if self.kind == "time":
            self._advance(int(now))
        return self._tot_calls, self._tot_fails


def from_config(cfg, on_change=None) -> CircuitBreaker:
    return CircuitBreaker(cfg.window, cfg.min_calls, cfg.failure_rate, cfg.open_for, cfg.half_open_calls,
                          on_change=on_change, kind=cfg.kind, slow_call_rate=cfg.slow_call_rate,
                          slow_call_duration=cfg.slow_call_duration, open_growth=cfg.open_growth,
                          max_open=cfg.max_open, automatic=cfg.automatic)
