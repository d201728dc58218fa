"""What keeping a small time series per run costs ``compare``: CPU instructions (valgrind callgrind, so a busy
machine does not disturb the figure) of one run of the README's comparison measured two ways, the plain
summary (``simulate(...).summary()``) and compare's measure (``summary_and_series``: the summary plus ~60
bins of requests, successes, attempts, spend and p95). The difference over the first is the overhead.

    python benchmarks/compare_series_cost.py                 # tuesday, first 2 h, client openai-sdk
    python benchmarks/compare_series_cost.py --horizon 10h   # the whole day (slow under valgrind)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = ("import sys, llmsim; from llmsim.experiments.compare_series import summary_and_series; "
       "sc = llmsim.load_scenario('tuesday').with_overrides({'horizon': sys.argv[1], 'warmup': 0, 'keep': 'all', "
       "'client': 'openai-sdk'}); "
       "out = summary_and_series(sc, 7) if sys.argv[2] == 'series' else llmsim.simulate(sc, 7).summary(); "
       "print(len(out))")


def instructions(horizon: str, kind: str) -> int:
    """Instructions callgrind counts for one process running one run measured as ``kind``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1"}
    python = os.path.realpath(sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", python, "-c", RUN,
                            horizon, kind], env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode or not found:
        sys.exit(f"valgrind failed:\n{r.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--horizon", default="2h")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    plain = instructions(args.horizon, "summary")
    series = instructions(args.horizon, "series")
    print(f"tuesday {args.horizon}, one run: summary {plain / 1e9:.3f} G instructions, summary and series "
          f"{series / 1e9:.3f} G: +{(series - plain) / plain:.2%} (imports included in both)")


if __name__ == "__main__":
    main()
