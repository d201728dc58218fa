"""One queue, two simulators: llmsim (through ``llmsim.simulate`` and a scenario dict) and Ciw.

A ``QueueCase`` is an M/M/c queue over a finite horizon with, optionally, capacity that changes in
phases (Ciw: a server ``Schedule``; llmsim: ``capacity.contention`` over time), a queue limit
(Ciw: ``queue_capacities``; llmsim: ``queue.limit`` -> 529) and a patience in the queue (Ciw:
``reneging_time_distributions``; llmsim: ``queue.timeout`` -> 529). Both start empty at time 0 and
take arrivals until the horizon, so they simulate the same transient system: no warm-up, no
steady-state assumption. Each replication gives per-request figures over the arrivals before the
horizon (``METRICS``); ``compare`` turns 20 replications of each into z-scores.

Semantics that differ on purpose (docs/validation.md): when capacity drops, llmsim lets the calls in
service finish and starts none until fewer than the new count are busy. Ciw has no such mode: with
``preemption=False`` every server goes off duty at a shift change (busy ones after their customer)
and the new shift's servers start at once, so for a while more customers are served than the new
count; with ``"resume"`` the customers in service are interrupted and only the new count go on.
With exponential service llmsim's departure rate lies between the two, and with phases long against
a service time the difference is far below the sampling error (the tests check it is).

>>> case = QueueCase(lam=2.0, mu=1.0, phases=((50.0, 3),), limit=1)
>>> a, b = llmsim_replication(case, 1), ciw_replication(case, 1)
>>> sorted(a) == sorted(METRICS) == sorted(b), 0.0 < a["lost"] < 0.5, 0.0 < b["lost"] < 0.5
(True, True, True)
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import ciw
import numpy as np

import llmsim

__all__ = ["QueueCase", "METRICS", "llmsim_replication", "ciw_replication", "replicate", "compare",
           "draw_scheduled", "draw_reneging", "draw_blocking"]

# per replication, over the requests that arrived before the horizon
METRICS = {
    "lost": "share turned away (queue limit) or dropped from the queue (queue timeout / patience)",
    "wait": "mean wait in the queue of the served requests (s)",
    "waited": "share of the served requests that waited at all",
}


@dataclass(frozen=True)
class QueueCase:
    """Poisson arrivals at ``lam``/s, exponential service at ``mu``/s; ``phases``: (end, servers) pairs,
    the last one's end is the horizon; ``limit``: queue places (None: unbounded); ``patience``: seconds a
    request waits in the queue before it is dropped (None: forever)."""

    lam: float
    mu: float
    phases: tuple[tuple[float, int], ...]
    limit: int | None = None
    patience: float | None = None

    @property
    def horizon(self) -> float:
        return self.phases[-1][0]

    def scenario(self, seed: int) -> dict:
        """The llmsim scenario: ``slots`` = the most servers any phase has, the others as contention."""
        top = max(c for _, c in self.phases)
        starts = [0.0] + [end for end, _ in self.phases[:-1]]
        contention = [[t, 1.0 - c / top] for t, (_, c) in zip(starts, self.phases)]
        return {
            "horizon": self.horizon, "seed": seed,
            "workload": {"arrivals": {"rate": self.lam}},
            "providers": [{"name": "p", "capacity": {"slots": top, "contention": contention},
                           "queue": {"limit": self.limit, "timeout": self.patience},
                           "latency": {"service": {"dist": "exponential", "mean": 1.0 / self.mu}}}],
        }


def _figures(lost: int, waits: np.ndarray) -> dict:
    n = lost + len(waits)
    return {"lost": lost / n, "wait": float(waits.mean()), "waited": float((waits > 1e-12).mean())}


def llmsim_replication(case: QueueCase, seed: int) -> dict:
    """``METRICS`` of one llmsim run (the real engine, built from a scenario dict)."""
    res = llmsim.simulate(case.scenario(seed))
    assert res.scenario.horizon == case.horizon, "LLMSIM_HORIZON_CAP cut the llmsim run: unset it to compare"
    a = res.attempts
    a = a[a["sent"] < case.horizon]
    served = a["started"].notna().to_numpy()
    bad = set(a["outcome"][~served]) - {"overloaded"}
    assert not bad, f"llmsim ended calls as {bad}: the case is not the queue it means to be"
    return _figures(int((~served).sum()), (a["started"] - a["sent"]).to_numpy()[served])


class _Until(ciw.dists.Distribution):
    """Exponential inter-arrival times until ``end``, then none (as llmsim's workload stops at the horizon)."""

    def __init__(self, rate: float, end: float):
        self.rate, self.end = rate, end

    def sample(self, t=None, ind=None):
        return random.expovariate(self.rate) if t < self.end else math.inf


def ciw_replication(case: QueueCase, seed: int, preemption=False) -> dict:
    """``METRICS`` of one Ciw run; ``preemption``: Ciw's schedule mode when capacity changes
    (False: in-service customers finish on their old server; "resume": they are interrupted)."""
    kw = {}
    if case.limit is not None:
        kw["queue_capacities"] = [case.limit]
    if case.patience is not None:
        kw["reneging_time_distributions"] = [ciw.dists.Deterministic(case.patience)]
    if len(case.phases) > 1:
        ends = [end for end, _ in case.phases[:-1]] + [1e12]
        servers = ciw.Schedule(numbers_of_servers=[c for _, c in case.phases], shift_end_dates=ends,
                               preemption=preemption)
    else:
        servers = case.phases[0][1]
    net = ciw.create_network(arrival_distributions=[_Until(case.lam, case.horizon)],
                             service_distributions=[ciw.dists.Exponential(case.mu)],
                             number_of_servers=[servers], **kw)
    ciw.seed(seed)
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(case.horizon * 10 + 10_000)  # arrivals stop at the horizon: it drains
    recs = [r for r in sim.get_all_records() if r.arrival_date < case.horizon]
    # one row per customer: an interrupted service leaves a record and a later "service" one
    served = [r for r in recs if r.record_type == "service"]
    lost = sum(r.record_type in ("renege", "rejection") for r in recs)
    if preemption:  # the wait of a resumed customer is measured from arrival to its first service
        first = {}
        for r in recs:
            if r.record_type in ("service", "interrupted service"):
                first[r.id_number] = min(first.get(r.id_number, math.inf), r.service_start_date - r.arrival_date)
        waits = np.array([first[r.id_number] for r in served])
    else:
        waits = np.array([r.waiting_time for r in served])
    return _figures(lost, waits)


def replicate(fn, case: QueueCase, seeds, **kw) -> dict[str, np.ndarray]:
    """``fn(case, seed)`` for every seed, as one array per metric."""
    rows = [fn(case, s, **kw) for s in seeds]
    return {m: np.array([r[m] for r in rows]) for m in METRICS}


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """Per metric, z = (mean a - mean b) / sqrt(var a / n + var b / m) from the replications' spread
    (0 when both are constant and equal, inf when constant and different).

    >>> round(compare({"x": np.array([1.0, 2.0, 3.0])}, {"x": np.array([2.0, 3.0, 4.0])})["x"], 4)
    -1.2247
    """
    out = {}
    for m in a:
        x, y = a[m], b[m]
        se = math.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
        d = x.mean() - y.mean()
        out[m] = float(d / se) if se > 0 else (0.0 if d == 0 else math.copysign(math.inf, d))
    return out


# -- parameters drawn per run ------------------------------------------------------------------
def draw_scheduled(rng: np.random.Generator, horizon_services: float = 300.0) -> QueueCase:
    """Capacity in 3-4 long phases (together ``horizon_services`` mean service times), the load 0.75-1.05
    in the phase with the fewest servers (a queue builds there and drains after)."""
    mu = float(rng.uniform(0.5, 2.0))
    top = int(rng.integers(4, 11))
    n = int(rng.integers(3, 5))
    servers = [top] + [int(rng.integers(max(2, top // 2), top + 1)) for _ in range(n - 1)]
    rng.shuffle(servers)
    low = min(servers)
    lam = float(rng.uniform(0.75, 1.05)) * low * mu
    lengths = rng.uniform(150.0, 400.0, n)
    lengths *= horizon_services / lengths.sum() / mu
    ends = np.cumsum(lengths)
    return QueueCase(lam, mu, tuple((float(e), c) for e, c in zip(ends, servers)))


def draw_reneging(rng: np.random.Generator, horizon_services: float = 300.0) -> QueueCase:
    """M/M/c+D: load 0.9-1.3, a patience of 0.2-2 mean service times."""
    mu = float(rng.uniform(0.5, 2.0))
    c = int(rng.integers(2, 9))
    lam = float(rng.uniform(0.9, 1.3)) * c * mu
    patience = float(rng.uniform(0.2, 2.0)) / mu
    return QueueCase(lam, mu, ((horizon_services / mu, c),), patience=patience)


def draw_blocking(rng: np.random.Generator, horizon_services: float = 300.0) -> QueueCase:
    """M/M/c/K: load 0.7-1.4, 0-6 queue places."""
    mu = float(rng.uniform(0.5, 2.0))
    c = int(rng.integers(1, 9))
    lam = float(rng.uniform(0.7, 1.4)) * c * mu
    return QueueCase(lam, mu, ((horizon_services / mu, c),), limit=int(rng.integers(0, 7)))
