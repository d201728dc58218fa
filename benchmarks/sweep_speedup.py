"""Sweep speed-up: a 16-point sweep with 1 worker, then with N workers (default 2); prints both wall times,
their ratio (acceptance: <= 0.6 with 2 workers) and whether the tables are identical.

    python benchmarks/sweep_speedup.py [--horizon 4h] [--workers 2] [--replications 1] [--dask]

The scenario is the packaged default (tuesday) cut to --horizon; the 16 points are
client.retry.max_attempts in 1..4 x client.timeout in 10s, 20s, 30s, 60s. Process start-up is included in
the timed parallel run (it is part of what a user waits for). "cores busy" = CPU seconds / wall seconds:
on a machine shared with other work, fewer than ``--workers`` cores busy means the run was starved, not
that the sweep is serial.
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd

import llmsim

GRID = {"client.retry.max_attempts": [1, 2, 3, 4], "client.timeout": ["10s", "20s", "30s", "60s"]}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the worker processes, once shut down)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--horizon", default="4h")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--replications", type=int, default=1)
    ap.add_argument("--dask", action="store_true", help="parallel run on a Dask LocalCluster (started, not timed)")
    args = ap.parse_args()
    sc = llmsim.load_scenario("tuesday").with_overrides({"horizon": args.horizon})
    kw = dict(grid=GRID, replications=args.replications, progress=False)

    c0, t0 = _cpu(), time.perf_counter()
    one = llmsim.sweep(sc, workers=1, **kw)
    t1, c1 = time.perf_counter() - t0, _cpu() - c0

    if args.dask:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            t0 = time.perf_counter()
            many = llmsim.sweep(sc, executor=client, **kw)
            tn = time.perf_counter() - t0
    else:
        c0, t0 = _cpu(), time.perf_counter()
        many = llmsim.sweep(sc, workers=args.workers, **kw)
        tn, cn = time.perf_counter() - t0, _cpu() - c0

    try:
        pd.testing.assert_frame_equal(one.table, many.table)
        same = "identical"
    except AssertionError:
        same = "DIFFERENT"
    runs = len(one.table)
    print(f"{runs} runs ({len(GRID['client.retry.max_attempts']) * len(GRID['client.timeout'])} points x "
          f"{args.replications}), horizon {args.horizon}")
    print(f"1 worker:  {t1:7.2f} s   cpu {c1:6.2f} s = {c1 / t1:4.2f} cores busy")
    if args.dask:
        print(f"{args.workers} workers: {tn:7.2f} s   (dask; worker cpu not measured)")
    else:
        print(f"{args.workers} workers: {tn:7.2f} s   cpu {cn:6.2f} s = {cn / tn:4.2f} cores busy")
    print(f"ratio:     {tn / t1:7.3f}   tables {same}")


if __name__ == "__main__":
    main()
