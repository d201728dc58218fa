"""What litellm 1.110's Router decides between a failure and its retry, read from its router core's steps.

litellm 1.110 drives every Router call from a compiled core (``litellm.router_rust``): the core returns
steps (``attempt``, ``sleep``, ``select``, ``cache``, ``failed``, ``done``) and the Python host answers
them. This script runs the real Router against ``llmsim serve`` (the fidelity workload's config) with
every step logged, and prints what llmsim's ``litellm-router`` model rests on:

- the seconds of every ``sleep`` step (the retry's wait);
- at each retry's pick: how many deployments were healthy, whether the one that just failed was among
  them, whether that failure cooled it down, and where the retry went;
- how each request ended (``no_healthy_deployments``: refused locally before any attempt);
- the Router's own time from a failure to its next attempt step.

    python benchmarks/litellm_steps.py                      # 150 requests 0.1 s apart over rate-limited-pair
    python benchmarks/litellm_steps.py --requests 300 --spacing 0.2 --deployments 2

Needs the bridges extra (litellm, openai). See docs/bridges.md, "What the real Router does".
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

import numpy as np

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm must not fetch its price map

from llmsim.bridges.fidelity.clients import fidelity_scenario  # noqa: E402
from llmsim.bridges.fidelity.workloads import litellm_router  # noqa: E402
from llmsim.bridges.serve import ServerThread  # noqa: E402


class _Logged:
    """A router-core call whose steps are appended to ``log`` as (time, call id, step, answer)."""

    def __init__(self, call, log: list):
        self.call, self.log = call, log

    def next(self, answer):
        step = self.call.next(answer)
        self.log.append((time.monotonic(), id(self), step, answer))
        return step

    def __getattr__(self, name):
        return getattr(self.call, name)


def _log_steps(log: list) -> None:
    from litellm.router_rust import core  # deferred: optional dependency (llmsim[bridges]), slow to import

    run_steps = core.RustCore._run_steps

    async def logged(self, driver, call):
        return await run_steps(self, driver, _Logged(call, log))

    core.RustCore._run_steps = logged


def _requests(log: list) -> list[list]:
    """The steps of each Router call, in order (a call starts with the event ``retries_opened``)."""
    calls, current = [], {}
    for t, cid, step, answer in log:
        events = [e.get("kind") for e in step.get("events") or []]
        if "retries_opened" in events or cid not in current:
            current[cid] = []
            calls.append(current[cid])
        current[cid].append((t, step, answer, events))
    return calls


class _Tally:
    """What the steps of the Router's calls add up to."""

    def __init__(self):
        self.sleeps, self.picks, self.ends, self.own = Counter(), Counter(), Counter(), []

    def call(self, steps: list) -> None:
        """One call's steps: the state between them is the last deployment tried, the retry number, when
        the last attempt failed and whether that failure cooled its deployment down."""
        state = {"last": None, "retry": 0, "failed_at": None, "cooled": False}
        for t, step, answer, events in steps:
            if isinstance(answer, dict) and answer.get("ok") is False:
                state["failed_at"], state["cooled"] = t, False
            state["cooled"] = state["cooled"] or "cooldown_set" in events
            self.step(t, step, state)

    def step(self, t: float, step: dict, state: dict) -> None:
        kind, retry = step["kind"], state["retry"]
        if kind == "pre_route":
            state["retry"] = step.get("retry", 0)
        elif kind == "sleep":
            self.sleeps[round(float(step["seconds"]), 3)] += 1
        elif kind == "select" and retry > 0:
            cand = step.get("candidates") or []
            self.picks[(len(cand), state["last"] in cand, state["cooled"])] += 1
        elif kind == "attempt":
            if retry > 0 and state["failed_at"] is not None:
                self.own.append(t - state["failed_at"])
                self.picks[("went to", "same" if step["deployment_id"] == state["last"] else "other")] += 1
            state["last"] = step["deployment_id"]
        elif kind in ("failed", "done"):
            self.ends[(step.get("error_kind") or "ok", f"at retry {retry}")] += 1


def summarise(log: list) -> None:
    tally = _Tally()
    for steps in _requests(log):
        tally.call(steps)
    print("sleep seconds before a retry:", dict(tally.sleeps))
    print("retry picks (healthy deployments, the failed one among them, its failure cooled it down):")
    for key, n in sorted(tally.picks.items(), key=str):
        print(f"  {key}: {n}")
    print("how calls ended:", dict(tally.ends))
    if tally.own:
        ms = np.percentile(np.array(tally.own) * 1000, [5, 50, 95])
        print(f"failure to next attempt step: median {ms[1]:.1f} ms (5th-95th {ms[0]:.1f}-{ms[2]:.1f} ms, "
              f"{len(tally.own)} retries)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=150)
    ap.add_argument("--spacing", type=float, default=0.1)
    ap.add_argument("--deployments", type=int, default=2)
    ap.add_argument("--scenario", default="rate-limited-pair")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    log: list = []
    _log_steps(log)
    work = litellm_router(requests=args.requests, spacing=args.spacing, deployments=args.deployments)
    with ServerThread(fidelity_scenario(args.scenario), None, seed=args.seed) as srv:
        work(srv.url)  # in this process: its steps are logged here
    summarise(log)


if __name__ == "__main__":
    main()
