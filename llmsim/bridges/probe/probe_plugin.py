"""pytest plugin (entry point ``llmsim`` in pyproject's ``pytest11``): the ``llmsim_probe`` fixture.

The fixture starts the probe endpoint for one test and points the SDKs' environment variables at it.
``llmsim_probe.fault(status=429, fail="all")`` starts a phase of faults (see ``ProbePhase``); after the
client ran, ``attempts`` is the recorded trace, ``policy`` the inferred policy, ``findings`` the
scorecard's finding codes and ``amplification(at="tuesday")`` the probed client's attempts per request
when a fleet of it meets the packaged scenario::

    def test_my_client_is_resilient(llmsim_probe):
        llmsim_probe.fault(status=429, fail="all", repeat=1)
        my_app.ask("hello")               # reads OPENAI_BASE_URL
        assert "ignores-retry-after" not in llmsim_probe.findings

>>> ProbeFixture.__name__
'ProbeFixture'
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

from llmsim.bridges.probe.probe_report import ProbeReport, score
from llmsim.bridges.probe.probe_runner import PhaseRun, ProbeRun, probe_env
from llmsim.bridges.probe.probe_script import ProbePhase
from llmsim.bridges.probe.probe_server import ProbeThread

__all__ = ["ProbeFixture", "llmsim_probe"]


class ProbeFixture:
    """The endpoint of one test: ``url``, ``env``, ``fault(...)``, then ``attempts`` / ``findings``."""

    def __init__(self, srv: ProbeThread):
        self.srv = srv
        self._phases: list[tuple[ProbePhase, float]] = []

    @property
    def url(self) -> str:
        return self.srv.url

    @property
    def env(self) -> dict[str, str]:
        """The variables that point the SDKs here (the fixture already set them for the test)."""
        return {k: v for k, v in probe_env(self.url, {}).items()}

    def fault(self, name: str | None = None, **phase) -> None:
        """Start a phase of faults: ``status``/``delay``, ``fail`` (a count or "all"), ``cap``, ``retry_after``,
        ``retry_after_ms`` as in a probe script."""
        p = ProbePhase.model_validate({"name": name or f"phase-{len(self._phases)}", **phase})
        self.srv.server.set_phase(p)
        self._phases.append((p, self.srv.server.now()))

    @property
    def attempts(self) -> pd.DataFrame:
        """Every attempt recorded so far (canonical trace table)."""
        time.sleep(0.05)  # a handler may still be logging the last attempt
        return self.srv.log.frame()

    def run(self) -> ProbeRun:
        """The recorded attempts cut into the phases started with ``fault``."""
        time.sleep(0.05)  # a handler may still be logging the last attempt
        trace = self.srv.log.frame(lanes=True)
        run = ProbeRun(["pytest"], trace=trace)
        ends = [s for _, s in self._phases[1:]] + [float("inf")]
        for (p, start), end in zip(self._phases, ends):
            sent = trace["arrival_s"]
            run.phases[p.name] = PhaseRun(p, [trace[(sent >= start) & (sent < end)].reset_index(drop=True)], [0])
        return run

    def report(self, at: str | None = None, replications: int = 2) -> ProbeReport:
        return score(self.run(), at, replications)

    @property
    def policy(self):
        return self.report().policy

    @property
    def findings(self) -> list[str]:
        return [f.code for f in self.report().scorecard.findings]

    def amplification(self, at: str = "tuesday", replications: int = 2) -> float:
        """Attempts per request of a fleet of the probed client at the packaged scenario ``at``."""
        fleet = self.report(at, replications).scorecard.fleet
        return float(fleet.loc["probed", "attempts_per_request"])


@pytest.fixture
def llmsim_probe(monkeypatch):
    """A probe endpoint for this test, the SDK environment pointed at it; stopped after the test."""
    with ProbeThread() as srv:
        fx = ProbeFixture(srv)
        for k, v in fx.env.items():
            monkeypatch.setenv(k, v)
        yield fx
