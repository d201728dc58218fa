"""How much work a scenario asks for, estimated from its config alone before anything runs: expected
requests, an upper bound on attempts, memory and wall time; and the stated limits past which the
command line refuses to start without ``--force``.

The figures per request were measured on the reference machine (2 cores, Python 3.11) with the
packaged ``tuesday`` scenario (216,041 requests, 244,151 attempts in 4.5 CPU seconds, peak resident
memory 227 MB against 137 MB for a 10-minute run): about 48,000 requests per CPU second and 370
bytes per attempt. The constants below round those towards caution.

>>> from llmsim.config.scenario import Scenario
>>> sc = Scenario.model_validate({"horizon": "1h", "workload": {"arrivals": {"rate": "10/s"}},
...                               "providers": [{"name": "p", "capacity": {"slots": 8}}],
...                               "client": {"retry": {"max_attempts": 3}}})
>>> est = estimate_work(sc)
>>> est.requests, est.attempts_max
(36000.0, 108000.0)
>>> est.refusal() is None
True
>>> big = estimate_work(sc.with_overrides({"workload.arrivals.rate": "1e12/s"}))
>>> big.refusal().startswith("expected 3.6e+15 requests per run")
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmsim.config.client import HedgeLayer, RetryLayer, RouteLayer
from llmsim.config.scenario import Scenario

__all__ = ["WorkEstimate", "estimate_work", "attempts_per_request", "REQUESTS_PER_SECOND", "BYTES_PER_ATTEMPT",
           "BASE_BYTES", "MAX_REQUESTS", "MAX_MEMORY_BYTES", "MAX_SECONDS"]

REQUESTS_PER_SECOND = 40_000.0  # simulated requests per second of one core (measured 48,000; see above)
BYTES_PER_ATTEMPT = 500.0  # result rows and engine state per attempt (measured 370)
BASE_BYTES = 150e6  # the interpreter, the libraries and an empty run (measured 137 MB)
MAX_REQUESTS = 100e6  # per run
MAX_MEMORY_BYTES = 8e9  # per run, counting one attempt per request
MAX_SECONDS = 4 * 3600.0  # for the whole command, at REQUESTS_PER_SECOND on each worker
_MIN_STEP_SECONDS = 0.1  # a session step lasts at least its think time plus this (a fast answer)


@dataclass(frozen=True)
class WorkEstimate:
    """Expected ``requests`` per run (logical requests: Poisson arrivals plus session steps), the most
    ``attempts_max`` they can cost (retries x hedges x route failovers), ``runs`` runs on ``workers``
    processes; ``unknown`` names what the estimate could not count (a replayed trace's rows)."""

    requests: float
    attempts_max: float
    runs: int = 1
    workers: int = 1
    unknown: str = ""

    @property
    def memory_bytes(self) -> float:
        """Peak memory of one run, at one attempt per request (a lower bound: retries add to it)."""
        return BASE_BYTES + self.requests * BYTES_PER_ATTEMPT

    @property
    def seconds(self) -> float:
        """Expected wall time of all runs at the measured speed, spread over the workers."""
        return self.requests * self.runs / REQUESTS_PER_SECOND / max(1, min(self.workers, self.runs))

    def describe(self) -> str:
        """One line: the figures, for --dry-run and for a refusal."""
        runs = f" x {self.runs:,} runs" if self.runs > 1 else ""
        text = (f"~{_num(self.requests)} requests{runs} (attempts <= {_num(self.attempts_max)} per run), memory "
                f"~{_bytes(self.memory_bytes)} per run, wall time ~{_duration(self.seconds)} at "
                f"{REQUESTS_PER_SECOND:,.0f} requests/s")
        return text + (f"; not counted: {self.unknown}" if self.unknown else "")

    def refusal(self) -> str | None:
        """Why the work is beyond the stated limits, or None when it is within them."""
        if not self.requests < MAX_REQUESTS:
            return f"expected {self.requests:.2g} requests per run, above the limit of {MAX_REQUESTS:.2g}"
        if not self.memory_bytes < MAX_MEMORY_BYTES:
            return f"needs ~{_bytes(self.memory_bytes)} per run, above the limit of {_bytes(MAX_MEMORY_BYTES)}"
        if not self.seconds < MAX_SECONDS:
            return f"would take ~{_duration(self.seconds)}, above the limit of {_duration(MAX_SECONDS)}"
        return None


def estimate_work(sc: Scenario, runs: int = 1, workers: int = 1, trace_requests: float | None = None,
                  ) -> WorkEstimate:
    """The work of ``runs`` runs of ``sc`` (``trace_requests``: the replayed trace's request count, when
    the caller has read it; config alone does no I/O)."""
    wl = sc.workload
    requests = 0.0
    unknown = ""
    if wl.arrivals is not None:
        requests += wl.arrivals.rate_schedule().integral(0.0, sc.horizon)
    if wl.trace is not None:
        if trace_requests is None:
            unknown = f"the arrivals of trace {wl.trace.path}"
        else:
            requests += trace_requests
    requests += sum(_session_steps(g, sc.horizon) for g in wl.sessions)
    return WorkEstimate(requests, requests * attempts_per_request(sc), runs, workers, unknown)


def _session_steps(group, horizon: float) -> float:
    """Expected steps of a session group over the horizon (runaway sessions step until the horizon)."""
    starts = group.starts
    n = float(len(starts.at)) if starts.at is not None else starts.rate_schedule().integral(0.0, horizon)
    step = _mean(group.think_time) + _MIN_STEP_SECONDS
    longest = horizon / step
    mean_steps = min(group.mean_steps(), longest)
    return n * (group.runaway * longest + (1.0 - group.runaway) * mean_steps)


def attempts_per_request(sc: Scenario) -> float:
    """The most attempts one logical request can make: every retry layer's max_attempts, times every
    hedge's extra calls, times the providers a route can fail over to."""
    factor = 1.0
    for layer in sc.client.stack():
        if isinstance(layer, RetryLayer):
            factor *= layer.retry.max_attempts
        elif isinstance(layer, HedgeLayer):
            factor *= 1 + layer.hedge.max_hedged
        elif isinstance(layer, RouteLayer) and layer.route is not None:
            factor *= max(1, len(sc.providers) + sum(len(f.to) for f in layer.route.fallbacks))
    return factor


def _mean(dist) -> float:
    try:
        value = float(dist.build().mean)
    except (AttributeError, TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0


def _num(x: float) -> str:
    return f"{x:,.0f}" if x < 1e9 else f"{x:.2g}"


def _bytes(x: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if x >= size:
            return f"{x / size:.3g} {unit}" if x < 1e15 else f"{x / 1e12:.2g} TB"
    return f"{x / 1e3:.3g} kB"


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365 * 86400.0), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}" if seconds < 1e6 * size else f"{seconds / size:.2g} {unit}"
    return f"{seconds:.2g} s"
