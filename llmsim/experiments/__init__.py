"""Experiments at scale: ``sweep`` (grids and samples of parameters), ``compare`` (client policies on common
random numbers, paired differences) and ``tune`` (cheapest policy meeting an SLO), on local processes or Dask.

>>> from llmsim.experiments import sweep, compare, tune
"""

from llmsim.experiments.compare import CompareResult, compare
from llmsim.experiments.design import replication_seed
from llmsim.experiments.sweep import SweepResult, sweep
from llmsim.experiments.task_runner import ExperimentInterrupted
from llmsim.experiments.tune import TuneResult, tune

__all__ = ["sweep", "SweepResult", "compare", "CompareResult", "tune", "TuneResult", "ExperimentInterrupted",
           "replication_seed"]
