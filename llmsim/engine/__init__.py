"""The SimPy model: provider stations, client pipeline, workload source and recorder (no I/O)."""

from llmsim.engine.arrivals import ExplicitArrivals
from llmsim.engine.simulation import run_model

__all__ = ["ExplicitArrivals", "run_model"]
