"""Recorded production traces: canonical schema, adapters, replay, inspect, fit, calibration,
incident model and counterfactuals.

>>> from llmsim.traces import load_trace
>>> from llmsim.traces.samples import sample_path
>>> load_trace(sample_path("csv")).attrs["format"]
'csv'
"""

from llmsim.core.errors import TraceError
from llmsim.traces.adapters import FORMATS
from llmsim.traces.load import convert, iter_trace, load_trace
from llmsim.traces.schema import COLUMNS, REQUIRED, missing_counts

__all__ = ["COLUMNS", "FORMATS", "REQUIRED", "TraceError", "convert", "iter_trace", "load_trace", "missing_counts"]
