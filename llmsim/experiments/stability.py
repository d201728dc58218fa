"""``stability``: where does a client policy turn a short trigger into a lasting outage?

A map over load multiplier x trigger duration (one trigger kind and depth per map) for several clients. Per cell:
the probability that goodput recovers within ``recover_within`` seconds after the trigger ended, and the median
time to recover, over ``replications`` runs with common random numbers (replication r has the same seed in every
cell and for every client). The load axis is searched adaptively: a coarse grid, then bisection on load in
each (client, duration) column where the recovery probability crosses ``1/2``; the boundary is the last
bracket, its half-width the uncertainty. Runs execute on the local or Dask executors.

>>> import llmsim
>>> sc = llmsim.Scenario.model_validate({"horizon": 60, "workload": {"arrivals": {"rate": "5/s"}},
...     "providers": [{"name": "p", "capacity": {"slots": 1}, "abort_notice": "never",
...                    "latency": {"service": {"dist": "exponential", "mean": 0.1}}}],
...     "client": {"timeout": "2s", "retry": {"max_attempts": 1}}})
>>> m = stability(sc, {"none": {"timeout": "2s", "retry": {"max_attempts": 1}}}, durations=[10], loads=[0.5, 2.5],
...               refine=1, replications=2, recover_within=30, settle=20, workers=1, progress=False)
>>> m.cells()[["load", "p_recover"]].values.tolist()
[[0.5, 1.0], [1.5, 1.0], [2.5, 0.0]]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llmsim.config.loading import resolve_client
from llmsim.core.atomic import atomic_write_text
from llmsim.core.errors import InputError
from llmsim.core.goodput_collapse import CollapseCriteria
from llmsim.experiments.design import replication_seed
from llmsim.experiments.executors import make_executor
from llmsim.experiments.progress import Progress, ProgressSpec
from llmsim.experiments.stability_design import CellTask, Trigger, run_cell
from llmsim.experiments.stability_theory import fluid_boundary, fluid_inputs
from llmsim.experiments.store import atomic_write_parquet
from llmsim.experiments.sweep import as_scenario

__all__ = ["stability", "StabilityResult", "wilson", "DEFAULT_DURATIONS", "DEFAULT_LOADS"]

DEFAULT_DURATIONS = (10.0, 30.0, 60.0)  #: trigger durations (s) of the default map
DEFAULT_LOADS = (0.5, 0.75, 1.0, 1.25, 1.5)  #: coarse load multipliers before refinement
STABLE = 0.5  #: a cell is on the stable side when its recovery probability is at least this


def wilson(k: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``k / n``.

    >>> [round(x, 3) for x in wilson(8, 10)]
    [0.49, 0.943]
    """
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def _median_ttr(group: pd.DataFrame) -> float:
    """Median time to recover with never-recovered runs counted as infinitely long (inf when most never do)."""
    t = np.where(group["recovered"].to_numpy(bool), group["time_to_recover"].fillna(np.inf).to_numpy(float), np.inf)
    return float(np.median(t))


@dataclass
class StabilityResult:
    """``table``: one row per run (client, load, kind, depth, duration, replication, recovered, collapse metrics,
    success_rate, attempts_per_request, cost_total); ``meta``: the map's settings and each client's fluid inputs."""

    table: pd.DataFrame
    meta: dict = field(default_factory=dict)

    @property
    def clients(self) -> list[str]:
        return list(self.meta.get("clients", self.table["client"].unique()))

    def cells(self) -> pd.DataFrame:
        """Per client, duration and load: runs, p_recover with its Wilson interval (p_low, p_high), median
        time to recover (inf: most runs never recover), collapsed and metastable shares, mean cost."""
        rows = []
        for (c, d, m), g in self.table.groupby(["client", "duration", "load"], sort=True):
            k, n = int(g["recovered"].sum()), len(g)
            lo, hi = wilson(k, n)
            rows.append({"client": c, "duration": d, "load": m, "runs": n, "p_recover": k / n, "p_low": lo,
                         "p_high": hi, "median_time_to_recover": _median_ttr(g),
                         "collapsed": float(g["collapsed"].mean()), "metastable": float(g["metastable"].mean()),
                         "cost_total": float(g["cost_total"].mean()),
                         "attempts_per_request": float(g["attempts_per_request"].mean())})
        out = pd.DataFrame(rows)
        order = {c: i for i, c in enumerate(self.clients)}
        return out.sort_values(["client", "duration", "load"], key=lambda s: s.map(order) if s.name == "client"
                               else s, kind="stable").reset_index(drop=True)

    def boundaries(self) -> pd.DataFrame:
        """Per client and duration: ``stable_load`` (highest load below the crossing with p_recover >= 1/2; -inf
        when even the lowest load is unstable), ``unstable_load`` (lowest load with p_recover < 1/2; inf when every
        load searched is stable), ``boundary`` (their middle, or the finite one) and ``uncertainty`` (half the
        bracket; NaN when open), p_recover and its interval on both sides, and ``fluid`` (the
        theory's load for that duration)."""
        rows = []
        cells = self.cells()
        for (c, d), g in cells.groupby(["client", "duration"], sort=False):
            a, b = _bracket(g["load"].to_numpy(float), g["p_recover"].to_numpy(float))
            row = {"client": c, "duration": d, "stable_load": a, "unstable_load": b}
            row["boundary"] = (a + b) / 2 if np.isfinite(a) and np.isfinite(b) else (b if np.isfinite(b) else a)
            row["uncertainty"] = (b - a) / 2 if np.isfinite(a) and np.isfinite(b) else float("nan")
            for side, load in (("stable", a), ("unstable", b)):
                hit = g[g["load"] == load]
                row[f"p_{side}"] = float(hit["p_recover"].iloc[0]) if len(hit) else float("nan")
                row[f"p_{side}_low"] = float(hit["p_low"].iloc[0]) if len(hit) else float("nan")
                row[f"p_{side}_high"] = float(hit["p_high"].iloc[0]) if len(hit) else float("nan")
            row["fluid"] = float(self.fluid(c, [d])[0])
            rows.append(row)
        return pd.DataFrame(rows)

    def fluid(self, client: str, durations: Sequence[float]) -> np.ndarray:
        """The fluid estimate (``llmsim.experiments.stability_theory``) for ``client`` at these durations."""
        t = self.meta["trigger"]
        f = self.meta["fluid"][client]
        kind, depth = t["kind"], t["depth"]
        share = {"dip": depth, "slowdown": 1 / depth if depth else 1.0}.get(kind, 1.0)
        extra = depth if kind == "burst" else 0.0
        if kind == "errors":  # failed attempts retried: attempts per request (1 - p^A) / (1 - p) while it lasts
            extra = (1 - depth ** f["attempts"]) / (1 - depth) - 1 if depth < 1 else f["attempts"] - 1
        return fluid_boundary(f["mu"], f["lam"], f["attempts"], f["timeout"], share, list(durations), burst=extra)

    def example_runs(self, client: str, duration: float, load: float) -> dict[str, Any]:
        """Re-run (same seeds, so the same runs) one replication that did not recover and one that did, each the
        nearest to ``load`` in the column (``client``, ``duration``): ``{"collapsed": Result, "recovered":
        Result}`` (a key is missing when the column has no such run)."""
        rows = self.table[(self.table["client"] == client) & (self.table["duration"] == float(duration))]
        if not len(rows):
            raise InputError("cell", f"no runs for client {client!r} and duration {duration:g}s")
        out = {}
        for name, flag in (("collapsed", False), ("recovered", True)):
            pick = rows[rows["recovered"] == flag]
            if len(pick):
                row = pick.iloc[int(np.argmin(np.abs(pick["load"].to_numpy(float) - load)))]
                out[name] = self.rerun(row)
        return out

    def rerun(self, row: Mapping[str, Any]) -> Any:
        """The Result of one row of ``table`` (simulated again: same scenario, cell and seed)."""
        m = self.meta
        t = Trigger(m["trigger"]["kind"], m["trigger"]["depth"], float(row["duration"]))
        task = CellTask(m["base"], str(row["client"]), m["clients_spec"][row["client"]], float(row["load"]), t,
                        int(row["replication"]), int(row["seed"]), m["settle"], m["recover_within"],
                        CollapseCriteria(**m["criteria"]))
        return run_cell(task, keep=True)

    def save(self, path: str | Path) -> Path:
        """``runs.parquet``, ``cells.parquet``, ``boundaries.parquet`` and ``stability.json`` (settings)."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_parquet(root / "runs.parquet", self.table)
        atomic_write_parquet(root / "cells.parquet", self.cells())
        atomic_write_parquet(root / "boundaries.parquet", self.boundaries())
        atomic_write_text(root / "stability.json", json.dumps(self.meta, indent=2, sort_keys=True, default=str))
        return root

    @classmethod
    def load(cls, path: str | Path) -> StabilityResult:
        root = Path(path)
        if not (root / "stability.json").exists():
            raise InputError("", f"{root} holds no stability map (stability.json missing)")
        meta = json.loads((root / "stability.json").read_text(encoding="utf-8"))
        return cls(pd.read_parquet(root / "runs.parquet"), meta)


def _bracket(loads: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """(last stable load before the first unstable one, first unstable load); -inf / inf when absent."""
    order = np.argsort(loads)
    loads, p = loads[order], p[order]
    unstable = np.flatnonzero(p < STABLE)
    if not len(unstable):
        return float(loads[-1]), float("inf")
    i = int(unstable[0])
    return (float(loads[i - 1]) if i > 0 else float("-inf")), float(loads[i])


def _clients(clients: Mapping[str, Any] | Sequence[str]) -> dict[str, dict]:
    if not isinstance(clients, Mapping):
        clients = {str(c): c for c in clients}
    if not clients:
        raise InputError("clients", "a stability map needs at least one client (name -> preset, file or settings)")
    out = {}
    for name, spec in clients.items():
        try:
            out[str(name)] = resolve_client(spec).model_dump(mode="json")
        except InputError as exc:
            raise InputError(exc.path, exc.reason, exc.source or f"client {name}", exc.more) from None
    return out


@dataclass
class _Search:
    """The runs so far and the tasks of the next round."""

    base: dict
    clients: dict[str, dict]
    kind: str
    depth: float
    replications: int
    seed: int
    settle: float
    recover_within: float
    criteria: CollapseCriteria
    rows: list = field(default_factory=list)

    def tasks(self, cells: Sequence[tuple[str, float, float]]) -> list[CellTask]:
        return [CellTask(self.base, c, self.clients[c], float(m), Trigger(self.kind, self.depth, float(d)), r,
                         replication_seed(self.seed, r), self.settle, self.recover_within, self.criteria)
                for c, d, m in cells for r in range(self.replications)]

    def p_recover(self, client: str, duration: float) -> tuple[np.ndarray, np.ndarray]:
        df = pd.DataFrame(self.rows)
        g = df[(df["client"] == client) & (df["duration"] == duration)].groupby("load")["recovered"].mean()
        return g.index.to_numpy(float), g.to_numpy(float)

    def midpoints(self, columns: Sequence[tuple[str, float]], min_width: float) -> list[tuple[str, float, float]]:
        out = []
        for c, d in columns:
            a, b = _bracket(*self.p_recover(c, d))
            if np.isfinite(a) and np.isfinite(b) and b - a > min_width:
                out.append((c, d, round((a + b) / 2, 6)))
        return out


def stability(scenario: Any, clients: Mapping[str, Any] | Sequence[str], kind: str = "dip", depth: float = 0.5,
              durations: Sequence[float] = DEFAULT_DURATIONS, loads: Sequence[float] = DEFAULT_LOADS, refine: int = 3,
              replications: int = 8, recover_within: float = 120.0, settle: float = 60.0, seed: int | None = None,
              criteria: CollapseCriteria | None = None, workers: int | None = None, executor: Any = None,
              scheduler: str | None = None, out: str | Path | None = None, progress: ProgressSpec = "auto"
              ) -> StabilityResult:
    """The stability map of ``scenario`` for each client (name -> preset, file, dict or Client).

    ``kind``/``depth``: the trigger (``llmsim.experiments.stability_design.TRIGGER_KINDS``), starting ``settle``
    seconds into each run, for each of ``durations``; ``loads``: the coarse load multipliers, then ``refine``
    bisection rounds per (client, duration) column; ``recover_within``: seconds after the trigger's end
    within which goodput must recover; ``criteria``: the collapse thresholds (docs/stability.md)."""
    base = as_scenario(scenario)
    resolved = _clients(clients)
    Trigger(kind, depth, min(durations) if durations else 0.0)  # validates kind, depth and durations
    if not loads or min(loads) <= 0:
        raise InputError("loads", "give one or more load multipliers > 0")
    if replications < 1 or refine < 0 or recover_within <= 0:
        raise InputError("replications", "replications >= 1, refine >= 0 and recover_within > 0 needed")
    search = _Search(base.model_dump(mode="json"), resolved, kind, float(depth), replications,
                     base.seed if seed is None else seed, settle, recover_within, criteria or CollapseCriteria())
    columns = [(c, float(d)) for c in resolved for d in durations]
    first = search.tasks([(c, d, float(m)) for c, d in columns for m in sorted(set(loads))])
    bar = Progress(progress, len(first), description="stability runs")
    with make_executor(executor, workers, scheduler, tasks=len(first)) as ex:
        todo = first
        for _ in range(refine + 1):
            for row in ex.imap_unordered(run_cell, todo):
                search.rows.append(row)
                bar.advance()
            todo = search.tasks(search.midpoints(columns, 1e-3))
            if not todo:
                break
            bar.add_total(len(todo))
    bar.close()
    return _result(search, base, resolved, durations, loads, refine, out)


def _result(search: _Search, base, resolved: dict, durations, loads, refine: int, out) -> StabilityResult:
    table = pd.DataFrame(search.rows).sort_values(["client", "duration", "load", "replication"], kind="stable")
    fluid = {}
    for name, spec in resolved.items():
        f = fluid_inputs(base, resolve_client(spec))
        fluid[name] = {"mu": f.mu, "lam": f.lam, "attempts": f.attempts, "timeout": f.timeout}
    c = search.criteria
    meta = {"kind": "stability", "scenario": base.name, "clients": list(resolved), "clients_spec": resolved,
            "seed": search.seed,
            "trigger": {"kind": search.kind, "depth": search.depth}, "durations": [float(d) for d in durations],
            "loads": [float(m) for m in loads], "refine": refine, "replications": search.replications,
            "recover_within": search.recover_within, "settle": search.settle,
            "criteria": {k: getattr(c, k) for k in c.__dataclass_fields__}, "fluid": fluid,
            "base": search.base}
    result = StabilityResult(table.reset_index(drop=True), meta)
    if out is not None:
        result.save(out)
    return result
