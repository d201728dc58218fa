"""A stochastic incident generator per provider, with presets fitted to public status-page data.

Incidents start as a Poisson process (``rate_per_month``); durations are log-normal (median and
log-sd in hours); each incident gets an impact class (0 none/maintenance, 1 minor, 2 major,
3 critical) with the fitted shares, and a small fitted share of incidents are latency incidents.

Derivation (``fit_incident_model``; rerun it on the data to check the numbers below): status-page
incidents of Chu et al., ICPE'25 (github.com/atlarge-research/llm-service-analysis, file
data/clean/llm_status_incidents_2023_2024.csv; tests/test_traces_incidents.py refits it when the data
is present), incidents starting 2023-03-01 .. 2024-08-31
that touch the API (OpenAI: column API == 1; Anthropic: api.anthropic.com == 1; Character.AI: all).
rate = count / months observed (months of 30.4375 days; OpenAI: 2023-03-01 to 2024-09-01;
others: from their first incident in the window
to 2024-09-01); duration = close - start, incidents of zero length dropped, log-normal by the mean
and sample sd of log hours; impact shares = shares of incident_impact_level (4 counted as 3);
latency share = share of titles mentioning "latency" or "slow".

What the data does NOT give is how bad an incident is for a caller: the error rates and capacity
multipliers per impact class (``IMPACT_EFFECTS``) are assumptions, chosen so that a major incident
fails a quarter of calls and a critical one most of them; latency incidents add ``LATENCY_EXTRA``
seconds. Change them per provider with explicit parameters.

>>> import numpy as np
>>> from llmsim.config.incident_model import PRESETS
>>> inc = draw_incidents(PRESETS["openai-api-2024"], 30 * 86400.0, np.random.default_rng(1))
>>> 2 <= len(inc) <= 20 and all(i.duration > 0 for i in inc)
True
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from llmsim.config.incident_model import IncidentModel
from llmsim.config.provider import Incident

__all__ = ["IMPACT_EFFECTS", "LATENCY_EXTRA", "draw_incidents", "fit_incident_model",
           "with_drawn_incidents", "MONTH_S"]

MONTH_S = 30.4375 * 86400.0

#: impact class -> (server_error_rate, capacity multiplier); assumptions, not in the data
IMPACT_EFFECTS: dict[int, tuple[float, float]] = {0: (0.01, 1.0), 1: (0.05, 0.9), 2: (0.25, 0.6), 3: (0.8, 0.2)}
#: seconds added to TTFT during a latency incident (assumption)
LATENCY_EXTRA = 3.0


_SELECT = {"openai-api-2024": ("openai", "API"), "anthropic-api-2024": ("anthropic", "api.anthropic.com"),
           "character-ai-2024": ("character", None)}


def fit_incident_model(incidents: pd.DataFrame, preset: str, start: str = "2023-03-01",
                       end: str = "2024-09-01") -> IncidentModel:
    """Fit a preset's parameters from the status-page incident table (the derivation of PRESETS)."""
    provider, flag = _SELECT[preset]
    d = incidents
    t0 = pd.to_datetime(d["start_timestamp"], utc=True, format="ISO8601")
    t1 = pd.to_datetime(d["close_timestamp"], utc=True, format="ISO8601")
    lo, hi = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    sel = (d["provider"] == provider) & (t0 >= lo) & (t0 < hi)
    if flag is not None:
        sel &= d[flag] == 1
    x = d[sel]
    first = lo if provider == "openai" else t0[sel].min()
    months = (hi - first).total_seconds() / MONTH_S
    hours = ((t1 - t0).dt.total_seconds() / 3600)[sel]
    hours = hours[hours > 0]
    logs = np.log(hours.to_numpy())
    impact = x["incident_impact_level"].clip(upper=3).value_counts(normalize=True)
    shares = tuple(round(float(impact.get(k, 0.0)), 3) for k in range(4))
    latency = x["Incident_Title"].str.lower().str.contains("latenc|slow").mean()
    return IncidentModel(preset, round(len(x) / months, 3), round(float(np.exp(logs.mean())), 3),
                         round(float(logs.std(ddof=1)), 3), shares, round(float(latency), 3), int(len(x)))


def draw_incidents(model: IncidentModel, horizon: float, rng: np.random.Generator, start: float = 0.0) -> list:
    """Incident windows (config ``Incident`` objects) in [start, start + horizon) seconds."""
    lam = model.rate_per_month * horizon / MONTH_S
    n = int(rng.poisson(lam))
    starts = np.sort(rng.uniform(start, start + horizon, n))
    mu = math.log(model.duration_median_h * 3600.0)
    durations = np.exp(mu + model.duration_sigma * rng.standard_normal(n))
    p = np.asarray(model.impact_shares, dtype=float)
    classes = rng.choice(4, size=n, p=p / p.sum())
    latency = rng.random(n) < model.latency_share
    out = []
    for k in range(n):
        err, cap = IMPACT_EFFECTS[int(classes[k])]
        if latency[k]:
            fields = {"extra_latency": LATENCY_EXTRA}
        else:
            fields = {"server_error_rate": err, **({"capacity": cap} if cap < 1.0 else {})}
        out.append(Incident(name=f"{model.name}#{k} impact {int(classes[k])}", start=float(starts[k]),
                            duration=float(max(durations[k], 1.0)), **fields))
    return out


def with_drawn_incidents(provider, index: int, streams, horizon: float):
    """The provider config plus incidents drawn from its ``incident_model`` (stream ``incidents``/index),
    or the provider unchanged. Deterministic per seed and independent of the client policy."""
    spec = getattr(provider, "incident_model", None)
    if spec is None:
        return provider
    drawn = draw_incidents(spec.build(), horizon, streams.rng("incidents", index))
    return provider.model_copy(update={"incidents": list(provider.incidents) + drawn})
