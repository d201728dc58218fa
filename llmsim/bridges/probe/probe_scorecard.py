"""The resilience scorecard: findings about a probed client, each with its evidence, and the fleet-level
consequence of running the probed client (vs the closest preset) on a packaged scenario.

>>> from llmsim.bridges.probe.probe_infer import ProbePolicy
>>> p = ProbePolicy(); p.add("status_400", "retried", "400 on the first attempt: [2] attempts")
>>> p.retried[400] = True
>>> [f.code for f in findings(p)]
['retries-400']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from llmsim.bridges.probe.probe_client_yaml import client_dict
from llmsim.bridges.probe.probe_infer import ProbePolicy
from llmsim.config.client import Client
from llmsim.config.client_presets import CLIENT_PRESETS

__all__ = ["Finding", "Scorecard", "findings", "closest_preset", "fleet_consequence", "fixed_clients", "FLEET_METRICS"]

FLEET_METRICS = ("attempts_per_request", "wasted_cost", "latency_p95", "success_rate")


@dataclass(frozen=True)
class Finding:
    """One weakness: a short code, the sentence, and the evidence (the probe's timeline)."""

    code: str
    title: str
    evidence: str


@dataclass
class Scorecard:
    """Findings, and the fleet table (client x metric means) when it was simulated."""

    findings: list[Finding] = field(default_factory=list)
    fleet: pd.DataFrame | None = None
    scenario: str = "tuesday"
    preset: str | None = None

    def lines(self) -> list[str]:
        out = [f"- {f.title}\n    evidence: {f.evidence}" for f in self.findings] or ["- no findings"]
        if self.fleet is not None:
            out.append(f"fleet at {self.scenario} (probed client, closest preset {self.preset}, and the probed "
                       "client with each finding fixed, fix:<finding>):")
            out.extend("    " + ln for ln in self.fleet.round(4).to_string().splitlines())
        return out


def _ev(policy: ProbePolicy, name: str) -> str:
    v = policy.values.get(name)
    return v.evidence if v else "not probed"


def _status_findings(policy: ProbePolicy) -> list[Finding]:
    out = []
    for status, title in ((400, "retries 400 Bad Request (a request that cannot succeed is sent again)"),
                          (401, "retries 401 Unauthorized")):
        if policy.retried.get(status):
            out.append(Finding(f"retries-{status}", title, _ev(policy, f"status_{status}")))
    return out


def _deadline_finding(policy: ProbePolicy) -> Finding | None:
    t = policy.values.get("timeout")
    if t is None or policy.get("deadline") is not None:
        return None
    fit = policy.backoff
    n = int(policy.get("max_attempts", 1))
    waits = 0.0 if fit is None else sum(min(fit.cap, fit.base * fit.multiplier ** i) for i in range(n - 1))
    if t.value is None:
        return Finding("no-deadline", f"no per-attempt timeout seen and no overall deadline: worst case more than "
                       f"{n} x the slow answer + {waits:.1f} s of waits", t.evidence)
    worst = n * float(t.value) + waits
    if worst > 60:
        return Finding("no-deadline", f"no overall deadline: worst case {worst:.0f} s ({n} attempts x "
                       f"{float(t.value):g} s + {waits:.1f} s of waits)", t.evidence)
    return None


def findings(policy: ProbePolicy, nested: str | None = None) -> list[Finding]:
    """The weaknesses the inferred values show (``nested``: evidence of retry loops inside retry loops)."""
    out = _status_findings(policy)
    n = int(policy.get("max_attempts", 1))
    if policy.retried.get(429) and policy.get("hint_header", "none") == "none" and "hint_header" in policy.values:
        out.append(Finding("ignores-retry-after", "retries 429 without honouring Retry-After",
                           _ev(policy, "hint_header")))
    fit = policy.backoff
    if fit is not None and fit.jitter == "none" and n > 1:
        out.append(Finding("no-jitter", "no jitter: synchronised retries", f"waits fitted as {fit.describe()}"))
    if policy.values.get("max_attempts") is not None and policy.values["max_attempts"].confidence == "low":
        out.append(Finding("unbounded-retries", "retries without a visible bound", _ev(policy, "max_attempts")))
    if nested:
        out.append(Finding("nested-retries", f"nested retries: attempts multiply to {n}", nested))
    d = _deadline_finding(policy)
    if d is not None:
        out.append(d)
    return out


def _retry_of(client: Client):
    """The client's retry policy: its own, or its first retry layer's (LiteLLM's Router is a layer stack)."""
    if client.retry is not None:
        return client.retry
    return next((layer.retry for layer in client.layers or [] if getattr(layer, "retry", None) is not None), None)


def _family(jitter) -> str:
    """The jitter family's name: "full", {"additive": 0.75} and AdditiveJitter(...) -> "full", "additive"."""
    if isinstance(jitter, str):
        return jitter
    if isinstance(jitter, dict):
        return next(iter(jitter), "")
    return type(jitter).__name__.removesuffix("Jitter").lower()


def closest_preset(policy: ProbePolicy) -> str:
    """The library preset nearest the probed retry policy (attempts, backoff base and jitter family, hint header).

    >>> from llmsim.bridges.probe.probe_backoff import BackoffFit
    >>> p = ProbePolicy(backoff=BackoffFit("exponential", 0.5, 2.0, 1.0, "additive", 0.0, 0.5, 6, 0.75))
    >>> p.add("max_attempts", 3, ""); p.add("hint_header", "retry-after", "")
    >>> closest_preset(p)
    'litellm-router'
    """
    mine = client_dict(policy)["retry"]
    best, score = "naive", float("inf")
    for name, (_, data) in CLIENT_PRESETS.items():
        r = _retry_of(Client.model_validate(data))
        if r is None:
            continue
        s = abs(r.max_attempts - mine["max_attempts"])
        s += abs(r.backoff.base - mine["backoff"]["base"]) / max(r.backoff.base, mine["backoff"]["base"], 1e-3)
        s += 0.5 * (_family(r.backoff.jitter) != _family(mine["backoff"]["jitter"])) \
            + 0.5 * (r.hint_header != mine["hint_header"])
        if s < score:
            best, score = name, s
    return best


def fixed_clients(policy: ProbePolicy, found: list[Finding]) -> dict[str, dict]:
    """The probed client with one finding fixed, per finding the simulator can show (``fix:<code>``)."""
    base = client_dict(policy)
    out = {}
    for f in found:
        retry = dict(base["retry"])
        if f.code == "ignores-retry-after":
            retry.update(retry_after="honor", hint_header="retry-after-ms")
        elif f.code == "no-jitter":
            retry["backoff"] = {**retry["backoff"], "jitter": "full"}
        elif f.code in ("unbounded-retries", "nested-retries"):
            retry["max_attempts"] = 3
        elif f.code == "no-deadline":
            out[f"fix:{f.code}"] = {"retry": retry, "deadline": 60.0}
            continue
        else:
            continue  # 400/401 do not occur in the packaged scenarios: no fleet consequence to show
        out[f"fix:{f.code}"] = {"retry": retry}
    return out


def fleet_consequence(policy: ProbePolicy, scenario: str = "tuesday", replications: int = 2,
                      preset: str | None = None, seed: int | None = None,
                      found: list[Finding] | None = None) -> tuple[str, pd.DataFrame]:
    """Simulate the probed client, the closest preset and the probed client with each finding fixed on
    ``scenario`` (paired replications): per client, the mean of amplification, wasted spend, p95 latency and
    success rate."""
    import llmsim  # deferred: the simulator is only needed when the fleet is simulated

    preset = preset or closest_preset(policy)
    sc = llmsim.load_scenario(scenario)
    clients = {"probed": client_dict(policy), preset: preset, **fixed_clients(policy, found or [])}
    cmp = llmsim.compare(sc, clients=clients, replications=replications, seed=seed, workers=1, progress=None)
    summary = cmp.summary(list(FLEET_METRICS))
    if "client" in summary.columns:
        summary = summary.set_index("client")
    table = summary[[f"{m}_mean" for m in FLEET_METRICS]]
    table.columns = list(FLEET_METRICS)
    return preset, table
