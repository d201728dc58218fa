"""How long an answer given without service takes to reach the client (a refusal's round trip).

Drawn from the provider's ``latency.refusal`` (or ``latency.error``) distribution, in batches, from
one named stream per provider and kind, so the draws do not disturb the per-request draws that keep
common random numbers across policies.

>>> import numpy as np
>>> from llmsim.core.samplers import Fixed, LogNormal
>>> AnswerTimes(Fixed(0.05), np.random.default_rng(1)).next()
0.05
>>> t = AnswerTimes(LogNormal(0.06, 0.2), np.random.default_rng(1))
>>> all(0.0 < t.next() < 10.0 for _ in range(2000))
True
>>> AnswerTimes(Fixed(0.0), None).instant
True
"""

from __future__ import annotations

from llmsim.core.samplers import Fixed, Sampler

__all__ = ["AnswerTimes"]


class AnswerTimes:
    """Hands out answer times one at a time, drawn from ``sampler`` in batches of ``batch``;
    ``instant`` is True when every answer time is 0 (nothing to schedule)."""

    __slots__ = ("_sampler", "_rng", "_buf", "_i", "_batch", "instant")

    def __init__(self, sampler: Sampler, rng, batch: int = 1024):
        self._sampler = sampler
        self._rng = rng
        self._batch = batch
        self._buf: list[float] = []
        self._i = 0
        self.instant = isinstance(sampler, Fixed) and sampler.value == 0.0

    def next(self) -> float:
        i = self._i
        if i >= len(self._buf):
            self._buf = self._sampler.sample(self._rng, self._batch).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]
