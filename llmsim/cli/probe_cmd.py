"""``llmsim probe``: run a real client against scripted faults, infer its policy, score it (docs/probe.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from llmsim.cli.app import app, err, fail, out
from llmsim.core.errors import InputError


def _script(path: Optional[Path], quick: bool):
    from llmsim.bridges.probe.probe_script import ProbeScript, default_script, quick_script  # deferred: CLI start-up
    from llmsim.config.yaml_io import read_yaml  # deferred: CLI start-up

    if path is None:
        return quick_script() if quick else default_script()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError("--script", f"{path}: {exc.strerror or exc}") from None
    try:
        return ProbeScript.model_validate(read_yaml(text, str(path)))
    except InputError:
        raise
    except ValueError as exc:
        first = str(exc).splitlines()
        raise InputError("--script", f"{path}: {' '.join(first[1:3]).strip() or first[0]}") from None


@app.command(context_settings={"allow_extra_args": False})
def probe(
    command: Optional[list[str]] = typer.Argument(None, help="Program to probe (after --); it gets OPENAI_BASE_URL, "
                                                             "ANTHROPIC_BASE_URL, LLMSIM_URL and dummy API keys."),
    script: Optional[Path] = typer.Option(None, "--script", help="Probe script YAML (default: the built-in one)."),
    quick: bool = typer.Option(False, "--quick", help="The short built-in script (attempts, backoff, "
                                                      "Retry-After, 529, 500, 400)."),
    timeout: float = typer.Option(120.0, "--timeout", min=1, help="Seconds one run of the command may take."),
    out_file: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the inferred client YAML here."),
    scenario: str = typer.Option("tuesday", "--scenario", help="Packaged scenario for the fleet consequence."),
    replications: int = typer.Option(2, "--replications", min=0, help="Simulated runs per client (0: no fleet "
                                                                      "simulation)."),
) -> None:
    """Probe a real client: infer its retry policy, write it as a client YAML, print a resilience scorecard."""
    from llmsim.bridges.probe.probe_report import probe as run  # deferred: CLI start-up (aiohttp, simulator)
    from llmsim.core.atomic import atomic_write_text, check_writable  # deferred: CLI start-up

    try:
        if out_file is not None:
            check_writable(out_file, "--out")
        with err.status("probing the client...", spinner="dots"):
            rep = run(list(command or []), _script(script, quick), timeout, scenario, replications)
        if out_file is not None:
            atomic_write_text(out_file, rep.yaml)
    except InputError as exc:
        fail(str(exc))
    out.print(rep.yaml, highlight=False, soft_wrap=True, markup=False)
    out.print("resilience scorecard:", highlight=False)
    for line in rep.scorecard.lines():
        out.print(line, highlight=False, soft_wrap=True, markup=False)
