"""rate_calibration draws the recorded and simulated rate of a real calibration report."""

import llmsim
from llmsim.traces.calibrate import calibration_report
from llmsim.traces.fit import fit_scenario
from llmsim.traces.samples import sample_path
from llmsim.viz.plots.calibration_charts import rate_calibration


def test_rate_calibration_from_a_fitted_sample_trace():
    trace = llmsim.load_trace(sample_path("csv"))
    fitted, _ = fit_scenario(trace, bin_s=60)
    res = llmsim.simulate(llmsim.Scenario.model_validate(fitted), seed=1)
    report = calibration_report(trace, res, bin_s=60)
    spec = rate_calibration(report).to_dict()
    rows = [r for rs in spec["datasets"].values() for r in rs]
    n = len(report["rate"]["recorded"])
    assert len(rows) == 2 * n
    recorded = sum(r["per_s"] for r in rows if r["series"] == "recorded") * 60
    assert abs(recorded - sum(report["rate"]["recorded"])) < 1e-6
    assert "relative L1 error" in spec["title"]
