"""Peak memory of long runs: what ``llmsim run`` does (simulate, summary, time series), in a child process.

    python benchmarks/memory.py [--case day20] [--keep all|requests|summary] [--save]

Cases: ``day20`` is the tuesday scenario over 24 h at 20 requests/s (1.73M requests, about 4.2M
attempts); ``week100`` is the same over 7 days at 100 requests/s (60M requests: run it with
``--keep summary`` only). Each case runs in a fresh child process, so the peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is that run's own. Prints the peak RSS, the size of
the final tables (``DataFrame.memory_usage(deep=True)``) and their ratio, the peak reached by the end of
each step (start: after a 2-minute warm-up run through the same steps, which imports every library;
simulate, which builds the tables; summary; timeseries; save)
and the step rule's figure: (peak RSS - RSS at the start) / final tables, and the step that set the peak.
``hour100`` and ``day100`` are tuesday at 100 requests/s for 1 h and 24 h (to see how the week scales).
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
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
# warm-up: a 2-minute run through the same steps imports every library they use
warm = llmsim.simulate(llmsim.load_scenario("tuesday", {"horizon": "2m", "warmup": 0, "keep": keep}))
warm.summary()
if warm.requests is not None:
    warm.timeseries("1m")
if save == "1":
    with tempfile.TemporaryDirectory() as d:
        warm.save(d + "/r")
del warm
steps = [("start", peak())]  # the interpreter with every library the steps use, the scenario loaded
t = time.process_time()
res = llmsim.simulate(sc)
steps.append(("simulate", peak()))
s = res.summary()
steps.append(("summary", peak()))
tables = 0
if res.requests is not None:
    res.timeseries("1h")
    steps.append(("timeseries", peak()))
    tables = sum(int(getattr(res, n).memory_usage(deep=True).sum()) for n in ("requests", "attempts", "events")
                 if getattr(res, n) is not None)
if save == "1":
    with tempfile.TemporaryDirectory() as d:
        res.save(d + "/r")
    steps.append(("save", peak()))
cpu = time.process_time() - t
print(" ".join(f"{name}={value}" for name, value in steps))
print(f"{int(s['requests'])} {tables} {peak()} {cpu:.1f}")
"""


def measure(case: str, keep: str, save: bool) -> dict:
    """Run one case in a child process; its request count, table bytes, peak RSS bytes, CPU seconds, and the
    peak RSS reached by the end of each step (``steps``: start, simulate, summary, timeseries, save)."""
    horizon, rate = CASES[case]
    lines = subprocess.run([sys.executable, "-c", CHILD, horizon, rate, keep, "1" if save else "0"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    steps = {k: int(v) for k, v in (item.split("=") for item in lines[-2].split())}
    n, tables, peak, cpu = lines[-1].split()
    return {"requests": int(n), "tables": int(tables), "peak": int(peak), "cpu": float(cpu), "steps": steps}


def step_rule(m: dict) -> tuple[str, float]:
    """The "no step above 1.3x the final tables" figure: the step during which the peak RSS was reached, and
    (peak RSS - RSS at the start) / the final tables' size: how much memory the run's steps needed on top
    of the interpreter, against what they were building."""
    steps = list(m["steps"].items())
    top = next(name for name, value in steps if value == steps[-1][1])
    return top, (m["peak"] - m["steps"]["start"]) / m["tables"]


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
    mib_steps = ", ".join(f"{k} {v / mib:,.0f}" for k, v in m["steps"].items())
    print(f"  peak RSS by the end of each step (MiB): {mib_steps}")
    if m["tables"]:
        top, over = step_rule(m)
        start = m["steps"]["start"] / mib
        print(f"  peak reached during '{top}': {over:.2f}x the tables above the start ({start:,.0f} MiB: "
              f"interpreter, libraries, scenario)")


if __name__ == "__main__":
    main()
