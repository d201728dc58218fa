"""Counterfactuals: replay a recorded window under several client policies with common random numbers.

Every policy sees the same arrivals and the same provider draws (same seed), so differences come
from the policy alone. ``worst_window`` finds the window with the most failed (or most) attempts.

>>> import llmsim, pandas as pd
>>> from llmsim.traces.samples import sample_path
>>> tr = llmsim.load_trace(sample_path("csv"))
>>> sc = llmsim.load_scenario("tuesday").with_overrides({"horizon": "10m", "warmup": 0})
>>> tab = counterfactual(sc, tr, {"none": "no-retries", "naive": "naive-retry"}, window=(0, 120), seed=1)
>>> list(tab.index), bool((tab["requests"] == tab["requests"].iloc[0]).all())
(['none', 'naive'], True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from llmsim.config.loading import load_scenario, resolve_client
from llmsim.config.scenario import Scenario
from llmsim.engine.arrivals import ExplicitArrivals
from llmsim.simulator import simulate
from llmsim.traces.replay import ReplayOptions, replay_arrivals
from llmsim.traces.trace_stats import rate_curve

__all__ = ["counterfactual", "worst_window", "COUNTERFACTUAL_METRICS"]

COUNTERFACTUAL_METRICS = ["requests", "success_rate", "latency_p50", "latency_p95", "attempts_per_request",
                          "cost_total", "wasted_cost", "cost_per_success", "goodput"]


def worst_window(trace: pd.DataFrame, width: float = 3600.0, by: str = "failures") -> tuple[float, float]:
    """[start, end) (seconds after the first arrival, on a ``width/6`` grid) of the window with the most
    failed attempts (``by="failures"``, needs outcomes) or the most attempts (``by="requests"``)."""
    t = trace["arrival_s"].to_numpy(dtype=float)
    t = t - t.min()
    if by == "failures":
        if "outcome" not in trace or trace["outcome"].isna().all():
            raise ValueError("the trace records no outcomes: use by='requests'")
        t = t[(trace["outcome"].notna() & (trace["outcome"] != "ok")).to_numpy(dtype=bool)]
    step = width / 6
    counts = rate_curve(t, step, float(trace["arrival_s"].max() - trace["arrival_s"].min()))
    k = 6
    sums = np.convolve(counts, np.ones(k, dtype=int), mode="valid") if len(counts) >= k else np.array([counts.sum()])
    i = int(np.argmax(sums))
    return (i * step, i * step + width)


def _with_window(opt: ReplayOptions, window: tuple[float, float] | None) -> ReplayOptions:
    """The replay options, given ``window`` when they have none."""
    if window is None or opt.window is not None:
        return opt
    return ReplayOptions(window=window, time_scale=opt.time_scale, rate_multiplier=opt.rate_multiplier,
                         copy_shift=opt.copy_shift, loop=opt.loop, first_attempts=opt.first_attempts)


def counterfactual(scenario, trace: pd.DataFrame, clients: dict, window: tuple[float, float] | None = None,
                   seed: int = 0, options: ReplayOptions | None = None, at: float = 0.0) -> pd.DataFrame:
    """One row per client policy (name -> preset name, dict, YAML path or Client): summary metrics of the
    replayed window, plus ``*_vs_first`` differences against the first policy (paired: same seed).

    ``at`` (seconds after the scenario's start, see ``llmsim.core.units.parse_offset``) is when the
    replayed traffic meets the provider: at 08:30 of ``tuesday`` it meets the morning's contention. The
    run then starts at 0 with no traffic of yours before ``at``, which is the warm-up (excluded from the
    metrics)."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    opt = _with_window(options or ReplayOptions(window=window), window)
    span = (opt.window[1] - opt.window[0]) * opt.time_scale if opt.window else None
    arrivals, info = replay_arrivals(trace, opt, seed, span)
    if at > 0:
        span = span if span is not None else float(arrivals.times.max()) + 1.0 if len(arrivals) else 1.0
        arrivals = ExplicitArrivals(arrivals.times + at, arrivals.input_tokens, arrivals.output_tokens,
                                    arrivals.cached_tokens)
        sc = sc.with_overrides({"horizon": at + span, "warmup": at})
    elif span is not None:
        sc = sc.with_overrides({"horizon": span, "warmup": min(sc.warmup, span / 2)})
    rows = {}
    for name, spec in clients.items():
        client = resolve_client(spec)
        run = sc.model_copy(update={"client": client})
        res = simulate(run, seed=seed, arrivals=arrivals)
        rows[name] = res.summary()[COUNTERFACTUAL_METRICS]
    tab = pd.DataFrame(rows).T
    first = tab.iloc[0]
    for m in ("success_rate", "latency_p95", "cost_total"):
        tab[f"{m}_vs_first"] = tab[m] - first[m]
    tab.attrs["replay"] = info
    return tab
