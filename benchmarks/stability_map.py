"""Stability map speed: a 3-policy map at the default resolution (3 durations x 5 coarse loads, 3 bisection
rounds, 8 replications: 576 runs) on N workers (default 2); prints wall time, CPU seconds and cores busy
(acceptance: under 5 minutes on 2 cores).

    python benchmarks/stability_map.py [--workers 2] [--scenario mmc|fleet]

``mmc``: 10 slots, exponential service of mean 1 s, 7 requests/s, 10 s per-attempt timeout (the test cell of
tests/test_stability.py) with no retries, 3 immediate retries and 3 retries under a 10 % budget. ``fleet``: the
agent fleet of notebooks/07 (Anthropic SDK, plus budget, plus breaker) under a dip to 30 %. "cores busy" =
CPU seconds / wall seconds: fewer than --workers means the machine was shared, not that the map is serial.
"""

from __future__ import annotations

import argparse
import os
import time

import llmsim
from llmsim.experiments.stability import stability

IMMEDIATE = {"max_attempts": 4, "on": ["timeout"], "backoff": {"kind": "constant", "base": 0, "jitter": "none"}}
MMC = {"horizon": 300, "seed": 1, "workload": {"arrivals": {"rate": "7/s"}},
       "providers": [{"name": "p", "capacity": {"slots": 10}, "abort_notice": "never",
                      "latency": {"service": {"dist": "exponential", "mean": 1.0}}}],
       "client": {"timeout": "10s"}}
MMC_CLIENTS = {"none": {"timeout": "10s", "retry": {"max_attempts": 1}},
               "immediate": {"timeout": "10s", "retry": IMMEDIATE},
               "budget": {"timeout": "10s", "retry": {**IMMEDIATE, "budget": {"kind": "ratio", "ratio": 0.1}}}}
FLEET = {"name": "agent-fleet", "horizon": 600, "seed": 7,
         "workload": {"arrivals": {"rate": "6/s"}, "input_tokens": {"dist": "fixed", "value": 2000},
                      "output_tokens": {"dist": "exponential", "mean": 200}},
         "providers": [{"name": "claude", "capacity": {"slots": 40}, "abort_notice": "never",
                        "queue": {"limit": 400, "status": 529},
                        "latency": {"ttft": {"dist": "fixed", "value": 0.5}, "tokens_per_s": 50}}]}
SDK = {"preset": "anthropic-sdk", "timeout": "30s"}
FLEET_CLIENTS = {"sdk": SDK, "budget": {**SDK, "retry": {"budget": {"kind": "ratio", "ratio": 0.1}}},
                 "breaker": {**SDK, "circuit_breaker": {"window": "30s", "failure_rate": 0.5, "open_for": "15s"}}}


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scenario", choices=["mmc", "fleet"], default="mmc")
    args = ap.parse_args()
    if args.scenario == "mmc":
        sc, clients, kw = llmsim.Scenario.model_validate(MMC), MMC_CLIENTS, {}
    else:
        sc, clients, kw = llmsim.Scenario.model_validate(FLEET), FLEET_CLIENTS, {"depth": 0.3}
    cpu0, t0 = _cpu(), time.perf_counter()
    m = stability(sc, clients, workers=args.workers, progress=False, **kw)
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    print(f"{len(m.table)} runs, {len(clients)} policies: wall {wall:.1f} s, CPU {cpu:.1f} s, "
          f"cores busy {cpu / wall:.2f} (workers {args.workers})")
    print(m.boundaries()[["client", "duration", "boundary", "uncertainty", "fluid"]].to_string(index=False))


if __name__ == "__main__":
    main()
