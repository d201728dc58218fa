"""Evidence of nested retries: an SDK's own retry counter (``x-stainless-retry-count``, the trace's
``attempt`` column) starting again from 0 inside one run of the command means a retry loop wraps the SDK's.

>>> import pandas as pd
>>> nested_evidence([pd.DataFrame({"attempt": [0, 1, 2, 0, 1, 2]})])
'SDK retry counter restarted 1 time(s) in one run: 0 1 2 0 1 2'
>>> nested_evidence([pd.DataFrame({"attempt": [0, 1, 2]})]) is None
True
>>> nested_evidence([pd.DataFrame({"attempt": [0, 0, 0]})]) is None  # an SDK with its retries off, retried outside
True
"""

from __future__ import annotations

import pandas as pd

__all__ = ["nested_evidence"]


def nested_evidence(runs: list[pd.DataFrame]) -> str | None:
    """A sentence when some run's attempt counter went back to 0, else None."""
    for run in runs:
        a = [int(x) for x in run["attempt"]]
        restarts = sum(1 for i in range(1, len(a)) if a[i] == 0 and a[i - 1] > 0)
        if restarts:
            return f"SDK retry counter restarted {restarts} time(s) in one run: {' '.join(map(str, a))}"
    return None
