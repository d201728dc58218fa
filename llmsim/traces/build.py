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
    nulls = np.flatnonzero(ts.isna().to_numpy())
    if len(nulls):
        raise ctx.error("missing timestamp", _p(pos, int(nulls[0])), source)
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
        s = values if isinstance(values, pd.Series) else pd.Series(values)
        s = s.reset_index(drop=True)
        if s.dtype == bool:
            s = s.astype(int)
        num = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s) else s
        num = num.astype("Float64") if not isinstance(num.dtype, pd.Float64Dtype) else num
        isna = num.isna().to_numpy()
        if isna.any():
            raw_na = s.isna().to_numpy()
            if s.dtype == object or pd.api.types.is_string_dtype(s):
                raw_na = raw_na | (s.astype("string").str.strip() == "").fillna(True).to_numpy()
            bad = np.flatnonzero(isna & ~raw_na)
            if len(bad):
                i = int(bad[0])
                raise self.ctx.error(f"not a number ({s.iloc[i]!r})", self.pos(i), source)
            if required:
                i = int(np.flatnonzero(isna)[0])
                raise self.ctx.error("missing value (this column is required)", self.pos(i), source)
        arr = num.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(arr) | np.isnan(arr)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            raise self.ctx.error(f"not a finite number ({s.iloc[i]!r})", self.pos(i), source)
        if integer:
            frac = ~np.isnan(arr) & (arr != np.floor(arr))
            if frac.any():
                i = int(np.flatnonzero(frac)[0])
                raise self.ctx.error(f"not a whole number ({s.iloc[i]!r})", self.pos(i), source)
        return pd.Series(arr)

    def frame(self, cols: dict[str, tuple[object, str]]) -> pd.DataFrame:
        """The canonical DataFrame of this chunk; raises TraceError naming row and source column."""
        ctx = self.ctx
        out: dict[str, pd.Series] = {}
        for name, (values, source) in cols.items():
            if values is None:
                continue
            col = COLUMNS[name]
            required = col.required
            if col.dtype in _INT or col.dtype in _FLOAT:
                s = self.numbers(values, source, integer=col.dtype in _INT, required=required)
                if name.endswith("tokens") or name in ("latency_s", "ttft_s", "retry_after_s", "cost_usd"):
                    neg = (s < 0).to_numpy()
                    if neg.any():
                        i = int(np.flatnonzero(neg)[0])
                        raise ctx.error(f"negative value ({s.iloc[i]:g})", self.pos(i), source)
                out[name] = s.astype("int64" if col.dtype == "int64" else col.dtype) if col.dtype != "float64" else s
            elif col.dtype == "boolean":
                out[name] = pd.Series(values).reset_index(drop=True).astype("boolean")
            else:
                s = pd.Series(values).reset_index(drop=True)
                s = s.astype("string")
                if required:
                    nulls = np.flatnonzero(s.isna().to_numpy())
                    if len(nulls):
                        raise ctx.error("missing value (this column is required)", self.pos(int(nulls[0])), source)
                if name == "outcome":
                    bad = ~s.isna() & ~s.isin(TRACE_OUTCOMES)
                    if bad.any():
                        i = int(np.flatnonzero(bad.to_numpy())[0])
                        raise ctx.error(f"unknown outcome {s.iloc[i]!r} (known: {', '.join(TRACE_OUTCOMES)})",
                                        self.pos(i), source)
                out[name] = s
        for name in REQUIRED:
            if name not in out:
                if name == "request_id":
                    rows = ctx.rows_done + (np.arange(self.n) if self.positions is None else self.positions)
                    out[name] = pd.Series(rows.astype(str)).astype("string")
                else:
                    raise TraceError(ctx.file, f"no column gives '{name}' (required)")
        arr = out["arrival_s"].to_numpy()
        if ctx.sorted_input and len(arr):
            back = np.flatnonzero(np.diff(np.concatenate([[ctx.last_arrival], arr])) < 0)
            if len(back):
                i = int(back[0])
                prev = ctx.last_arrival if i == 0 else arr[i - 1]
                raise ctx.error(f"timestamps are not sorted: {arr[i]:.6g} s comes after {prev:.6g} s "
                                "(sort the file by time)", self.pos(i), cols["arrival_s"][1])
            ctx.last_arrival = float(arr[-1])
        neg = np.flatnonzero(arr < 0)
        if len(neg):
            i = int(neg[0])
            raise ctx.error(f"negative timestamp ({arr[i]:g} s)", self.pos(i), cols["arrival_s"][1])
        df = conform(pd.DataFrame(out))
        ctx.rows_done += self.source_rows
        return df
