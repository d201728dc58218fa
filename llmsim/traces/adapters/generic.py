"""Generic tables (CSV, JSONL, Parquet) with canonical column names or a mapping, and the raw chunk reader.

Generic files use the canonical column names, or any names given by a mapping
``{canonical: source}``; a numeric time column is in seconds (``time_unit`` s/ms/us/ns), a text
one is read as ISO 8601 datetimes (naive = UTC), relative to the first row.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from llmsim.core.errors import TraceError
from llmsim.traces.adapters.common import Adapter, require_columns
from llmsim.traces.build import Chunk, Context, parse_times
from llmsim.traces.readers import CHUNK_ROWS, Head, iter_csv, iter_jsonl, iter_parquet
from llmsim.traces.schema import COLUMNS

__all__ = ["GENERIC_CSV", "GENERIC_JSONL", "GENERIC_PARQUET", "raw_chunks"]

_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def raw_chunks(head: Head, usecols: list[str] | None, chunksize: int) -> Iterator[pd.DataFrame]:
    """Raw source rows of a CSV, JSONL or Parquet file, ``chunksize`` at a time."""
    if head.container == "csv":
        return iter_csv(head.path, usecols, chunksize)
    if head.container == "parquet":
        return iter_parquet(head.path, usecols, chunksize)
    if head.container == "jsonl":
        keep = None if usecols is None else set(usecols)
        return iter_jsonl(head.path, (lambda r: r) if keep is None else (lambda r: {k: r.get(k) for k in keep}),
                          chunksize)
    raise TraceError(head.path, f"cannot read a {head.container} file as a table")


def _times(values: pd.Series, source: str, ctx: Context, chunk: Chunk, unit: str | None) -> np.ndarray:
    if unit in (None, "auto"):
        num = pd.to_numeric(values, errors="coerce")
        unit = "datetime" if num.isna().all() and values.notna().any() else "s"
    if unit == "datetime":
        return parse_times(values.reset_index(drop=True), source, ctx)
    if unit not in _UNITS:
        raise TraceError(ctx.file, f"unknown time unit {unit!r} (use s, ms, us, ns or datetime)")
    return chunk.numbers(values, source, integer=False, required=True).to_numpy() * _UNITS[unit]


# -- generic -------------------------------------------------------------------------------------
_NEEDED = ("arrival_s", "input_tokens", "output_tokens")


def _generic_read(head: Head, ctx: Context, options: dict) -> Iterator[pd.DataFrame]:
    mapping = _mapping(options, ctx)
    source = {name: mapping.get(name, name) for name in COLUMNS}  # canonical -> source column
    needed = [source[n] for n in _NEEDED]
    if head.container != "jsonl":
        require_columns(head, ctx, needed, ctx.format)
    present = _present(head, source, mapping)
    if head.container == "parquet" and ctx.origin is None:
        ctx.origin = _parquet_origin(head.path)
    for raw in raw_chunks(head, sorted(set(present.values())), options.get("chunksize", CHUNK_ROWS)):
        yield _generic_frame(raw, ctx, source, present, needed, options.get("time_unit"))


def _present(head: Head, source: dict[str, str], mapping: dict[str, str]) -> dict[str, str]:
    """Canonical -> source column, for the source columns the file has."""
    # JSON Lines records may differ in their keys: a mapped key counts even when the first records lack it
    have = set(head.columns)
    jsonl = head.container == "jsonl"
    return {n: s for n, s in source.items() if s in have or (jsonl and n in mapping)}


def _mapping(options: dict, ctx: Context) -> dict[str, str]:
    mapping = dict(options.get("mapping") or {})
    for k in mapping:
        if k not in COLUMNS:
            raise TraceError(ctx.file, f"mapping names unknown canonical column {k!r} "
                                       f"(known: {', '.join(COLUMNS)})")
    return mapping


def _parquet_origin(path) -> pd.Timestamp | None:
    """The time origin ``llmsim trace convert`` stores in a canonical Parquet file, if any."""
    meta = pq.read_schema(path).metadata or {}
    return pd.Timestamp(meta[b"llmsim.origin"].decode()) if b"llmsim.origin" in meta else None


def _generic_frame(raw: pd.DataFrame, ctx: Context, source: dict[str, str], present: dict[str, str],
                   needed: list[str], unit: str | None) -> pd.DataFrame:
    """The canonical frame of one chunk of source rows."""
    for s in needed:
        if s not in raw:
            raise TraceError(ctx.file, f"missing column (format '{ctx.format}' needs: {', '.join(needed)})",
                             column=s)
    ch = Chunk(ctx, len(raw))
    cols = {n: (raw[s], s) for n, s in present.items() if s in raw}
    arrival = source["arrival_s"]
    cols["arrival_s"] = (_times(raw[arrival], arrival, ctx, ch, unit), arrival)
    if "stream" in cols:
        cols["stream"] = (raw[source["stream"]].map(_boolish), source["stream"])
    return ch.frame(cols)


def _boolish(v):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    return str(v).strip().lower() in ("true", "1", "yes")


def _looks_canonical(head: Head) -> bool:
    return {"arrival_s", "input_tokens", "output_tokens"} <= set(head.columns)


GENERIC_CSV = Adapter("csv", ("csv",), "CSV with canonical column names (or a --map of names)",
                      lambda h: h.container == "csv" and _looks_canonical(h), _generic_read)
GENERIC_JSONL = Adapter("jsonl", ("jsonl",), "JSON Lines with canonical keys (or a --map of names)",
                        lambda h: h.container == "jsonl" and _looks_canonical(h), _generic_read)
GENERIC_PARQUET = Adapter("parquet", ("parquet",), "Parquet with canonical columns, e.g. from `llmsim trace convert`",
                          lambda h: h.container == "parquet" and _looks_canonical(h), _generic_read)


