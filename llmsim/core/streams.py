"""Named random streams from one seed: no global random state, and common random numbers.

Each stream is keyed by a name plus integers (provider index, chunk of requests), so the draws a
provider makes for request i do not depend on what the client did before.

>>> s = Streams(42)
>>> float(s.rng("arrivals").random()) == float(Streams(42).rng("arrivals").random())
True
>>> pool = UniformPool(s.rng("jitter")); 0.0 <= pool.next() < 1.0
True
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["Streams", "UniformPool"]


class Streams:
    """Factory of independent ``numpy.random.Generator`` objects derived from one SeedSequence."""

    __slots__ = ("seed",)

    def __init__(self, seed: int):
        self.seed = int(seed)

    def rng(self, name: str, *keys: int) -> np.random.Generator:
        seq = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(name.encode()), *map(int, keys)))
        return np.random.Generator(np.random.PCG64(seq))


class UniformPool:
    """Hands out U[0, 1) floats one at a time, drawn from ``rng`` in batches (fast in hot loops)."""

    __slots__ = ("_rng", "_buf", "_i", "_batch")

    def __init__(self, rng: np.random.Generator, batch: int = 4096):
        self._rng = rng
        self._batch = batch
        self._buf: list[float] = []
        self._i = 0

    def next(self) -> float:
        i = self._i
        if i >= len(self._buf):
            self._buf = self._rng.random(self._batch).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]
