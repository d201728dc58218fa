"""Recorded production traces: canonical schema, adapters, replay, inspect, fit, calibration,
incident model and counterfactuals.

>>> from llmsim.traces import load_trace
>>> from llmsim.traces.samples import sample_path
>>> load_trace(sample_path("csv")).attrs["format"]
'csv'
"""

from .adapters import FORMATS
from .errors import TraceError
from .load import convert, iter_trace, load_trace
from .schema import COLUMNS, REQUIRED, missing_counts

__all__ = ["COLUMNS", "FORMATS", "REQUIRED", "TraceError", "convert", "iter_trace", "load_trace", "missing_counts"]
