"""Run the user's command once per probe phase against the probe endpoint, and keep what it sent.

The command's environment points the common SDKs at the endpoint (``OPENAI_BASE_URL`` with /v1,
``ANTHROPIC_BASE_URL``, ``LLMSIM_URL``, dummy API keys). The command runs in its own process group; one
that outlives ``timeout`` is killed with its children. The server stops whatever happens.

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


def _run_once(command: list[str], env: dict, timeout: float, phase: str) -> int:
    try:
        proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
    except FileNotFoundError:
        raise InputError("COMMAND", f"{command[0]}: command not found") from None
    except PermissionError:
        raise InputError("COMMAND", f"{command[0]}: not executable") from None
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise InputError("--timeout", f"the command was still running after {timeout:g} s in phase "
                                      f"'{phase}' (it hangs, or raise --timeout)") from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_probe(command: list[str], script: ProbeScript, timeout: float = 120.0) -> ProbeRun:
    """Run ``command`` once per phase of ``script``; InputError when it cannot run, hangs, or never calls."""
    if not command:
        raise InputError("COMMAND", "give the command to probe after --")
    run = ProbeRun(list(command))
    starts: list[tuple[ProbePhase, float, int]] = []
    with ProbeThread() as srv:
        env = probe_env(srv.url)
        for phase in script.phases:
            for _ in range(phase.repeat):
                srv.server.set_phase(phase)
                start = srv.server.now()
                code = _run_once(command, env, timeout, phase.name)
                starts.append((phase, start, code))
                srv.server.set_phase(None)
                time.sleep(0.05)  # let the handler of a just-closed connection log it
                if len(starts) == 1 and len(srv.log) == 0:
                    raise InputError("COMMAND", f"{' '.join(command)} never called the endpoint (exit code {code}); "
                                                "it must read OPENAI_BASE_URL, ANTHROPIC_BASE_URL or LLMSIM_URL")
        run.trace = srv.log.frame()
    ends = [s[1] for s in starts[1:]] + [float("inf")]
    sent = run.trace["arrival_s"]
    for (phase, start, code), end in zip(starts, ends):
        pr = run.phases.setdefault(phase.name, PhaseRun(phase, [], []))
        pr.runs.append(run.trace[(sent >= start) & (sent < end)].reset_index(drop=True))
        pr.returncodes.append(code)
    return run
