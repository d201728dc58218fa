"""One call for the whole probe: run, infer, write the client YAML, score (used by the CLI and the
pytest plugin).

>>> ProbeReport.__dataclass_fields__.keys() >= {"run", "policy", "yaml", "scorecard"}
True
"""

from __future__ import annotations

from dataclasses import dataclass

from llmsim.bridges.probe.probe_client_yaml import client_yaml
from llmsim.bridges.probe.probe_infer import ProbePolicy, infer_policy
from llmsim.bridges.probe.probe_nested import nested_evidence
from llmsim.bridges.probe.probe_runner import ProbeRun, run_probe
from llmsim.bridges.probe.probe_scorecard import Scorecard, findings, fleet_consequence
from llmsim.bridges.probe.probe_script import ProbeScript

__all__ = ["ProbeReport", "probe", "score"]


@dataclass
class ProbeReport:
    """What a probe learned: the run, the inferred policy, its client YAML and the scorecard."""

    run: ProbeRun
    policy: ProbePolicy
    yaml: str
    scorecard: Scorecard


def score(run: ProbeRun, scenario: str | None = "tuesday", replications: int = 2) -> ProbeReport:
    """Infer and score a finished run (``scenario=None``: no fleet simulation)."""
    policy = infer_policy(run)
    nested = None
    for pr in run.phases.values():
        if pr.phase.fail == "all":
            nested = nested_evidence(pr.runs)
            break
    card = Scorecard(findings(policy, nested))
    if scenario is not None and replications > 0:
        card.scenario = scenario
        card.preset, card.fleet = fleet_consequence(policy, scenario, replications, found=card.findings)
    return ProbeReport(run, policy, client_yaml(policy, run.command), card)


def probe(command: list[str], script: ProbeScript, timeout: float = 120.0, scenario: str | None = "tuesday",
          replications: int = 2) -> ProbeReport:
    """Probe ``command`` with ``script`` and score it."""
    return score(run_probe(command, script, timeout), scenario, replications)
