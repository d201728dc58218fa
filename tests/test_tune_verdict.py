"""tune's constraint verdict: the one-sided 95 % Student t rule, checked against a bound computed by hand
from a printed t table (t(0.95, 4) = 2.132), not against the code's own numbers."""

import math

import pytest

from llmsim.experiments.stats import Constraint
from llmsim.experiments.tune import constraint_verdict

VALUES = [0.990, 0.993, 0.995, 0.992, 0.996]
# mean 0.9932; squared deviations sum to 22.8e-6, s^2 = 5.7e-6; se = sqrt(5.7e-6 / 5) = 0.0010677
MEAN = 0.9932
HALF = 2.132 * math.sqrt(5.7e-6 / 5)          # 0.0022764: lower bound 0.99092, upper 0.99548


@pytest.mark.parametrize(("spec", "expected"), [
    (f">= {MEAN - HALF - 1e-4}", "met"),        # the lower bound clears it
    (f">= {MEAN - HALF + 1e-4}", "likely"),     # only the mean does
    (f">= {MEAN + HALF - 1e-4}", "uncertain"),  # the mean misses, the upper end still reaches it
    (f">= {MEAN + HALF + 1e-4}", "missed"),
    (f"<= {MEAN + HALF + 1e-4}", "met"),
    (f"<= {MEAN + HALF - 1e-4}", "likely"),
    (f"<= {MEAN - HALF + 1e-4}", "uncertain"),
    (f"<= {MEAN - HALF - 1e-4}", "missed"),
])
def test_verdict_follows_hand_computed_t_bound(spec, expected):
    assert constraint_verdict([VALUES], [Constraint.parse("success_rate", spec)]) == expected


def test_verdict_is_the_worst_constraint_and_met_without_constraints():
    ok = Constraint.parse("success_rate", f">= {MEAN - HALF - 1e-4}")
    bad = Constraint.parse("success_rate", f">= {MEAN + HALF + 1e-4}")
    assert constraint_verdict([VALUES, VALUES], [ok, bad]) == "missed"
    assert constraint_verdict([], []) == "met"


def test_one_replication_is_never_met_with_confidence():
    c = Constraint.parse("success_rate", ">= 0.5")
    assert constraint_verdict([[0.9]], [c]) == "likely"
    assert constraint_verdict([[0.4]], [c]) == "missed"
