"""Run a built-in workload in its own process: ``python -m llmsim.bridges.fidelity.child NAME URL KWARGS_JSON``."""

from __future__ import annotations

import json
import sys

from llmsim.bridges.fidelity.workloads import WORKLOADS


def main(argv: list[str]) -> None:
    name, url, kwargs = argv
    WORKLOADS[name][0](**json.loads(kwargs))(url)


if __name__ == "__main__":
    main(sys.argv[1:])
