"""Turn source columns into canonical ones, chunk by chunk, with errors that name row and column.

An adapter hands ``Chunk.frame`` a dict ``canonical name -> (values, source column name)``; the
chunk coerces each to its canonical dtype, checks required values, and keeps arrivals sorted across
chunks (``Context`` carries the state from one chunk to the next).

>>> import pandas as pd
>>> ctx = Context("t.csv", "csv", header_lines=1)
>>> ch = Chunk(ctx, 2)
>>> df = ch.frame({"arrival_s": (pd.Series(["0", "1.5"]), "t"), "input_tokens": (pd.Series(["3", "4"]), "in"),
...                "output_tokens": (pd.Series(["1", "2"]), "out")})
>>> df["request_id"].tolist(), df["arrival_s"].tolist()
(['0', '1'], [0.0, 1.5])
>>> ch.frame({"arrival_s": (pd.Series(["2", "x"]), "t"), "input_tokens": (pd.Series(["3", "4"]), "in"),
...           "output_tokens": (pd.Series(["1", "2"]), "out")})
Traceback (most recent call last):
...
llmsim.core.errors.TraceError: t.csv: row 4 (line 5), column 't': not a number ('x')
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from llmsim.core.errors import TraceError
from llmsim.traces.schema import COLUMNS, REQUIRED, TRACE_OUTCOMES, conform

__all__ = ["Context", "Chunk", "parse_times", "to_ns"]

_INT = {"int64", "Int64"}
_FLOAT = {"float64", "Float64"}
_NON_NEGATIVE = {n for n in COLUMNS if n.endswith("tokens")} | {"latency_s", "ttft_s", "retry_after_s", "cost_usd"}


@dataclass
class Context:
    """State shared by the chunks of one file: name, format, row offset, time origin, sortedness."""

    file: str
    format: str
    header_lines: int = 0  # lines before the first data row (1 for a CSV header)
    sorted_input: bool = True  # unsorted arrivals are an error (False: the loader sorts)
    rows_done: int = 0
    origin: pd.Timestamp | None = None  # for datetime sources: arrival_s is seconds since this
    last_arrival: float = float("-inf")
    skipped: int = 0  # source records that are not attempts (e.g. non-generation observations)
    notes: list[str] = field(default_factory=list)

    def error(self, reason: str, pos: int | None = None, column: str | None = None) -> TraceError:
        """An error at 0-based position ``pos`` of the current chunk."""
        if pos is None:
            return TraceError(self.file, reason, column=column)
        row = self.rows_done + pos + 1
        line = row + self.header_lines if self.header_lines >= 0 else None
        return TraceError(self.file, reason, row=row, column=column, line=line)


def parse_times(values: pd.Series, source: str, ctx: Context, pos: np.ndarray | None = None) -> np.ndarray:
    """Seconds since ``ctx.origin`` from datetime strings (ISO 8601; naive means UTC) or epoch numbers.

    The origin is the first timestamp of the file (set on the first chunk)."""
    try:
        ts = pd.to_datetime(values, format="ISO8601", utc=True)
    except (ValueError, TypeError):
        ts = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")
        bad = np.flatnonzero(ts.isna().to_numpy() & values.notna().to_numpy())
        i = int(bad[0]) if len(bad) else 0
        raise ctx.error(f"not a timestamp ({values.iloc[i]!r})", _p(pos, i), source) from None
    if (i := _first(ts.isna().to_numpy())) is not None:
        raise ctx.error("missing timestamp", _p(pos, i), source)
    ns = to_ns(ts)
    if ctx.origin is None:
        if not len(ns):
            return np.zeros(0)
        ctx.origin = pd.Timestamp(int(ns.min() if not ctx.sorted_input else ns[0]), unit="ns", tz="UTC")
    return (ns - ctx.origin.value) / 1e9


def to_ns(ts: pd.Series) -> np.ndarray:
    """Nanoseconds since the epoch of a tz-aware (UTC) datetime Series."""
    return ts.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]").to_numpy().view(np.int64)


def _p(pos: np.ndarray | None, i: int) -> int:
    return int(pos[i]) if pos is not None else i


class Chunk:
    """One chunk of source rows; ``index`` positions map back to source rows for error messages."""

    def __init__(self, ctx: Context, n: int, positions: np.ndarray | None = None, source_rows: int | None = None):
        self.ctx = ctx
        self.n = int(n)
        self.positions = positions  # source position of each row, when rows were filtered or reordered
        self.source_rows = self.n if source_rows is None else int(source_rows)

    def pos(self, i: int) -> int:
        return _p(self.positions, i)

    def numbers(self, values, source: str, integer: bool, required: bool) -> pd.Series:
        s, num = _as_numbers(values)
        isna = num.isna().to_numpy()
        if isna.any():
            self._check_nulls(s, isna, source, required)
        arr = num.to_numpy(dtype=float, na_value=np.nan)
        self._check_finite(s, arr, source, integer)
        return pd.Series(arr)

    def _check_finite(self, s: pd.Series, arr: np.ndarray, source: str, integer: bool) -> None:
        """An infinite value, or (when ``integer``) a fraction, is an error."""
        if (i := _first(~(np.isfinite(arr) | np.isnan(arr)))) is not None:
            raise self.ctx.error(f"not a finite number ({s.iloc[i]!r})", self.pos(i), source)
        if integer and (i := _first(~np.isnan(arr) & (arr != np.floor(arr)))) is not None:
            raise self.ctx.error(f"not a whole number ({s.iloc[i]!r})", self.pos(i), source)

    def _check_nulls(self, s: pd.Series, isna: np.ndarray, source: str, required: bool) -> None:
        """A value that is not a number, or (when ``required``) no value at all, is an error."""
        raw_na = s.isna().to_numpy()
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            raw_na = raw_na | (s.astype("string").str.strip() == "").fillna(True).to_numpy()
        if (i := _first(isna & ~raw_na)) is not None:
            raise self.ctx.error(f"not a number ({s.iloc[i]!r})", self.pos(i), source)
        if required:
            raise self.ctx.error("missing value (this column is required)", self.pos(_first(isna)), source)

    def frame(self, cols: dict[str, tuple[object, str]]) -> pd.DataFrame:
        """The canonical DataFrame of this chunk; raises TraceError naming row and source column."""
        out: dict[str, pd.Series] = {}
        for name, (values, source) in cols.items():
            if values is not None:
                out[name] = self._column(name, values, source)
        self._add_required(out)
        self._check_arrivals(out["arrival_s"].to_numpy(), cols["arrival_s"][1])
        df = conform(pd.DataFrame(out))
        self.ctx.rows_done += self.source_rows
        return df

    def _column(self, name: str, values, source: str) -> pd.Series:
        col = COLUMNS[name]
        if col.dtype in _INT or col.dtype in _FLOAT:
            s = self.numbers(values, source, integer=col.dtype in _INT, required=col.required)
            if name in _NON_NEGATIVE and (i := _first((s < 0).to_numpy())) is not None:
                raise self.ctx.error(f"negative value ({s.iloc[i]:g})", self.pos(i), source)
            return s if col.dtype == "float64" else s.astype(col.dtype)
        if col.dtype == "boolean":
            return pd.Series(values).reset_index(drop=True).astype("boolean")
        return self._text(name, col.required, values, source)

    def _text(self, name: str, required: bool, values, source: str) -> pd.Series:
        s = pd.Series(values).reset_index(drop=True).astype("string")
        if required and (i := _first(s.isna().to_numpy())) is not None:
            raise self.ctx.error("missing value (this column is required)", self.pos(i), source)
        if name == "outcome" and (i := _first((~s.isna() & ~s.isin(TRACE_OUTCOMES)).to_numpy())) is not None:
            raise self.ctx.error(f"unknown outcome {s.iloc[i]!r} (known: {', '.join(TRACE_OUTCOMES)})",
                                 self.pos(i), source)
        return s

    def _add_required(self, out: dict[str, pd.Series]) -> None:
        """A missing request_id is the row number; any other missing required column is an error."""
        for name in REQUIRED:
            if name in out:
                continue
            if name != "request_id":
                raise TraceError(self.ctx.file, f"no column gives '{name}' (required)")
            rows = self.ctx.rows_done + (np.arange(self.n) if self.positions is None else self.positions)
            out[name] = pd.Series(rows.astype(str)).astype("string")

    def _check_arrivals(self, arr: np.ndarray, source: str) -> None:
        """Arrivals are >= 0 and, unless the loader sorts, in order (also across chunks)."""
        ctx = self.ctx
        if ctx.sorted_input and len(arr):
            if (i := _first(np.diff(np.concatenate([[ctx.last_arrival], arr])) < 0)) is not None:
                prev = ctx.last_arrival if i == 0 else arr[i - 1]
                raise ctx.error(f"timestamps are not sorted: {arr[i]:.6g} s comes after {prev:.6g} s "
                                "(sort the file by time)", self.pos(i), source)
            ctx.last_arrival = float(arr[-1])
        if (i := _first(arr < 0)) is not None:
            raise ctx.error(f"negative timestamp ({arr[i]:g} s)", self.pos(i), source)


def _first(mask: np.ndarray) -> int | None:
    """Position of the first True in ``mask``, or None."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if len(hits) else None


def _as_numbers(values) -> tuple[pd.Series, pd.Series]:
    """The values as a fresh Series (bools as 0/1), and as nullable floats (NA where not a number)."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    s = s.reset_index(drop=True)
    if s.dtype == bool:
        s = s.astype(int)
    num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s) else s
    return s, num.astype("Float64") if not isinstance(num.dtype, pd.Float64Dtype) else num
