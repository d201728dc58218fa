"""Trace adapters, one module per source format, and detection by content.

``detect(head)`` returns the first adapter whose ``detect`` accepts the file's first bytes; specific
formats are tried before the generic canonical ones.

>>> [a.name for a in ADAPTERS][:3]
['otel', 'litellm', 'langfuse']
"""

from __future__ import annotations

import difflib

from llmsim.core.errors import TraceError
from llmsim.traces.adapters.azure import AZURE
from llmsim.traces.adapters.burstgpt import BURSTGPT
from llmsim.traces.adapters.common import Adapter
from llmsim.traces.adapters.generic import GENERIC_CSV, GENERIC_JSONL, GENERIC_PARQUET
from llmsim.traces.adapters.helicone import HELICONE
from llmsim.traces.adapters.langfuse import LANGFUSE
from llmsim.traces.adapters.litellm import LITELLM
from llmsim.traces.adapters.mooncake import MOONCAKE
from llmsim.traces.adapters.otel import OTEL
from llmsim.traces.readers import Head

__all__ = ["ADAPTERS", "FORMATS", "Adapter", "detect", "get_adapter"]

ADAPTERS: tuple[Adapter, ...] = (OTEL, LITELLM, LANGFUSE, HELICONE, AZURE, BURSTGPT, MOONCAKE,
                                 GENERIC_PARQUET, GENERIC_CSV, GENERIC_JSONL)
FORMATS: dict[str, Adapter] = {a.name: a for a in ADAPTERS}


def detect(head: Head) -> Adapter:
    """The adapter for a file, from its content; TraceError when nothing matches."""
    for a in ADAPTERS:
        if head.container in a.containers and a.detect(head):
            return a
    cols = ", ".join(head.columns[:12]) if head.columns else "none found"
    raise TraceError(head.path, f"cannot tell the trace format of this {head.container} file (columns/keys: {cols}); "
                                f"give --format ({', '.join(FORMATS)}) and, for csv/jsonl/parquet, --map "
                                "canonical=source for arrival_s, input_tokens, output_tokens")


def get_adapter(name: str, head: Head) -> Adapter:
    """The adapter named by an explicit --format; TraceError when unknown or the file is another container."""
    if name not in FORMATS:
        close = difflib.get_close_matches(name, list(FORMATS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise TraceError(head.path, f"unknown trace format {name!r}{hint}; known: {', '.join(FORMATS)}")
    a = FORMATS[name]
    if head.container not in a.containers:
        guess = ""
        try:
            guess = f"; it looks like '{detect(head).name}'"
        except TraceError:
            pass
        raise TraceError(head.path, f"--format {name} reads {'/'.join(a.containers)} files, but this is a "
                                    f"{head.container} file{guess}")
    return a
