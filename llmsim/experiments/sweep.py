"""``sweep``: run a scenario over a grid (or samples) of parameter values, each point replicated with seeds
derived from one root seed, in parallel; ``SweepResult`` holds one row per point and replication.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday").with_overrides({"horizon": "2m", "warmup": 0})
>>> sw = llmsim.sweep(sc, grid={"client.retry.max_attempts": [1, 3]}, replications=2, workers=1)
>>> sw.table[["point", "client.retry.max_attempts", "replication"]].values.tolist()
[[0, 1, 0], [0, 1, 1], [1, 3, 0], [1, 3, 1]]
>>> list(sw.summary().columns[:5])
['point', 'client.retry.max_attempts', 'runs', 'errors', 'requests_mean']
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llmsim.config.loading import load_scenario
from llmsim.config.scenario import Scenario
from llmsim.core.errors import InputError
from llmsim.experiments.adaptive import (
    AUTO_METRICS,
    AutoReplications,
    Settled,
    mean_settled,
    metric_matrix,
    parse_replications,
)
from llmsim.experiments.compare_series import series_frame
from llmsim.experiments.design import Point, column_value, grid_points, replication_seed, sample_points
from llmsim.experiments.progress import ProgressSpec
from llmsim.experiments.stats import mean_ci
from llmsim.experiments.store import MANIFEST, RunStore, atomic_write_csv, atomic_write_parquet, atomic_write_text
from llmsim.experiments.task_runner import Runner, Task, simulate_summary
from llmsim.results import SUMMARY_METRICS

__all__ = ["sweep", "SweepResult", "run_points", "build_table", "check_points", "as_scenario", "summary_only"]

_FORMAT = 1
_COLUMNS = "columns.json"
_SERIES = "series.parquet"


def as_scenario(scenario: Any) -> Scenario:
    """A Scenario from a Scenario, a dict, a YAML path or a packaged name."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def check_points(base: Scenario, points: Sequence[Point]) -> None:
    """Validate every distinct (path, value) of ``points`` against ``base`` before anything runs, so bad input
    fails at once and names its field (combinations are validated again, per run, in the workers)."""
    seen = set()
    for p in points:
        for path, value in p.overrides.items():
            key = (path, json.dumps(value, sort_keys=True, default=str))
            if key not in seen:
                seen.add(key)
                try:
                    base.with_overrides({path: value})
                except InputError as exc:
                    where = None if exc.path == path else path  # name the parameter as the user gave it
                    raise InputError(exc.path, exc.reason, where, exc.more) from None


@dataclass
class SweepResult:
    """Runs of a sweep: ``table`` has one row per (point, replication): ``point``, the parameter columns,
    ``replication``, ``seed``, every metric, and ``error`` (None when the run succeeded)."""

    table: pd.DataFrame
    params: list[str]
    metrics: list[str]
    meta: dict = field(default_factory=dict)
    #: runs computed by the call that made this result (runs read back from a resumed folder not counted)
    computed: int = field(default=0, repr=False, compare=False)
    #: ``-r auto``: the rule, the ``replications`` it needed and whether every interval ``settled`` (None: fixed)
    adaptive: dict | None = None
    #: runs whose measure kept a time series (compare's): one row per (point, replication, bin); None otherwise
    series: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def summary(self, metrics: Sequence[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
        """Per point: its parameters, ``runs``, ``errors``, then ``<metric>_mean`` and ``<metric>_ci`` (half-width
        of the t confidence interval over the successful replications) for each metric."""
        metrics = list(metrics or self.metrics)
        rows = []
        for point, g in self.table.groupby("point", sort=True):
            first = g.iloc[0]
            row = {"point": int(point), **{p: first[p] for p in self.params}, "runs": len(g),
                   "errors": int(g["error"].notna().sum())}
            ok = g[g["error"].isna()]
            for m in metrics:
                mean, half, _ = mean_ci(ok[m].to_numpy(dtype=float), confidence)
                row[f"{m}_mean"], row[f"{m}_ci"] = mean, half
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def failures(self) -> pd.DataFrame:
        """Rows whose run raised an error."""
        return self.table[self.table["error"].notna()]

    def save(self, path: str | Path) -> Path:
        """Write ``table.parquet``, ``summary.csv`` and the experiment description (atomically, file by file)."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_parquet(root / "table.parquet", self.table)
        atomic_write_csv(root / "summary.csv", self.summary())
        # the experiment description stays as the run store wrote it (resume compares it); columns go aside
        atomic_write_text(root / MANIFEST, json.dumps(self.meta, indent=1, sort_keys=True, default=str))
        atomic_write_text(root / _COLUMNS, json.dumps({"params": self.params, "metrics": self.metrics,
                                                       "adaptive": self.adaptive}, indent=1))
        if self.series is not None:
            atomic_write_parquet(root / _SERIES, self.series)
        return root

    @classmethod
    def load(cls, path: str | Path) -> SweepResult:
        """Read a folder written by ``save`` (or by ``sweep(..., out=...)``)."""
        root = Path(path)
        meta = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        cols = json.loads((root / _COLUMNS).read_text(encoding="utf-8"))
        table = normalize_table(pd.read_parquet(root / "table.parquet"), cols["params"], cols["metrics"])
        series = pd.read_parquet(root / _SERIES) if (root / _SERIES).is_file() else None
        return cls(table, list(cols["params"]), list(cols["metrics"]), meta, adaptive=cols.get("adaptive"),
                   series=series)


def normalize_table(df: pd.DataFrame, params: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Fixed column order and dtypes (so built, saved and loaded tables compare equal)."""
    df = df[["point", *params, "replication", "seed", *metrics, "error"]].copy()
    for c in ("point", "replication", "seed"):
        df[c] = df[c].astype("int64")
    for m in metrics:
        df[m] = df[m].astype("float64")
    for c in [*params, "error"]:
        col = df[c]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            df[c] = pd.Series([None if _missing(v) else v for v in col], index=df.index, dtype=object)
    return df.sort_values(["point", "replication"], kind="stable").reset_index(drop=True)


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA


def build_table(points: Sequence[Point], records: Mapping[tuple[int, int], dict], replications: int | None,
                params: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """The table of the runs of ``points`` found in ``records`` (all ``replications`` of each must be there
    unless it is None), and the metric names (summary metrics first, in their order)."""
    metrics = _metric_names(records)
    if replications is not None:
        _check_complete(points, records, replications)
    columns = ["point", *params, "replication", "seed", *metrics, "error"]
    df = pd.DataFrame(_table_rows(points, records, replications, params, metrics), columns=columns)
    for c in params:  # a column mixing kinds (10 and "30s") is stored as text
        if _mixes_kinds(df[c]):
            df[c] = [None if _missing(v) else (v if isinstance(v, str) else json.dumps(v)) for v in df[c]]
    return normalize_table(df, params, metrics), metrics


def _check_complete(points: Sequence[Point], records: Mapping[tuple[int, int], dict], replications: int) -> None:
    """ValueError naming the first runs of ``points`` missing from ``records``."""
    missing = [(p.index, r) for p in points for r in range(replications) if (p.index, r) not in records]
    if missing:
        raise ValueError(f"no record for runs {missing[:3]}")


def _table_rows(points: Sequence[Point], records: Mapping[tuple[int, int], dict], replications: int | None,
                params: Sequence[str], metrics: Sequence[str]) -> list[dict]:
    """One row per run of ``points`` (below ``replications`` when given), in (point, replication) order."""
    by_index = {p.index: p for p in points}
    rows = []
    for (i, r), rec in sorted(records.items()):
        if i not in by_index or (replications is not None and r >= replications):
            continue
        p = by_index[i]
        rows.append({"point": i, **{k: column_value(p.params.get(k)) for k in params}, "replication": r,
                     "seed": rec["seed"], **{m: rec["metrics"].get(m, np.nan) for m in metrics},
                     "error": rec["error"]})
    return rows


def _metric_names(records: Mapping[tuple[int, int], dict]) -> list[str]:
    """The metrics the runs measured: the summary metrics first, in their order (all of them if none ran)."""
    seen: dict[str, None] = {}
    for rec in records.values():
        for k in rec["metrics"]:
            seen.setdefault(k, None)
    if not seen:
        return list(SUMMARY_METRICS)
    return [m for m in SUMMARY_METRICS if m in seen] + [m for m in seen if m not in SUMMARY_METRICS]


def _mixes_kinds(col: pd.Series) -> bool:
    """True when the non-null values are of several kinds, other than ints and floats together."""
    kinds = {type(v) for v in col if not _missing(v)}
    return len(kinds) > 1 and not kinds <= {int, float}


def _measure_name(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def experiment_meta(kind: str, base: Scenario, root: int, params: Sequence[str], points: Sequence[Point],
                    measure: Callable, **extra: Any) -> dict:
    """The run store's description of an experiment (what ``resume`` must find unchanged)."""
    return {"kind": kind, "format": _FORMAT, "scenario": base.model_dump(mode="json"), "seed": root,
            "params": list(params), "measure": _measure_name(measure),
            "points": [{"params": p.params, "overrides": p.overrides} for p in points], **extra}


def run_points(base: Scenario, points: Sequence[Point], params: Sequence[str], *, kind: str,
               replications: int | AutoReplications, seed: int | None, workers: int | None, executor: Any,
               scheduler: str | None, out: Any, resume: bool, progress: ProgressSpec, measure: Callable | None,
               extra: Mapping | None = None, settled: Settled | None = None) -> SweepResult:
    """Run every point ``replications`` times (paired seeds: replication r uses the same seed at every point).

    With ``AutoReplications``, runs its counts in turn until ``settled(records, n)`` says the runs so far
    are enough (default: every point's mean of the ``AUTO_METRICS`` within the target)."""
    rule = replications if isinstance(replications, AutoReplications) else None
    if rule is None and (not isinstance(replications, (int, np.integer)) or replications < 1):
        raise InputError("replications", f"must be an integer >= 1 or 'auto', got {replications!r}")
    counts = rule.counts() if rule else [int(replications)]
    base = summary_only(base, measure)
    root = base.seed if seed is None else int(seed)
    check_points(base, points)
    measure = measure or simulate_summary
    meta = experiment_meta(kind, base, root, params, points, measure,
                           replications=rule.describe() if rule else int(replications), **(extra or {}))
    store = RunStore(out, meta)
    settled = settled or _means_settled(points, rule)
    done = 0
    with Runner(store, executor, workers, scheduler, progress, total=len(points) * counts[0], description=kind,
                resume=resume) as runner:
        for n in counts:
            seeds = [replication_seed(root, r) for r in range(n)]
            runner.run([Task(p.index, r, seeds[r], base, p.overrides, measure) for p in points
                        for r in range(done, n)])
            done = n
            ok = rule is None or settled(runner.records, n)
            if ok:
                break
        records = runner.records
    table, metrics = build_table(points, records, done, params)
    adaptive = None if rule is None else {**rule.describe(), "replications": done, "settled": ok}
    return SweepResult(table, list(params), metrics, store.manifest, computed=runner.computed, adaptive=adaptive,
                       series=series_frame(records, done))


def summary_only(base: Scenario, measure: Callable | None) -> Scenario:
    """The scenario its runs are measured on: summary-only (``keep: summary``, streamed, bounded memory) when
    the measure is the default summary and the scenario does not say what to keep."""
    if measure is None and base.keep is None:
        return base.model_copy(update={"keep": "summary"})
    return base


def _means_settled(points: Sequence[Point], rule: AutoReplications | None) -> Settled:
    """A sweep's rule: every point's mean of every ``AUTO_METRICS`` known to within the target."""

    def settled(records: Mapping[tuple[int, int], dict], n: int) -> bool:
        for m in AUTO_METRICS:
            values = metric_matrix(records, [p.index for p in points], n, m)
            if not all(mean_settled(values[:, j], rule) for j in range(len(points))):
                return False
        return True

    return settled


def sweep(scenario: Any, grid: Mapping[str, Sequence[Any]] | None = None, samples: Mapping[str, Any] | None = None,
          n_samples: int = 16, method: str = "lhs", replications: int | str | AutoReplications = 1,
          seed: int | None = None, workers: int | None = None, executor: Any = None, scheduler: str | None = None,
          out: str | Path | None = None, resume: bool = False, progress: ProgressSpec = "auto",
          measure: Callable | None = None) -> SweepResult:
    """Run ``scenario`` at every point of ``grid`` (dotted path -> values; all combinations) and/or
    ``n_samples`` points sampled over ``samples`` (path -> ``(low, high)``, ``"LO:HI[:log]"``, a mapping with
    low/high/log/int, or a list of choices) by ``method`` "lhs" or "random"; grid and samples combine.

    Each point runs ``replications`` times (``"auto"``: until every point's mean is known to within a target,
    see ``llmsim.experiments.adaptive``); replication r uses seed ``replication_seed(seed, r)`` at every point
    (``seed`` defaults to the scenario's). ``workers``: processes (default: the cores; 1 = in this process);
    ``executor``: "serial", "processes", "dask" or a ``distributed.Client``; ``scheduler``: a Dask address.
    ``out``: folder receiving each run as it finishes, then ``table.parquet`` and ``summary.csv``;
    ``resume=True`` continues an interrupted sweep there. ``measure(scenario, seed) -> metrics`` replaces
    the default ``simulate(...).summary()`` (it must be picklable for process or Dask workers)."""
    base = as_scenario(scenario)
    if not grid and not samples:
        raise InputError("grid", "give a grid (path -> values) or samples (path -> range)")
    points = grid_points(grid) if grid else [Point(0, {}, {})]
    if samples:
        drawn = sample_points(samples, n_samples, method, seed=base.seed if seed is None else int(seed))
        points = _crossed(points, drawn)
    params = list(points[0].params)
    result = run_points(base, points, params, kind="sweep", replications=parse_replications(replications), seed=seed,
                        workers=workers, executor=executor, scheduler=scheduler, out=out, resume=resume,
                        progress=progress, measure=measure)
    if out is not None:
        result.save(out)  # the final tables, once (the caller of run_points decides what to save)
    return result


def _crossed(grid: Sequence[Point], drawn: Sequence[Point]) -> list[Point]:
    """Every grid point with every sampled point (the samples vary fastest), renumbered."""
    return [Point(i, {**g.params, **s.params}, {**g.overrides, **s.overrides})
            for i, (g, s) in enumerate((g, s) for g in grid for s in drawn)]
