"""Fit then simulate: Azure conversation trace; the calibration report; a fitted file that runs."""

from __future__ import annotations

import llmsim
from llmsim.traces import load_trace
from llmsim.traces.calibrate import calibration_report
from llmsim.traces.fit import fit_scenario
from llmsim.traces.samples import SAMPLE_SCENARIO, sample_path


def test_fit_then_simulate_azure_conversation(public_dir):
    tr = load_trace(public_dir / "AzureLLMInferenceTrace_conv_2023.csv")
    sc, rep = fit_scenario(tr, bin_s=60)
    res = llmsim.simulate(llmsim.Scenario.model_validate(sc), seed=1)
    cal = calibration_report(tr, res, bin_s=60)
    assert cal["ks_input_tokens"] < 0.05 and cal["ks_output_tokens"] < 0.05
    rate = cal["rate"]
    # the fitted rate in bin i is recorded_i / 60 s: simulated counts are Poisson(recorded_i), so the
    # chi-square statistic sum (sim - rec)^2 / rec has ~df degrees of freedom; reject only at p < 0.001
    assert rate["chi2_df"] == rate["bins"] >= 10
    assert rate["chi2_p"] > 0.001
    # total requests: Poisson(len(tr)) -> within 4 sd
    assert abs(cal["requests_simulated"] - len(tr)) < 4 * len(tr) ** 0.5


def test_fit_recovers_known_provider_from_sample():
    tr = load_trace(sample_path("csv"))
    sc, rep = fit_scenario(tr)
    prov = sc["providers"][0]
    truth = SAMPLE_SCENARIO["providers"][0]
    assert not rep["not_fitted"][:1] or "latency" not in rep["not_fitted"][0]
    # prices by least squares on recorded costs: the sample was billed at 0.15 / 0.60 per Mtok
    assert abs(prov["pricing"]["input_per_mtok"] - truth["pricing"]["input_per_mtok"]) < 1e-3
    assert abs(prov["pricing"]["output_per_mtok"] - truth["pricing"]["output_per_mtok"]) < 1e-3
    assert "rate_limits" in prov and sc["client"]["retry"]["max_attempts"] == 3
    llmsim.Scenario.model_validate(sc)
