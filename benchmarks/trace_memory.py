"""Memory check: a 2,000,000-row Azure-layout CSV converts (streaming) and replays under 2 GB.

    python benchmarks/trace_memory.py [--rows 2000000] [--step convert|replay|both]

Writes a synthetic trace to a temp folder (seeded), then, each in a fresh child process so the peak
RSS is that step's own: ``convert`` (CSV -> canonical Parquet) and ``replay`` (stream the file into
arrivals, simulate against an ample provider). Prints wall time and peak RSS (ru_maxrss) per step.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def make_csv(path: str, rows: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2024-05-10T00:00:00", "ns")
    gaps = rng.exponential(0.05, rows)  # ~20/s
    ts = t0 + np.cumsum(gaps * 1e9).astype("timedelta64[ns]")
    inp = np.maximum(1, rng.lognormal(6.5, 1.0, rows)).astype(int)
    out = np.maximum(1, rng.lognormal(4.5, 1.0, rows)).astype(int)
    with open(path, "w") as fh:
        fh.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
        for i in range(0, rows, 200_000):
            sl = slice(i, i + 200_000)
            s = np.char.add(np.datetime_as_string(ts[sl], unit="us").astype(str), "0")
            lines = [f"{a.replace('T', ' ')},{b},{c}\n" for a, b, c in zip(s, inp[sl], out[sl], strict=False)]
            fh.writelines(lines)


CHILD = r"""
import resource, sys, time
t = time.time()
step, src, dst = sys.argv[1:4]
if step == "convert":
    from llmsim.traces import convert
    n = convert(src, dst)["rows"]
else:
    import llmsim
    from llmsim.traces.replay import replay_file
    arr, info = replay_file(src)
    sc = llmsim.Scenario.model_validate({"horizon": float(arr.times[-1]) + 1, "workload": {"arrivals": {"rate": 1},
        "max_tokens": 10**6}, "providers": [{"name": "p", "capacity": {"slots": 100000}}]})
    del info
    n = len(llmsim.simulate(sc, seed=1, arrivals=arr).requests)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{step}: {n:,} rows in {time.time() - t:.1f} s, peak RSS {rss:.0f} MB")
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--step", default="both", choices=["convert", "replay", "both"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "trace.csv")
        t = time.time()
        make_csv(src, args.rows)
        print(f"wrote {args.rows:,} rows ({os.path.getsize(src) / 1e6:.0f} MB) in {time.time() - t:.1f} s")
        for step in (["convert", "replay"] if args.step == "both" else [args.step]):
            subprocess.run([sys.executable, "-c", CHILD, step, src, os.path.join(d, "out.parquet")], check=True)


if __name__ == "__main__":
    main()
