"""llmsim against plain SimPy and Ciw: CPU time per simulated request on the same M/M/c, and for the
full client policy stack.

    python benchmarks/versus.py                      # 100k requests each, median of 3, CPU-time ratios
    python benchmarks/versus.py --requests 50000 --repeat 5
    python benchmarks/versus.py --instructions       # also callgrind instructions per request (slow)

Models, all with the same number of requests n:

* ``mmc``: M/M/c with c = 100 servers, rho = 0.9 (arrivals 90/s, exponential service of mean 1 s).
  llmsim with the minimal client (one attempt, no policies, no deadline), a textbook SimPy model (a
  process per customer, a ``Resource``) and Ciw (``ciw.Simulation``).
* ``full``: llmsim with the full policy stack of ``full_stack_scenario`` (contention, RPM/TPM limits, a
  bounded queue, retries with full jitter that honour Retry-After, a circuit breaker, a deadline and
  fallback over two providers), against the same plain SimPy M/M/c of n customers.

Each figure is the CPU time (``time.process_time``) of one run, the median of ``--repeat`` runs made
in one process, interleaved (so a busy neighbour slows all of them alike). llmsim's time includes
building its result tables. A ratio above 1 means llmsim simulates more requests per CPU second
than the other; the speed of a simulator depends on the machine, the ratios much less.

With ``--instructions``, callgrind counts the instructions of one request of each model (the
difference between a run of ``--requests`` and one of a fifth as many, so imports and set-up cancel
out): steady on a loaded machine, where even CPU time moves by a few percent.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import llmsim

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from throughput import simpy_customers  # noqa: E402  (the same textbook SimPy model as throughput.py)

C, LAM, MEAN = 100, 90.0, 1.0  # the M/M/c: rho = LAM * MEAN / C = 0.9


def mmc_scenario(n: int, seed: int = 1) -> llmsim.Scenario:
    """The M/M/c for llmsim, n requests expected (minimal client: one attempt, no policies)."""
    return llmsim.Scenario.model_validate({
        "name": "mmc", "horizon": n / LAM, "warmup": 0, "seed": seed,
        "workload": {"arrivals": {"rate": LAM}},
        "providers": [{"name": "p", "capacity": {"slots": C},
                       "latency": {"service": {"dist": "exponential", "mean": MEAN}}}],
    })


def full_stack_scenario(n: int, seed: int = 1) -> llmsim.Scenario:
    """The full client policy stack over two providers, n requests expected."""
    rate = 20.0
    horizon = n / rate
    provider = {
        "capacity": {"slots": 64, "contention": [[0, 0.2], [horizon / 3, 0.55], [2 * horizon / 3, 0.3]]},
        "queue": {"limit": 64, "timeout": "20s"},
        "rate_limits": {"rpm": 1250, "tpm": 2_500_000},
        "latency": {"ttft": {"dist": "lognormal", "median": "400ms", "p95": "1.2s"}, "tokens_per_s": 100,
                    "load_slowdown": 2.0},
        "errors": {"server_error_rate": 0.002},
        "pricing": {"input_per_mtok": 0.15, "output_per_mtok": 0.6},
    }
    return llmsim.Scenario.model_validate({
        "name": "full-stack", "horizon": horizon, "warmup": 0, "seed": seed,
        "workload": {
            "arrivals": {"rate": rate},
            "input_tokens": {"dist": "lognormal", "median": 800, "p95": 3000},
            "output_tokens": {"dist": "lognormal", "median": 60, "p95": 250},
            "max_tokens": 512,
        },
        "providers": [{"name": "a", **provider}, {"name": "b", **provider, "capacity": {"slots": 32}}],
        "client": {
            "timeout": "15s",
            "deadline": "40s",
            "retry": {"max_attempts": 3, "backoff": {"base": "500ms", "cap": "8s", "jitter": "full"},
                      "retry_after": "honor"},
            "circuit_breaker": {"window": "30s", "min_calls": 50, "failure_rate": 0.5, "open_for": "15s"},
            "route": {"order": ["a", "b"]},
        },
    })


def simpy_mmc(n: int, seed: int = 1) -> int:
    """A textbook SimPy M/M/c of n customers (a process each, a Resource of C servers); returns n."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / LAM, n).tolist()
    services = rng.exponential(MEAN, n).tolist()
    return simpy_customers(gaps, services, C)


def ciw_mmc(n: int, seed: int = 1) -> int:
    """The same M/M/c in Ciw, run for the time n arrivals take on average; returns the customers served."""
    import ciw  # deferred: optional, only this benchmark needs it

    ciw.seed(seed)
    net = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(LAM)],
                             service_distributions=[ciw.dists.Exponential(1 / MEAN)], number_of_servers=[C])
    sim = ciw.Simulation(net)
    sim.simulate_until_max_time(n / LAM)
    return len(sim.get_all_records())


def llmsim_run(scenario: llmsim.Scenario) -> int:
    return len(llmsim.simulate(scenario).requests)


def cpu(fn, *args) -> tuple[float, int]:
    """(CPU seconds per request, requests) of one call of ``fn(*args)`` (which returns its request count)."""
    t0 = time.process_time()
    n = fn(*args)
    return (time.process_time() - t0) / n, n


RUNS = {
    "llmsim mmc": lambda n: cpu(llmsim_run, mmc_scenario(n)),
    "simpy mmc": lambda n: cpu(simpy_mmc, n),
    "ciw mmc": lambda n: cpu(ciw_mmc, n),
    "llmsim full": lambda n: cpu(llmsim_run, full_stack_scenario(n)),
}

# for --instructions: the same runs in a fresh interpreter under callgrind
SNIPPET = "import sys; sys.path.insert(0, sys.argv[1]); import versus; versus.RUNS[sys.argv[2]](int(sys.argv[3]))"


def instructions(name: str, n: int) -> int:
    """Instructions callgrind counts for one process doing the run ``name`` with n requests."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
                            os.path.realpath(sys.executable), "-c", SNIPPET, str(HERE), name, str(n)],
                           env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode or not found:
        sys.exit(f"valgrind failed for {name}:\n{r.stderr[-2000:]}")
    return int(found.group(1))


def per_request_instructions(name: str, n: int) -> float:
    small = max(1, n // 5)
    return (instructions(name, n) - instructions(name, small)) / (n - small)


def ratios(per_request: dict[str, float]) -> list[tuple[str, float]]:
    """The ratios the acceptance is stated in: how many times faster llmsim is than the other."""
    return [("llmsim minimal / plain SimPy (M/M/c)", per_request["simpy mmc"] / per_request["llmsim mmc"]),
            ("llmsim minimal / Ciw (M/M/c)", per_request["ciw mmc"] / per_request["llmsim mmc"]),
            ("llmsim full stack / plain SimPy", per_request["simpy mmc"] / per_request["llmsim full"])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--instructions", action="store_true", help="also count instructions with callgrind")
    args = ap.parse_args()
    times: dict[str, list[float]] = {k: [] for k in RUNS}
    counts: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, run in RUNS.items():
            per, counts[name] = run(args.requests)
            times[name].append(per)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"CPU time per request, median of {args.repeat} (requests in the last run):")
    for name, v in med.items():
        print(f"  {name:12s} {v * 1e6:8.2f} us  ({counts[name]:,} requests)")
    print("CPU-time ratios (above 1: llmsim is faster):")
    for label, r in ratios(med):
        print(f"  {label:38s} {r:5.2f}x")
    if args.instructions:
        if shutil.which("valgrind") is None:
            sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
        ins = {k: per_request_instructions(k, args.requests) for k in RUNS}
        print("instructions per request (callgrind):")
        for name, v in ins.items():
            print(f"  {name:12s} {v:12,.0f}")
        print("instruction ratios (above 1: llmsim is leaner):")
        for label, r in ratios(ins):
            print(f"  {label:38s} {r:5.2f}x")


if __name__ == "__main__":
    main()
