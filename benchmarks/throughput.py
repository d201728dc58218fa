"""Throughput benchmark: simulated requests per wall second, against a plain SimPy M/M/c yardstick.

    python benchmarks/throughput.py [--requests 200000] [--repeat 3]
    python benchmarks/throughput.py --requests 1000000 --repeat 1     # the memory check

The reference scenario has Poisson arrivals, one provider whose capacity follows a contention
schedule, RPM/TPM rate limits, retries with full jitter and a circuit breaker. The yardstick is the
simplest SimPy model of the same request count: one process per request, a Resource of c servers,
exponential service. Both are timed end to end (llmsim includes building its result tables); the
best of ``--repeat`` runs is reported, and the ratio llmsim / yardstick is printed.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import simpy

import llmsim


def reference_scenario(requests: int) -> llmsim.Scenario:
    rate = 20.0
    return llmsim.Scenario.model_validate({
        "name": "benchmark",
        "horizon": requests / rate,
        "warmup": 60,
        "seed": 1,
        "workload": {
            "arrivals": {"rate": rate},
            "input_tokens": {"dist": "lognormal", "median": 800, "p95": 3000},
            "output_tokens": {"dist": "lognormal", "median": 60, "p95": 250},
            "max_tokens": 512,
        },
        "providers": [{
            "name": "p",
            "capacity": {"slots": 64, "contention": [[0, 0.2], [requests / rate / 3, 0.55],
                                                      [2 * requests / rate / 3, 0.3]]},
            "queue": {"limit": 64, "timeout": "20s"},
            "rate_limits": {"rpm": 1300, "tpm": 2_500_000},
            "latency": {"ttft": {"dist": "lognormal", "median": "400ms", "p95": "1.2s"}, "tokens_per_s": 100,
                        "load_slowdown": 2.0},
            "errors": {"server_error_rate": 0.002},
            "pricing": {"input_per_mtok": 0.15, "output_per_mtok": 0.6},
        }],
        "client": {
            "timeout": "15s",
            "retry": {"max_attempts": 3, "backoff": {"base": "500ms", "cap": "8s", "jitter": "full"}},
            "circuit_breaker": {"window": "30s", "min_calls": 50, "failure_rate": 0.5, "open_for": "15s"},
        },
    })


def plain_simpy_mmc(n: int, lam: float = 20.0, mean_service: float = 1.0, c: int = 24, seed: int = 1) -> float:
    """Wall seconds for a textbook SimPy M/M/c run of n customers."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / lam, n).tolist()
    services = rng.exponential(mean_service, n).tolist()
    t0 = time.perf_counter()
    simpy_customers(gaps, services, c)
    return time.perf_counter() - t0


def simpy_customers(gaps: list, services: list, c: int) -> int:
    """The textbook SimPy M/M/c: a process per customer, a Resource of ``c`` servers; returns how many
    were served (the reference every llmsim speed figure is a ratio to)."""
    env = simpy.Environment()
    servers = simpy.Resource(env, c)
    waits = []

    def customer(service):
        arrived = env.now
        with servers.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(service)

    def source():
        for gap, service in zip(gaps, services):
            yield env.timeout(gap)
            env.process(customer(service))

    env.process(source())
    env.run()
    return len(waits)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sc = reference_scenario(args.requests)
    best_sim = best_plain = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = llmsim.simulate(sc)
        best_sim = min(best_sim, time.perf_counter() - t0)
    n_req, n_att = len(res.requests), len(res.attempts)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # llmsim only: measured before the yardstick
    s = res.summary()
    del res
    for _ in range(args.repeat):
        best_plain = min(best_plain, plain_simpy_mmc(n_req))
    sim_rate = n_req / best_sim
    plain_rate = n_req / best_plain
    print(f"reference scenario: {n_req:,} requests, {n_att:,} attempts "
          f"(amplification {s['attempts_per_request']:.3f}, 429 {s['rate_limited_share']:.1%}, "
          f"529 {s['overloaded_share']:.1%}, breaker opens {s['breaker_opens']:.0f})")
    print(f"llmsim:            {sim_rate:12,.0f} requests/s  ({best_sim:.2f} s)")
    print(f"plain SimPy M/M/c: {plain_rate:12,.0f} requests/s  ({best_plain:.2f} s)")
    print(f"ratio llmsim / plain SimPy: {sim_rate / plain_rate:.2f}")
    print(f"peak memory of the llmsim runs (RSS): {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
