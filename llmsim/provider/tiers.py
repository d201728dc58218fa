"""Service classes as plain objects (no SimPy): the ramp-rate rule, the class-ordered queue, the client's
choice of class per request, and each class's prices and speed.

>>> r = RampRule(min_tpm=100, max_increase=0.5, window=900)
>>> r.allows(0.0, 100), r.allows(0.0, 101)  # up to min_tpm always; above it the last 15 minutes rule
(True, False)
>>> r.count(0.0, 100); r.allows(30.0, 1)  # 101 tokens in the first minute: none in the 15 before it
False
>>> q = ClassQueue(lambda s: s)
>>> q.append(FLEX); q.append(STANDARD); q.append(PRIORITY); [q.popleft() for _ in range(len(q))]
[0, 1, 2]
"""

from __future__ import annotations

from collections import deque

import numpy as np

from llmsim.config.service_tiers import CLASS_NAMES, ClassChoice, ServiceClasses

__all__ = ["PRIORITY", "STANDARD", "FLEX", "BATCH", "DOWNGRADED", "CLASS_CODE", "RampRule", "ClassQueue",
           "ClassChooser", "class_profiles", "offered_codes"]

PRIORITY, STANDARD, FLEX, BATCH = range(4)
#: the code recorded for a priority request served and billed as standard (the ramp rule downgraded it)
DOWNGRADED = 4
CLASS_CODE = {name: i for i, name in enumerate(CLASS_NAMES)}
#: requests per block of share draws (request r's draw depends only on the seed and r)
BLOCK = 4096


class RampRule:
    """Tokens per whole minute (minute ``floor(t / 60)``): a charge is allowed while the minute's tokens,
    with it, stay at or under ``min_tpm`` or under ``1 + max_increase`` times the lowest of the previous
    ``window / 60`` minutes (minutes with nothing count as 0: a ramp from nothing is capped at
    ``min_tpm``). Only what is ``count``-ed is remembered: refused or downgraded tokens do not raise the
    base, so the allowance grows by at most ``max_increase`` per window."""

    __slots__ = ("min_tpm", "factor", "minutes", "bins")

    def __init__(self, min_tpm: float, max_increase: float, window: float):
        self.min_tpm = min_tpm
        self.factor = 1.0 + max_increase
        self.minutes = int(window // 60)
        self.bins: dict[int, float] = {}

    def allows(self, now: float, tokens: float) -> bool:
        m = int(now // 60)
        current = self.bins.get(m, 0.0) + tokens
        if current <= self.min_tpm:
            return True
        base = min(self.bins.get(j, 0.0) for j in range(m - self.minutes, m))
        return current <= self.factor * base

    def count(self, now: float, tokens: float) -> None:
        m = int(now // 60)
        self.bins[m] = self.bins.get(m, 0.0) + tokens
        old = m - self.minutes - 1
        if old in self.bins:
            del self.bins[old]

    @staticmethod
    def retry_after(now: float) -> float:
        """Seconds to the next whole minute (when the minute's count starts again)."""
        return 60.0 * (int(now // 60) + 1) - now


class ClassQueue:
    """A waiting room with one FIFO lane per class served in class order (priority, standard, flex); it
    stands in for the station's deque (``append``, ``popleft``, truth, ``len``). ``lane_of(s)``: the
    lane of a waiting call."""

    __slots__ = ("lanes", "lane_of")

    def __init__(self, lane_of):
        self.lanes = (deque(), deque(), deque())
        self.lane_of = lane_of

    def append(self, s) -> None:
        self.lanes[self.lane_of(s)].append(s)

    def popleft(self):
        for lane in self.lanes:
            if lane:
                return lane.popleft()
        raise IndexError("pop from an empty ClassQueue")

    def __bool__(self) -> bool:
        return bool(self.lanes[0] or self.lanes[1] or self.lanes[2])

    def __len__(self) -> int:
        return len(self.lanes[0]) + len(self.lanes[1]) + len(self.lanes[2])

    def lane(self, cls: int) -> deque:
        return self.lanes[cls]


class ClassChooser:
    """The class the client asks for on each request (``ClassChoice``): by session group name (``open``
    for open-loop requests), else by share (one uniform per request from its own stream), else the
    default; ``flex_fallback`` once a flex attempt of the request was refused.

    >>> c = ClassChooser(ClassChoice.model_validate({"shares": {"flex": 0.25}}), [], lambda b: np.random.default_rng(b))
    >>> class R:
    ...     session = None
    >>> reqs = [R() for _ in range(4000)]
    >>> for i, r in enumerate(reqs): r.rid = i
    >>> 0.22 < sum(c.of(r) == FLEX for r in reqs) / 4000 < 0.28
    True
    """

    __slots__ = ("default", "groups", "group_names", "cuts", "fallback", "fell_back", "rng_of", "blocks")

    def __init__(self, choice: ClassChoice, group_names: list[str], rng_of):
        self.default = CLASS_CODE[choice.default]
        self.groups = {name: CLASS_CODE[c] for name, c in choice.groups.items()}
        self.group_names = group_names
        acc, cuts = 0.0, []
        for name, share in choice.shares.items():
            acc += share
            cuts.append((acc, CLASS_CODE[name]))
        self.cuts = cuts
        self.fallback = None if choice.flex_fallback is None else CLASS_CODE[choice.flex_fallback]
        self.fell_back: set[int] = set()  # requests whose flex attempt was refused
        self.rng_of = rng_of  # block number -> numpy Generator (a named stream)
        self.blocks: dict[int, np.ndarray] = {}

    def of(self, req) -> int:
        rid = req.rid
        if self.fallback is not None and rid in self.fell_back:
            return self.fallback
        if self.groups:
            s = req.session
            name = "open" if s is None else self.group_names[s.group]
            if name in self.groups:
                return self.groups[name]
        if self.cuts:
            u = self._uniform(rid)
            for cut, code in self.cuts:
                if u < cut:
                    return code
        return self.default

    def _uniform(self, rid: int) -> float:
        b = rid // BLOCK
        block = self.blocks.get(b)
        if block is None:
            block = self.blocks[b] = self.rng_of(b).random(BLOCK)
        return block.item(rid % BLOCK)

    def refused(self, req) -> None:
        """A flex attempt of ``req`` was refused: its later attempts go as ``flex_fallback`` (if any)."""
        if self.fallback is not None:
            self.fell_back.add(req.rid)


def offered_codes(classes: ServiceClasses | None) -> tuple[int, int, int, int]:
    """For each requested class code, the class the provider serves it as (standard if not offered)."""
    if classes is None:
        return (STANDARD,) * 4
    return tuple(code if name == "standard" or getattr(classes, name) is not None else STANDARD
                 for code, name in enumerate(CLASS_NAMES))


def class_profiles(classes: ServiceClasses | None, prices: tuple[float, float, float], tokens_per_s: float,
                   slow_extra: float) -> list[tuple[float, float, float, float, float]]:
    """Per class code: (price per input, cached input, output token, tokens/s, load slowdown - 1).
    Priority keeps its speed whatever the load (its speed target: at least ``min_tokens_per_s``).

    >>> from llmsim.config.service_tiers import ServiceClasses
    >>> sc = ServiceClasses.model_validate({"priority": {"min_tokens_per_s": 100}, "flex": {"speed_factor": 0.5}})
    >>> p = class_profiles(sc, (1.0, 0.5, 4.0), 80.0, 1.0)
    >>> p[0], p[1], p[2]
    ((2.0, 1.0, 8.0, 100.0, 0.0), (1.0, 0.5, 4.0, 80.0, 1.0), (0.5, 0.25, 2.0, 40.0, 1.0))
    """
    pi, pc, po = prices
    standard = (pi, pc, po, tokens_per_s, slow_extra)
    out = [standard, standard, standard, standard]
    if classes is None:
        return out
    pr, fl, ba = classes.priority, classes.flex, classes.batch
    if pr is not None:
        f = pr.price_factor
        out[PRIORITY] = (pi * f, pc * f, po * f, max(tokens_per_s * pr.speed_factor, pr.min_tokens_per_s or 0.0), 0.0)
    if fl is not None:
        f = fl.price_factor
        out[FLEX] = (pi * f, pc * f, po * f, tokens_per_s * fl.speed_factor, slow_extra)
    if ba is not None:
        f = ba.price_factor
        out[BATCH] = (pi * f, pc * f, po * f, tokens_per_s, slow_extra)
    return out
