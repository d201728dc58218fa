"""Low-level readers: sniff a file's container (CSV, JSONL, JSON, Parquet) and read it in chunks.

Readers yield raw source rows as DataFrames (CSV cells as text, so a bad cell can be reported with
its row); they never hold more than one chunk of a CSV, JSONL or Parquet file in memory. Text files
may be gzip- or zstd-compressed (recognised by their first bytes, whatever the name); a corrupt or
truncated stream, bytes that are not UTF-8 and CSV rows with more fields than the header are
TraceErrors naming the file (and the line where it is known).

>>> import tempfile, os
>>> d = tempfile.mkdtemp(); p = os.path.join(d, "t.csv")
>>> _ = open(p, "w").write("a,b\\n1,2\\n3,4\\n")
>>> sniff(p).container, sniff(p).columns
('csv', ['a', 'b'])
>>> [len(c) for c in iter_csv(p, None, chunksize=1)]
[1, 1]
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from llmsim.core.errors import TraceError

__all__ = ["Head", "sniff", "iter_csv", "iter_jsonl", "iter_parquet", "read_json_doc", "CHUNK_ROWS",
           "compression", "open_binary", "open_text", "stream_errors"]

CHUNK_ROWS = 250_000
_PARQUET_MAGIC = b"PAR1"
_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def compression(path: str | Path) -> str | None:
    """"gzip" or "zstd" when the file starts with that format's magic bytes, else None."""
    with open(path, "rb") as fh:
        start = fh.read(4)
    return next((name for magic, name in _MAGIC.items() if start.startswith(magic)), None)


def open_binary(path: str | Path):
    """The file's bytes, decompressed if it is gzip or zstd (zstd through pyarrow)."""
    kind = compression(path)
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "zstd":
        return pa.CompressedInputStream(pa.OSFile(str(path)), "zstd")
    return open(path, "rb")


def open_text(path: str | Path, newline: str | None = "\n") -> io.TextIOWrapper:
    """The file as UTF-8 text (BOM dropped), decompressed if need be; lines end at "\\n" only, so a
    stray carriage return stays inside its line instead of splitting it."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", newline=newline)


@contextmanager
def stream_errors(path: str | Path) -> Iterator[None]:
    """Decompression and decoding failures inside the block -> one TraceError naming the file."""
    name = str(path)
    try:
        yield
    except UnicodeDecodeError as exc:
        raise TraceError(name, f"not UTF-8 text ({exc.reason} at byte {exc.start} of a chunk); save it as "
                               "UTF-8") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise TraceError(name, f"corrupt or truncated gzip data ({exc})") from None
    except OSError as exc:
        if compression(name) is None:
            raise
        raise TraceError(name, f"corrupt or truncated {compression(name)} data ({exc})") from None


@dataclass
class Head:
    """What the first bytes of a file say: container, column names (or top-level keys), first record."""

    path: str
    container: str  # csv | jsonl | json | parquet
    columns: list[str] = field(default_factory=list)
    first: Any = None  # first JSON record / document (json: the parsed document if small)
    text: str = ""


def sniff(path: str | Path, size: int = 1 << 16) -> Head:
    """Look at the start of ``path``; raises TraceError for a missing or empty file."""
    p = Path(path)
    name = str(path)
    if not p.is_file():
        raise TraceError(name, "no such file")
    with stream_errors(name), open_binary(p) as fh:
        raw = fh.read(size)
    if not raw.strip():
        raise TraceError(name, "the file is empty")
    if raw[:4] == _PARQUET_MAGIC:
        if compression(p):
            raise TraceError(name, "a compressed Parquet file: decompress it (Parquet compresses its pages "
                                   "itself)")
        return _parquet_head(p, name)
    if raw[:2] in _UTF16_BOMS:
        raise TraceError(name, "UTF-16 text: save the file as UTF-8")
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    if text.lstrip()[:1] in "{[":
        return _json_head(name, text)
    first_line = next(iter(text.splitlines()), "")  # a lone "\r" ends a line, as it does for pandas
    try:
        cols = next(csv.reader(io.StringIO(first_line)), [])
    except csv.Error as exc:
        raise TraceError(name, f"malformed CSV header ({exc})", line=1) from None
    return Head(name, "csv", [c.strip() for c in cols], None, text)


def _parquet_head(p: Path, name: str) -> Head:
    """The head of a Parquet file: its column names (TraceError when arrow cannot read its schema)."""
    try:
        schema = pq.read_schema(p)
    except Exception as exc:  # noqa: BLE001 - any arrow failure is a bad file
        raise TraceError(name, f"not a readable Parquet file ({exc})") from None
    return Head(name, "parquet", list(schema.names))


def _json_head(name: str, text: str) -> Head:
    """JSON Lines when the first line is an object followed by objects (or nothing), else one JSON document."""
    stripped = text.lstrip()
    first_line = stripped.split("\n", 1)[0].strip()
    try:
        rec = json.loads(first_line)
        rest = stripped[len(first_line):].strip()
        if isinstance(rec, dict) and (not rest or rest.startswith("{")):
            return Head(name, "jsonl", list(rec), rec, text)
    except json.JSONDecodeError:
        pass
    return Head(name, "json", [], None, text)


def iter_csv(path: str, usecols: list[str] | None, chunksize: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """CSV rows as text columns, ``chunksize`` rows at a time (only ``usecols`` are kept).

    A row with more fields than the header is an error naming its line (pandas would drop the extra
    fields, or take the first column as an index, without a word)."""
    try:
        with warnings.catch_warnings(), open_text(path, newline="") as fh:
            warnings.simplefilter("error", pd.errors.ParserWarning)
            reader = pd.read_csv(fh, dtype=str, chunksize=chunksize, skipinitialspace=True, index_col=False)
            for chunk in reader:
                chunk = chunk.rename(columns=lambda c: str(c).strip())
                yield chunk if usecols is None else chunk[[c for c in usecols if c in chunk.columns]]
    except pd.errors.EmptyDataError:
        raise TraceError(path, "the file is empty") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise _ragged(path, exc) from None
    except UnicodeDecodeError as exc:
        raise TraceError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start} of a chunk); save it as "
                               "UTF-8") from None


def _ragged(path: str, exc: Exception) -> TraceError:
    """The TraceError for a CSV pandas could not split: the first row whose field count differs from the
    header's, found by reading the file again with the csv module."""
    try:
        with open_text(path, newline="") as fh:
            rows = csv.reader(fh)
            width = len(next(rows, []))
            for record, fields in enumerate(rows, 1):
                if len(fields) > width:
                    return TraceError(path, f"{len(fields)} fields where the header has {width}", row=record,
                                      line=rows.line_num)
    except (csv.Error, OSError, EOFError, UnicodeDecodeError, zlib.error):
        pass
    return TraceError(path, f"malformed CSV ({str(exc).strip().splitlines()[-1]})")


def iter_jsonl(path: str, flatten: Callable[[dict], dict], chunksize: int = CHUNK_ROWS,
               ) -> Iterator[pd.DataFrame]:
    """JSON Lines records, each turned into a flat dict by ``flatten``, ``chunksize`` at a time.

    Blank lines are skipped; a line that is not a JSON object is an error naming its line."""
    rows: list[dict] = []
    record = 0
    with stream_errors(path), open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            record += 1
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TraceError(path, f"not valid JSON ({exc.msg})", row=record, line=lineno) from None
            if not isinstance(rec, dict):
                raise TraceError(path, "expected a JSON object on each line", row=record, line=lineno)
            rows.append(flatten(rec))
            if len(rows) >= chunksize:
                yield pd.DataFrame.from_records(rows)
                rows = []
    if rows:
        yield pd.DataFrame.from_records(rows)


def iter_parquet(path: str, columns: list[str] | None, chunksize: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Parquet record batches as DataFrames; a page arrow cannot decode is a TraceError."""
    try:
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=chunksize, columns=columns):
            yield batch.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise TraceError(path, f"corrupt Parquet data ({str(exc).splitlines()[0] if str(exc) else exc})") from None


def read_json_doc(path: str) -> Any:
    """A whole JSON document (exports that are one object or array)."""
    try:
        with stream_errors(path), open_text(path, newline=None) as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise TraceError(path, f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
