"""Fidelity reports: run a real client against ``llmsim serve``, simulate the same workload with a
client policy, and compare what both did (attempts, gaps, waits, time to give up) with KS statistics.

See docs/bridges.md.
"""

from llmsim.bridges.fidelity.check import FidelityReport, run_fidelity, simulate_like
from llmsim.bridges.fidelity.clients import (
    FIDELITY_SCENARIOS,
    REFERENCE_CLIENTS,
    fidelity_scenario,
    reference_client,
    tenacity_client,
)
from llmsim.bridges.fidelity.observe import Behaviour, behaviour_from_result, behaviour_from_trace
from llmsim.bridges.fidelity.table import fidelity_table, format_table
from llmsim.bridges.fidelity.workloads import anthropic_sdk, openai_sdk, tenacity_openai

__all__ = ["run_fidelity", "simulate_like", "FidelityReport", "fidelity_table", "format_table", "Behaviour",
           "behaviour_from_trace", "behaviour_from_result", "openai_sdk", "anthropic_sdk", "tenacity_openai",
           "REFERENCE_CLIENTS", "reference_client", "tenacity_client", "FIDELITY_SCENARIOS", "fidelity_scenario"]
