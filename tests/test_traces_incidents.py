"""Incident model: presets equal the documented derivation on the status-page table (traces/public);
generator statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import llmsim
from llmsim.config.incident_model import PRESETS
from llmsim.provider.incidents import MONTH_S, draw_incidents, fit_incident_model


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_match_fit(public_dir, name):
    path = public_dir / "llm_status_incidents_2023_2024.csv"
    fitted = fit_incident_model(pd.read_csv(path), name)
    assert fitted == PRESETS[name]


def test_generator_rate_and_duration():
    m = PRESETS["openai-api-2024"]
    months = 240
    inc = draw_incidents(m, months * MONTH_S, np.random.default_rng(7))
    n = len(inc)
    lam = m.rate_per_month * months
    assert abs(n - lam) < 4 * np.sqrt(lam)  # Poisson count
    logh = np.log([i.duration / 3600 for i in inc])
    assert abs(np.median(logh) - np.log(m.duration_median_h)) < 4 * 1.2533 * m.duration_sigma / np.sqrt(n)
    assert abs(logh.std() - m.duration_sigma) < 4 * m.duration_sigma / np.sqrt(2 * n)


def test_incident_model_option_deterministic_and_policy_independent():
    sc = llmsim.load_scenario("tuesday").with_overrides({
        "horizon": "1h", "warmup": 0,
        "providers.shared-gpt.incident_model": {"preset": "anthropic-api-2024", "rate_factor": 500}})
    a = llmsim.simulate(sc, seed=3).events
    b = llmsim.simulate(sc.with_overrides({"client.retry.max_attempts": 1}), seed=3).events
    inc_a = a[a["kind"] == "incident_start"].reset_index(drop=True)
    inc_b = b[b["kind"] == "incident_start"].reset_index(drop=True)
    assert len(inc_a) > 0
    pd.testing.assert_frame_equal(inc_a, inc_b)
