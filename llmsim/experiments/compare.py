"""``compare``: several client policies on the same workload and provider draws (common random numbers),
with paired differences against a baseline, confidence intervals, significance and a winner per metric.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday").with_overrides({"horizon": "2m", "warmup": 0})
>>> cmp = llmsim.compare(sc, clients={"a": "no-retries", "b": "no-retries"}, replications=2, workers=1)
>>> float(cmp.differences().set_index("metric").loc["cost_total", "diff"])
0.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from llmsim.config.loading import resolve_client
from llmsim.core.errors import InputError
from llmsim.experiments.adaptive import (
    AUTO_METRICS,
    AutoReplications,
    Settled,
    difference_settled,
    metric_matrix,
    parse_replications,
)
from llmsim.experiments.compare_series import merged_series, series_bin_width, summary_and_series
from llmsim.experiments.design import Point
from llmsim.experiments.progress import ProgressSpec
from llmsim.experiments.stats import direction, mean_ci, paired_diff, welch_ci
from llmsim.experiments.store import atomic_write_csv
from llmsim.experiments.sweep import SweepResult, as_scenario, run_points

__all__ = ["compare", "CompareResult"]


@dataclass
class CompareResult:
    """Runs of a comparison: ``table`` (one row per client and replication; column ``client``), ``summary()``,
    ``differences()`` against ``baseline``, and ``winners()``."""

    sweep: SweepResult
    clients: list[str]
    baseline: str
    confidence: float = 0.95
    alpha: float = 0.05

    @property
    def table(self) -> pd.DataFrame:
        return self.sweep.table

    @property
    def metrics(self) -> list[str]:
        return self.sweep.metrics

    @property
    def replications(self) -> int:
        """Replications run per client (with ``-r auto``: as many as the rule needed)."""
        return int(self.table["replication"].max()) + 1 if len(self.table) else 0

    def values(self, metric: str) -> pd.DataFrame:
        """One metric as replications x clients (NaN where a run failed)."""
        ok = self.table[self.table["error"].isna()]
        wide = ok.pivot(index="replication", columns="client", values=metric)
        return wide.reindex(index=sorted(self.table["replication"].unique()), columns=self.clients)

    def summary(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Per client: runs, errors, and ``<metric>_mean`` / ``<metric>_ci`` for each metric."""
        return self.sweep.summary(metrics, self.confidence).drop(columns="point").set_index("client")

    def differences(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Per client (other than the baseline) and metric: ``baseline`` and ``value`` means, ``diff`` = mean of
        the paired differences (client - baseline), its ``ci`` half-width, ``rel_diff`` = diff / baseline,
        ``p_value`` (paired t-test), ``significant`` (p < alpha), ``unpaired_ci`` (the half-width a comparison
        without common random numbers would give on the same runs), and ``verdict``."""
        rows = []
        for m in metrics or self.metrics:
            wide = self.values(m)
            base = wide[self.baseline].to_numpy(dtype=float)
            rows += [self._difference(m, c, base, wide[c].to_numpy(dtype=float))
                     for c in self.clients if c != self.baseline]
        return pd.DataFrame(rows)

    def _difference(self, m: str, c: str, base: np.ndarray, other: np.ndarray) -> dict:
        """The row of ``differences`` for client ``c`` and metric ``m``."""
        d = paired_diff(base, other, self.confidence)
        bmean = mean_ci(base)[0]
        sig = bool(d["p_value"] < self.alpha)
        return {"client": c, "metric": m, "baseline": bmean, "value": mean_ci(other)[0],
                "diff": d["diff"], "ci": d["ci"],
                "rel_diff": d["diff"] / bmean if bmean else float("nan"),
                "p_value": d["p_value"], "significant": sig, "n": d["n"],
                "unpaired_ci": welch_ci(base, other, self.confidence), "verdict": _verdict(m, d["diff"], sig)}

    def winners(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Per metric with a direction: the ``best`` client by mean, the ``runner_up``, the ``margin`` between them
        (always >= 0, in the metric's unit) with its paired ``ci`` and ``p_value``; ``winner`` is the best client
        when the margin is significant, else "tie"."""
        rows = []
        for m in metrics or self.metrics:
            sign = direction(m)
            if sign == 0:
                continue
            wide = self.values(m)
            means = {c: mean_ci(wide[c].to_numpy(dtype=float))[0] for c in self.clients}
            ranked = sorted(self.clients, key=lambda c: (-(sign * means[c]) if means[c] == means[c] else float("inf")))
            best, second = ranked[0], ranked[1]
            d = paired_diff(wide[best].to_numpy(dtype=float), wide[second].to_numpy(dtype=float), self.confidence)
            sig = bool(d["p_value"] < self.alpha)
            rows.append({"metric": m, "winner": best if sig else "tie", "best": best, "best_mean": means[best],
                         "runner_up": second, "runner_up_mean": means[second], "margin": abs(d["diff"]),
                         "ci": d["ci"], "p_value": d["p_value"], "significant": sig})
        return pd.DataFrame(rows)

    def over_time(self) -> pd.DataFrame | None:
        """Per client and time bin, merged across its replications (see ``merged_series``): ``client``, ``t``
        (bin start, s), ``width`` (s), ``requests``, ``failed``, ``success_rate``, ``amplification``,
        ``spend_per_hour``, ``wasted_per_hour``, ``latency_p95`` (mean over replications, with ``p95_low`` and
        ``p95_high``) and ``runs``; None when the runs kept no series (``keep: summary`` or a custom measure)."""
        frame = self.sweep.series
        if frame is None or frame.empty:
            return None
        horizon = float(self.sweep.meta.get("scenario", {}).get("horizon") or 0.0)
        t = frame["t"].drop_duplicates().sort_values().to_numpy()
        width = float(t[1] - t[0]) if len(t) > 1 else series_bin_width(horizon)
        ok = self.table.loc[self.table["error"].isna(), ["point", "replication"]]
        frame = frame.merge(ok, on=["point", "replication"])
        out = merged_series(frame, width)
        out.insert(0, "client", [self.clients[int(i)] for i in out["point"]])
        return out.drop(columns="point").assign(width=width)

    def save(self, path: str | Path) -> Path:
        """The sweep files plus ``differences.csv`` and ``winners.csv``."""
        root = self.sweep.save(path)
        atomic_write_csv(root / "differences.csv", self.differences())
        atomic_write_csv(root / "winners.csv", self.winners())
        return root

    @classmethod
    def load(cls, path: str | Path) -> CompareResult:
        sw = SweepResult.load(path)
        if sw.meta.get("kind") != "compare":
            raise InputError("", f"{path} holds a {sw.meta.get('kind')}, not a compare")
        return cls(sw, list(sw.meta["clients"]), sw.meta["baseline"])


def _verdict(metric: str, diff: float, significant: bool) -> str:
    """"better" or "worse" for a significant difference, "-" for a metric with no better direction."""
    sign = direction(metric)
    if sign == 0:
        return "-"
    if not significant:
        return "no significant difference"
    return "better" if diff * sign > 0 else "worse"


def compare(scenario: Any, clients: Mapping[str, Any] | Sequence[str],
            replications: int | str | AutoReplications = "auto",
            baseline: str | None = None, seed: int | None = None, workers: int | None = None, executor: Any = None,
            scheduler: str | None = None, out: str | Path | None = None, resume: bool = False,
            progress: ProgressSpec = "auto", measure: Callable | None = None, confidence: float = 0.95,
            metrics: Sequence[str] | None = None) -> CompareResult:
    """Run ``scenario`` with each client policy (name -> preset name, YAML file, dict or Client; or a list of
    preset names) ``replications`` times. Replication r uses the same seed for every client, so arrivals,
    sizes and provider draws are shared and differences are paired. ``baseline`` defaults to the first client.

    ``replications="auto"`` (``"auto:TARGET:MOST"``, or an ``AutoReplications``) adds paired replications
    until every difference from the baseline in ``metrics`` (default ``AUTO_METRICS``) has an interval
    narrower than the target (5 % of the baseline's mean) or clearly excluding zero, from 10 up to 40;
    ``result.replications`` says how many it took. Runs keep their tables (exact quantiles) unless the
    scenario says ``keep: summary``. Other arguments as in ``sweep``."""
    base = as_scenario(scenario)
    if base.keep is None and measure is None:
        # exact quantiles: a histogram's 0.5 % buckets are not paired between clients, and on the README's
        # example they made the p50 differences' intervals ~5x wider than the exact paired ones
        base = base.model_copy(update={"keep": "all"})
    resolved = _resolved_clients(clients)
    names = list(resolved)
    baseline = names[0] if baseline is None else baseline
    if baseline not in resolved:
        raise InputError("baseline", f"no client named {baseline!r} (clients: {', '.join(names)})")
    points = [Point(i, {"client": n}, {"client": resolved[n].model_dump(mode="json")}) for i, n in enumerate(names)]
    rule = parse_replications(replications)
    if isinstance(rule, AutoReplications) and rule.confidence != confidence:
        rule = replace(rule, confidence=confidence)
    settled = _differences_settled(names, baseline, list(metrics or AUTO_METRICS), rule)
    sw = run_points(base, points, ["client"], kind="compare", replications=rule, seed=seed, workers=workers,
                    executor=executor, scheduler=scheduler, out=out, resume=resume, progress=progress,
                    measure=measure or summary_and_series, extra={"clients": names, "baseline": baseline},
                    settled=settled)
    result = CompareResult(sw, names, baseline, confidence)
    if out is not None:
        result.save(out)
    return result


def _differences_settled(names: list[str], baseline: str, metrics: list[str], rule: Any) -> Settled:
    """Compare's rule for ``-r auto``: every client's paired difference from the baseline is settled."""
    base_i = names.index(baseline)

    def settled(records: Mapping[tuple[int, int], dict], n: int) -> bool:
        for m in metrics:
            values = metric_matrix(records, range(len(names)), n, m)
            if not all(difference_settled(values[:, base_i], values[:, j], rule)
                       for j in range(len(names)) if j != base_i):
                return False
        return True

    return settled


def _resolved_clients(clients: Mapping[str, Any] | Sequence[str]) -> dict[str, Any]:
    """name -> Client of at least two clients (errors name the client when the spec does not)."""
    if not isinstance(clients, Mapping):
        clients = {str(c): c for c in clients}
    if len(clients) < 2:
        raise InputError("clients", "compare needs at least two clients (name -> preset, file or settings)")
    resolved = {}
    for name, spec in clients.items():
        try:
            resolved[str(name)] = resolve_client(spec)
        except InputError as exc:
            raise InputError(exc.path, exc.reason, exc.source or f"client {name}", exc.more) from None
    return resolved
