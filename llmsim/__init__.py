"""llmsim: a discrete-event simulator of LLM API traffic, to compare client policies before deploying.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday")
>>> res = llmsim.simulate(sc.with_overrides({"horizon": "10m"}), seed=1)
>>> "latency_p95" in res.summary()
True
"""

from llmsim.config import Scenario, load_scenario, packaged_scenarios
from llmsim.core.errors import InputError, ScenarioError, TraceError
from llmsim.core.version import __version__
from llmsim.experiments import CompareResult, SweepResult, TuneResult, compare, sweep, tune
from llmsim.results import SUMMARY_METRICS, Result
from llmsim.simulate import simulate
from llmsim.traces import load_trace

__all__ = ["CompareResult", "InputError", "Result", "SUMMARY_METRICS", "Scenario", "ScenarioError", "SweepResult",
           "TraceError", "TuneResult", "compare", "load_scenario", "load_trace", "packaged_scenarios", "simulate",
           "sweep", "tune", "__version__"]
