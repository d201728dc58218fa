"""Brute force for tune tests: run every value of one parameter and pick, independently of tune's
search, the cheapest value whose mean p95 and success rate over two seeds meet the targets.

>>> callable(cheapest_meeting)
True
"""

from __future__ import annotations

from llmsim import simulate


def cheapest_meeting(sc, path: str, values: list, p95_max: float, success_min: float,
                     seeds: tuple = (101, 202)):
    """(the value of ``path`` with the lowest mean ``cost_total`` among those meeting both targets, the means
    of cost_total, latency_p95 and success_rate per value)."""
    means = {}
    for v in values:
        runs = [simulate(sc.with_overrides({path: v, "seed": s})).summary() for s in seeds]
        means[v] = {k: sum(r[k] for r in runs) / len(runs) for k in ("cost_total", "latency_p95", "success_rate")}
    feasible = [v for v in values if means[v]["latency_p95"] <= p95_max and means[v]["success_rate"] >= success_min]
    return min(feasible, key=lambda v: means[v]["cost_total"]), means
