"""Load a trace file into the canonical table (format detected by content, or given), in chunks.

``load_trace`` returns one DataFrame; ``iter_trace`` yields canonical chunks (streams CSV, JSONL
and Parquet: a few million rows never sit in memory as text); ``convert`` writes canonical Parquet
atomically (a temp file renamed into place: on any error nothing is written).

Metadata in ``df.attrs``: source, format, origin (ISO time of arrival_s = 0, or None), rows,
missing (nulls per optional column), skipped (source records that are not attempts), notes.

>>> from llmsim.traces.samples import sample_path
>>> df = load_trace(sample_path("csv"))
>>> df.attrs["format"], list(df.columns[:4])
('csv', ['request_id', 'arrival_s', 'input_tokens', 'output_tokens'])
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from llmsim.core.errors import TraceError
from llmsim.traces.adapters import detect, get_adapter
from llmsim.traces.build import Context
from llmsim.traces.readers import CHUNK_ROWS, sniff, stream_errors
from llmsim.traces.schema import arrow_schema, empty_trace, missing_counts

__all__ = ["load_trace", "iter_trace", "convert", "TraceReader"]


class TraceReader:
    """An opened trace: the detected adapter and a context that fills as chunks are read."""

    def __init__(self, path: str | Path, format: str | None = None, mapping: dict | None = None,
                 time_unit: str | None = None, chunksize: int = CHUNK_ROWS):
        self.path = str(path)
        head = sniff(self.path)
        self.adapter = get_adapter(format, head) if format else detect(head)
        self.head = head
        self.options = {"mapping": mapping, "time_unit": time_unit, "chunksize": chunksize}
        self.ctx = Context(self.path, self.adapter.name, header_lines=1 if head.container == "csv" else 0,
                           sorted_input=self.adapter.sorted_input)

    def chunks(self) -> Iterator[pd.DataFrame]:
        n = 0
        with stream_errors(self.path):
            for df in self.adapter.read(self.head, self.ctx, self.options):
                n += len(df)
                yield df
        if n == 0:
            raise TraceError(self.path, "no data rows" + (" (header only)" if self.head.container == "csv" else ""))

    def attrs(self, rows: int, missing: dict[str, int]) -> dict:
        c = self.ctx
        return {"source": self.path, "format": self.adapter.name,
                "origin": None if c.origin is None else c.origin.isoformat(), "rows": rows, "missing": missing,
                "skipped": c.skipped, "notes": list(c.notes)}


def iter_trace(path: str | Path, format: str | None = None, mapping: dict | None = None,
               time_unit: str | None = None, chunksize: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Canonical chunks of a trace file (each a DataFrame in the canonical schema)."""
    yield from TraceReader(path, format, mapping, time_unit, chunksize).chunks()


def load_trace(path: str | Path, format: str | None = None, mapping: dict | None = None,
               time_unit: str | None = None, chunksize: int = CHUNK_ROWS) -> pd.DataFrame:
    """The canonical trace table of a file. ``format=None`` detects it from the content.

    ``mapping`` ({canonical: source column}) and ``time_unit`` (s, ms, us, ns, datetime) apply to the
    generic csv/jsonl/parquet formats. Raises TraceError (an InputError) naming file, row, column."""
    reader = TraceReader(path, format, mapping, time_unit, chunksize)
    parts = list(reader.chunks())
    df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True) if parts else empty_trace()
    df.attrs = reader.attrs(len(df), missing_counts(df))
    return df


def _with_origin(schema: pa.Schema, table: pa.Table, origin) -> tuple[pa.Schema, pa.Table]:
    """Schema and table carrying the time origin in their metadata (unchanged without an origin)."""
    if origin is None:
        return schema, table
    schema = schema.with_metadata({b"llmsim.origin": origin.isoformat().encode()})
    return schema, table.replace_schema_metadata(schema.metadata)


def convert(path: str | Path, out: str | Path, format: str | None = None, mapping: dict | None = None,
            time_unit: str | None = None, chunksize: int = CHUNK_ROWS) -> dict:
    """Write the canonical table of ``path`` to Parquet ``out``, streaming chunk by chunk, atomically.

    Returns the attrs (rows, missing, ...). On any error the target is left untouched."""
    reader = TraceReader(path, format, mapping, time_unit, chunksize)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    schema = arrow_schema()
    writer = None
    rows = 0
    missing: dict[str, int] = {}
    try:
        for df in reader.chunks():
            table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
            if writer is None:  # the origin is known once the first chunk is read
                schema, table = _with_origin(schema, table, reader.ctx.origin)
                writer = pq.ParquetWriter(tmp, schema)
            writer.write_table(table)
            rows += len(df)
            for k, v in missing_counts(df).items():
                missing[k] = missing.get(k, 0) + v
        if writer is None:
            raise TraceError(str(path), "no data rows")
        writer.close()
        writer = None
        attrs = reader.attrs(rows, missing)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        return attrs
    except BaseException:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise

