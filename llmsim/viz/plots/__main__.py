"""``python -m llmsim.viz.plots [OUT.png] [--scenario NAME_OR_FILE] [--seed N]``: draw the README picture.

Runs the scenario (default: the packaged ``tuesday``) and saves its ``over_time`` chart (latency and
outcomes through the day, capacity left and incidents shaded). The README's image is made with
``python -m llmsim.viz.plots docs/tuesday.png``.
"""

from __future__ import annotations

import argparse
import sys

from llmsim.config.loading import DEFAULT_SCENARIO, load_scenario
from llmsim.core.errors import InputError
from llmsim.simulator import simulate
from llmsim.viz.plots.page import save_chart
from llmsim.viz.plots.run_charts import over_time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m llmsim.viz.plots", description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="docs/tuesday.png", help="image file (.png or .svg)")
    ap.add_argument("--scenario", default=DEFAULT_SCENARIO, help="scenario file or packaged name")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    args = ap.parse_args(argv)
    try:
        sc = load_scenario(args.scenario)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    res = simulate(sc, args.seed)
    path = save_chart(over_time(res), args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
