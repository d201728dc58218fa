"""Shared test fixtures: paths to ../shared (skipped cleanly when absent) and small scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED


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
