"""``simulate(scenario, seed=None) -> Result``: the one entry point to run a scenario.

>>> import llmsim
>>> res = llmsim.simulate(llmsim.load_scenario("tuesday").with_overrides({"horizon": "10m"}), seed=3)
>>> list(res.requests.columns[:4])
['request_id', 'arrival', 'end', 'outcome']
"""

from __future__ import annotations

import os
from pathlib import Path

from llmsim.config.loading import HORIZON_CAP_VARIABLE, capped_horizon, load_scenario
from llmsim.config.scenario import Scenario
from llmsim.engine.arrivals import ExplicitArrivals
from llmsim.engine.simulation import run_model, run_recorded
from llmsim.engine.streaming import StreamingRecorder
from llmsim.results import Result
from llmsim.traces.replay import replay_file

__all__ = ["simulate"]


def simulate(scenario: Scenario | dict | str | Path, seed: int | None = None,
             arrivals: ExplicitArrivals | None = None) -> Result:
    """Run one simulation. ``seed=None`` uses the scenario's seed. Same scenario and seed -> same tables.

    ``arrivals`` (optional) gives explicit arrival times and token counts instead of the scenario's
    Poisson workload, e.g. a replayed trace. The scenario's ``keep`` says what the Result holds: every
    table (``all``), no attempts table (``requests``), or the summary only (``summary``, streamed). The
    environment variable ``LLMSIM_HORIZON_CAP`` (a duration), when set, cuts every horizon to it
    (``capped_horizon``): the docs tests use it for speed."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    sc = capped_horizon(sc, os.environ.get(HORIZON_CAP_VARIABLE))
    seed = sc.seed if seed is None else int(seed)
    if arrivals is None and sc.workload.trace is not None:
        tr = sc.workload.trace
        arrivals, _ = replay_file(tr.path, tr.options(), seed, sc.horizon, tr.format, tr.mapping, tr.time_unit)
    if sc.keep == "summary":  # unset (None) keeps everything
        rec = run_recorded(sc, seed, arrivals, StreamingRecorder([p.name for p in sc.providers], sc.warmup,
                                                                   sc.horizon))
        return Result.streamed(sc, seed, rec.summary())
    requests, attempts, events = run_model(sc, seed, arrivals)
    res = Result(sc, seed, requests, attempts, events)
    if sc.keep == "requests":  # the summary needs the attempts: computed once, before they go
        res.kept_summary = res.summary()
        res.attempts = None
    return res
