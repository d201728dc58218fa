"""A fluid estimate of where a trigger can turn into a lasting collapse (docs/stability.md, "Theory").

Capacity ``mu`` (requests/s the providers finish at full capacity), arrival rate ``lam`` at load 1, the
client's per-attempt timeout ``T`` and its largest number of attempts per request ``A`` once every attempt
fails (retries that a budget or quota still allows in the long run). Abandoned attempts are assumed to keep
their slot (the provider is not told), so a collapsed system serves ``lam * m * A`` attempts per second:

* collapse can persist only when ``m * lam * A > mu`` (``m_possible = mu / (lam * A)``); without retries
  (``A = 1``) only above capacity;
* a trigger that leaves a share ``s`` of capacity for ``d`` seconds (a dip: ``s`` = depth; a slowdown:
  ``1 / factor``; a burst multiplies arrivals by ``1 + depth`` instead) can push the wait past ``T`` only when
  the backlog it builds, ``(m * lam - s * mu) * d``, exceeds ``T * s * mu``: ``m > s * mu * (1 + T / d) / lam``.

The estimate is the larger of the two: above it the simulated map may collapse, below it should not.

>>> fluid_boundary(mu=10, lam=7, attempts=4, timeout=2, share=0.5, duration=[2.0, 30.0]).round(3).tolist()
[1.429, 0.762]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from llmsim.config.scenario import Scenario

__all__ = ["FluidInputs", "fluid_inputs", "fluid_boundary", "max_attempts_in_collapse"]


@dataclass(frozen=True)
class FluidInputs:
    """What the fluid estimate needs from a scenario and a client (rates per second, times in seconds)."""

    mu: float
    lam: float
    attempts: float
    timeout: float


def fluid_boundary(mu: float, lam: float, attempts: float, timeout: float, share: float,
                   duration, burst: float = 0.0) -> np.ndarray:
    """The load multiplier above which a trigger of ``duration`` (array) may leave the system collapsed."""
    d = np.asarray(duration, dtype=float)
    possible = mu / (lam * attempts)
    if burst > 0:  # arrivals times (1 + burst) against full capacity
        backlog = mu * (1 + timeout / d) / (lam * (1 + burst))
    else:
        backlog = share * mu * (1 + timeout / d) / lam
    if not math.isfinite(timeout):
        backlog = np.full_like(d, mu / lam)  # no client timeout: nothing is abandoned, only overload collapses
    return np.maximum(possible, backlog)


def _service_mean(provider, output_mean: float) -> float:
    lat = provider.latency
    if lat.service is not None:
        return float(lat.service.build().mean)
    return float(lat.ttft.build().mean) + output_mean / lat.tokens_per_s


def max_attempts_in_collapse(client) -> float:
    """Attempts per request when every attempt fails, in the long run: ``max_attempts`` of the flat retry
    (1 without), a ratio budget's ``1 + ratio``, 1 under the AWS quota (it runs dry) or a gRPC throttle."""
    retry = client.retry
    if retry is None:
        return 1.0
    budget = retry.budget
    if budget is None:
        return float(retry.max_attempts)
    if budget.kind == "ratio":
        return min(float(retry.max_attempts), 1.0 + budget.ratio)
    if budget.kind in ("aws", "grpc"):
        return 1.0
    return float(retry.max_attempts)


def fluid_inputs(scenario: Scenario, client=None) -> FluidInputs:
    """Capacity (all providers, at the contention of time 0), request rate (Poisson arrivals plus session starts
    times their mean steps; a replayed trace is not counted), attempts and timeout."""
    client = client if client is not None else scenario.client
    out_mean = float(scenario.workload.output_tokens.build().mean)
    mu = sum(p.capacity.slots * (1 - p.capacity.contention_schedule().at(0.0)) / _service_mean(p, out_mean)
             for p in scenario.providers)
    wl = scenario.workload
    lam = float(wl.arrivals.rate_schedule().at(0.0)) if wl.arrivals is not None else 0.0
    lam += sum(float(g.starts.rate_schedule().at(0.0)) * g.mean_steps() for g in wl.sessions
               if g.starts.at is None and np.isfinite(g.mean_steps()))
    timeouts = [t for t in (client.timeout, client.retry.timeout if client.retry else None) if t is not None]
    return FluidInputs(mu, lam, max_attempts_in_collapse(client), min(timeouts) if timeouts else math.inf)
