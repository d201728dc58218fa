"""Experiment designs: the points of a sweep (full grids, random or Latin-hypercube samples over ranges)
and the replication seeds derived from one root seed.

>>> pts = grid_points({"client.retry.max_attempts": [1, 3], "client.timeout": ["10s", "30s"]})
>>> [p.params for p in pts][:2]
[{'client.retry.max_attempts': 1, 'client.timeout': '10s'}, {'client.retry.max_attempts': 1, 'client.timeout': '30s'}]
>>> replication_seed(7, 0) == replication_seed(7, 0) != replication_seed(7, 1)
True
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmsim.core.errors import InputError

__all__ = ["Point", "grid_points", "sample_points", "replication_seed", "Range", "parse_range", "column_value"]


@dataclass(frozen=True)
class Point:
    """One configuration to run: ``params`` (column name -> value shown in tables) and ``overrides``
    (dotted path -> value applied to the scenario). For plain sweeps both are the same."""

    index: int
    params: dict[str, Any]
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Range:
    """A numeric range to sample: ``low``..``high``, optionally on a log scale and/or rounded to ints."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def at(self, u: float) -> float | int:
        """The value at quantile ``u`` in [0, 1); integer ranges give every integer the same chance."""
        if self.log:
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
            return int(min(self.high, max(self.low, round(x)))) if self.integer else float(x)
        if self.integer:
            return int(min(self.high, self.low + math.floor(u * (self.high - self.low + 1))))
        return float(self.low + u * (self.high - self.low))


def parse_range(path: str, spec: Any) -> Range:
    """A Range from ``(low, high)``, ``[low, high]``, ``{"low":..,"high":..,"log":..,"int":..}`` or "LO:HI".

    >>> parse_range("x", "1:5")
    Range(low=1.0, high=5.0, log=False, integer=True)
    """
    if isinstance(spec, Range):
        return spec
    lo, hi, log, integer = _range_parts(path, spec)
    if not (_is_number(lo) and _is_number(hi)):
        raise InputError(path, f"range bounds must be numbers, got {lo!r} and {hi!r}")
    if integer is None:  # not said: integer when both bounds are
        integer = isinstance(lo, int) and isinstance(hi, int)
    if not lo < hi:
        raise InputError(path, f"range low must be below high, got {lo} and {hi}")
    if log and lo <= 0:
        raise InputError(path, "a log range needs low > 0")
    return Range(float(lo), float(hi), log, bool(integer))


def _is_number(v: Any) -> bool:
    """An int or a float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _range_parts(path: str, spec: Any) -> tuple[Any, Any, bool, Any]:
    """(low, high, log, integer or None when the spec does not say) of a range spec."""
    if isinstance(spec, str) and ":" in spec:
        return _text_range(path, spec)
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"low", "high", "log", "int"}
        if unknown or "low" not in spec or "high" not in spec:
            raise InputError(path, "a range mapping has keys low, high and optionally log, int")
        return spec["low"], spec["high"], bool(spec.get("log", False)), spec.get("int")
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        return spec[0], spec[1], False, None
    raise InputError(path, f"expected a range (low, high), got {spec!r}")


def _text_range(path: str, spec: str) -> tuple[float, float, bool, bool]:
    """"LO:HI[:log|int|log-int]": integer when both bounds are written as integers or ``int`` is given."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("log", "int", "log-int")):
        raise InputError(path, f"a range is LOW:HIGH[:log|int], got {spec!r}")
    lo_s, hi_s = parts[0], parts[1]
    try:
        lo, hi = float(lo_s), float(hi_s)
    except ValueError:
        raise InputError(path, f"range bounds must be numbers, got {spec!r}") from None
    flag = parts[2] if len(parts) == 3 else ""
    return lo, hi, "log" in flag, (_is_int_text(lo_s) and _is_int_text(hi_s)) or "int" in flag


def _is_int_text(s: str) -> bool:
    return s.strip().lstrip("-+").isdigit()


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[Point]:
    """Every combination of the listed values (the last path varies fastest)."""
    paths = list(grid)
    for p in paths:
        values = grid[p]
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise InputError(p, "grid values must be a non-empty list")
    combos = itertools.product(*(list(grid[p]) for p in paths))
    return [Point(i, dict(zip(paths, c, strict=True)), dict(zip(paths, c, strict=True))) for i, c in enumerate(combos)]


def sample_points(space: Mapping[str, Any], n: int, method: str = "lhs", seed: int = 0, start: int = 0) -> list[Point]:
    """``n`` points over ``space`` (path -> range, or a list of choices): ``lhs`` (Latin hypercube, scipy.stats.qmc)
    or ``random`` (uniform), reproducible from ``seed``."""
    if n < 1:
        raise InputError("samples", f"must be >= 1, got {n}")
    paths = list(space)
    dims = [_dimension(p, space[p]) for p in paths]
    if method == "lhs":
        from scipy.stats import qmc  # deferred: scipy.stats takes a second to import; only LHS needs it

        u = qmc.LatinHypercube(d=len(paths), seed=np.random.default_rng(seed)).random(n)
    elif method == "random":
        u = np.random.default_rng(seed).random((n, len(paths)))
    else:
        raise InputError("method", f"unknown sampling method {method!r} (use lhs or random)")
    points = []
    for i in range(n):
        params = {}
        for j, (p, dim) in enumerate(zip(paths, dims, strict=True)):
            q = float(u[i, j])
            params[p] = dim.at(q) if isinstance(dim, Range) else dim[min(int(q * len(dim)), len(dim) - 1)]
        points.append(Point(start + i, params, dict(params)))
    return points


def _dimension(path: str, spec: Any) -> Range | list:
    if isinstance(spec, (Range, Mapping, str)) or (isinstance(spec, tuple) and len(spec) == 2):
        return parse_range(path, spec)
    if isinstance(spec, list) and spec:
        return list(spec)
    raise InputError(path, f"expected a range (low, high) or a non-empty list of choices, got {spec!r}")


def replication_seed(root: int, replication: int) -> int:
    """The seed of replication ``r``: child ``r`` of ``numpy.random.SeedSequence(root)`` (independent of how
    many replications there are, so adding replications keeps the earlier ones)."""
    ss = np.random.SeedSequence(int(root), spawn_key=(int(replication),))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def column_value(value: Any) -> Any:
    """A value as stored in a table column: scalars as they are, lists and mappings as compact JSON."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
