"""Money and contracts from a Result: per-session table, spend guard and contract monitor reports,
cost avoided by a guard (paired run on the same seed), and the billing identity.

>>> import llmsim
>>> sc = llmsim.Scenario.model_validate({
...     "horizon": "1h", "seed": 1,
...     "workload": {"sessions": [{"name": "chat", "starts": {"rate": "30/h"}, "stop_probability": 0.25}]},
...     "providers": [{"name": "p", "capacity": {"slots": 8}, "pricing": {"input_per_mtok": 3, "output_per_mtok": 15}}],
...     "client": {"spend": {"session": {"max_steps": 3}}}})
>>> res = llmsim.simulate(sc)
>>> bool(sessions_table(res)["steps"].max() <= 3)
True
>>> abs(billing_residual(res)) < 1e-9
True
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from llmsim.core.units import format_duration
from llmsim.results import Result
from llmsim.simulator import simulate

__all__ = ["sessions_table", "spend_report", "cost_avoided", "contract_report", "validation_retry_cost",
           "recompute_cost", "billing_residual", "expected_cost", "story_reports"]

NAN = float("nan")


def _events(res: Result, kind: str) -> pd.DataFrame:
    return res.events[res.events["kind"] == kind]


def sessions_table(res: Result) -> pd.DataFrame:
    """One row per session: group, runaway, start, end, end reason, steps sent, delivered steps
    (ok or invalid), cost and billed tokens (input + output)."""
    st = _events(res, "session_start")
    out = pd.DataFrame({
        "session_id": st["session_id"].to_numpy(dtype=np.int64),
        "group": st["subject"].to_numpy(),
        "runaway": (st["value"] == "runaway").to_numpy(dtype=bool),
        "start": st["time"].to_numpy(dtype=float),
    }).set_index("session_id")
    en = _events(res, "session_end")
    ends = pd.DataFrame({"end": en["time"].to_numpy(dtype=float), "reason": en["value"].to_numpy()},
                        index=en["session_id"].to_numpy(dtype=np.int64))
    out = out.join(ends)
    req = res.requests[res.requests["session_id"] >= 0]
    att = res.attempts
    tokens = (att["billed_input_tokens"] + att["billed_output_tokens"]).groupby(att["request_id"]).sum()
    g = req.assign(tokens=tokens.reindex(req["request_id"]).fillna(0).to_numpy(),
                   delivered=req["outcome"].isin(["ok", "invalid"]),
                   sent=req["outcome"] != "spend_blocked").groupby("session_id")
    out["steps"] = g["sent"].sum().reindex(out.index, fill_value=0).astype(np.int64)
    out["delivered"] = g["delivered"].sum().reindex(out.index, fill_value=0).astype(np.int64)
    out["cost"] = g["cost"].sum().reindex(out.index, fill_value=0.0)
    out["tokens"] = g["tokens"].sum().reindex(out.index, fill_value=0).astype(np.int64)
    return out.reset_index()


def spend_report(res: Result, onset: float | None = None) -> pd.Series:
    """What the spend guards saw. ``onset``: when the problem began (default: the start of the first
    runaway session). Returns onset, alert_time (spend_alert event, nan if it never fired),
    time_to_detect, spend_before_detection (billed between onset and the alert, or to the end if it
    never fired), runaway_cost (all spend of runaway sessions), runaway_steps, blocked_requests
    (spend_blocked), budget_exhaustions, cost_total."""
    sess = sessions_table(res)
    if onset is None:
        run = sess[sess["runaway"]]
        onset = float(run["start"].min()) if len(run) else NAN
    alerts = _events(res, "spend_alert")
    alert = float(alerts["time"].min()) if len(alerts) else NAN
    att = res.attempts
    end = att["end"].to_numpy()
    until = alert if alert == alert else math.inf
    before = float(att["cost"].to_numpy()[(end >= onset) & (end < until)].sum()) if onset == onset else NAN
    run = sess[sess["runaway"]]
    return pd.Series({
        "onset": onset,
        "alert_time": alert,
        "time_to_detect": alert - onset,
        "spend_before_detection": before,
        "runaway_cost": float(run["cost"].sum()),
        "runaway_steps": float(run["steps"].sum()),
        "blocked_requests": float((res.requests["outcome"] == "spend_blocked").sum()),
        "budget_exhaustions": float(len(_events(res, "budget_exhausted"))),
        "cost_total": float(att["cost"].sum()),
    }, name="spend")


def cost_avoided(guarded: Result, unguarded: Result | None = None) -> pd.Series:
    """Cost with and without the spend guards, same scenario otherwise and same seed (common random
    numbers: the workload and the provider's draws are the same). Runs the unguarded twin when not given."""
    if unguarded is None:
        unguarded = simulate(guarded.scenario.with_overrides({"client.spend": None}), seed=guarded.seed)
    a = float(guarded.attempts["cost"].sum())
    b = float(unguarded.attempts["cost"].sum())
    return pd.Series({"cost_guarded": a, "cost_unguarded": b, "cost_avoided": b - a}, name="cost_avoided")


def validation_retry_cost(res: Result) -> float:
    """What validation cost: the price of every attempt sent because the previous attempt of the same
    request returned an invalid answer."""
    att = res.attempts
    prev_invalid = (att["outcome"].astype(str) == "invalid").shift(1, fill_value=False).to_numpy() & \
        (att["request_id"].to_numpy() == att["request_id"].shift(1, fill_value=-1).to_numpy())
    return float(att["cost"].to_numpy()[prev_invalid].sum())


def _first_onset(res: Result) -> float:
    """The first rise of any provider's invalid-answer rate (NaN when none rises)."""
    ons = [p.quality.onset() for p in res.scenario.providers if p.quality is not None]
    ons = [o for o in ons if o == o]
    return min(ons) if ons else NAN


def contract_report(res: Result, onset: float | None = None) -> pd.Series:
    """What the output contract cost. ``onset``: when answers started breaking (default: the first
    rise of any provider's invalid rate). Returns onset, alert_time (contract_alert), time_to_detect,
    invalid_attempts, invalid_delivered (requests delivered with a broken contract, whole run) and
    after the onset, requests_after_onset, validation_retry_cost."""
    if onset is None:
        onset = _first_onset(res)
    alerts = _events(res, "contract_alert")
    alert = float(alerts["time"].min()) if len(alerts) else NAN
    req = res.requests
    after = req["arrival"] >= onset if onset == onset else np.zeros(len(req), bool)
    invalid = req["outcome"] == "invalid"
    return pd.Series({
        "onset": onset,
        "alert_time": alert,
        "time_to_detect": alert - onset,
        "invalid_attempts": float((res.attempts["outcome"] == "invalid").sum()),
        "invalid_delivered": float(invalid.sum()),
        "invalid_delivered_after_onset": float((invalid & after).sum()),
        "requests_after_onset": float(after.sum()),
        "validation_retry_cost": validation_retry_cost(res),
    }, name="contract")


def recompute_cost(res: Result) -> np.ndarray:
    """Each attempt's cost from its billed tokens and its provider's prices (discount included):
    ((input - cached) x input price + cached x cached price + output x output price) x (1 - discount)."""
    att = res.attempts
    prices = {p.name: p.pricing for p in res.scenario.providers}
    out = np.zeros(len(att))
    prov = att["provider"].astype(str).to_numpy()
    for name, pr in prices.items():
        m = prov == name
        cached_price = pr.input_per_mtok if pr.cached_input_per_mtok is None else pr.cached_input_per_mtok
        inp = att["billed_input_tokens"].to_numpy()[m]
        cached = att["billed_cached_tokens"].to_numpy()[m]
        outp = att["billed_output_tokens"].to_numpy()[m]
        out[m] = ((inp - cached) * pr.input_per_mtok + cached * cached_price + outp * pr.output_per_mtok) \
            * (1.0 - pr.discount) / 1e6
    return out


def billing_residual(res: Result) -> float:
    """cost_total minus the recomputed bill (0 up to rounding when billing is exact)."""
    return float(res.attempts["cost"].sum() - recompute_cost(res).sum())


def story_reports(res: Result) -> dict[str, pd.Series]:
    """The reports that apply to a run: ``spend`` when it has sessions or spend guards, ``contract``
    when a provider has a quality block or the client validates answers (used by ``llmsim run``)."""
    sc = res.scenario
    out = {}
    if sc.workload.sessions or sc.client.spend is not None:
        out["spend"] = spend_report(res)
    if sc.client.validation is not None or any(p.quality is not None for p in sc.providers):
        out["contract"] = contract_report(res)
    return out


def fmt_report_value(name: str, value: float) -> str:
    """Human form of a spend/contract report value.

    >>> fmt_report_value("time_to_detect", 5400.0), fmt_report_value("runaway_cost", 1234.5)
    ('1h30m', '$1,234.50')
    """
    if value != value:
        return "-"
    if name in ("onset", "alert_time", "time_to_detect"):
        return format_duration(value)
    if "cost" in name or "spend" in name:
        return f"${value:,.2f}"
    return f"{value:,.0f}"


def _survival(group) -> Callable[[int], float]:
    """j -> P(a session of ``group`` makes more than j steps): geometric, or from the sampled step counts."""
    if group.stop_probability is not None:
        p = group.stop_probability

        def survive(j):
            return (1.0 - p) ** j
        return survive
    if group.steps is None:
        raise ValueError(f"session group '{group.name}' never stops by itself")
    rng = np.random.default_rng(0)
    n = np.maximum(1, np.rint(group.steps.build().sample(rng, 200_000)))
    counts = np.bincount(n.astype(np.int64))
    tail = 1.0 - np.cumsum(counts) / len(n)  # P(N > j)

    def survive_sampled(j):
        return 1.0 if j == 0 else (float(tail[j - 1]) if j - 1 < len(tail) else 0.0)
    return survive_sampled


def _session_tokens(group, max_steps: int = 100_000) -> tuple[float, float, float]:
    """Expected (uncached input, cached input, output) tokens of one session of ``group`` that is not
    runaway, from the mean sizes: step j is made with probability P(N > j)."""
    survive = _survival(group)
    agents = [(a.input_tokens.build().mean, a.output_tokens.build().mean) for a in group.participants()]
    limit = group.context_limit
    share = group.history_cached_share
    hist = 0.0
    unc = cac = out = 0.0
    for j in range(max_steps):
        w = survive(j)
        if w < 1e-12:
            break
        new, o = agents[j % len(agents)]
        inp = new + hist if group.history else new
        if limit is not None and inp > limit:
            inp = max(new, limit)
        h = max(0.0, inp - new) * share
        unc += w * (inp - h)
        cac += w * h
        out += w * o
        hist += new + o
    return unc, cac, out


def expected_cost(scenario) -> float:
    """Arithmetic cost of a scenario without failures, retries or guards, on its first provider:
    open-loop requests x mean tokens x prices, plus expected sessions x expected tokens per session
    (runaway sessions and ``starts.at`` groups excluded). Assumes sizes are not clipped by max_tokens;
    with a ``context_limit`` it uses mean sizes (exact for fixed sizes).

    >>> import llmsim
    >>> sc = llmsim.Scenario.model_validate({"horizon": "1h", "workload": {"arrivals": {"rate": "1/s"},
    ...     "input_tokens": 1000, "output_tokens": 100}, "providers": [{"name": "p", "capacity": {"slots": 4},
    ...     "pricing": {"input_per_mtok": 3, "output_per_mtok": 15}}]})
    >>> round(expected_cost(sc), 6)
    16.2
    """
    pr = scenario.providers[0].pricing
    keep = 1.0 - pr.discount
    p_in = pr.input_per_mtok * keep / 1e6
    p_c = (pr.input_per_mtok if pr.cached_input_per_mtok is None else pr.cached_input_per_mtok) * keep / 1e6
    p_out = pr.output_per_mtok * keep / 1e6
    wl = scenario.workload
    total = 0.0
    if wl.arrivals is not None:
        n = wl.arrivals.rate_schedule().integral(0.0, scenario.horizon)
        inp = wl.input_tokens.build().mean
        cached = inp * wl.cached_input_share
        total += n * ((inp - cached) * p_in + cached * p_c + wl.output_tokens.build().mean * p_out)
    for g in wl.sessions:
        if g.starts.at is not None or g.runaway >= 1:
            continue
        n = g.starts.rate_schedule().integral(0.0, scenario.horizon) * (1.0 - g.runaway)
        unc, cac, out = _session_tokens(g)
        total += n * (unc * p_in + cac * p_c + out * p_out)
    return total
