"""Circuit breakers: resilience4j time- and count-based sliding windows (failure and slow-call
rates), consecutive-failure breakers, growing open durations, half-open permits (Polly: one probe).

>>> from llmsim.config.client import CircuitBreaker
>>> b = BreakerPolicy(CircuitBreaker(window=10, min_calls=4, failure_rate=0.5, open_for=5, half_open_calls=1))
>>> for t in range(4):
...     permit = b.allow(t); b.record(t, permit, failed=True)
>>> b.state, b.allow(4.0), b.allow(9.5) is not None, b.state
('open', None, True, 'half_open')
"""

from __future__ import annotations

from collections import deque

from llmsim.config.client import CircuitBreaker

__all__ = ["BreakerPolicy", "CLOSED", "OPEN", "HALF_OPEN"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
INF = float("inf")


class _Counts:
    """Calls, failures and slow calls in the closed state's window."""

    __slots__ = ("calls", "fails", "slows")

    def __init__(self):
        self.calls = self.fails = self.slows = 0

    def add(self, failed: bool, slow: bool, sign: int = 1) -> None:
        self.calls += sign
        self.fails += sign * failed
        self.slows += sign * slow


class _ConsecutiveWindow:
    """``kind: consecutive``: failures in a row (the rates are not used)."""

    __slots__ = ("streak",)

    def __init__(self, size: int):
        self.streak = 0

    def trips(self, b: BreakerPolicy, now: float, failed: bool, slow: bool) -> bool:
        self.streak = self.streak + 1 if failed else 0
        return self.streak >= b.min_calls


class _CountWindow:
    """``kind: count``: the last ``size`` calls."""

    __slots__ = ("size", "ring", "totals")

    def __init__(self, size: int):
        self.size = size
        self.ring: deque = deque()
        self.totals = _Counts()

    def trips(self, b: BreakerPolicy, now: float, failed: bool, slow: bool) -> bool:
        ring = self.ring
        ring.append((failed, slow))
        self.totals.add(failed, slow)
        if len(ring) > self.size:
            f, s = ring.popleft()
            self.totals.add(f, s, -1)
        return b.over(self.totals)


class _TimeWindow:
    """``kind: time``: the last ``size`` seconds, in 1 s buckets (preallocated rings; the window's
    totals in plain attributes: ``n`` calls, ``f`` failures, ``s`` slow calls)."""

    __slots__ = ("size", "calls", "fails", "slows", "stamp", "last_sec", "n", "f", "s")

    def __init__(self, size: int):
        self.size = size
        self.calls = [0] * size
        self.fails = [0] * size
        self.slows = [0] * size
        self.stamp = [-1] * size
        self.last_sec = -1
        self.n = self.f = self.s = 0

    @property
    def totals(self) -> _Counts:
        """The window's counts now, as the other windows keep them."""
        c = _Counts()
        c.calls, c.fails, c.slows = self.n, self.f, self.s
        return c

    def trips(self, b: BreakerPolicy, now: float, failed: bool, slow: bool) -> bool:
        sec = int(now)
        i = sec % self.size
        if self.stamp[i] != sec:
            self._advance(sec)
        self.calls[i] += 1
        n = self.n = self.n + 1
        if failed:  # most calls neither fail nor are slow: nothing more to count
            self.fails[i] += 1
            self.f += 1
        if slow:
            self.slows[i] += 1
            self.s += 1
        # b.over(counts), inlined: the default window is on every call's path
        return n >= b.min_calls and (self.f >= b.failure_rate * n or self.s >= b.slow_call_rate * n)

    def _advance(self, sec: int) -> None:
        """Drop 1 s buckets older than the window up to second ``sec``."""
        w = self.size
        for s in range(max(self.last_sec + 1, sec - w + 1), sec + 1):
            i = s % w
            if self.stamp[i] != s:
                self.n -= self.calls[i]
                self.f -= self.fails[i]
                self.s -= self.slows[i]
                self.calls[i] = self.fails[i] = self.slows[i] = 0
                self.stamp[i] = s
        if sec > self.last_sec:
            self.last_sec = sec


_WINDOWS = {"time": _TimeWindow, "count": _CountWindow, "consecutive": _ConsecutiveWindow}


class BreakerPolicy:
    """The ``config.client.CircuitBreaker`` of one provider: CLOSED -> OPEN when calls >= min_calls
    and failures/calls >= failure_rate (or slow calls/calls >= slow_call_rate) over the window;
    ``kind``: "time" (last ``window`` seconds, 1 s buckets), "count" (last ``window`` calls) or
    "consecutive" (``min_calls`` failures in a row).

    OPEN rejects until open_for * open_growth**(openings in a row - 1) (at most max_open) has
    passed; then the next call (or the timer, when ``automatic``: the transition is dated at the
    end of the open period) moves it to HALF_OPEN, which lets ``half_open_calls`` through and
    re-decides when all have finished. ``allow`` returns a permit (the state epoch) or None; results
    of calls permitted in an earlier epoch are ignored."""

    __slots__ = ("cfg", "size", "slow_duration", "max_open", "min_calls", "failure_rate", "slow_call_rate", "state",
                 "epoch", "open_until", "opens", "streak", "on_change", "window", "probe", "permits", "trips")

    def __init__(self, cfg: CircuitBreaker, on_change=None):
        self.cfg = cfg
        # read on every call: kept in slots (a pydantic model's attribute costs several times a slot's)
        self.min_calls = cfg.min_calls
        self.failure_rate = cfg.failure_rate
        self.slow_call_rate = cfg.slow_call_rate
        self.size = max(1, int(round(cfg.window)))
        self.slow_duration = INF if cfg.slow_call_duration is None else cfg.slow_call_duration
        self.max_open = INF if cfg.max_open is None else cfg.max_open
        self.state = CLOSED
        self.epoch = 0
        self.open_until = 0.0
        self.opens = 0
        self.streak = 0  # openings since the last close
        self.on_change = on_change  # callback(now, state) on every transition
        self.window = _WINDOWS[cfg.kind](self.size)
        self.trips = self.window.trips  # bound once: one attribute read less on every call's result
        self.probe = _Counts()  # the half-open calls' results
        self.permits = 0  # half-open calls still to let through

    def over(self, c: _Counts) -> bool:
        """Do these counts open the breaker?"""
        n = c.calls
        return n >= self.min_calls and (c.fails >= self.failure_rate * n or c.slows >= self.slow_call_rate * n)

    def _transition(self, now: float, state: str) -> None:
        self.state = state
        self.epoch += 1
        cfg = self.cfg
        if state == OPEN:
            self.opens += 1
            self.streak += 1
            self.open_until = now + min(self.max_open, cfg.open_for * cfg.open_growth ** (self.streak - 1))
        elif state == HALF_OPEN:
            self.permits = cfg.half_open_calls
            self.probe = _Counts()
        else:
            self.streak = 0
            self.window = _WINDOWS[cfg.kind](self.size)
            self.trips = self.window.trips
        if self.on_change is not None:
            self.on_change(now, state)

    def available(self, now: float) -> bool:
        """Would ``allow`` give a permit now? (does not take one)"""
        if self.state == CLOSED:
            return True
        if self.state == OPEN:
            return now >= self.open_until
        return self.permits > 0

    def allow(self, now: float):
        """A permit (int) if a call may go out now, else None (rejected locally)."""
        state = self.state
        if state == CLOSED:
            return self.epoch
        if state == OPEN:
            if now < self.open_until:
                return None
            self._transition(self.open_until if self.cfg.automatic else now, HALF_OPEN)
        if self.permits > 0:
            self.permits -= 1
            return self.epoch
        return None

    def trip(self, now: float) -> None:
        """The closed window's counts say open (``trips`` returned True): open now."""
        self._transition(now, OPEN)

    def record(self, now: float, permit, failed: bool, duration: float = 0.0) -> None:
        """The result of a call made with ``permit`` (``duration``: how long it took, for slow calls)."""
        if permit != self.epoch:
            return
        slow = duration > self.slow_duration  # resilience4j: slower than the threshold
        if self.state == CLOSED:
            if self.trips(self, now, failed, slow):
                self._transition(now, OPEN)
        elif self.state == HALF_OPEN:
            probe = self.probe
            probe.add(failed, slow)
            if probe.calls >= self.cfg.half_open_calls:
                self._transition(now, OPEN if self.over_probe(probe) else CLOSED)

    def over_probe(self, c: _Counts) -> bool:
        """Do the half-open calls' results open the breaker again?"""
        n = c.calls
        return c.fails >= self.cfg.failure_rate * n or c.slows >= self.cfg.slow_call_rate * n
