"""The fidelity table's statistics: the TOST equivalence test against scipy's own Welch t-test, and its
error rates against theory (size at the margin, power inside it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from llmsim.bridges.fidelity.observe import _finish
from llmsim.bridges.fidelity.table import fidelity_table, format_table, tost_p


@pytest.mark.parametrize("seed", range(5))
def test_tost_is_the_larger_of_two_one_sided_welch_tests(seed):
    """TOST = max of the two one-sided Welch tests, computed here by scipy.stats.ttest_ind on shifted samples."""
    rng = np.random.default_rng(seed)
    real = rng.normal(1.0, 0.3, 40)
    sim = rng.normal(1.0 + rng.uniform(-0.2, 0.2), rng.uniform(0.1, 0.5), 70)
    m = 0.1
    low = stats.ttest_ind(sim, real - m, equal_var=False, alternative="greater").pvalue
    high = stats.ttest_ind(sim, real + m, equal_var=False, alternative="less").pvalue
    assert tost_p(real, sim, m) == pytest.approx(max(low, high), rel=1e-9, abs=1e-12)


def test_tost_size_at_the_margin_and_power_inside_it():
    """Means exactly a margin apart: 'equivalent' at most alpha of the time (TOST is conservative); equal
    means, enough data: nearly always equivalent. 400 replications: 3 standard errors of a 5 % rate = 3.3 %."""
    rng = np.random.default_rng(12)
    reps, n, m = 400, 60, 0.1
    at_margin = np.mean([tost_p(rng.normal(0, 0.2, n), rng.normal(m, 0.2, n), m) < 0.05 for _ in range(reps)])
    inside = np.mean([tost_p(rng.normal(0, 0.2, n), rng.normal(0, 0.2, n), m) < 0.05 for _ in range(reps)])
    assert at_margin <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)
    # power of TOST with d = 0: 1 - 2 * P(T > m / se - t_crit), se = 0.2 * sqrt(2 / n)
    se = 0.2 * np.sqrt(2 / n)
    power = 1 - 2 * stats.t.sf(m / se - stats.t.isf(0.05, 2 * n - 2), 2 * n - 2)
    assert abs(inside - power) <= 3 * np.sqrt(power * (1 - power) / reps) + 0.01


def test_tost_edge_cases():
    assert np.isnan(tost_p(np.array([1.0]), np.array([1.0, 2.0]), 0.1))
    assert tost_p(np.ones(5), np.ones(5) * 1.05, 0.1) == 0.0  # no spread, within the margin
    assert tost_p(np.ones(5), np.ones(5) * 1.2, 0.1) == 1.0


def _behaviour(gaps, outcome="server_error"):
    rows = [{"request": i, "sent": s, "end": s, "outcome": outcome if s == 0 else "ok", "status": 500,
             "retry_after": float("nan")} for i, g in enumerate(gaps) for s in (0.0, g)]
    return _finish(pd.DataFrame(rows))


def test_table_reports_ks_and_tost_per_metric():
    rng = np.random.default_rng(3)
    same = fidelity_table(_behaviour(rng.uniform(0.5, 1.0, 200)), _behaviour(rng.uniform(0.5, 1.0, 400)))
    other = fidelity_table(_behaviour(rng.uniform(0.5, 1.0, 200)), _behaviour(rng.uniform(1.0, 1.5, 400)))
    row, far = same.loc["gap before attempt 2"], other.loc["gap before attempt 2"]
    assert row.ks_p > 0.001 and bool(row.equivalent)
    assert far.ks_p < 1e-6 and not far.equivalent
    assert row.margin == pytest.approx(0.1 * row.real_mean)
    assert same.loc["success share", "margin"] == 0.1 and bool(same.loc["success share", "equivalent"])
    text = format_table(same)
    assert "TOST p" in text and "KS p" in text
