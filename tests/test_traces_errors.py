"""Malformed traces: one clear error naming file, row and column; nothing written."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from llmsim.cli import app
from llmsim.traces import TraceError, convert, load_trace

AZ = "TIMESTAMP,ContextTokens,GeneratedTokens\n"


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, row, column, reason", [
    (AZ + "2023-11-16 18:15:46.68,374,44\n2023-11-16 18:15:47.00,abc,109\n", 2, "ContextTokens", "not a number"),
    (AZ + "2023-11-16 18:15:46.68,374,44\n2023-11-16 18:15:45.00,396,109\n", 2, "TIMESTAMP", "not sorted"),
    (AZ + "2023-11-16 18:15:46.68,374,44\nyesterday,396,109\n", 2, "TIMESTAMP", "not a timestamp"),
    (AZ + "2023-11-16 18:15:46.68,374,44\n2023-11-16 18:15:47.00,,109\n", 2, "ContextTokens", "missing value"),
    (AZ + "2023-11-16 18:15:46.68,374,-4\n", 1, "GeneratedTokens", "negative"),
])
def test_bad_cells_name_row_and_column(tmp_path, text, row, column, reason):
    p = _write(tmp_path, "bad.csv", text)
    with pytest.raises(TraceError) as ei:
        load_trace(p)
    e = ei.value
    assert (e.row, e.column, e.file) == (row, column, str(p))
    assert reason in str(e) and f"row {row} (line {row + 1})" in str(e) and "\n" not in str(e)


def test_negative_timestamp_generic(tmp_path):
    p = _write(tmp_path, "t.csv", "arrival_s,input_tokens,output_tokens\n-2,1,1\n0,3,4\n")
    with pytest.raises(TraceError, match=r"row 1 \(line 2\), column 'arrival_s': negative timestamp"):
        load_trace(p)


def test_missing_column_and_empty_and_header_only(tmp_path):
    with pytest.raises(TraceError, match="column 'GeneratedTokens': missing column"):
        load_trace(_write(tmp_path, "a.csv", "TIMESTAMP,ContextTokens,Other\n2023-11-16 18:15:46,1,2\n"),
                   format="azure")
    with pytest.raises(TraceError, match="the file is empty"):
        load_trace(_write(tmp_path, "e.csv", ""))
    with pytest.raises(TraceError, match="no data rows"):
        load_trace(_write(tmp_path, "h.csv", AZ))


def test_wrong_format_flag(tmp_path):
    p = _write(tmp_path, "m.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 2}\n')
    with pytest.raises(TraceError, match="--format azure reads csv/parquet files, but this is a jsonl file; it looks "
                                         "like 'mooncake'"):
        load_trace(p, format="azure")
    with pytest.raises(TraceError, match="unknown trace format 'mooncak' .did you mean 'mooncake'"):
        load_trace(p, format="mooncak")


def test_bad_json_line_names_line(tmp_path):
    p = _write(tmp_path, "m.jsonl", '{"timestamp": 0, "input_length": 5, "output_length": 2}\n{"timestamp": 1,\n')
    with pytest.raises(TraceError, match=r"row 2, .*not valid JSON|row 2: not valid JSON"):
        load_trace(p)


def test_error_in_late_chunk_has_global_row(tmp_path):
    rows = "".join(f"2023-11-16 18:15:{i // 100:02d}.{i % 100:02d},10,2\n" for i in range(500))
    p = _write(tmp_path, "big.csv", AZ + rows + "2023-11-16 18:16:00.00,x,2\n")
    with pytest.raises(TraceError) as ei:
        load_trace(p, chunksize=64)
    assert ei.value.row == 501 and ei.value.line == 502


def test_convert_writes_nothing_on_error(tmp_path):
    rows = "".join(f"2023-11-16 18:15:{i // 100:02d}.{i % 100:02d},10,2\n" for i in range(300))
    src = _write(tmp_path, "late.csv", AZ + rows + "2023-11-16 18:10:00.00,1,2\n")
    out = tmp_path / "out.parquet"
    with pytest.raises(TraceError):
        convert(src, out, chunksize=100)  # fails in the 4th chunk, after 3 were written to a temp file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.csv"]


def test_cli_exit_2_one_line_nothing_written(tmp_path):
    src = _write(tmp_path, "bad.csv", AZ + "2023-11-16 18:15:46.68,374,44\n2023-11-16 18:15:47.00,abc,109\n")
    out = tmp_path / "o.parquet"
    for args in (["trace", "convert", str(src), "--out", str(out)], ["trace", "inspect", str(src)],
                 ["trace", "fit", str(src), "-o", str(tmp_path / "s.yaml")]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2, r.output
        text = " ".join(r.output.split())
        assert "row 2 (line 3), column 'ContextTokens': not a number ('abc')" in text
        assert "Traceback" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]
