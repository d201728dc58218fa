"""Refactoring guard: every packaged scenario (and the design's example, a copy in tests/fixtures) gives
the same tables as the commit the digests were made from (tests/golden/digests.json, by tests/golden/digest.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
from digest import EXAMPLE, PACKAGED, run_digests  # noqa: E402

EXPECTED = json.loads((Path(__file__).parent / "golden" / "digests.json").read_text())


@pytest.mark.parametrize("name", PACKAGED + ["morning-peak"])
def test_tables_unchanged(name):
    scenario = str(EXAMPLE) if name == "morning-peak" else name
    assert run_digests(scenario) == EXPECTED[name]
