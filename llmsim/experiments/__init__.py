"""Experiments at scale: ``sweep`` (grids and samples of parameters), ``compare`` (client policies on common
random numbers, paired differences) and ``tune`` (cheapest policy meeting an SLO), on local processes or Dask.

>>> from llmsim.experiments import sweep, compare, tune
"""

from .compare import CompareResult, compare
from .design import replication_seed
from .runner import ExperimentInterrupted
from .sweep import SweepResult, sweep
from .tune import TuneResult, tune

__all__ = ["sweep", "SweepResult", "compare", "CompareResult", "tune", "TuneResult", "ExperimentInterrupted",
           "replication_seed"]
