"""Low-level readers: sniff a file's container (CSV, JSONL, JSON, Parquet) and read it in chunks.

Readers yield raw source rows as DataFrames (CSV cells as text, so a bad cell can be reported with
its row); they never hold more than one chunk of a CSV, JSONL or Parquet file in memory.

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
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from llmsim.core.errors import TraceError

__all__ = ["Head", "sniff", "iter_csv", "iter_jsonl", "iter_parquet", "read_json_doc", "CHUNK_ROWS"]

CHUNK_ROWS = 250_000
_PARQUET_MAGIC = b"PAR1"


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
    with open(p, "rb") as fh:
        raw = fh.read(size)
    if not raw.strip():
        raise TraceError(name, "the file is empty")
    if raw[:4] == _PARQUET_MAGIC:
        return _parquet_head(p, name)
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    if text.lstrip()[:1] in "{[":
        return _json_head(name, text)
    first_line = text.split("\n", 1)[0].rstrip("\r")
    cols = next(csv.reader(io.StringIO(first_line)), [])
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
    """CSV rows as text columns, ``chunksize`` rows at a time (only ``usecols`` are kept)."""
    try:
        reader = pd.read_csv(path, dtype=str, usecols=usecols, chunksize=chunksize, skipinitialspace=True,
                             encoding="utf-8-sig")
        for chunk in reader:
            yield chunk.rename(columns=lambda c: str(c).strip())
    except pd.errors.EmptyDataError:
        raise TraceError(path, "the file is empty") from None
    except pd.errors.ParserError as exc:
        raise TraceError(path, f"malformed CSV ({str(exc).strip().splitlines()[-1]})") from None
    except UnicodeDecodeError as exc:
        raise TraceError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def iter_jsonl(path: str, flatten: Callable[[dict], dict], chunksize: int = CHUNK_ROWS,
               ) -> Iterator[pd.DataFrame]:
    """JSON Lines records, each turned into a flat dict by ``flatten``, ``chunksize`` at a time.

    Blank lines are skipped; a line that is not a JSON object is an error naming its line."""
    rows: list[dict] = []
    record = 0
    with open(path, encoding="utf-8-sig") as fh:
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
    """Parquet record batches as DataFrames."""
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=chunksize, columns=columns):
        yield batch.to_pandas()


def read_json_doc(path: str) -> Any:
    """A whole JSON document (exports that are one object or array)."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise TraceError(path, f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
