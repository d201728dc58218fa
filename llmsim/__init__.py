"""llmsim: a discrete-event simulator of LLM API traffic, to compare client policies before deploying.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday")
>>> res = llmsim.simulate(sc.with_overrides({"horizon": "10m"}), seed=1)
>>> "latency_p95" in res.summary()
True
"""

from llmsim.config import Scenario, load_scenario, packaged_scenarios
from llmsim.core.errors import ScenarioError
from llmsim.experiments import CompareResult, SweepResult, TuneResult, compare, sweep, tune
from llmsim.results import SUMMARY_METRICS, Result
from llmsim.simulate import simulate
from llmsim.traces import TraceError, load_trace

__version__ = "0.1.0"

__all__ = ["CompareResult", "Result", "SUMMARY_METRICS", "Scenario", "ScenarioError", "SweepResult", "TraceError",
           "TuneResult", "compare", "load_scenario", "load_trace", "packaged_scenarios", "simulate", "sweep", "tune",
           "__version__"]
