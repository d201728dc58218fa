"""The answer at a glance: which candidate to deploy, what it costs per month and how sure we are.

A verdict reads the runs of a comparison (``llmsim.compare``) or a sweep (``llmsim.sweep``): per candidate
the mean and 95 % interval of each headline metric, which SLO targets it meets (judged with confidence: a
target is met when the one-sided 95 % bound over the replications is on the right side, "likely" when only
the mean is, "uncertain" when the interval straddles it from the wrong side), the candidates that meet them
all and, among those, the cheapest, with a confidence that covers every target and the paired cost
comparison with the runner-up (replication r of every candidate shares its seed). With no targets it picks
the significantly most reliable candidate, else the significantly cheapest, else says "no significant
difference".

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday").with_overrides({"horizon": "2m", "warmup": 0})
>>> cmp = llmsim.compare(sc, clients={"a": "no-retries", "b": "no-retries"}, replications=2, workers=1,
...                      progress=False)
>>> compare_verdict(cmp).headline
'No significant difference between a and b: keep a.'
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from llmsim.analysis.slo_eval import STATUS_WORDS, derived_columns, judge, monthly_factor, projection_note
from llmsim.config.scenario import validate_scenario
from llmsim.config.slo import Target
from llmsim.core.errors import InputError
from llmsim.experiments.stats import direction, mean_ci, paired_diff
from llmsim.viz.text_tables import fmt_metric

__all__ = ["Verdict", "Difference", "compare_verdict", "sweep_verdict", "verdict_html", "fmt_difference", "diff_text",
           "HEADLINE"]

#: The metrics a verdict speaks of, in order (cost is also projected to $/month).
HEADLINE = ("success_rate", "latency_p50", "latency_p95", "latency_p99", "cost_total", "wasted_cost")
_SHORT = {"success_rate": "success", "latency_p50": "p50", "latency_p95": "p95", "latency_p99": "p99",
          "cost_total": "cost", "wasted_cost": "wasted", "cost_per_1k_requests": "cost/1k req"}
_MONTHLY = frozenset({"cost_total", "wasted_cost"})


@dataclass
class Difference:
    """``metric`` of ``candidate`` minus ``reference``: paired mean ``diff``, ``ci`` half-width, ``significant``."""

    metric: str
    candidate: str
    reference: str
    diff: float
    ci: float
    p_value: float
    significant: bool


@dataclass
class Verdict:
    """``choice`` (a candidate, or None), ``headline`` (one sentence), ``why``, ``confidence`` (that the choice
    meets every target and, when another candidate also meets them, is cheaper: one minus the sum of the
    one-sided p-values, a Bonferroni bound), ``target_confidence`` (per target, of the choice), per-candidate
    ``means``/``cis``, ``meets`` (met with 95 % confidence) and ``status`` ("meets", "likely", "uncertain",
    "misses" per target), ``differences`` of the choice against its reference, and how $/month was projected."""

    candidates: list[str]
    targets: list[Target]
    means: pd.DataFrame
    cis: pd.DataFrame
    meets: pd.DataFrame
    choice: str | None
    headline: str
    why: str
    confidence: float | None = None
    differences: list[Difference] = field(default_factory=list)
    month_factor: float = float("nan")
    projection: str = ""
    status: pd.DataFrame | None = None
    target_confidence: dict[str, float] = field(default_factory=dict)

    @property
    def feasible(self) -> list[str]:
        """Candidates that meet every target (all of them when there are none)."""
        return [c for c in self.candidates if bool(self.meets.loc[c].all())] if self.targets else list(self.candidates)

    @property
    def likely_feasible(self) -> list[str]:
        """Candidates whose every target is met or likely (met on the mean, not yet with 95 % confidence)."""
        if not self.targets:
            return list(self.candidates)
        return [c for c in self.candidates if bool(self._status(c).isin(["meets", "likely"]).all())]

    def _status(self, c: str) -> pd.Series:
        if self.status is None:
            return self.meets.loc[c].map({True: "meets", False: "misses"})
        return self.status.loc[c]

    def targets_text(self, c: str) -> str:
        """'2/3 met (likely: latency_p95 <= 10s)': targets met with confidence, and how the others stand."""
        st = self._status(c)
        ok = int((st == "meets").sum())
        others = [f"{STATUS_WORDS[k]}: {', '.join(t for t, s in st.items() if s == k)}"
                  for k in ("likely", "uncertain", "misses") if (st == k).any()]
        return f"{ok}/{len(st)} met" + (f" ({'; '.join(others)})" if others else "")

    def value_text(self, candidate: str, metric: str) -> str:
        """'97.2% ± 0.3%' (and '$1,234/month' for costs)."""
        m, h = float(self.means.loc[candidate, metric]), float(self.cis.loc[candidate, metric])
        text = fmt_metric(metric, m) + (f" ± {fmt_metric(metric, h)}" if h == h else "")
        if metric in _MONTHLY and self.month_factor == self.month_factor:
            text += f" ({fmt_metric('cost_total', m * self.month_factor)}/month)"
        return text

    def lines(self) -> list[str]:
        """The verdict as plain text lines (the CLI prints them; notebooks show ``verdict_html``)."""
        out = [self.headline, self.why]
        if self.differences:
            out.append("  " + ", ".join(fmt_difference(d, self.month_factor) + ("" if d.significant else " (n.s.)")
                                        for d in self.differences))
        for c in self.candidates:
            tag = " <- deploy" if c == self.choice else ""
            met = f"  targets {self.targets_text(c)}" if self.targets else ""
            vals = ", ".join(f"{_SHORT.get(m, m)} {self.value_text(c, m)}" for m in self._shown())
            out.append(f"  {c}: {vals}{met}{tag}")
        if self.projection:
            out.append(f"  ({self.projection})")
        return [line for line in out if line]

    def _shown(self) -> list[str]:
        extra = [t.metric for t in self.targets if t.metric not in HEADLINE]
        return [m for m in (*HEADLINE, *dict.fromkeys(extra)) if m in self.means.columns]

    def _repr_html_(self) -> str:
        return verdict_html(self)


def fmt_difference(d: Difference, month_factor: float = float("nan")) -> str:
    """'success +2.3 points [±0.3]', 'p99 +2.0s [±0.4s]', 'cost +$34/month [±$3]'.

    >>> fmt_difference(Difference("success_rate", "b", "a", 0.0231, 0.0029, 0.001, True))
    'success +2.31 points [±0.29]'
    """
    return f"{_SHORT.get(d.metric, d.metric)} {diff_text(d.metric, d.diff, d.ci, month_factor)}"


def diff_text(metric: str, diff: float, ci: float, month_factor: float = float("nan")) -> str:
    """A difference in the metric's unit: shares in percentage points, costs per month when a factor is given.

    >>> diff_text("latency_p99", 2.04, 0.41), diff_text("cost_total", 0.05, 0.01, 720.0), diff_text("requests", 0, 0)
    ('+2.04s [±410ms]', '+$36.00/month [±$7.20]', '0 [±0]')
    """
    if diff != diff:
        return "-"
    if metric in ("success_rate",) or metric.endswith("_share"):
        ci_text = f" [±{ci * 100:.2g}]" if ci == ci else ""
        return f"{diff * 100:+.3g} points{ci_text}"
    scale, unit = (month_factor, "/month") if metric in _MONTHLY and month_factor == month_factor else (1.0, "")
    sign = "+" if diff > 0 else "-" if diff < 0 else ""
    ci_text = f" [±{fmt_metric(metric, ci * scale)}]" if ci == ci else ""
    return f"{sign}{fmt_metric(metric, abs(diff) * scale)}{unit}{ci_text}"


def _wide(table: pd.DataFrame, key: str, metric: str, candidates: Sequence[str]) -> pd.DataFrame:
    ok = table[table["error"].isna()] if "error" in table else table
    return ok.pivot_table(index="replication", columns=key, values=metric, aggfunc="mean").reindex(columns=candidates)


def _paired(table: pd.DataFrame, key: str, metric: str, a: str, b: str) -> dict:
    w = _wide(table, key, metric, [a, b])
    return paired_diff(w[a].to_numpy(dtype=float), w[b].to_numpy(dtype=float))


def _stats(table: pd.DataFrame, key: str, candidates: Sequence[str], metrics: Iterable[str]):
    means, cis = {}, {}
    for m in metrics:
        w = _wide(table, key, m, candidates)
        stats = {c: mean_ci(w[c].to_numpy(dtype=float)) for c in candidates}
        means[m] = {c: s[0] for c, s in stats.items()}
        cis[m] = {c: s[1] for c, s in stats.items()}
    return pd.DataFrame(means, index=list(candidates)), pd.DataFrame(cis, index=list(candidates))


def build_verdict(table: pd.DataFrame, key: str, candidates: Sequence[str], baseline: str,
                  targets: Sequence[Target] = (), window_seconds: float = float("nan"), alpha: float = 0.05) -> Verdict:
    """The verdict over a table of runs: one row per (candidate, replication), the candidate's name in
    column ``key``. ``baseline``: the candidate differences are taken against when it is not chosen."""
    table = derived_columns(table)
    targets = list(targets)
    metrics = [m for m in dict.fromkeys([*HEADLINE, *(t.metric for t in targets)]) if m in table.columns]
    means, cis = _stats(table, key, candidates, metrics)
    judged = {str(t): {c: judge(_wide(table, key, t.metric, candidates)[c].to_numpy(dtype=float), t)
                       for c in candidates} for t in targets}
    status = pd.DataFrame({t: {c: j.status for c, j in js.items()} for t, js in judged.items()},
                          index=list(candidates), columns=[str(t) for t in targets])
    v = Verdict(list(candidates), targets, means, cis, status == "meets", None, "", "",
                month_factor=monthly_factor(window_seconds),
                projection=projection_note(window_seconds) if window_seconds == window_seconds else "", status=status)
    if targets:
        _choose_under_targets(v, table, key, alpha)
        if v.choice is not None:
            v.target_confidence = {**{t: js[v.choice].confidence for t, js in judged.items()},
                                   **v.target_confidence}  # the targets first, then the cost comparison
            v.confidence = _overall_confidence(v)
            _add_confidence(v)
    else:
        _choose_without_targets(v, table, key, baseline, alpha)
    reference = baseline if v.choice != baseline else _runner_up(v, baseline)
    if v.choice is not None and reference is not None:
        v.differences = _differences(table, key, v.choice, reference, alpha)
    return v


def _runner_up(v: Verdict, chosen: str) -> str | None:
    others = [c for c in v.candidates if c != chosen]
    feasible = [c for c in v.feasible if c != chosen]
    pool = feasible or others
    return min(pool, key=lambda c: float(v.means.loc[c, "cost_total"])) if pool else None


def _differences(table: pd.DataFrame, key: str, chosen: str, reference: str, alpha: float) -> list[Difference]:
    out = []
    for m in ("success_rate", "latency_p95", "latency_p99", "cost_total", "wasted_cost"):
        if m in table.columns:
            d = _paired(table, key, m, reference, chosen)
            sig = bool(d["p_value"] < alpha)
            out.append(Difference(m, chosen, reference, d["diff"], d["ci"], d["p_value"], sig))
    return out


def _violation(v: Verdict, c: str) -> float:
    """How far candidate ``c`` misses its targets (sum of relative misses)."""
    total = 0.0
    for t in v.targets:
        x = float(v.means.loc[c, t.metric])
        if x != x:
            return math.inf
        if not t.holds(x):
            total += abs(x - t.bound) / (abs(t.bound) or 1.0)
    return total


def _choose_under_targets(v: Verdict, table: pd.DataFrame, key: str, alpha: float) -> None:
    feasible, sure = v.feasible, True
    targets = ", ".join(str(t) for t in v.targets)
    if not feasible:
        feasible, sure = v.likely_feasible, False
    if not feasible:
        closest = min(v.candidates, key=lambda c: _violation(v, c))
        v.headline = f"No candidate meets every target ({targets}); closest: {closest}."
        v.why = "Relax a target or try other candidates."
        return
    ranked = sorted(feasible, key=lambda c: float(v.means.loc[c, "cost_total"]))
    v.choice = ranked[0]
    meets = "meets every target" if sure else "likely meets every target"
    v.why = "" if sure else ("No candidate meets every target with 95 % confidence (one-sided bound over the "
                             "replications); run more replications to be sure.")
    if len(ranked) == 1:
        v.headline = f"Deploy {v.choice}: the only candidate that {meets} ({targets})."
        v.why = v.why or f"{len(feasible)} of {len(v.candidates)} candidates meet every target with 95 % confidence."
        return
    d = _paired(table, key, "cost_total", ranked[0], ranked[1])
    one_sided = d["p_value"] / 2 if d["diff"] > 0 else 1 - d["p_value"] / 2
    v.target_confidence["cheaper than " + ranked[1]] = 1 - one_sided if one_sided == one_sided else float("nan")
    also = "also meets every target" if sure else "also likely to meet every target"
    if d["p_value"] < alpha:
        v.headline = (f"Deploy {v.choice}: the cheapest of {len(feasible)} candidates that "
                      f"{'meet' if sure else 'likely meet'} every target.")
        v.why = (f"Cheaper than {ranked[1]} ({also}). " + v.why).strip()
    else:
        v.headline = (f"Deploy {v.choice} or {ranked[1]}: both {'meet' if sure else 'likely meet'} every target; "
                      f"no significant difference in cost.")
        v.why = (f"{v.choice} is cheaper on the mean only. " + v.why).strip()


def _overall_confidence(v: Verdict) -> float | None:
    """Confidence that the choice meets every target and beats the runner-up on cost: one minus the sum of
    the one-sided p-values (Bonferroni: holds whatever the dependence between the tests)."""
    misses = [1 - c for c in v.target_confidence.values()]
    if not misses or any(m != m for m in misses):
        return None
    return max(0.0, 1 - sum(misses))


def _conf_text(c: float | None) -> str:
    return "unknown" if c is None or c != c else "> 99.9%" if c > 0.999 else f"{c:.1%}"


def _add_confidence(v: Verdict) -> None:
    """Say how sure the choice is, over every target (and the cost comparison), in the ``why`` line."""
    parts = ", ".join(f"{t} {_conf_text(c)}" for t, c in v.target_confidence.items())
    v.why = (f"{v.why} Confidence that {v.choice} meets every target"
             f"{' and is cheaper' if any(k.startswith('cheaper') for k in v.target_confidence) else ''}: "
             f"{_conf_text(v.confidence)} ({parts}; one-sided t over the replications, Bonferroni).").strip()


def _choose_without_targets(v: Verdict, table: pd.DataFrame, key: str, baseline: str, alpha: float) -> None:
    for metric, reason in (("success_rate", "the most reliable"), ("cost_total", "the cheapest"),
                           ("latency_p95", "the fastest at p95")):
        if metric not in v.means.columns:
            continue
        sign = direction(metric)
        ranked = sorted(v.candidates, key=lambda c: -sign * float(np.nan_to_num(v.means.loc[c, metric], nan=-np.inf)))
        d = _paired(table, key, metric, ranked[1], ranked[0])
        if d["p_value"] < alpha and d["diff"] * sign > 0:
            v.choice = ranked[0]
            v.headline = f"Deploy {v.choice}: {reason} ({_SHORT.get(metric, metric)}, significant)."
            v.why = (f"Ranked on success rate, then cost, then p95; the first significant difference decides "
                     f"(p = {d['p_value']:.2g} against {ranked[1]}). No SLO targets were given.")
            return
    names = " and ".join(v.candidates) if len(v.candidates) == 2 else ", ".join(v.candidates)
    v.choice = None
    v.headline = f"No significant difference between {names}: keep {baseline}."
    v.why = "Success rate, cost and p95 differ only within the noise of the replications."


def _window(meta_scenario: dict | None) -> float:
    if not meta_scenario:
        return float("nan")
    try:
        sc = validate_scenario(meta_scenario)
    except InputError:  # a run saved by another version: no projection rather than no verdict
        return float("nan")
    return sc.horizon - sc.warmup


def compare_verdict(cmp, targets: Sequence[Target] = (), alpha: float | None = None) -> Verdict:
    """The verdict of a ``CompareResult`` (targets: the SLO, e.g. ``scenario.targets()``)."""
    return build_verdict(cmp.table, "client", cmp.clients, cmp.baseline, targets,
                         _window(cmp.sweep.meta.get("scenario")), alpha if alpha is not None else cmp.alpha)


def point_labels(table: pd.DataFrame, params: Sequence[str]) -> pd.Series:
    """'max_attempts=3, timeout=30' per row of a sweep table (short parameter names)."""
    return table.apply(lambda r: ", ".join(f"{p.rsplit('.', 1)[-1]}={r[p]}" for p in params) or f"point {r['point']}",
                       axis=1)


def sweep_verdict(sw, targets: Sequence[Target] = (), alpha: float = 0.05) -> Verdict:
    """The verdict of a ``SweepResult``: candidates are its points, baseline the first."""
    table = sw.table.copy()
    params = [p for p in sw.meta.get("params", []) if p in table.columns]
    table["candidate"] = point_labels(table, params)
    order = table.sort_values("point")["candidate"].drop_duplicates().tolist()
    return build_verdict(table, "candidate", order, order[0], targets, _window(sw.meta.get("scenario")), alpha)


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def verdict_html(v: Verdict) -> str:
    """The verdict card: headline, why, the choice's differences (greyed when not significant) and a table
    of every candidate (winner marked, targets met)."""
    diffs = "".join(f'<span class="{"sig" if d.significant else "ns"}">{_e(fmt_difference(d, v.month_factor))}'
                    f'{"" if d.significant else " (n.s.)"}</span>' for d in v.differences)
    ref = f"<p>against {_e(v.differences[0].reference)}: {diffs}</p>" if v.differences else ""
    shown = v._shown()
    head = "".join(f"<th>{_e(_SHORT.get(m, m))}</th>" for m in shown)
    head += "<th>targets met</th>" if v.targets else ""
    rows = []
    for c in v.candidates:
        cells = "".join(f'<td class="num">{_e(v.value_text(c, m))}</td>' for m in shown)
        if v.targets:
            ok = int(v.meets.loc[c].sum())
            cells += f'<td class="{"pass" if ok == len(v.targets) else "fail"}">{_e(v.targets_text(c))}</td>'
        mark = " ★" if c == v.choice else ""
        rows.append(f'<tr class="{"winner" if c == v.choice else ""}"><td>{_e(c)}{mark}</td>{cells}</tr>')
    targets = (f"<p class=\"meta\">targets: {_e(', '.join(str(t) for t in v.targets))}</p>" if v.targets
               else '<p class="meta">no SLO targets given (add <code>slo:</code> to the scenario or --slo)</p>')
    proj = f'<p class="meta">{_e(v.projection)}</p>' if v.projection else ""
    return (f'<div class="verdict"><p class="headline">{_e(v.headline)}</p><p>{_e(v.why)}</p>{ref}{targets}'
            f"<table><thead><tr><th>candidate</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"{proj}</div>")
