"""The SimPy model: provider stations, client pipeline, workload source and recorder (no I/O)."""

from .arrivals import ExplicitArrivals
from .run import run_model

__all__ = ["ExplicitArrivals", "run_model"]
