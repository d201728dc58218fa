"""Azure LLM inference traces (AzurePublicDataset): 2023 layout (naive timestamps with 100 ns digits)
and 2024 layout (timestamps with a UTC offset); columns TIMESTAMP, ContextTokens, GeneratedTokens."""

from __future__ import annotations

from llmsim.traces.adapters.common import Adapter
from llmsim.traces.adapters.generic import _generic_read

__all__ = ["AZURE"]

_AZ = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]
_MAP = {"arrival_s": "TIMESTAMP", "input_tokens": "ContextTokens", "output_tokens": "GeneratedTokens"}


def _azure_read(head, ctx, options):
    """The generic reader with Azure's column names; timestamps are datetimes."""
    return _generic_read(head, ctx, {**options, "mapping": _MAP, "time_unit": "datetime"})


AZURE = Adapter("azure", ("csv", "parquet"), "Azure LLM inference trace (TIMESTAMP, ContextTokens, GeneratedTokens)",
                lambda h: set(_AZ) <= set(h.columns), _azure_read)


