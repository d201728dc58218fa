"""The canonical trace table: one row per attempt, fixed column names, units and dtypes.

Every adapter turns its source format into this table. Required columns are never null; optional
columns the source does not record stay null (never silently defaulted) and are counted in
``missing_counts``.

>>> list(REQUIRED)
['request_id', 'arrival_s', 'input_tokens', 'output_tokens']
>>> empty_trace().dtypes["arrival_s"].name
'float64'
>>> COLUMNS["ttft_s"].unit
's'
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

__all__ = ["Column", "COLUMNS", "REQUIRED", "OPTIONAL", "TRACE_OUTCOMES", "empty_trace", "missing_counts",
           "arrow_schema", "conform"]


@dataclass(frozen=True)
class Column:
    """One canonical column: pandas dtype, arrow type, unit and meaning."""

    name: str
    dtype: str
    arrow: pa.DataType
    unit: str
    doc: str
    required: bool = False


_COLS = [
    Column("request_id", "string", pa.string(), "", "id of this attempt (the source's id, or the 0-based row "
           "number as text when the source has none)", True),
    Column("arrival_s", "float64", pa.float64(), "s", "when the attempt was sent, seconds since the trace origin "
           "(see attrs['origin']); sorted ascending, ties kept in file order", True),
    Column("input_tokens", "int64", pa.int64(), "tokens", "prompt tokens, cached ones included", True),
    Column("output_tokens", "int64", pa.int64(), "tokens", "generated tokens (0 for a failed attempt)", True),
    Column("logical_request_id", "string", pa.string(), "", "the logical request this attempt belongs to "
           "(retries and failovers share it)"),
    Column("attempt", "Int64", pa.int64(), "", "0 = first attempt of its logical request"),
    Column("session_id", "string", pa.string(), "", "conversation / session / user grouping"),
    Column("model", "string", pa.string(), "", "model name as recorded"),
    Column("provider", "string", pa.string(), "", "provider or vendor (openai, anthropic, azure, ...)"),
    Column("deployment", "string", pa.string(), "", "deployment, endpoint or API base"),
    Column("outcome", "string", pa.string(), "", "llmsim outcome vocabulary, plus 'error' = failed, cause unknown"),
    Column("http_status", "Int64", pa.int64(), "", "HTTP status code"),
    Column("error_type", "string", pa.string(), "", "error class or code as recorded"),
    Column("latency_s", "Float64", pa.float64(), "s", "send to last byte"),
    Column("ttft_s", "Float64", pa.float64(), "s", "send to first token"),
    Column("cached_input_tokens", "Int64", pa.int64(), "tokens", "input tokens served from the prompt cache"),
    Column("retry_after_s", "Float64", pa.float64(), "s", "Retry-After the server sent"),
    Column("cost_usd", "Float64", pa.float64(), "USD", "cost of the attempt as recorded"),
    Column("stream", "boolean", pa.bool_(), "", "streamed response"),
]
COLUMNS: dict[str, Column] = {c.name: c for c in _COLS}
REQUIRED: tuple[str, ...] = tuple(c.name for c in _COLS if c.required)
OPTIONAL: tuple[str, ...] = tuple(c.name for c in _COLS if not c.required)
#: values of the ``outcome`` column: the simulator's vocabulary plus ``error`` (failed, cause unknown)
TRACE_OUTCOMES = ("ok", "rate_limited", "overloaded", "server_error", "timeout", "invalid", "rejected",
                  "spend_blocked", "deadline", "error")


def arrow_schema() -> pa.Schema:
    """The canonical table as an arrow schema (what ``llmsim trace convert`` writes)."""
    return pa.schema([pa.field(c.name, c.arrow, nullable=not c.required) for c in _COLS])


def empty_trace() -> pd.DataFrame:
    """A canonical trace with no rows."""
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in _COLS})


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Columns in canonical order and dtypes; absent optional columns added as all-null."""
    n = len(df)
    out = {}
    for c in _COLS:
        if c.name in df:
            out[c.name] = df[c.name].astype(c.dtype)
        else:
            out[c.name] = pd.Series(pd.array([None] * n, dtype=c.dtype), index=df.index)
    return pd.DataFrame(out, index=df.index)


def missing_counts(df: pd.DataFrame) -> dict[str, int]:
    """Null count of every optional column (how much of the schema the source did not record).

    >>> missing_counts(conform(pd.DataFrame({"request_id": ["a"], "arrival_s": [0.0], "input_tokens": [3],
    ...                                      "output_tokens": [4], "ttft_s": [0.2]})))["ttft_s"]
    0
    """
    return {name: int(df[name].isna().sum()) for name in OPTIONAL if name in df}
