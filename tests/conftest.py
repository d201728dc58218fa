"""Shared test fixtures: the public-data slices shipped under traces/public, small scenarios, and a raised
scheduling priority for the tests that measure real clients in wall-clock time."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = ROOT / "traces" / "public"
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def public_dir() -> Path:
    """Slices of the real public traces and the status-page incident table (sources in its README.md)."""
    return PUBLIC


def tiny_scenario(**over) -> dict:
    """A small one-provider scenario as a dict; keyword arguments replace top-level keys."""
    sc = {
        "name": "tiny",
        "horizon": "10m",
        "seed": 3,
        "workload": {"arrivals": {"rate": "5/s"}, "input_tokens": {"dist": "fixed", "value": 500},
                     "output_tokens": {"dist": "exponential", "mean": 100}, "max_tokens": 400},
        "providers": [{"name": "p", "capacity": {"slots": 8}, "latency": {"ttft": "300ms", "tokens_per_s": 100},
                       "pricing": {"input_per_mtok": 1.0, "output_per_mtok": 4.0}}],
    }
    sc.update(over)
    return sc


@contextlib.contextmanager
def raised_priority(niceness: int = -10):
    """Run the block at a raised CPU priority where permitted (root, as in CI; a no-op elsewhere).

    On Linux the niceness belongs to the calling thread and is inherited by the threads and processes it
    starts, so a live server thread and a client process started inside the block get it too: other
    processes' load then delays their wake-ups far less. Measured waits stay honest (load still shows in
    them, and the checks still allow for what they measure); they just carry less of the machine's noise."""
    try:
        before = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    except (AttributeError, OSError):  # not permitted, or not a Unix: run as is
        yield
        return
    try:
        yield
    finally:
        os.setpriority(os.PRIO_PROCESS, 0, before)
