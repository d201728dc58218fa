"""Run the user's command once per probe phase against the probe endpoint, and keep what it sent.

The command's environment points the common SDKs at the endpoint (``OPENAI_BASE_URL`` with /v1,
``ANTHROPIC_BASE_URL``, ``LLMSIM_URL``, dummy API keys), each run at its own lane ``/probe/<n>``. The
untimed phases' runs start together first; once each has called (or ended) the timed phases run one after
the other beside them (see ProbeScript). The command runs in its own process group; one that outlives
``timeout`` is killed with its children. The server stops whatever happens.

>>> probe_env("http://127.0.0.1:9")["OPENAI_BASE_URL"]
'http://127.0.0.1:9/v1'
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

import pandas as pd

from llmsim.bridges.probe.probe_script import ProbePhase, ProbeScript
from llmsim.bridges.probe.probe_server import ProbeThread
from llmsim.core.errors import InputError

__all__ = ["PhaseRun", "ProbeRun", "run_probe", "probe_env"]


@dataclass
class PhaseRun:
    """One phase: the attempts the endpoint saw while the command ran (sorted by send time)."""

    phase: ProbePhase
    runs: list[pd.DataFrame]  # the attempts of each run of the command
    returncodes: list[int]

    @property
    def attempts(self) -> pd.DataFrame:
        """Every run's attempts together."""
        return pd.concat(self.runs, ignore_index=True) if self.runs else pd.DataFrame()


@dataclass
class ProbeRun:
    """Every phase's run, and the whole attempt log (canonical trace table)."""

    command: list[str]
    phases: dict[str, PhaseRun] = field(default_factory=dict)
    trace: pd.DataFrame | None = None


def probe_env(url: str, base: dict | None = None) -> dict[str, str]:
    """The environment that points the common SDKs at ``url``."""
    env = dict(os.environ if base is None else base)
    env.update({"OPENAI_BASE_URL": f"{url}/v1", "ANTHROPIC_BASE_URL": url, "LLMSIM_URL": url,
                "OPENAI_API_KEY": "sk-llmsim-probe", "ANTHROPIC_API_KEY": "sk-ant-llmsim-probe",
                "LITELLM_LOCAL_MODEL_COST_MAP": "True", "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost"})
    return env


def _start(command: list[str], env: dict) -> subprocess.Popen:
    try:
        return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    except FileNotFoundError:
        raise InputError("COMMAND", f"{command[0]}: command not found") from None
    except PermissionError:
        raise InputError("COMMAND", f"{command[0]}: not executable") from None


def _hangs(timeout: float, phase: str) -> InputError:
    return InputError("--timeout", f"the command was still running after {timeout:g} s in phase '{phase}' (it "
                                   "hangs, or raise --timeout)")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@dataclass
class _Lane:
    """One run of the command: its phase, lane name, process and when it started."""

    phase: ProbePhase
    name: str
    proc: subprocess.Popen | None = None
    started: float = 0.0


def _never_called(command: list[str], code: int | None) -> InputError:
    return InputError("COMMAND", f"{' '.join(command)} never called the endpoint (exit code {code}); it must read "
                                 "OPENAI_BASE_URL, ANTHROPIC_BASE_URL or LLMSIM_URL")


def _await_first_calls(srv: ProbeThread, lanes: list[_Lane], command: list[str], timeout: float) -> None:
    """Wait until every started run has called (or ended): its start-up is over, timed runs may begin."""
    while True:
        called = srv.server.lanes_called()
        waiting = [ln for ln in lanes if ln.name not in called and ln.proc.poll() is None]
        if not waiting:
            break
        if time.monotonic() - waiting[0].started > timeout:
            raise _hangs(timeout, waiting[0].phase.name)
        time.sleep(0.05)
    if lanes and not srv.server.lanes_called():
        raise _never_called(command, lanes[0].proc.returncode)


def _run_lanes(command: list[str], script: ProbeScript, srv: ProbeThread, timeout: float) -> list[_Lane]:
    lanes = [_Lane(ph, str(i)) for i, ph in enumerate(ph for ph in script.phases for _ in range(ph.repeat))]
    beside = [ln for ln in lanes if script.parallel and not ln.phase.timed]
    alone = [ln for ln in lanes if ln not in beside]
    try:
        for ln in beside:
            srv.server.set_lane(ln.name, ln.phase)
            ln.proc, ln.started = _start(command, probe_env(f"{srv.url}/probe/{ln.name}")), time.monotonic()
        _await_first_calls(srv, beside, command, timeout)
        for ln in alone:
            srv.server.set_lane(ln.name, ln.phase)
            ln.proc, ln.started = _start(command, probe_env(f"{srv.url}/probe/{ln.name}")), time.monotonic()
            try:
                ln.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                raise _hangs(timeout, ln.phase.name) from None
            if ln is lanes[0] and not srv.server.lanes_called():
                raise _never_called(command, ln.proc.returncode)
        for ln in beside:
            try:
                ln.proc.wait(max(0.0, timeout - (time.monotonic() - ln.started)))
            except subprocess.TimeoutExpired:
                raise _hangs(timeout, ln.phase.name) from None
    finally:
        for ln in lanes:
            if ln.proc is not None:
                _kill(ln.proc)
    time.sleep(0.05)  # let the handler of a just-closed connection log it
    return lanes


def run_probe(command: list[str], script: ProbeScript, timeout: float = 120.0) -> ProbeRun:
    """Run ``command`` once per phase run of ``script``; InputError when it cannot run, hangs, or never calls."""
    if not command:
        raise InputError("COMMAND", "give the command to probe after --")
    run = ProbeRun(list(command))
    with ProbeThread() as srv:
        lanes = _run_lanes(command, script, srv, timeout)
        trace = srv.log.frame(lanes=True)
    run.trace = trace.drop(columns=["lane", "body"])
    for ln in lanes:
        pr = run.phases.setdefault(ln.phase.name, PhaseRun(ln.phase, [], []))
        mine = trace[trace["lane"] == ln.name].reset_index(drop=True)
        pr.runs.append(mine)
        pr.returncodes.append(ln.proc.returncode)
    return run
