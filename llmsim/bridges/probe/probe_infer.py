"""Infer a client's policy from a probe run: each value with its evidence and a confidence.

>>> Inferred("max_attempts", 3, "3 attempts then gave up (3 runs)", "high").comment()
'3 attempts then gave up (3 runs); confidence high'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from llmsim.bridges.probe.probe_backoff import BackoffFit, fit_backoff
from llmsim.bridges.probe.probe_calls import logical_calls, peak_in_flight
from llmsim.bridges.probe.probe_runner import PhaseRun, ProbeRun

__all__ = ["Inferred", "ProbePolicy", "infer_policy", "waits"]

OUTCOME_FOR = {429: "rate_limited", 529: "overloaded", 503: "overloaded", 500: "server_error"}


@dataclass(frozen=True)
class Inferred:
    """One inferred value with the evidence behind it."""

    name: str
    value: object
    evidence: str
    confidence: str

    def comment(self) -> str:
        return f"{self.evidence}; confidence {self.confidence}"


@dataclass
class ProbePolicy:
    """Everything the probe learned (``values`` by name) plus the fitted backoff."""

    values: dict[str, Inferred] = field(default_factory=dict)
    backoff: BackoffFit | None = None
    retried: dict[int | str, bool] = field(default_factory=dict)  # status (or "timeout") -> retried?

    def add(self, name, value, evidence, confidence="high") -> None:
        self.values[name] = Inferred(name, value, evidence, confidence)

    def get(self, name, default=None):
        v = self.values.get(name)
        return default if v is None else v.value


def waits(run: pd.DataFrame) -> list[tuple[int, float]]:
    """(retry index, seconds from the end of the failed attempt to the next send) in one command run."""
    sent = run["arrival_s"].to_numpy(float)
    end = sent + run["latency_s"].to_numpy(float)
    return [(i, float(sent[i + 1] - end[i])) for i in range(len(run) - 1)]


def _timeline(run: pd.DataFrame) -> str:
    parts = [f"{s}@{t:.2f}s" for s, t in zip(run["http_status"].fillna(0).astype(int), run["arrival_s"] -
                                                  run["arrival_s"].iloc[0])]
    return " ".join(parts)


def _first_calls(pr: PhaseRun) -> list[pd.DataFrame]:
    """Each run's first logical call (a command may make more calls after it)."""
    return [logical_calls(r)[0].reset_index(drop=True) if len(r) else r for r in pr.runs]


def _attempts(pr: PhaseRun, policy: ProbePolicy) -> None:
    firsts = _first_calls(pr)
    counts = [len(r) for r in firsts]
    cap = pr.phase.cap
    n = max(counts)
    runs = f"{len(counts)} run{'s' if len(counts) > 1 else ''}"
    if n > cap:
        policy.add("max_attempts", cap + 1, f"still retrying after {cap} refusals ({runs}): unbounded or > {cap}",
                   "low")
    else:
        conf = "high" if len(set(counts)) == 1 else "medium"
        policy.add("max_attempts", n, f"{pr.phase.status} every time: {counts} attempts then gave up ({runs}); "
                                      f"timeline {_timeline(firsts[0])}", conf)
    policy.retried[pr.phase.status] = n > 1
    samples = [w for r in firsts for w in waits(r)]
    policy.backoff = fit_backoff(samples)


def _hint(run: PhaseRun | None, expect: float) -> tuple[bool, str] | None:
    """Did the waits after the hinted refusals match ``expect`` seconds? (None when no retry was seen.)"""
    if run is None:
        return None
    ws = [w for r in run.runs for _, w in waits(r)]
    if not ws:
        return None
    # the hint, plus up to 1 s of client-side jitter added to it (LiteLLM adds U(0, 0.75) s)
    ok = all(expect - 0.1 <= w <= expect + max(0.15 * expect + 0.1, 1.0) for w in ws)
    return ok, "waits " + ", ".join(f"{w:.2f}s" for w in ws)


def _retry_after(run: ProbeRun, policy: ProbePolicy) -> None:
    ms = run.phases.get("retry-after-ms")
    sec = run.phases.get("retry-after")
    by_ms = _hint(ms, ms.phase.retry_after_ms / 1000) if ms and ms.phase.retry_after_ms else None
    by_sec_in_ms = _hint(ms, ms.phase.retry_after) if ms and ms.phase.retry_after else None
    by_sec = _hint(sec, sec.phase.retry_after) if sec and sec.phase.retry_after else None
    if by_ms and by_ms[0]:
        policy.add("hint_header", "retry-after-ms", f"retry-after-ms {ms.phase.retry_after_ms} with retry-after "
                   f"{ms.phase.retry_after:g}: {by_ms[1]}")
    elif (by_sec_in_ms and by_sec_in_ms[0]) or (by_sec and by_sec[0]):
        ev = by_sec_in_ms[1] if by_sec_in_ms and by_sec_in_ms[0] else by_sec[1]
        policy.add("hint_header", "retry-after", f"retry-after honoured in whole seconds: {ev}")
    elif by_ms or by_sec:
        ev = "; ".join(x[1] for x in (by_ms, by_sec) if x)
        policy.add("hint_header", "none", f"Retry-After not honoured: {ev}")
    else:
        policy.add("hint_header", "none", "no retry after a hinted 429 was seen", "low")
    if by_sec is not None and policy.get("hint_header") == "retry-after-ms":
        policy.add("reads_retry_after_seconds", by_sec[0], f"retry-after {sec.phase.retry_after:g} alone: {by_sec[1]}")


def _statuses(run: ProbeRun, policy: ProbePolicy) -> None:
    for name, pr in run.phases.items():
        ph = pr.phase
        if (ph.status is None and ph.stream is None) or ph.fail == "all" or name.startswith("retry-after") \
                or ph.should_retry is not None or ph.delay is not None:
            continue
        what = f"stream_{ph.stream}" if ph.stream else ph.status
        counts = [len(r) for r in pr.runs]
        policy.retried[what] = max(counts) > ph.fail
        verdict = "retried" if policy.retried[what] else "not retried"
        fault = f"stream {ph.stream} after {ph.after_tokens} tokens" if ph.stream else str(ph.status)
        policy.add(f"status_{what}", verdict, f"{fault} on the first {ph.fail} attempt(s): {counts} attempts; "
                   f"timeline {_timeline(pr.runs[0]) if counts[0] else '-'}")


def _timeout(run: ProbeRun, policy: ProbePolicy) -> None:
    slow = next((pr for pr in run.phases.values() if pr.phase.delay is not None and pr.phase.status is None), None)
    if slow is None:
        return
    first = slow.runs[0]
    if first.empty:
        return
    delay = slow.phase.delay
    left = first.iloc[0]
    if left["outcome"] == "timeout":
        t = float(left["latency_s"])
        policy.add("timeout", round(t, 2), f"hung up {t:.2f} s into an answer delayed {delay:g} s")
        policy.retried["timeout"] = len(first) > 1
        policy.add("retries_timeout", len(first) > 1, f"{len(first)} attempts after the timeout")
    else:
        policy.add("timeout", None, f"waited out an answer delayed {delay:g} s: no per-attempt timeout below "
                                    f"{delay:g} s", "medium")


def _concurrency(run: ProbeRun, policy: ProbePolicy) -> None:
    runs = [r for pr in run.phases.values() for r in pr.runs if len(r)]
    if not runs:
        return
    peak = max(peak_in_flight(r) for r in runs)
    calls = max(len(logical_calls(r)) for r in runs)
    policy.add("concurrency", peak, f"at most {peak} attempt(s) in flight at once in one run of the command "
                                    f"({len(runs)} runs)")
    policy.add("calls_per_run", calls, f"up to {calls} logical call(s) per run (attempts grouped by request "
                                       "body and timing); the first call of each run is the one measured",
               "high" if calls == 1 else "medium")


def _should_retry(run: ProbeRun, policy: ProbePolicy) -> None:
    """x-should-retry: false on a status the client retries, true on one it does not: obeyed?"""
    seen = []
    for pr in run.phases.values():
        ph = pr.phase
        if ph.should_retry is None or not pr.runs or pr.runs[0].empty:
            continue
        retried = len(_first_calls(pr)[0]) > ph.fail
        usual = policy.retried.get(ph.status)
        if usual is None or usual == ph.should_retry:
            continue  # the header would not change what the client does anyway: no evidence
        seen.append((retried == ph.should_retry, f"{ph.status} with x-should-retry: {str(ph.should_retry).lower()}"
                                                 f" {'retried' if retried else 'not retried'} (otherwise "
                                                 f"{'retried' if usual else 'not retried'})"))
    if seen:
        obeyed = all(ok for ok, _ in seen)
        policy.add("respect_should_retry", obeyed, "; ".join(ev for _, ev in seen),
                   "high" if len(seen) > 1 or not obeyed else "medium")


def _deadline(run: ProbeRun, policy: ProbePolicy) -> None:
    """Every attempt fails slowly: fewer attempts than max_attempts, or an attempt cut short, is a deadline."""
    pr = next((p for p in run.phases.values() if p.phase.fail == "all" and p.phase.delay is not None
               and p.phase.status is not None), None)
    most = policy.get("max_attempts")
    if pr is None or most is None or not pr.runs or pr.runs[0].empty:
        return
    call = _first_calls(pr)[0]
    took = float((call["arrival_s"] + call["latency_s"]).max() - call["arrival_s"].iloc[0])
    cut = bool((call["outcome"] == "timeout").any())
    ev = f"{pr.phase.status} after {pr.phase.delay:g} s every time: {len(call)} attempts over {took:.1f} s " \
         f"(max_attempts {most}); timeline {_timeline(call)}"
    if cut or len(call) < min(most, pr.phase.cap):
        policy.add("deadline", round(took, 1), f"{ev}: stopped early{', cutting an attempt' if cut else ''}")
        policy.add("deadline_cuts_attempt", cut, ev)
    else:
        policy.add("deadline", None, f"{ev}: no overall deadline below {took:.1f} s", "medium")


def infer_policy(run: ProbeRun) -> ProbePolicy:
    """Every value the run's phases answer (a phase missing from the script leaves its question open)."""
    policy = ProbePolicy()
    for pr in run.phases.values():
        if pr.phase.fail == "all" and pr.phase.status is not None and pr.phase.delay is None \
                and "max_attempts" not in policy.values:
            _attempts(pr, policy)
    _retry_after(run, policy)
    _statuses(run, policy)
    _should_retry(run, policy)
    _timeout(run, policy)
    _deadline(run, policy)
    _concurrency(run, policy)
    return policy
