"""llmsim: a discrete-event simulator of LLM API traffic, to compare client policies before deploying.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday")
>>> res = llmsim.simulate(sc.with_overrides({"horizon": "10m"}), seed=1)
>>> "latency_p95" in res.summary()
True
"""

from __future__ import annotations

import importlib

from llmsim.core.errors import InputError, ScenarioError, TraceError
from llmsim.core.version import __version__

#: public name -> the module that defines it; imported on first use, so that ``import llmsim`` (and the
#: CLI's ``llmsim --help``) does not load pandas, SimPy, pydantic models and Dask until they are needed
_LAZY = {
    "Scenario": "llmsim.config.scenario", "load_scenario": "llmsim.config.loading",
    "packaged_scenarios": "llmsim.config.loading", "Result": "llmsim.results", "SUMMARY_METRICS": "llmsim.results",
    "simulate": "llmsim.simulator", "load_trace": "llmsim.traces.load",
    "CompareResult": "llmsim.experiments.compare", "compare": "llmsim.experiments.compare",
    "SweepResult": "llmsim.experiments.sweep", "sweep": "llmsim.experiments.sweep",
    "TuneResult": "llmsim.experiments.tune", "tune": "llmsim.experiments.tune",
}

__all__ = ["CompareResult", "InputError", "Result", "SUMMARY_METRICS", "Scenario", "ScenarioError", "SweepResult",
           "TraceError", "TuneResult", "compare", "load_scenario", "load_trace", "packaged_scenarios", "simulate",
           "sweep", "tune", "__version__"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
