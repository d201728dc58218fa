"""Workload generation: Poisson arrival times (piecewise-constant rate) and request sizes, in chunks.

Chunk c holds requests [c * CHUNK, (c + 1) * CHUNK); its sizes come from a stream keyed by c, so a
request's sizes depend only on the seed and its index.

>>> import numpy as np
>>> from llmsim.core.schedule import Schedule
>>> t = arrival_times(Schedule.constant(10.0), horizon=100.0, rng=np.random.default_rng(1))
>>> 800 < len(t) < 1200
True
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional

import numpy as np

from llmsim.core.samplers import Sampler
from llmsim.core.schedule import Schedule
from llmsim.core.streams import Streams

__all__ = ["CHUNK", "arrival_times", "RequestChunks", "ExplicitArrivals"]

CHUNK = 4096


def _cumulative(schedule: Schedule):
    times = list(schedule.times)
    values = list(schedule.values)
    if times[0] > 0:
        times.insert(0, 0.0)
        values.insert(0, schedule.before)
    t = np.asarray(times, dtype=float)
    r = np.asarray(values, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(np.diff(t) * r[:-1])])
    return t, r, cum


def arrival_times(schedule: Schedule, horizon: float, rng: np.random.Generator, batch: int = CHUNK) -> np.ndarray:
    """All arrival times in [0, horizon) of a Poisson process with a piecewise-constant rate."""
    return np.concatenate(list(iter_arrival_times(schedule, horizon, rng, batch)) or [np.empty(0)])


def iter_arrival_times(schedule: Schedule, horizon: float, rng: np.random.Generator,
                       batch: int = CHUNK) -> Iterator[np.ndarray]:
    """Arrival times in batches: unit-rate exponential gaps mapped through the inverse cumulative rate."""
    t, r, cum = _cumulative(schedule)
    total = schedule.integral(0.0, horizon)  # expected number of arrivals = Lambda(horizon)
    e = 0.0
    while True:
        es = e + np.cumsum(rng.exponential(1.0, batch))
        e = float(es[-1])
        keep = es[es < total]
        if len(keep):
            j = np.searchsorted(cum, keep, side="right") - 1
            out = t[j] + (keep - cum[j]) / r[j]
            out = out[out < horizon]
            if len(out):
                yield out
        if e >= total:
            return


class RequestChunks:
    """Request sizes per chunk: input tokens, cached input tokens and output tokens (capped at max_tokens)."""

    def __init__(self, streams: Streams, input_tokens: Sampler, output_tokens: Sampler, max_tokens: int,
                 cached_share: float):
        self.streams = streams
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.max_tokens = max_tokens
        self.cached_share = cached_share

    def sizes(self, chunk: int) -> tuple[list[int], list[int], list[int]]:
        rng = self.streams.rng("sizes", chunk)
        inp = np.maximum(1, np.rint(self.input_tokens.sample(rng, CHUNK))).astype(np.int64)
        out = np.clip(np.rint(self.output_tokens.sample(rng, CHUNK)), 1, self.max_tokens).astype(np.int64)
        cached = np.floor(inp * self.cached_share).astype(np.int64)
        return inp.tolist(), cached.tolist(), out.tolist()


@dataclass(frozen=True)
class ExplicitArrivals:
    """Given arrivals (e.g. a replayed trace): sorted times in seconds and per-request token counts.

    >>> a = ExplicitArrivals.from_arrays([0.0, 0.5], [100, 200], [10, 20])
    >>> len(a), a.output_tokens.tolist()
    (2, [10, 20])
    """

    times: np.ndarray
    input_tokens: np.ndarray
    output_tokens: np.ndarray
    cached_tokens: Optional[np.ndarray] = None

    @classmethod
    def from_arrays(cls, times, input_tokens, output_tokens, cached_tokens=None) -> ExplicitArrivals:
        t = np.asarray(times, dtype=float)
        order = np.argsort(t, kind="stable")
        inp = np.maximum(0, np.asarray(input_tokens, dtype=np.int64))[order]  # 0: a recorded failure, kept
        out = np.maximum(0, np.asarray(output_tokens, dtype=np.int64))[order]
        cached = None if cached_tokens is None else np.asarray(cached_tokens, dtype=np.int64)[order]
        if len(t) and (not np.all(np.isfinite(t)) or t.min() < 0):
            raise ValueError("arrival times must be finite and >= 0")
        return cls(t[order], inp, out, cached)

    def __len__(self) -> int:
        return len(self.times)

    def batches(self) -> Iterator[np.ndarray]:
        for i in range(0, len(self.times), CHUNK):
            yield self.times[i:i + CHUNK]

    def sizes(self, chunk: int, max_tokens: int) -> tuple[list[int], list[int], list[int]]:
        sl = slice(chunk * CHUNK, (chunk + 1) * CHUNK)
        inp = self.input_tokens[sl]
        cached = np.zeros_like(inp) if self.cached_tokens is None else np.minimum(self.cached_tokens[sl], inp)
        return inp.tolist(), cached.tolist(), np.minimum(self.output_tokens[sl], max_tokens).tolist()
