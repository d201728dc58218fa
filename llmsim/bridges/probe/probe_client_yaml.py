"""The probed policy as a client config (``llmsim run tuesday --set client=probed.yaml``, ``llmsim compare
tuesday --client probed=probed.yaml``; the same data is a scenario's ``client:`` block), with a comment per
inferred value saying its evidence and confidence.

>>> from llmsim.bridges.probe.probe_infer import ProbePolicy
>>> p = ProbePolicy()
>>> p.add("max_attempts", 4, "4 attempts")
>>> client_dict(p)["retry"]["max_attempts"]
4
"""

from __future__ import annotations

import json

from llmsim.bridges.probe.probe_infer import OUTCOME_FOR, ProbePolicy
from llmsim.config.client import Client

__all__ = ["client_dict", "client_yaml"]


def _on(policy: ProbePolicy) -> list[str]:
    on = []
    for status, outcome in OUTCOME_FOR.items():
        if policy.retried.get(status) and outcome not in on:
            on.append(outcome)
    if policy.retried.get("timeout"):
        on.append("timeout")
    return on


def _backoff(policy: ProbePolicy) -> dict:
    fit = policy.backoff
    if fit is None:
        return {"kind": "constant", "base": 0.0, "jitter": "none"}
    jitter = {"multiplicative": [fit.lo, 1.0]} if fit.jitter == "multiplicative" else \
        {"additive": round(fit.additive, 4)} if fit.jitter == "additive" else fit.jitter
    out = {"kind": fit.kind, "base": round(fit.base, 4), "multiplier": fit.multiplier,
           "cap": round(max(fit.cap, fit.base), 4), "jitter": jitter}
    if fit.kind == "constant":
        out.pop("multiplier")
    return out


def client_dict(policy: ProbePolicy) -> dict:
    """The client config (plain data, validated by llmsim's Client model)."""
    hint = policy.get("hint_header", "none")
    retry = {"max_attempts": int(policy.get("max_attempts", 1)), "on": _on(policy),
             "statuses": sorted(s for s, r in policy.retried.items() if r and isinstance(s, int) and s < 500
                                and s != 429),
             "backoff": _backoff(policy), "retry_after": "ignore" if hint == "none" else "honor",
             "hint_header": hint}
    if policy.get("timeout") is not None:
        retry["timeout"] = policy.get("timeout")
    if policy.get("respect_should_retry"):
        retry["respect_should_retry"] = True
    data = {"retry": retry}
    if policy.get("deadline") is not None:
        if policy.get("deadline_cuts_attempt"):
            data["deadline"] = policy.get("deadline")
        else:
            retry["stop_after_delay"] = policy.get("deadline")
    Client.model_validate(data)
    return data


def _comment(policy: ProbePolicy, *names: str) -> str:
    parts = [policy.values[n].comment() for n in names if n in policy.values]
    return f"  # {' | '.join(parts)}" if parts else ""


def _cap_note(fit) -> str:
    if fit.cap_seen:
        return "cap = where the waits stopped growing"
    return "cap = the longest scheduled wait seen (a larger one was not probed)"


def client_yaml(policy: ProbePolicy, command: list[str]) -> str:
    """The YAML text: one line per value, each with its evidence."""
    d = client_dict(policy)["retry"]
    fit = policy.backoff
    retried = ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in policy.retried.items())
    lines = [f"# llmsim probe of: {' '.join(command)}",
             "# use: llmsim run tuesday --set client=THIS_FILE",
             "#  or: llmsim compare tuesday --client probed=THIS_FILE --client sdk=openai-sdk",
             "retry:",
             f"  max_attempts: {d['max_attempts']}{_comment(policy, 'max_attempts')}",
             f"  on: {json.dumps(d['on'])}  # retried when probed: {retried or 'nothing probed'}",
             f"  statuses: {json.dumps(d['statuses'])}  # 4xx other than 429 that were retried",
             f"  backoff: {json.dumps(d['backoff'])}  # "
             + (f"fitted: {fit.describe()}; " + _cap_note(fit) + "; confidence "
                + ("high" if fit.n >= 6 and fit.p_value > 0.05 else "medium") if fit else "no wait seen"),
             f"  retry_after: {d['retry_after']}{_comment(policy, 'hint_header')}",
             f"  hint_header: {d['hint_header']}{_comment(policy, 'reads_retry_after_seconds')}"]
    if "timeout" in d:
        lines.append(f"  timeout: {d['timeout']}{_comment(policy, 'timeout')}")
    else:
        lines.append(f"  # timeout: none inferred{_comment(policy, 'timeout')}")
    lines.extend(_extra_lines(policy, client_dict(policy)))
    return "\n".join(lines) + "\n"


def _extra_lines(policy: ProbePolicy, data: dict) -> list[str]:
    """x-should-retry, the overall deadline, and what the probe saw of calls and concurrency (comments)."""
    d = data["retry"]
    out = []
    if "respect_should_retry" in policy.values:
        out.append(f"  respect_should_retry: {str(bool(d.get('respect_should_retry'))).lower()}"
                   f"{_comment(policy, 'respect_should_retry')}")
    if "stop_after_delay" in d:
        out.append(f"  stop_after_delay: {d['stop_after_delay']}{_comment(policy, 'deadline')}")
    if "deadline" in data:
        out.append(f"deadline: {data['deadline']}{_comment(policy, 'deadline')}")
    elif "deadline" in policy.values and policy.get("deadline") is None:
        out.append(f"# deadline: none inferred{_comment(policy, 'deadline')}")
    for name in ("concurrency", "calls_per_run"):
        if name in policy.values:
            out.append(f"# {name}: {policy.get(name)}{_comment(policy, name)}")
    return out
