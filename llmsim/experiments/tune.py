"""``tune``: the best policy (e.g. the cheapest) that meets an SLO, by successive halving over replications
on paired seeds: every candidate runs a few replications, the better half (feasible first, then by objective)
gets twice as many, and so on until one is left or the budget of runs is spent. With
``replications="auto"`` the last round's finalists get paired replications added (the counts of
``llmsim.experiments.adaptive``) until the decision is settled: the leader's objective differs from each
other finalist's by an interval narrower than the target or clearly away from zero, and each constrained
metric of the leader is on one side of its bound or known to within the target (``TuneResult.adaptive``).

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday").with_overrides({"horizon": "2m", "warmup": 0})
>>> t = llmsim.tune(sc, space={"client.retry.max_attempts": [1, 2]}, objective="cost_total",
...                 constraints={"success_rate": ">= 0.5"}, budget=8, workers=1)
>>> int(t.best["client.retry.max_attempts"]) in (1, 2), bool(t.best["feasible"])
(True, True)
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llmsim.analysis.slo_eval import DERIVED_METRICS, STATUS_WORDS, derived_value, judge
from llmsim.core.errors import InputError
from llmsim.experiments.adaptive import AutoReplications, difference_settled, mean_settled, parse_replications
from llmsim.experiments.design import Point, column_value, grid_points, parse_range, replication_seed, sample_points
from llmsim.experiments.progress import ProgressSpec
from llmsim.experiments.stats import Constraint, direction, mean_ci
from llmsim.experiments.store import RunStore, atomic_write_csv, atomic_write_text, canonical
from llmsim.experiments.sweep import SweepResult, as_scenario, build_table, check_points, experiment_meta, summary_only
from llmsim.experiments.task_runner import Runner, Task, simulate_summary
from llmsim.results import SUMMARY_METRICS

__all__ = ["tune", "TuneResult", "halving_cost"]


def halving_cost(n: int, r0: int, eta: int) -> int:
    """Runs successive halving needs for ``n`` candidates starting at ``r0`` replications.

    >>> halving_cost(4, 2, 2)   # 4x2, then 2 more x (4-2), then 1 more x (8-4)
    16
    """
    alive, reps, total = n, r0, n * r0
    while alive > 1:
        alive = math.ceil(alive / eta)
        total += alive * (reps * eta - reps)
        reps *= eta
    return total


@dataclass
class TuneResult:
    """``best`` (a Series: parameters, metric means and CIs, ``feasible``, ``confident``), ``candidates``
    (every candidate with the replications it reached), ``frontier`` (candidates no other beats on the
    objective and every constrained metric at once) and ``runs`` (a SweepResult of every run made)."""

    best: pd.Series
    candidates: pd.DataFrame
    frontier: pd.DataFrame
    runs: SweepResult
    objective: str
    constraints: list[Constraint] = field(default_factory=list)
    #: ``replications="auto"``: the rule, the ``replications`` the finalists reached, whether the decision
    #: ``settled`` and what stopped it (``stopped``: "settled", "most" or "budget"); None: fixed
    adaptive: dict | None = None

    @property
    def table(self) -> pd.DataFrame:
        return self.runs.table

    def save(self, path: str | Path) -> Path:
        """The run files plus ``candidates.csv``, ``frontier.csv`` and ``best.json``."""
        root = self.runs.save(path)
        atomic_write_csv(root / "candidates.csv", self.candidates)
        atomic_write_csv(root / "frontier.csv", self.frontier)
        best = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.best.items()}
        if self.adaptive is not None:
            best["adaptive"] = self.adaptive
        atomic_write_text(root / "best.json", json.dumps(canonical(best), indent=1))
        return root


def _finite(path: str, spec: Any) -> list | None:
    """The values of a dimension that has finitely many (a list, or an integer range), else None."""
    if isinstance(spec, list):
        return spec
    if isinstance(spec, tuple) and len(spec) != 2:
        return list(spec)
    rng = parse_range(path, spec)
    if rng.integer and not rng.log:
        return list(range(int(rng.low), int(rng.high) + 1))
    return None


def _candidates(space: Mapping[str, Any], n: int, method: str, seed: int) -> list[Point]:
    """The whole grid when it has at most ``n`` points, else ``n`` distinct points drawn from it (or sampled by
    ``method`` over the ranges)."""
    finite = {k: _finite(k, v) for k, v in space.items()}
    if all(v is not None for v in finite.values()):
        return _grid_candidates(finite, n, seed)
    drawn, seen = [], set()
    for p in sample_points(space, n, method, seed=seed):
        key = json.dumps(p.params, sort_keys=True)
        if key not in seen:
            seen.add(key)
            drawn.append(Point(len(drawn), p.params, p.overrides))
    return drawn


def _grid_candidates(finite: Mapping[str, list], n: int, seed: int) -> list[Point]:
    """The whole grid when it has at most ``n`` points, else ``n`` distinct grid points drawn at random."""
    size = math.prod(len(v) for v in finite.values())
    if size <= n:
        return grid_points(finite)
    picked = set(np.sort(np.random.default_rng(seed).choice(size, n, replace=False)).tolist())
    chosen = [c for j, c in enumerate(itertools.product(*finite.values())) if j in picked]
    return [Point(i, d, dict(d)) for i, d in enumerate(dict(zip(finite, c, strict=True)) for c in chosen)]


def tune(scenario: Any, space: Mapping[str, Any], objective: str = "cost_total",
         constraints: Mapping[str, str] | None = None, budget: int = 64, maximize: bool | None = None,
         candidates: int | None = None, min_replications: int = 2, eta: int = 2, method: str = "lhs",
         seed: int | None = None, workers: int | None = None, executor: Any = None, scheduler: str | None = None,
         out: str | Path | None = None, resume: bool = False, progress: ProgressSpec = "auto",
         measure: Callable | None = None, confidence: float = 0.95,
         replications: int | str | AutoReplications | None = None) -> TuneResult:
    """Search ``space`` (dotted path -> list of values, or a range ``(low, high)`` / ``"LO:HI[:log]"``) for the
    point with the best ``objective`` mean (minimised unless ``maximize`` or the metric is better higher)
    among points meeting every constraint (metric -> "<= 10s", ">= 0.995", ">= 99.5%") on its mean.

    At most ``budget`` simulation runs. Candidates: the whole grid when it fits, else ``candidates`` points
    (default: as many as successive halving from ``min_replications`` can afford) drawn from the grid or by
    Latin hypercube. Replication r uses the same seed for every candidate (paired comparisons).

    ``replications``: None, or an integer (the first round's replications, as ``min_replications``), or
    ``"auto"`` / ``"auto:TARGET:MOST"``: the finalists are replicated until the decision is settled, within
    the budget (see the module docstring; ``TuneResult.adaptive`` says how many were needed)."""
    rule = None
    if replications is not None:
        plan = parse_replications(replications)
        if isinstance(plan, AutoReplications):
            rule = plan if plan.confidence == confidence else AutoReplications(plan.target, plan.start, plan.most,
                                                                               confidence)
        else:
            min_replications = plan
    base = summary_only(as_scenario(scenario), measure)
    cons = _checked_inputs(space, objective, constraints, budget, min_replications, eta, measure)
    sign = (1 if maximize else -1) if maximize is not None else (direction(objective) or -1)
    n = candidates if candidates is not None else _affordable_candidates(budget, min_replications, eta)
    root = base.seed if seed is None else int(seed)
    points = _candidates(space, n, method, root)
    check_points(base, points)
    measure = measure or simulate_summary
    store = RunStore(out, _meta(base, space, points, objective, sign, cons, root, budget, eta, min_replications,
                                measure))
    planned = min(budget, halving_cost(len(points), min_replications, eta))

    def task(i: int, r: int) -> Task:
        return Task(i, r, replication_seed(root, r), base, points[i].overrides, measure)

    with Runner(store, executor, workers, scheduler, progress, total=planned, description="tune",
                resume=resume) as runner:
        scores = _Scores(objective, sign, cons, confidence, runner.records)
        adaptive = _successive_halving(runner, scores, task, [p.index for p in points], budget, min_replications,
                                       eta, rule)
        computed = runner.computed
    cand = _candidate_table(points, scores)
    frontier = _frontier(cand, {i: scores.matrix(i) for i in scores.reached}, objective, sign, cons)
    runs = _runs_reached(points, scores, store, computed)
    result = TuneResult(cand.iloc[0].copy(), cand, frontier, runs, objective, cons, adaptive)
    if out is not None:
        result.save(out)
    return result


def _checked_inputs(space: Mapping[str, Any], objective: str, constraints: Mapping[str, str] | None, budget: int,
                    min_replications: int, eta: int, measure: Callable | None) -> list[Constraint]:
    """The parsed constraints, after checking the search's arguments (InputError on the first bad one)."""
    if not space:
        raise InputError("space", "give at least one parameter: path -> values or (low, high)")
    if eta < 2 or min_replications < 1:
        raise InputError("eta", "eta must be >= 2 and min_replications >= 1")
    cons = [Constraint.parse(m, spec) for m, spec in (constraints or {}).items()]
    if measure is None:  # the summary metrics are known: a misspelt name would make every mean NaN
        _check_metric_names(objective, cons)
    if budget < 2 * min_replications:
        raise InputError("budget", f"must allow at least two candidates: >= {2 * min_replications} runs")
    return cons


def _meta(base: Any, space: Mapping[str, Any], points: Sequence[Point], objective: str, sign: int,
          cons: Sequence[Constraint], root: int, budget: int, eta: int, min_replications: int,
          measure: Callable) -> dict:
    """The run store's description of the search (what ``resume`` must find unchanged)."""
    return experiment_meta("tune", base, root, list(points[0].params), points, measure,
                           space={k: column_value(v) for k, v in space.items()}, objective=objective, sign=sign,
                           constraints=[str(c) for c in cons], budget=budget, eta=eta,
                           min_replications=min_replications)


def _runs_reached(points: Sequence[Point], scores: _Scores, store: RunStore, computed: int) -> SweepResult:
    """The runs of the replications each candidate reached, as a sweep table."""
    params = list(points[0].params)
    records = {k: v for k, v in scores.records.items() if k[0] in scores.reached and k[1] < scores.reached[k[0]]}
    table, metrics = build_table(points, records, None, params)
    return SweepResult(table, params, metrics, store.manifest, computed=computed)


def _check_metric_names(objective: str, cons: Sequence[Constraint]) -> None:
    for where, name in [("objective", objective)] + [(f"constraints.{c.metric}", c.metric) for c in cons]:
        if name not in SUMMARY_METRICS and name not in DERIVED_METRICS:
            close = difflib.get_close_matches(name, (*SUMMARY_METRICS, *DERIVED_METRICS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(where, f"unknown metric '{name}'{hint}")


def _affordable_candidates(budget: int, min_replications: int, eta: int) -> int:
    """The most candidates (at least two) successive halving can take to the end within ``budget`` runs."""
    n = 2
    while halving_cost(n + 1, min_replications, eta) <= budget:
        n += 1
    return n


def _metric(record: Mapping[str, Any], metric: str) -> float:
    """A run's value of ``metric`` (derived ones such as ``cost_per_1k_requests`` computed from its summary);
    NaN when the run failed or did not measure it."""
    return derived_value(record["metrics"], metric) if record["error"] is None else np.nan


@dataclass
class _Scores:
    """The candidates' statistics over the replications each has reached so far."""

    objective: str
    sign: int  # +1: higher objective is better
    constraints: list[Constraint]
    confidence: float
    records: Mapping[tuple[int, int], Mapping[str, Any]]  # (candidate, replication) -> run record
    reached: dict[int, int] = field(default_factory=dict)  # candidate -> replications run

    @property
    def metrics(self) -> list[str]:
        """The objective, then each constrained metric."""
        return [self.objective] + [c.metric for c in self.constraints if c.metric != self.objective]

    def runs(self, idx: int) -> list[Mapping[str, Any]]:
        return [self.records[(idx, r)] for r in range(self.reached[idx])]

    def matrix(self, idx: int) -> np.ndarray:
        """Replications x metrics of candidate ``idx``."""
        return np.array([[_metric(rec, m) for m in self.metrics] for rec in self.runs(idx)])

    def stats(self, idx: int) -> dict:
        """Mean and CI half-width of each metric; ``feasible`` (every constraint holds on the mean),
        ``confident`` (also at the CI bound), ``verdict`` (the worst constraint's one-sided 95 % judgement,
        ``constraint_verdict``) and ``violation`` (how far the means miss, summed)."""
        runs = self.runs(idx)
        row = {}
        for m in self.metrics:
            row[f"{m}_mean"], row[f"{m}_ci"], _ = mean_ci([_metric(rec, m) for rec in runs], self.confidence)
        row["feasible"] = all(c.holds(row[f"{c.metric}_mean"]) for c in self.constraints)
        row["confident"] = all(c.holds(_far_bound(c, row)) for c in self.constraints)
        row["verdict"] = constraint_verdict([[_metric(rec, c.metric) for rec in runs] for c in self.constraints],
                                            self.constraints)
        row["violation"] = sum(c.violation(row[f"{c.metric}_mean"]) for c in self.constraints)
        return row

    def rank_key(self, idx: int) -> tuple:
        """Feasible first, then the smaller violation, then the better objective."""
        s = self.stats(idx)
        obj = s[f"{self.objective}_mean"]
        return (not s["feasible"], s["violation"], -self.sign * obj if obj == obj else math.inf, idx)


#: Verdicts from best to worst: the order a table of candidates is judged in.
VERDICT_ORDER = ("met", "likely", "uncertain", "missed")


def constraint_verdict(values: Sequence[Sequence[float]], constraints: Sequence[Constraint]) -> str:
    """The worst of the constraints' judgements over replications, by the one-sided 95 % Student t rule of
    ``llmsim.analysis.slo_eval.judge`` (met / likely / uncertain / missed; "met" when there are no constraints;
    with one replication only "likely" or "missed").

    >>> c = Constraint.parse("success_rate", ">= 0.99")
    >>> constraint_verdict([[0.990, 0.993, 0.995, 0.992, 0.996]], [c])
    'met'
    >>> constraint_verdict([[0.990, 0.993, 0.995, 0.992, 0.996]], [Constraint.parse("success_rate", ">= 0.992")])
    'likely'
    """
    words = [STATUS_WORDS[judge(v, c).status] for v, c in zip(values, constraints, strict=True)]
    return max(words, key=VERDICT_ORDER.index, default="met")


def _far_bound(c: Constraint, row: dict) -> float:
    """The end of the metric's CI nearest to breaking constraint ``c``."""
    ci = row[f"{c.metric}_ci"]
    return row[f"{c.metric}_mean"] + (ci if c.upper else -ci)


def _successive_halving(runner: Runner, scores: _Scores, task: Callable[[int, int], Task], alive: list[int],
                        budget: int, min_replications: int, eta: int,
                        rule: AutoReplications | None = None) -> dict | None:
    """Run every candidate alive to the same replications, keep the best 1/eta, give them eta times the
    replications; until one is left or the budget cannot give the survivors one more replication each.
    With ``rule``, the last round's finalists are replicated until the decision is settled (returns what
    ``TuneResult.adaptive`` holds)."""
    reps = min_replications
    while True:
        runner.run(task(i, r) for i in alive for r in range(reps))
        for i in alive:
            scores.reached[i] = reps
        if len(alive) == 1:
            return None if rule is None else _settle(runner, scores, task, alive, budget, rule)
        ranked = sorted(alive, key=scores.rank_key)
        if rule is not None and math.ceil(len(alive) / eta) == 1:  # the last round: settle it first
            return _settle(runner, scores, task, ranked, budget, rule)
        alive = ranked[:math.ceil(len(alive) / eta)]
        extra = min(reps * (eta - 1), (budget - len(runner.records)) // len(alive))
        if extra < 1:
            return None if rule is None else _settle(runner, scores, task, alive, budget, rule)
        reps += extra


def _settle(runner: Runner, scores: _Scores, task: Callable[[int, int], Task], finalists: list[int], budget: int,
            rule: AutoReplications) -> dict:
    """Add paired replications to ``finalists`` (the rule's counts above what they ran) until
    ``decision_settled``, the rule's most, or the budget; returns the adaptive record."""
    done = min(scores.reached[i] for i in finalists)
    stopped = "most"
    for n in [done] + [c for c in rule.counts() if c > done]:
        if n > done:
            if (n - done) * len(finalists) > budget - len(runner.records):
                stopped = "budget"
                break
            runner.run(task(i, r) for i in finalists for r in range(done, n))
            for i in finalists:
                scores.reached[i] = n
            done = n
        if decision_settled(scores, sorted(finalists, key=scores.rank_key), rule):
            stopped = "settled"
            break
    return {**rule.describe(), "replications": done, "settled": stopped == "settled", "stopped": stopped}


def decision_settled(scores: _Scores, ranked: list[int], rule: AutoReplications) -> bool:
    """Is the choice of ``ranked[0]`` settled on the replications all of ``ranked`` ran? Its objective's
    paired difference from every other finalist's is narrow or clearly away from zero, and each constrained
    metric of it lies on one side of its bound (at both ends of its interval) or is known within the target."""
    n = min(scores.reached[i] for i in ranked)
    lead = scores.matrix(ranked[0])[:n]
    for other in ranked[1:]:
        if not difference_settled(scores.matrix(other)[:n, 0], lead[:, 0], rule):
            return False
    row = scores.stats(ranked[0])
    for c in scores.constraints:
        mean, half = row[f"{c.metric}_mean"], row[f"{c.metric}_ci"]
        one_side = half == half and c.holds(mean - half) == c.holds(mean + half)
        if not (one_side or mean_settled(lead[:, scores.metrics.index(c.metric)], rule)):
            return False
    return True


def _candidate_table(points: Sequence[Point], scores: _Scores) -> pd.DataFrame:
    """One row per candidate that ran, ranked: most replications first, then by ``rank_key``."""
    reached = scores.reached
    rows = [{"candidate": p.index, **{k: column_value(v) for k, v in p.params.items()},
             "replications": reached[p.index], **scores.stats(p.index)} for p in points if p.index in reached]
    cand = pd.DataFrame(rows)
    order = sorted(reached, key=lambda i: (-reached[i],) + scores.rank_key(i))
    cand["rank"] = cand["candidate"].map({i: k + 1 for k, i in enumerate(order)})
    return cand.sort_values("rank").reset_index(drop=True)


def _dominates(x: np.ndarray, y: np.ndarray, signs: np.ndarray) -> bool:
    """Runs ``x`` beat runs ``y`` (replications x metrics) on the replications both ran: no metric worse, one
    better (``signs``: +1 where higher is better; NaN counts as worst)."""
    n = min(len(y), len(x))
    a = np.nan_to_num(np.nanmean(y[:n], axis=0) * signs, nan=-np.inf)
    b = np.nan_to_num(np.nanmean(x[:n], axis=0) * signs, nan=-np.inf)
    return bool(np.all(b >= a) and np.any(b > a))


def _frontier(cand: pd.DataFrame, values: Mapping[int, np.ndarray], objective: str, sign: int,
              cons: Sequence[Constraint]) -> pd.DataFrame:
    """Candidates no other candidate dominates on (objective, each constrained metric). Each pair is compared
    on the replications both ran (paired seeds), so a candidate that ran longer is not judged against
    another's shorter, different sample."""
    signs = np.array([sign] + [-1 if c.upper else 1 for c in cons if c.metric != objective], dtype=float)
    ids = list(cand["candidate"])
    keep = [not any(_dominates(values[j], values[i], signs) for j in ids if j != i) for i in ids]
    front = cand[np.array(keep, dtype=bool)]
    return front.sort_values(f"{objective}_mean", ascending=sign < 0).reset_index(drop=True)
