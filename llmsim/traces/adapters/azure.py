"""Azure LLM inference traces (AzurePublicDataset): 2023 layout (naive timestamps with 100 ns digits)
and 2024 layout (timestamps with a UTC offset); columns TIMESTAMP, ContextTokens, GeneratedTokens."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from ..build import Chunk, Context, parse_times
from ..readers import CHUNK_ROWS, Head
from .base import Adapter, require_columns
from .generic import raw_chunks

__all__ = ["AZURE"]

_AZ = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]


def _azure_read(head: Head, ctx: Context, options: dict) -> Iterator[pd.DataFrame]:
    require_columns(head, ctx, _AZ, "azure")
    for raw in raw_chunks(head, _AZ, options.get("chunksize", CHUNK_ROWS)):
        ch = Chunk(ctx, len(raw))
        yield ch.frame({"arrival_s": (parse_times(raw["TIMESTAMP"].reset_index(drop=True), "TIMESTAMP", ctx),
                                      "TIMESTAMP"),
                        "input_tokens": (raw["ContextTokens"], "ContextTokens"),
                        "output_tokens": (raw["GeneratedTokens"], "GeneratedTokens")})


AZURE = Adapter("azure", ("csv", "parquet"), "Azure LLM inference trace (TIMESTAMP, ContextTokens, GeneratedTokens)",
                lambda h: set(_AZ) <= set(h.columns), _azure_read)


