"""An independent event-driven model of a retrying client on a queueing provider (heapq, no llmsim).

Written from the documented semantics (docs/policies.md sections 2-3, docs/model.md section 3.6),
not from llmsim's code, to check retry, timeout and backoff amplification:

- requests arrive as a Poisson process until the horizon; each makes attempts until one is ``ok`` or
  ``max_attempts`` were made; ``timeout`` and ``server_error`` are retried;
- the wait before retry n (n = 0 before the second attempt) is ``u * min(cap, base * multiplier**n)``
  (exponential backoff with full jitter: the first wait's bound is ``base``, as in tenacity, botocore
  and llmsim; Brooker's backoff simulator bounds the first wait by 2 x base);
- each attempt has a timeout: the client gives up ``timeout`` after sending it;
- the provider has ``c`` slots, a FIFO queue, exponential service and a share ``p_error`` of attempts
  that end in a server error after their service; it notices a client that gave up ``notice`` later:
  a call still queued then is dropped (a slot that frees first serves it to that time as an orphan);
  a call in service holds its slot until its end or until it notices, whichever is first.

>>> m = RetryCase(lam=2.0, mu=1.0, c=3, p_error=0.1, timeout=2.0, notice=0.5, max_attempts=3,
...               base=0.5, cap=4.0, horizon=300.0)
>>> r = run(m, np.random.default_rng(1))
>>> sorted(r), 1.0 < r["attempts"] < 3.0, 0.5 < r["success"] <= 1.0
(['attempts', 'latency', 'success'], True, True)
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["RetryCase", "run", "scenario", "llmsim_replication", "model_replication", "draw_retry"]

QUEUED, SERVING, GONE, ORPHAN, DONE, DROPPED = range(6)


@dataclass(frozen=True)
class RetryCase:
    lam: float  # arrivals per second
    mu: float  # services per second per slot
    c: int  # slots
    p_error: float  # share of attempts that end in a server error
    timeout: float  # per attempt (s)
    notice: float  # the provider notices a client that left this much later (s)
    max_attempts: int
    base: float  # backoff (s)
    cap: float  # backoff cap (s)
    horizon: float
    multiplier: float = 2.0


class _Attempt:
    __slots__ = ("req", "cut", "state", "end", "error", "drop_at")

    def __init__(self, req, cut):
        self.req, self.cut, self.state = req, cut, QUEUED
        self.end = self.drop_at = math.inf
        self.error = False


class _Request:
    __slots__ = ("arrival", "tries", "outcome", "finished")

    def __init__(self, arrival):
        self.arrival, self.tries, self.outcome, self.finished = arrival, 0, None, math.nan


class _Sim:
    def __init__(self, case: RetryCase, rng: np.random.Generator):
        self.m, self.rng = case, rng
        self.heap: list = []
        self.seq = 0
        self.busy = 0
        self.queue: deque = deque()
        self.requests: list[_Request] = []

    def at(self, t, fn, *args):
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, fn, args))

    # -- client ------------------------------------------------------------------------------------
    def arrive(self, now):
        req = _Request(now)
        self.requests.append(req)
        self.send(now, req)
        nxt = now + self.rng.exponential(1.0 / self.m.lam)
        if nxt < self.m.horizon:
            self.at(nxt, self.arrive)

    def send(self, now, req):
        req.tries += 1
        att = _Attempt(req, now + self.m.timeout)
        self.at(att.cut, self.client_gives_up, att)
        if self.busy < self.m.c:
            self.start(now, att)
        else:
            self.queue.append(att)

    def answer(self, now, req, outcome):
        m = self.m
        if outcome == "ok" or req.tries >= m.max_attempts:
            req.outcome, req.finished = outcome, now
            return
        n = req.tries - 1
        wait = self.rng.random() * min(m.cap, m.base * m.multiplier ** n)
        self.at(now + wait, self.send, req)

    def client_gives_up(self, now, att):
        if att.state == QUEUED:
            att.state = GONE
            att.drop_at = now + self.m.notice
            self.at(att.drop_at, self.drop, att)
        elif att.state == SERVING and att.end > att.cut:
            att.state = DONE
            self.at(min(att.end, now + self.m.notice), self.release)
        else:
            return  # it was answered first
        self.answer(now, att.req, "timeout")

    # -- provider ----------------------------------------------------------------------------------
    def start(self, now, att):
        self.busy += 1
        att.state = SERVING
        att.end = now + self.rng.exponential(1.0 / self.m.mu)
        att.error = self.rng.random() < self.m.p_error
        if att.end <= att.cut:
            self.at(att.end, self.complete, att)

    def complete(self, now, att):
        att.state = DONE
        self.release(now)
        self.answer(now, att.req, "server_error" if att.error else "ok")

    def release(self, now):
        self.busy -= 1
        while self.busy < self.m.c and self.queue:
            att = self.queue.popleft()
            if att.state == QUEUED:
                self.start(now, att)
            elif att.state == GONE:  # an orphan: served until the provider notices
                self.busy += 1
                att.state = ORPHAN
                self.at(min(now + self.rng.exponential(1.0 / self.m.mu), att.drop_at), self.release)

    def drop(self, now, att):
        if att.state == GONE:
            att.state = DROPPED

    def run(self):
        self.at(self.rng.exponential(1.0 / self.m.lam), self.arrive)
        while self.heap:
            t, _, fn, args = heapq.heappop(self.heap)
            fn(t, *args)


def _figures(attempts: np.ndarray, ok: np.ndarray, latency: np.ndarray) -> dict:
    return {"attempts": float(attempts.mean()), "success": float(ok.mean()),
            "latency": float(latency[ok].mean()) if ok.any() else math.nan}


def run(case: RetryCase, rng: np.random.Generator) -> dict:
    """Mean attempts per request, success share, mean latency of the successful requests."""
    sim = _Sim(case, rng)
    sim.run()
    reqs = sim.requests
    return _figures(np.array([r.tries for r in reqs]), np.array([r.outcome == "ok" for r in reqs]),
                    np.array([r.finished - r.arrival for r in reqs]))


def scenario(case: RetryCase, seed: int) -> dict:
    """The same system as an llmsim scenario."""
    return {
        "horizon": case.horizon, "seed": seed,
        "workload": {"arrivals": {"rate": case.lam}},
        "providers": [{"name": "p", "capacity": {"slots": case.c}, "abort_notice": case.notice,
                       "errors": {"server_error_rate": case.p_error},
                       "latency": {"service": {"dist": "exponential", "mean": 1.0 / case.mu}}}],
        "client": {"timeout": case.timeout, "retry": {
            "max_attempts": case.max_attempts, "on": ["timeout", "server_error"],
            "backoff": {"kind": "exponential", "base": case.base, "multiplier": case.multiplier, "cap": case.cap,
                        "jitter": "full"}}},
    }


def llmsim_replication(case: RetryCase, seed: int) -> dict:
    import llmsim  # deferred: the model above stands alone; only the comparison needs llmsim

    res = llmsim.simulate(scenario(case, seed))
    assert res.scenario.horizon == case.horizon, "LLMSIM_HORIZON_CAP cut the llmsim run: unset it to compare"
    r = res.requests
    r = r[r["arrival"] < case.horizon]
    return _figures(r["attempts"].to_numpy(), (r["outcome"] == "ok").to_numpy(),
                    (r["end"] - r["arrival"]).to_numpy())


def model_replication(case: RetryCase, seed: int) -> dict:
    return run(case, np.random.default_rng([7, seed]))


def draw_retry(rng: np.random.Generator, horizon_services: float = 300.0) -> RetryCase:
    """Load 0.6-0.95 before retries, a timeout of 1-4 mean services, 0-20 % server errors, 2-5 attempts."""
    mu = float(rng.uniform(0.5, 2.0))
    c = int(rng.integers(2, 9))
    return RetryCase(lam=float(rng.uniform(0.6, 0.95)) * c * mu, mu=mu, c=c,
                     p_error=float(rng.uniform(0.0, 0.2)), timeout=float(rng.uniform(1.0, 4.0)) / mu,
                     notice=float(rng.uniform(0.0, 1.0)) / mu, max_attempts=int(rng.integers(2, 6)),
                     base=float(rng.uniform(0.1, 1.0)) / mu, cap=float(rng.uniform(2.0, 8.0)) / mu,
                     horizon=horizon_services / mu)
