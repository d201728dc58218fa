"""llmsim: a discrete-event simulator of LLM API traffic, to compare client policies before deploying.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday")
>>> res = llmsim.simulate(sc.with_overrides({"horizon": "10m"}), seed=1)
>>> "latency_p95" in res.summary()
True
"""

from .config import Scenario, load_scenario, packaged_scenarios
from .errors import ScenarioError
from .experiments import CompareResult, SweepResult, TuneResult, compare, sweep, tune
from .results import SUMMARY_METRICS, Result
from .simulate import simulate
from .traces import TraceError, load_trace

__version__ = "0.1.0"

__all__ = ["CompareResult", "Result", "SUMMARY_METRICS", "Scenario", "ScenarioError", "SweepResult", "TraceError",
           "TuneResult", "compare", "load_scenario", "load_trace", "packaged_scenarios", "simulate", "sweep", "tune",
           "__version__"]
