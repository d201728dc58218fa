"""The oracle comparisons, longer and on many drawn cases: llmsim vs Ciw (scheduled capacity, reneging,
blocking) and vs the independent heapq retry model, each case 20 replications a side, |z| <= 3 per metric.

    python benchmarks/oracles.py [--cases 5] [--seed 1] [--services 1200] [--reps 20] [--only ciw|retry]

Every case's parameters are drawn from ``--seed`` (a new seed: cases nobody has seen); ``--services`` is the
horizon in mean service times. For scheduled capacity llmsim is compared with both of Ciw's ways to
change shifts (``preemption=False``: in-service customers finish on the old server while the new shift
starts at once; ``"resume"``: they are interrupted); in expectation llmsim's mean wait lies between the two
(resume >= llmsim >= non-preemptive), a difference the sampling noise usually hides. For
the retry model the same case is also run with Brooker's first wait (bound 2 x base), to show how much
that choice moves the figures. Exit code 1 if any |z| > 3 among the comparisons that should agree.
See docs/validation.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the oracles live with the tests

from oracles import ciw_queue as cq  # noqa: E402
from oracles import retry_model as rm  # noqa: E402

RETRY_METRICS = ("attempts", "success", "latency")


def _fmt(z: dict) -> str:
    return "  ".join(f"{m} {v:+.2f}" for m, v in z.items())


def _means(a: dict, b: dict) -> str:
    return "  ".join(f"{m} {a[m].mean():.4g}/{b[m].mean():.4g}" for m in a)


def _replicate(fn, case, seeds, metrics) -> dict:
    rows = [fn(case, s) for s in seeds]
    return {m: np.array([r[m] for r in rows]) for m in metrics}


def ciw_cases(args, rng) -> int:
    bad = 0
    seeds_l, seeds_c = range(args.reps), range(10_000, 10_000 + args.reps)
    for kind, draw in (("scheduled", cq.draw_scheduled), ("reneging", cq.draw_reneging),
                       ("blocking", cq.draw_blocking)):
        for i in range(args.cases):
            case = draw(rng, horizon_services=args.services)
            t = time.process_time()
            a = cq.replicate(cq.llmsim_replication, case, seeds_l)
            b = cq.replicate(cq.ciw_replication, case, seeds_c)
            z = cq.compare(a, b)
            bad += any(abs(v) > 3 for v in z.values())
            print(f"{kind:10s} {i}  z: {_fmt(z)}   llmsim/ciw: {_means(a, b)}   ({time.process_time() - t:.0f} s)")
            if kind == "scheduled":
                r = cq.replicate(cq.ciw_replication, case, seeds_c, preemption="resume")
                zr = cq.compare(a, r)
                bad += any(abs(v) > 3 for v in zr.values())
                print(f"{'':10s}    vs ciw resume z: {_fmt(zr)}   mean wait ciw resume / llmsim / ciw non-preemptive: "
                      f"{r['wait'].mean():.4g} / {a['wait'].mean():.4g} / {b['wait'].mean():.4g}")
            print(f"{'':10s}    {case}")
    return bad


def retry_cases(args, rng) -> int:
    bad = 0
    seeds = range(args.reps)
    for i in range(args.cases):
        case = rm.draw_retry(rng, horizon_services=args.services)
        t = time.process_time()
        a = _replicate(rm.llmsim_replication, case, seeds, RETRY_METRICS)
        b = _replicate(rm.model_replication, case, seeds, RETRY_METRICS)
        z = cq.compare(a, b)
        bad += any(abs(v) > 3 for v in z.values())
        print(f"retry      {i}  z: {_fmt(z)}   llmsim/model: {_means(a, b)}   ({time.process_time() - t:.0f} s)")
        brooker = _replicate(rm.model_replication, dataclasses.replace(case, base=2 * case.base), seeds, RETRY_METRICS)
        print(f"{'':10s}    vs Brooker's first wait (2 x base) z: {_fmt(cq.compare(a, brooker))}")
        print(f"{'':10s}    {case}")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5, help="cases drawn per kind")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--services", type=float, default=1200.0, help="horizon in mean service times")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--only", choices=["ciw", "retry"])
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    bad = 0
    if args.only in (None, "ciw"):
        bad += ciw_cases(args, rng)
    if args.only in (None, "retry"):
        bad += retry_cases(args, rng)
    print(f"comparisons with some |z| > 3: {bad}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
