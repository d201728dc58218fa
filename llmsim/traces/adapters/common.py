"""What every adapter is, and helpers they share (status -> outcome, failed attempts' tokens, sorting).

>>> outcome_from_status(429), outcome_from_status(529), outcome_from_status(500), outcome_from_status(200)
('rate_limited', 'overloaded', 'server_error', 'ok')
>>> outcome_from_status(None, error_type="ReadTimeout")
'timeout'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from llmsim.core.errors import TraceError
from llmsim.traces.build import Chunk, Context
from llmsim.traces.readers import Head

__all__ = ["Adapter", "outcome_from_status", "require_columns", "fill_failed_tokens", "sorted_frame", "get_path"]


@dataclass(frozen=True)
class Adapter:
    """A source format: how to recognise it from its first bytes and how to read it into canonical chunks.

    ``read(head, ctx, options)`` yields canonical DataFrames (see ``build.Chunk.frame``)."""

    name: str
    containers: tuple[str, ...]
    about: str
    detect: Callable[[Head], bool]
    read: Callable[[Head, Context, dict], Iterator[pd.DataFrame]]
    sorted_input: bool = True


def outcome_from_status(status: Any, error_type: Any = None, failed: bool | None = None) -> str | None:
    """llmsim outcome from an HTTP status and/or error class; None when nothing is recorded."""
    et = str(error_type).lower() if error_type is not None and error_type == error_type else ""
    code = _status_code(status)
    if "timeout" in et or "timed out" in et or code == 408:
        return "timeout"
    if code is not None and code > 0:
        return _outcome_of_code(code, failed)
    return _outcome_of_error(et, failed)


def _status_code(status: Any) -> int | None:
    """The HTTP status as an int; None when missing (None, NaN, blank) or not a number."""
    try:
        if status is not None and status == status and str(status).strip() != "":
            return int(float(status))
    except (TypeError, ValueError):
        pass
    return None


def _outcome_of_code(code: int, failed: bool | None) -> str:
    if 200 <= code < 300:
        return "ok" if not failed else "error"
    if code == 429:
        return "rate_limited"
    if code in (503, 529):
        return "overloaded"
    if code >= 500:
        return "server_error"
    return "error"


def _outcome_of_error(et: str, failed: bool | None) -> str | None:
    """From the (lower-case) error class alone, or the failed flag."""
    if "ratelimit" in et.replace("_", "").replace(" ", "") or "429" in et:
        return "rate_limited"
    if "overload" in et or "529" in et:
        return "overloaded"
    if failed is True or et:
        return "error"
    if failed is False:
        return "ok"
    return None


def require_columns(head: Head, ctx: Context, needed: list[str], fmt: str) -> None:
    """Raise one TraceError naming the first missing column and what the format needs."""
    have = set(head.columns)
    for col in needed:
        if col not in have:
            raise TraceError(ctx.file, f"missing column (format '{fmt}' needs: {', '.join(needed)}; "
                                       f"the file has: {', '.join(head.columns[:12]) or 'nothing'})", column=col)


def fill_failed_tokens(df: pd.DataFrame, ctx: Context, outcome: str = "outcome", logical: str | None = None,
                       inp: str = "input_tokens", out: str = "output_tokens") -> pd.DataFrame:
    """Failed attempts often carry no usage. Output of a failed attempt is 0 (nothing was delivered);
    its input is copied from another attempt of the same logical request, else set to 0. Every such
    fill is counted in ``ctx.notes`` (never silent). Successful attempts without usage stay null (an error)."""
    failed = df[outcome].notna() & (df[outcome] != "ok")
    o = pd.to_numeric(df[out], errors="coerce")
    n_out = int((failed & o.isna()).sum())
    if n_out:
        df[out] = df[out].astype(object).where(~(failed & o.isna()), 0)
        ctx.notes.append(f"{n_out} failed attempt(s) without output tokens: output_tokens = 0")
    i = pd.to_numeric(df[inp], errors="coerce")
    miss = failed & i.isna()
    if miss.any():
        if logical is not None and logical in df:
            known = pd.Series(i.to_numpy(), index=df[logical].to_numpy()).dropna()
            known = known[~known.index.duplicated()]
            sib = df[logical].map(known)
            filled = miss & sib.notna()
            if filled.any():
                df[inp] = df[inp].astype(object).where(~filled, sib)
                ctx.notes.append(f"{int(filled.sum())} failed attempt(s) without input tokens: taken from "
                                 "another attempt of the same logical request")
            miss = miss & ~filled
        if miss.any():
            df[inp] = df[inp].astype(object).where(~miss, 0)
            ctx.notes.append(f"{int(miss.sum())} failed attempt(s) without input tokens: input_tokens = 0")
    return df


def sorted_frame(cols: dict, ctx: Context, n: int) -> pd.DataFrame:
    """Canonical frame of a whole (small) export whose records are not in time order: built, then sorted
    stably by arrival (errors name the record's position in the file)."""
    df = Chunk(ctx, n).frame(cols)
    order = np.argsort(df["arrival_s"].to_numpy(), kind="stable")
    return df.iloc[order].reset_index(drop=True)


def get_path(rec: Any, *keys: str) -> Any:
    """rec[k1][k2]... or None."""
    for k in keys:
        if not isinstance(rec, dict) or k not in rec:
            return None
        rec = rec[k]
    return rec
