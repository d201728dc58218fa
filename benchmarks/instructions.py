"""CPU instructions per simulated request, counted by valgrind (callgrind): a speed figure a busy
machine does not disturb, for comparing two versions of the engine.

    python benchmarks/instructions.py                       # this checkout
    python benchmarks/instructions.py --against ../other    # and another checkout of llmsim, same script
    python benchmarks/instructions.py --model full          # the full policy stack of versus.py (or mmc)

The reference scenario is ``throughput.reference_scenario`` (retries with jitter, a circuit breaker,
RPM/TPM limits, contention, a bounded queue). Each version runs twice, for ``--small`` and
``--large`` requests, and the difference of the two counts divided by the difference of the sizes is
the cost of one request: imports and set-up cancel out. Hash seeds and BLAS threads are pinned so the
counts repeat to a few parts in ten thousand.
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

HERE = Path(__file__).resolve().parent
RUN = ("import sys; sys.path.insert(0, sys.argv[1]); import throughput as T, versus as V, llmsim; "
       "make = {'reference': T.reference_scenario, 'full': V.full_stack_scenario, 'mmc': V.mmc_scenario}[sys.argv[3]]; "
       "llmsim.simulate(make(int(sys.argv[2])))")


def instructions(tree: Path, requests: int, model: str = "reference") -> int:
    """Instructions callgrind counts for one process simulating ``requests`` requests with ``tree``'s llmsim."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1"}
    python = os.path.realpath(sys.executable)  # the interpreter itself, not a launcher script
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", python, "-c", RUN,
                            str(HERE), str(requests), model], env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode or not found:
        sys.exit(f"valgrind failed for {tree}:\n{r.stderr[-2000:]}")
    return int(found.group(1))


def per_request(tree: Path, small: int, large: int, model: str = "reference") -> float:
    return (instructions(tree, large, model) - instructions(tree, small, model)) / (large - small)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--large", type=int, default=8000)
    ap.add_argument("--against", type=Path, help="another llmsim checkout to compare with")
    ap.add_argument("--model", choices=("reference", "full", "mmc"), default="reference",
                    help="reference: throughput.reference_scenario; full, mmc: versus.full_stack_scenario, "
                         "versus.mmc_scenario")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    if args.large <= args.small:
        sys.exit("--large must be larger than --small")
    here = per_request(HERE.parent, args.small, args.large, args.model)
    print(f"this checkout: {here:,.0f} instructions per request")
    if args.against is not None:
        other = per_request(args.against.resolve(), args.small, args.large, args.model)
        print(f"{args.against}: {other:,.0f} instructions per request ({here / other - 1:+.1%} here)")


if __name__ == "__main__":
    main()
