"""Adapters: slices of the real public traces in traces/public (row counts and token sums computed here with
the csv/json modules, independently of llmsim), the fixtures of export formats, detection."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import llmsim
from llmsim.traces import COLUMNS, load_trace

FIX = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]

PUBLIC = {
    "AzureLLMInferenceTrace_conv_2023.csv": ("azure", "ContextTokens", "GeneratedTokens"),
    "AzureLLMInferenceTrace_code_2023.csv": ("azure", "ContextTokens", "GeneratedTokens"),
    "burstgpt1.csv": ("burstgpt", "Request tokens", "Response tokens"),
    "burstgpt3.csv": ("burstgpt", "Request tokens", "Response tokens"),
    "mooncake_conversation_trace.jsonl": ("mooncake", "input_length", "output_length"),
    "mooncake_synthetic_trace.jsonl": ("mooncake", "input_length", "output_length"),
}


def _independent_counts(path: Path, inp: str, out: str) -> tuple[int, int, int, int]:
    rows = zero = si = so = 0
    if path.suffix == ".csv":
        with open(path, newline="") as fh:
            for r in csv.DictReader(fh):
                rows += 1
                si += int(r[inp])
                so += int(r[out])
                zero += int(r[out]) == 0
    else:
        with open(path) as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    rows += 1
                    si += int(r[inp])
                    so += int(r[out])
                    zero += int(r[out]) == 0
    return rows, si, so, zero


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_trace_rows_and_token_sums(public_dir, name):
    fmt, inp, out = PUBLIC[name]
    path = public_dir / name
    rows, si, so, zero = _independent_counts(path, inp, out)
    df = load_trace(path)  # detected by content
    assert df.attrs["format"] == fmt
    assert len(df) == rows and df.attrs["rows"] == rows
    assert int(df["input_tokens"].sum()) == si
    assert int(df["output_tokens"].sum()) == so
    assert list(df.columns) == list(COLUMNS)
    assert df["arrival_s"].is_monotonic_increasing
    if fmt == "burstgpt":  # zero-token rows are failures of unknown cause, kept
        assert int((df["outcome"] == "error").sum()) == zero
    else:
        assert df["outcome"].isna().all() and df.attrs["missing"]["outcome"] == rows


def test_azure_keeps_sub_microsecond_digits(public_dir):
    path = public_dir / "AzureLLMInferenceTrace_conv_2023.csv"
    with open(path) as fh:
        next(fh)
        t0, t1 = (next(fh).split(",")[0] for _ in range(2))
    df = load_trace(path)
    # "2023-11-16 18:15:46.6805900" -> "...50.9951690": difference in 100 ns units, by string arithmetic
    def ticks(s):
        hms, frac = s.split(" ")[1].split(".")
        h, m, sec = map(int, hms.split(":"))
        return ((h * 60 + m) * 60 + sec) * 10**7 + int(frac.ljust(7, "0")[:7])
    assert df["arrival_s"].iloc[1] == pytest.approx((ticks(t1) - ticks(t0)) / 1e7, abs=1e-9)
    assert df.attrs["origin"].startswith("2023-11-16T18:15:46.68059")


def test_mooncake_ties_kept_in_file_order(public_dir):
    path = public_dir / "mooncake_conversation_trace.jsonl"
    recs = [json.loads(line) for _, line in zip(range(50), open(path), strict=False)]
    df = load_trace(path)
    assert df["input_tokens"].head(50).tolist() == [r["input_length"] for r in recs]
    assert df["arrival_s"].head(50).tolist() == [r["timestamp"] / 1000 for r in recs]


def test_otel_fixture():
    df = load_trace(FIX / "otel_genai_spans.json")
    assert df.attrs["format"] == "otel" and len(df) == 3 and df.attrs["skipped"] == 1
    first, retry, other = df.iloc[0], df.iloc[1], df.iloc[2]
    assert (first["outcome"], first["http_status"], first["attempt"]) == ("rate_limited", 429, 0)
    assert (retry["outcome"], retry["attempt"], retry["cached_input_tokens"]) == ("ok", 1, 512)
    assert first["logical_request_id"] == retry["logical_request_id"] != other["logical_request_id"]
    assert first["input_tokens"] == 812 and first["output_tokens"] == 0  # filled from the sibling, noted
    assert any("same logical request" in n for n in df.attrs["notes"])
    assert retry["arrival_s"] == pytest.approx(1.3) and retry["latency_s"] == pytest.approx(2.0)
    assert (other["input_tokens"], other["output_tokens"], other["provider"]) == (40, 12, "openai")
    assert df["ttft_s"].isna().all()  # OTel spans carry no TTFT: stays null, counted
    assert df.attrs["missing"]["ttft_s"] == 3


def test_litellm_fixture():
    df = load_trace(FIX / "litellm_payloads.jsonl")
    assert df.attrs["format"] == "litellm" and len(df) == 3
    assert df["outcome"].tolist() == ["rate_limited", "ok", "ok"]
    assert df["attempt"].tolist() == [0, 1, 0]
    assert df["ttft_s"].iloc[1] == pytest.approx(0.4) and pd_isna(df["ttft_s"].iloc[0])
    assert df["cached_input_tokens"].iloc[1] == 512 and df["cost_usd"].iloc[1] == pytest.approx(0.00265)


def test_langfuse_fixture():
    df = load_trace(FIX / "langfuse_observations.json")
    assert df.attrs["format"] == "langfuse" and len(df) == 3 and df.attrs["skipped"] == 1
    assert df["request_id"].tolist() == ["obs-1", "obs-2", "obs-3"]  # sorted by start time
    assert df["outcome"].tolist() == ["ok", "rate_limited", "ok"]
    assert df["input_tokens"].tolist() == [500, 0, 1200] and df["output_tokens"].tolist() == [120, 0, 80]
    assert df["ttft_s"].iloc[0] == pytest.approx(0.45) and df["latency_s"].iloc[2] == pytest.approx(1.75)
    assert df["logical_request_id"].isna().all()


def test_helicone_fixture_sorted_and_sessions():
    df = load_trace(FIX / "helicone_export.csv")
    assert df.attrs["format"] == "helicone"
    assert df["request_id"].tolist() == ["a1", "b2", "c3"]
    assert df["outcome"].tolist() == ["ok", "overloaded", "ok"]
    assert df["session_id"].tolist() == ["sess-1", "sess-2", "sess-2"]
    assert df["latency_s"].tolist() == [1.8, 0.35, 2.1] and df["arrival_s"].tolist() == [0.0, 4.0, 9.1]


def test_samples_all_formats_agree():
    from llmsim.traces.samples import sample_path

    base = load_trace(sample_path("csv"))
    for kind in ("parquet", "litellm", "otel"):
        df = load_trace(sample_path(kind))
        assert len(df) == len(base)
        assert df["output_tokens"].tolist() == base["output_tokens"].tolist()
        assert df["outcome"].tolist() == base["outcome"].tolist()
        assert df["attempt"].tolist() == base["attempt"].tolist()


def test_explicit_format_and_public_api():
    path = FIX / "helicone_export.csv"
    assert llmsim.load_trace(path, format="helicone").attrs["format"] == "helicone"


def pd_isna(v) -> bool:
    import pandas as pd

    return bool(pd.isna(v))
