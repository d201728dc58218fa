"""Run a built-in workload in its own process:
``python -m llmsim.bridges.fidelity.child NAME URL KWARGS_JSON [REPORT_JSON]`` (the report: each request's
result and end time, see ``Workload.report``)."""

from __future__ import annotations

import json
import sys

from llmsim.bridges.fidelity.workloads import WORKLOADS


def main(argv: list[str]) -> None:
    name, url, kwargs = argv[:3]
    work = WORKLOADS[name][0](**json.loads(kwargs))
    work(url)
    if len(argv) > 3:
        with open(argv[3], "w") as f:
            json.dump(work.report(), f)


if __name__ == "__main__":
    main(sys.argv[1:])
