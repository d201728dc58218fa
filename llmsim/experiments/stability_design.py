"""The cells of a stability map: a trigger (capacity dip, slowdown, error episode or load burst) of some
duration hits a scenario whose workload is scaled by a load multiplier; one picklable task runs a cell.

>>> import llmsim
>>> sc = llmsim.Scenario.model_validate({"horizon": 60, "workload": {"arrivals": {"rate": "4/s"}},
...                                      "providers": [{"name": "p", "capacity": {"slots": 4}}]})
>>> cell = cell_scenario(sc, sc.client.model_dump(mode="json"), 1.5, Trigger("dip", 0.5, 30.0), settle=60, observe=90)
>>> cell.workload.arrivals.rate, cell.providers[0].incidents[0].capacity, cell.horizon
(6.0, 0.5, 180.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from llmsim.config.scenario import Scenario, validate_scenario
from llmsim.core.errors import InputError
from llmsim.core.goodput_collapse import CollapseCriteria, detect_collapse
from llmsim.simulator import simulate

__all__ = ["Trigger", "TRIGGER_KINDS", "cell_scenario", "CellTask", "run_cell"]

#: trigger kind -> what ``depth`` means
TRIGGER_KINDS = {
    "dip": "share of capacity (slots) left during the dip, 0..1",
    "slowdown": "service takes this many times longer, >= 1",
    "errors": "share of attempts failing with a server error (5xx), 0..1",
    "burst": "extra load on top of the workload: 1.0 doubles the arrival rate",
}


@dataclass(frozen=True)
class Trigger:
    """What happens at ``settle`` seconds, for ``duration`` seconds (``depth``: see ``TRIGGER_KINDS``).

    >>> Trigger("dip", 0.5, 30).label
    'dip 0.5 for 30s'
    """

    kind: str
    depth: float
    duration: float

    def __post_init__(self) -> None:
        if self.kind not in TRIGGER_KINDS:
            raise InputError("trigger", f"unknown kind {self.kind!r} (use {', '.join(TRIGGER_KINDS)})")
        if self.duration <= 0:
            raise InputError("trigger", f"duration must be > 0 s, got {self.duration:g}")
        bad = {"dip": not 0 <= self.depth < 1, "slowdown": self.depth < 1, "errors": not 0 < self.depth <= 1,
               "burst": self.depth <= 0}[self.kind]
        if bad:
            raise InputError("trigger", f"depth {self.depth:g} is out of range for {self.kind}: "
                                        f"{TRIGGER_KINDS[self.kind]}")

    @property
    def label(self) -> str:
        return f"{self.kind} {self.depth:g} for {self.duration:g}s"


def _incident(trigger: Trigger, start: float) -> dict:
    key = {"dip": "capacity", "slowdown": "slowdown", "errors": "server_error_rate"}[trigger.kind]
    return {"name": "trigger", "start": start, "duration": trigger.duration, key: trigger.depth}


def _scaled_arrivals(arrivals: dict, load: float, trigger: Trigger, start: float) -> dict:
    """The Poisson arrivals scaled by ``load`` (and, for a burst, raised during the trigger)."""
    pairs = [[0.0, arrivals["rate"]]] if arrivals.get("rate") is not None else [list(p) for p in arrivals["schedule"]]
    if trigger.kind == "burst" and "kind" in arrivals:  # Poisson arrivals only, not session starts
        end = start + trigger.duration
        at = [t for t, _ in pairs]
        rate_at = [pairs[int(np.searchsorted(at, x, side="right")) - 1][1] for x in (start, end)]
        inside = [[t, r * (1 + trigger.depth)] for t, r in pairs if start < t < end]
        pairs = ([p for p in pairs if p[0] < start] + [[start, rate_at[0] * (1 + trigger.depth)]] + inside
                 + [[end, rate_at[1]]] + [p for p in pairs if p[0] > end])
    scaled = [[t, r * load] for t, r in pairs]
    if len(scaled) == 1:
        return {"rate": scaled[0][1]}
    return {"schedule": scaled}


def cell_scenario(base: Scenario, client: dict, load: float, trigger: Trigger, settle: float,
                  observe: float) -> Scenario:
    """``base`` with ``client``; its Poisson arrivals, session start rates and trace replay rate times ``load``;
    ``trigger`` at ``settle`` seconds; run until ``observe`` seconds after the trigger ended (no warm-up, 1 s
    drain). The scenario's own incidents and drawn incident model are removed: the trigger is the only one."""
    data = base.model_dump(mode="json")
    workload = data["workload"]
    if workload.get("arrivals") is None and trigger.kind == "burst":
        raise InputError("workload.arrivals", "a burst trigger raises Poisson arrivals: the workload has none")
    if workload.get("arrivals") is not None:
        workload["arrivals"] = {"kind": "poisson", **_scaled_arrivals(workload["arrivals"], load, trigger, settle)}
    for i, group in enumerate(workload.get("sessions") or []):
        starts = group["starts"]
        if starts.get("at") is not None:
            raise InputError(f"workload.sessions[{i}].starts", "a stability map scales session start rates: "
                                                               "scheduled starts ('at') cannot be scaled")
        group["starts"] = _scaled_arrivals(starts, load, trigger, settle)
    if workload.get("trace") is not None:
        workload["trace"]["rate_multiplier"] *= load
    for p in data["providers"]:
        p["incidents"] = [] if trigger.kind == "burst" else [_incident(trigger, settle)]
        p["incident_model"] = None
    data.update(client=client, horizon=settle + trigger.duration + observe, warmup=0.0, drain=1.0)
    return validate_scenario(data)


@dataclass(frozen=True)
class CellTask:
    """One run of a map: which cell (client, load, trigger), which replication, and how to judge it."""

    base: dict
    client_name: str
    client: dict
    load: float
    trigger: Trigger
    replication: int
    seed: int
    settle: float
    recover_within: float
    criteria: CollapseCriteria = field(default_factory=CollapseCriteria)


def run_cell(task: CellTask, keep: bool = False):
    """Simulate one cell and replication: collapse verdict plus success rate, amplification and cost (a dict);
    with ``keep`` the run's Result instead."""
    base = Scenario.model_validate(task.base)
    observe = task.recover_within + task.criteria.recovery_window
    sc = cell_scenario(base, task.client, task.load, task.trigger, task.settle, observe)
    res = simulate(sc, seed=task.seed)
    if keep:
        return res
    req = res.requests
    end = task.settle + task.trigger.duration
    v = detect_collapse(req["arrival"].to_numpy(), req["end"].to_numpy(), (req["outcome"] == "ok").to_numpy(),
                        sc.horizon, 0.0, [(task.settle, end)], task.criteria)
    recovered = v["collapsed"] == 0.0 or v["time_to_recover"] <= task.recover_within
    att = res.attempts
    n = max(1, len(req))
    return {"client": task.client_name, "load": task.load, "kind": task.trigger.kind, "depth": task.trigger.depth,
            "duration": task.trigger.duration, "replication": task.replication, "seed": task.seed,
            "recovered": bool(recovered), **v, "success_rate": float((req["outcome"] == "ok").mean()),
            "attempts_per_request": len(att) / n, "cost_total": float(att["cost"].sum())}

