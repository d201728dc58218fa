"""Content digests of a run's tables: the refactoring guard (same scenario + seed -> same tables).

A digest covers column names, dtypes and every value's bytes (categoricals as categories + codes,
strings joined), so it changes with any value but not with the parquet writer's version.

    python tests/golden/digest.py > tests/golden/digests.json    # regenerate (only on purpose)
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "fixtures" / "morning-peak.yaml"  # a copy of the design's example scenario
PACKAGED = ["tuesday", "contract-drift", "contract-drift-guarded", "runaway-agents", "runaway-agents-guarded",
            "provisioned-mix", "service-mix"]


def table_digest(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for name in df.columns:
        col = df[name]
        h.update(f"{name}:{col.dtype}\0".encode())
        if isinstance(col.dtype, pd.CategoricalDtype):
            h.update("\0".join(map(str, col.cat.categories)).encode())
            h.update(np.ascontiguousarray(col.cat.codes.to_numpy()).tobytes())
        elif col.dtype.kind in "biuf":
            h.update(np.ascontiguousarray(col.to_numpy()).tobytes())
        else:
            h.update("\0".join(map(str, col.tolist())).encode())
    return h.hexdigest()


def run_digests(scenario) -> dict[str, str]:
    import llmsim

    res = llmsim.simulate(llmsim.load_scenario(scenario))
    return {"requests": table_digest(res.requests), "attempts": table_digest(res.attempts),
            "events": table_digest(res.events)}


if __name__ == "__main__":
    out = {name: run_digests(name) for name in PACKAGED}
    out["morning-peak"] = run_digests(str(EXAMPLE))
    json.dump(out, sys.stdout, indent=2)
    print()
