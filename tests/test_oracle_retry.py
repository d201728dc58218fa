"""llmsim's retry, timeout and backoff amplification against an independent event-driven model
(tests/oracles/retry_model.py: heapq, written from the documented semantics, sharing no llmsim code).

A retrying client with a per-attempt timeout, exponential backoff with full jitter and 2-5 attempts,
on a provider with a few slots, a FIFO queue, exponential service, server errors and an abort notice;
parameters drawn per run (``LLMSIM_ORACLE_SEED``). Mean attempts per request, success share and mean
latency of the successful requests agree within |z| <= 3 over 20 replications of each."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from oracles.ciw_queue import compare
from oracles.retry_model import draw_retry, llmsim_replication, model_replication

SEED = int(os.environ.get("LLMSIM_ORACLE_SEED", "20261201"))
REPS = 20
METRICS = ("attempts", "success", "latency")


def _replicate(fn, case, seeds) -> dict[str, np.ndarray]:
    rows = [fn(case, s) for s in seeds]
    return {m: np.array([r[m] for r in rows]) for m in METRICS}


def _both(case, model_case=None):
    a = _replicate(llmsim_replication, case, range(REPS))
    b = _replicate(model_replication, model_case or case, range(REPS))
    return a, b, compare(a, b)


@pytest.mark.parametrize("offset", [0, 1])
def test_retry_amplification_matches_the_independent_model(offset):
    case = draw_retry(np.random.default_rng([SEED, 12, offset]))
    a, b, z = _both(case)
    assert all(abs(v) <= 3 for v in z.values()), (case, z, {m: (a[m].mean(), b[m].mean()) for m in METRICS})
    assert a["attempts"].mean() > 1.05  # the retries are exercised


def test_the_comparison_catches_a_different_timeout():
    """The check has power: the model with a 1.5 times longer timeout is told apart."""
    case = draw_retry(np.random.default_rng([SEED, 12, 0]))
    _, _, z = _both(case, dataclasses.replace(case, timeout=case.timeout * 1.5))
    assert max(abs(z["attempts"]), abs(z["success"])) > 3, z


@pytest.mark.slow
@pytest.mark.parametrize("offset", range(2, 12))
def test_longer_retry_cases_match_the_independent_model(offset):
    case = draw_retry(np.random.default_rng([SEED, 12, offset]), horizon_services=1200.0)
    a, b, z = _both(case)
    assert all(abs(v) <= 3 for v in z.values()), (case, z)
