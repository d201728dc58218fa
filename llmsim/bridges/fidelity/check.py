"""Run a real client against the live server, then simulate the same workload with a client policy.

``run_fidelity(scenario, client, workload=...)`` (a Python callable ``workload(base_url)``) or
``command=[...]`` (a program run with OPENAI_BASE_URL / ANTHROPIC_BASE_URL / LLMSIM_URL pointing at
the server). The simulation replays the first attempt of every logical request the server saw, at
the same times since server start, ``replications`` times with different seeds, and pools them.

>>> import pandas as pd, llmsim
>>> from llmsim.bridges.fidelity.clients import FIDELITY_SCENARIOS
>>> tr = pd.DataFrame({"arrival_s": [0.1, 0.1], "input_tokens": [5, 5], "output_tokens": [0, 0],
...                    "logical_request_id": ["a", "b"]})
>>> sim = simulate_like(llmsim.load_scenario(FIDELITY_SCENARIOS["always-fail"]), tr,
...                     {"retry": {"max_attempts": 2, "backoff": {"base": 0.5, "jitter": "none"}}}, replications=2)
>>> sim.requests["attempts"].tolist(), sim.gaps(1).round(6).tolist()
([2, 2, 2, 2], [0.5, 0.5, 0.5, 0.5])
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from dataclasses import dataclass, field

import pandas as pd

from llmsim.bridges.fidelity.clients import fidelity_scenario, reference_client
from llmsim.bridges.fidelity.observe import Behaviour, behaviour_from_result, behaviour_from_trace, pool
from llmsim.bridges.fidelity.table import fidelity_table, format_table
from llmsim.bridges.fidelity.workloads import run_in_child
from llmsim.bridges.serve import ServerThread
from llmsim.config.loading import resolve_client
from llmsim.config.scenario import Scenario
from llmsim.core.errors import InputError
from llmsim.simulator import simulate
from llmsim.traces.replay import ReplayOptions, replay_arrivals

__all__ = ["FidelityReport", "run_fidelity", "simulate_like"]


@dataclass
class FidelityReport:
    """The comparison table plus both sides' raw behaviour and the recorded trace."""

    table: pd.DataFrame
    real: Behaviour
    sim: Behaviour
    trace: pd.DataFrame
    label: str = ""
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = format_table(self.table, self.label)
        return text + "".join(f"\nnote: {n}" for n in self.notes)

    def failures(self, mean_tol: float = 0.05, ks_max: float = 0.2, abs_tol: float = 0.02,
                 z: float = 3.0) -> list[str]:
        """Metrics whose means differ by more than ``mean_tol`` (relative), ``abs_tol`` (seconds) and
        ``z`` standard errors of the real mean (so few or noisy samples do not fail by chance), or whose
        KS statistic (allowing ``tol`` seconds of overhead, see fidelity_table) exceeds ``ks_max``."""
        bad = []
        for name, r in self.table.iterrows():
            if _means_differ(r, mean_tol, abs_tol, z):
                bad.append(f"{name}: mean {r.real_mean:.4g} real vs {r.sim_mean:.4g} simulated")
            if r.ks_tol == r.ks_tol and r.ks_tol > ks_max:
                bad.append(f"{name}: KS {r.ks_tol:.3f} > {ks_max}")
        return bad


def _means_differ(r, mean_tol: float, abs_tol: float, z: float) -> bool:
    """A fidelity row's means differ: relatively, by more than ``abs_tol`` and by ``z`` standard errors."""
    d = abs(r.abs_diff)
    significant = not (r.real_se == r.real_se) or d > z * r.real_se
    relative = r.rel_diff != r.rel_diff or abs(r.rel_diff) > mean_tol
    return relative and significant and d > abs_tol


def _sim_scenario(scenario: Scenario, client, provider: str | None, horizon: float) -> Scenario:
    data = scenario.model_dump(mode="json")
    provs = data["providers"]
    name = provider or provs[0]["name"]
    data["providers"] = [p for p in provs if p["name"] == name] + [p for p in provs if p["name"] != name]
    data["client"] = resolve_client(client).model_dump(mode="json", exclude_none=True)
    data["horizon"] = max(horizon, 1.0)
    data["warmup"] = 0
    return Scenario.model_validate(data)


def simulate_like(scenario: Scenario, trace: pd.DataFrame, client, provider: str | None = None,
                  replications: int = 20, seed: int = 0) -> Behaviour:
    """Simulate the logical requests of ``trace`` (first attempts, same times) under ``client``."""
    if not len(trace):
        raise InputError("", "the real client sent no request to the server")
    t0 = float(trace["arrival_s"].min())
    horizon = float(trace["arrival_s"].max()) + 1.0
    sc = _sim_scenario(scenario, client, provider, horizon)
    tr = trace.copy()
    if "logical_request_id" in tr:
        tr["logical_request_id"] = tr["logical_request_id"].astype(object)
    runs = []
    for r in range(replications):
        arr, _ = replay_arrivals(tr, ReplayOptions(), seed + r, None)
        arr = dataclasses.replace(arr, times=arr.times + t0)  # same time since server start
        res = simulate(sc, seed + r, arrivals=arr)
        runs.append(behaviour_from_result(res, offset=r * 10_000_000))
    return pool(runs)


def run_fidelity(scenario, client, workload=None, command: list[str] | None = None, provider: str | None = None,
                 replications: int = 20, seed: int = 0, timeout: float = 900.0, label: str = "",
                 tol: float = 0.02, in_child: bool = True) -> FidelityReport:
    """Run ``workload(base_url)`` or ``command`` against a live server for ``scenario``, then compare
    with ``client`` (preset name, dict, Client or file) simulated on the same requests. Built-in
    workloads run in a child process unless ``in_child`` is false."""
    sc = scenario if isinstance(scenario, Scenario) else fidelity_scenario(scenario)
    cl = reference_client(client) if isinstance(client, str) else resolve_client(client)
    if (workload is None) == (command is None):
        raise InputError("", "give exactly one of a workload callable or a command to run")
    with ServerThread(sc, provider, seed=seed) as srv:
        notes, report = _drive(srv.url, workload, command, timeout, in_child)
        trace = srv.log.frame()
        t0 = srv.server.t0
    refused = 0
    if report is not None:
        trace, refused = with_local_refusals(trace, report, t0)
    real = behaviour_from_trace(trace)
    if report is not None and "cooldowns" in report and _routes(cl):
        real.cooldowns = [len(report["cooldowns"])]
    if refused:
        notes.append(f"{refused} requests were refused by the client itself (never sent, or their last try "
                     "refused: no deployment available); counted as outcome 'rejected' on both sides")
    if real.untagged:
        notes.append(f"{real.untagged} attempts carried no request id (header x-llmsim-request-id, OpenAI 'user' "
                     "or Anthropic metadata.user_id): each was counted as its own request")
    sim = simulate_like(sc, trace, cl, provider, replications, seed + 1000)
    title = label or getattr(workload, "label", None) or " ".join(command or [])
    return FidelityReport(fidelity_table(real, sim, tol), real, sim, trace, title, notes)


def _routes(client) -> bool:
    """Does the client route over deployments with cooldowns (so its cooldown count is compared)?"""
    layers = getattr(client, "layers", None) or []
    routes = [getattr(layer, "route", None) for layer in layers] + [getattr(client, "route", None)]
    return any(r is not None and r.ejection is not None for r in routes)


def _drive(url: str, workload, command: list[str] | None, timeout: float,
           in_child: bool) -> tuple[list[str], dict | None]:
    """Send the workload (in a child process when it is a built-in one) or run the command: (notes on
    it, the workload's report of what the client saw, None for a command)."""
    if workload is not None and getattr(workload, "spec", None) and in_child:
        return [], run_in_child(workload, url, timeout)
    if workload is not None:
        workload(url)
        return [], workload.report() if hasattr(workload, "report") else None
    return _run_command(command, url, timeout), None


#: errors a client raises without sending (LiteLLM: "No deployments available", every deployment cooling down)
LOCAL_REFUSALS = frozenset({"RouterRateLimitError"})


def with_local_refusals(trace: pd.DataFrame, report: dict, t0: float) -> tuple[pd.DataFrame, int]:
    """``trace`` plus one ``rejected`` attempt (no provider, no time) at the moment the client gave up
    for every request it refused itself: its result is a local refusal, or it failed and never reached
    the server. Request ``i`` is ``req-i`` (the workloads' tag); ``t0`` is the server's monotonic start.

    >>> tr = pd.DataFrame({"logical_request_id": ["req-0"], "arrival_s": [0.5], "latency_s": [0.1],
    ...                    "outcome": ["ok"], "http_status": [200], "input_tokens": [5], "output_tokens": [16]})
    >>> rep = {"results": ["ok", "RouterRateLimitError"], "ended": [100.6, 100.7]}
    >>> out, n = with_local_refusals(tr, rep, 100.0)
    >>> n, out["outcome"].tolist(), out["arrival_s"].round(3).tolist()
    (1, ['ok', 'rejected'], [0.5, 0.7])
    """
    lids = trace["logical_request_id"] if "logical_request_id" in trace else pd.Series([], dtype=object)
    seen = set(lids.dropna().astype(str))
    ok_out = trace.loc[trace["outcome"] == "ok", "output_tokens"] if len(trace) else pd.Series([], dtype=float)
    out_tokens = int(ok_out.median()) if len(ok_out) else 0
    inp = int(trace["input_tokens"].median()) if len(trace) else 0
    rows = [{"request_id": f"req-{i}-local", "arrival_s": end - t0, "input_tokens": inp, "output_tokens": out_tokens,
             "logical_request_id": f"req-{i}", "outcome": "rejected", "http_status": 0, "latency_s": 0.0,
             "retry_after_s": float("nan")}
            for i, (res, end) in enumerate(zip(report["results"], report["ended"]))
            if res in LOCAL_REFUSALS or (res != "ok" and f"req-{i}" not in seen)]
    if not rows:
        return trace, 0
    extra = pd.DataFrame(rows)
    both = pd.concat([trace.astype(object), extra.astype(object)], ignore_index=True)
    for c in trace.columns:
        both[c] = both[c].astype(trace[c].dtype) if c in extra else both[c]
    return both.sort_values("arrival_s", kind="stable", ignore_index=True), len(rows)


def _run_command(command: list[str], url: str, timeout: float) -> list[str]:
    """Run ``command`` with the server's URLs in its environment; notes on how it ended."""
    env = {**os.environ, "OPENAI_BASE_URL": url + "/v1", "ANTHROPIC_BASE_URL": url, "LLMSIM_URL": url}
    env.setdefault("OPENAI_API_KEY", "llmsim")
    env.setdefault("ANTHROPIC_API_KEY", "llmsim")
    try:
        proc = subprocess.run(command, env=env, timeout=timeout)
    except FileNotFoundError:
        raise InputError("command", f"cannot run {command[0]!r}: no such program") from None
    except subprocess.TimeoutExpired:
        raise InputError("command", f"{' '.join(command)} ran longer than {timeout:g}s") from None
    return [f"the command exited with status {proc.returncode}"] if proc.returncode != 0 else []
