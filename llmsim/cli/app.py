"""The typer application and helpers shared by every ``llmsim`` subcommand module."""

from __future__ import annotations

import typer
from rich.console import Console

from llmsim.cli.failure_path import GuardedGroup
from llmsim.config.loading import read_yaml
from llmsim.core.errors import InputError

__all__ = ["app", "out", "err", "fail", "parse_sets"]

app = typer.Typer(cls=GuardedGroup, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Simulate LLM API traffic and compare client policies (retries, breakers, failover) "
                       "before you deploy them. Any error is one line (exit 2 for bad input); add --debug "
                       "anywhere for the traceback of an unexpected one.")
out = Console()
err = Console(stderr=True)


def fail(message: str) -> None:
    """Print one clear line to stderr and exit with code 2 (bad input)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def parse_sets(sets: list[str]) -> dict:
    """``path=value`` pairs; values are read as YAML (5 -> int, 30s -> str, [a, b] -> list)."""
    overrides = {}
    for item in sets:
        if "=" not in item:
            raise InputError("", f"--set expects PATH=VALUE, got {item!r}")
        path, value = item.split("=", 1)
        overrides[path.strip()] = read_yaml(value, f"--set {path.strip()}")
    return overrides
