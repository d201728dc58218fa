"""``llmsim import litellm CONFIG``: a LiteLLM proxy / Router config as an llmsim scenario."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
import yaml

from llmsim.cli.app import app, err, fail
from llmsim.config.loading import load_scenario
from llmsim.core.atomic import atomic_write_text, check_writable
from llmsim.core.errors import InputError

import_app = typer.Typer(no_args_is_help=True, help="Turn other tools' configs into llmsim scenarios.")
app.add_typer(import_app, name="import")


@import_app.command("litellm")
def litellm(
    config: Path = typer.Argument(..., help="LiteLLM proxy config.yaml (model_list, router_settings, ...)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model group the client calls (default: the first)."),
    out_file: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the YAML here instead of stdout."),
    client_only: bool = typer.Option(False, "--client-only", help="Only the client block."),
    slots: int = typer.Option(32, "--slots", min=1, help="Capacity given to every deployment (not in LiteLLM)."),
    strict: bool = typer.Option(False, "--strict", help="Exit 2 if the config has keys llmsim does not know."),
    quiet: bool = typer.Option(False, "--quiet", help="Only report unknown and approximated keys."),
) -> None:
    """Map deployments to providers and the Router to a client stack; report every key that does not map."""
    from llmsim.bridges.importers import import_litellm  # deferred: CLI start-up

    try:
        if out_file is not None:
            check_writable(out_file, "--out")
        imp = import_litellm(config, model=model, slots=slots)
        load_scenario(imp.scenario)  # what we write must load
    except InputError as exc:
        fail(str(exc))
    unknown = imp.unknown()
    if unknown and strict:  # the one line says it all: no key report before it
        fail(f"{config}: {len(unknown)} unknown key(s): {', '.join(n.path for n in unknown)}")
    _print_notes(imp.notes, quiet)
    text = yaml.safe_dump(imp.client if client_only else imp.scenario, sort_keys=False)
    if out_file is None:
        sys.stdout.write(text)
        return
    atomic_write_text(out_file, text)
    err.print(f"wrote {out_file}" + (f" ({len(unknown)} unknown key(s) reported above)" if unknown else ""),
              highlight=False)


def _print_notes(notes: list, quiet: bool) -> None:
    """The import's notes on stderr (with ``quiet``, only the unknown and approximated keys)."""
    for n in notes:
        if not quiet or n.status in ("unknown", "approximated"):
            err.print(str(n), highlight=False, soft_wrap=True, markup=False)
