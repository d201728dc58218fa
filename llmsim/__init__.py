"""llmsim: a discrete-event simulator of LLM API traffic, to compare client policies before deploying.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday")
>>> res = llmsim.simulate(sc.with_overrides({"horizon": "5m"}), seed=1)
>>> "latency_p95" in res.summary()
True
"""

from .config import Scenario, load_scenario, packaged_scenarios
from .errors import ScenarioError
from .experiments import CompareResult, SweepResult, TuneResult, compare, sweep, tune
from .results import SUMMARY_METRICS, Result
from .simulate import simulate

__version__ = "0.1.0"

__all__ = ["Result", "SUMMARY_METRICS", "Scenario", "ScenarioError", "load_scenario", "packaged_scenarios",
           "simulate", "__version__", "sweep", "SweepResult", "compare", "CompareResult", "tune", "TuneResult"]
