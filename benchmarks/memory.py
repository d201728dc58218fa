"""Peak memory of long runs: what ``llmsim run`` does (simulate, summary, time series), in a child process.

    python benchmarks/memory.py [--case day20] [--keep all|requests|summary] [--save]

Cases: ``day20`` is the tuesday scenario over 24 h at 20 requests/s (1.73M requests, about 4.2M
attempts); ``week100`` is the same over 7 days at 100 requests/s (60M requests: run it with
``--keep summary`` only). Each case runs in a fresh child process, so the peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is that run's own. Prints the peak RSS, the size of
the final tables (``DataFrame.memory_usage(deep=True)``) and their ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

CASES = {"day20": ("24h", "20/s"), "week100": ("7d", "100/s"), "hour20": ("1h", "20/s"), "hour100": ("1h", "100/s"),
         "day100": ("24h", "100/s")}

CHILD = r"""
import resource, sys, tempfile, time
import llmsim
horizon, rate, keep, save = sys.argv[1:5]
sets = {"horizon": horizon, "workload.arrivals.rate": rate}
sc = llmsim.load_scenario("tuesday", {**sets, "keep": keep} if keep != "all" else sets)
t = time.process_time()
res = llmsim.simulate(sc)
s = res.summary()
tables = 0
if res.requests is not None:
    res.timeseries("1h")
    tables = sum(int(getattr(res, n).memory_usage(deep=True).sum()) for n in ("requests", "attempts", "events")
                 if getattr(res, n) is not None)
if save == "1":
    with tempfile.TemporaryDirectory() as d:
        res.save(d + "/r")
cpu = time.process_time() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(f"{int(s['requests'])} {tables} {peak} {cpu:.1f}")
"""


def measure(case: str, keep: str, save: bool) -> dict:
    """Run one case in a child process; its request count, table bytes, peak RSS bytes and CPU seconds."""
    horizon, rate = CASES[case]
    out = subprocess.run([sys.executable, "-c", CHILD, horizon, rate, keep, "1" if save else "0"],
                         capture_output=True, text=True, check=True).stdout.split()
    n, tables, peak, cpu = out[-4:]
    return {"requests": int(n), "tables": int(tables), "peak": int(peak), "cpu": float(cpu)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=sorted(CASES), default="day20")
    ap.add_argument("--keep", choices=("all", "requests", "summary"), default="all")
    ap.add_argument("--save", action="store_true", help="also save the result (parquet) as `llmsim run --out` does")
    a = ap.parse_args()
    m = measure(a.case, a.keep, a.save)
    mib = 2 ** 20
    ratio = f"{m['peak'] / m['tables']:.2f}x the tables" if m["tables"] else "no tables kept"
    print(f"{a.case} keep={a.keep}{' +save' if a.save else ''}: {m['requests']:,} requests (after warm-up), "
          f"tables {m['tables'] / mib:,.0f} MiB, peak RSS {m['peak'] / mib:,.0f} MiB ({ratio}), "
          f"CPU {m['cpu']:.0f} s")


if __name__ == "__main__":
    main()
