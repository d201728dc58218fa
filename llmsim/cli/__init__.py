"""The ``llmsim`` command line (typer + rich). Bad input: one line naming the field, exit code 2.

Each command group lives in its own module and registers itself on ``app`` when imported. A command
parses its options, calls the library and renders the result. ``main`` imports only the module of
the command it runs, and answers ``llmsim --help`` from ``COMMANDS`` without importing any (a test
keeps that table equal to what the modules register); ``app`` used directly (tests) loads them all.
Inside the modules, the rest of the library (simulation, experiments, traces, bridges, reports) is
imported by the command that uses it; each such import carries a ``# deferred: <reason>`` comment.
"""

from __future__ import annotations

import sys

import typer

from llmsim.cli.app import HELP_OPTIONS, _group, app

__all__ = ["app", "main", "COMMANDS", "help_app"]

_RUN, _EXP = "llmsim.cli.run_cmds", "llmsim.cli.experiment_cmds"
#: command -> (the module that registers it, its one-line help), in the order ``llmsim --help`` lists them
COMMANDS = {
    "sweep": (_EXP, "Run a scenario over a grid (or samples) of parameter values, replicated, in parallel."),
    "compare": (_EXP, "Compare client policies on the same traffic (common random numbers): who wins, by how much, "
                      "how sure."),
    "tune": (_EXP, "Find the best policy meeting the constraints (successive halving over paired replications)."),
    "fidelity": ("llmsim.cli.fidelity_cmd", "Run a real client against `llmsim serve`, simulate the same requests "
                                            "with a client policy, compare."),
    "probe": ("llmsim.cli.probe_cmd", "Probe a real client: infer its retry policy, write it as a client YAML, "
                                      "print a resilience scorecard."),
    "report": ("llmsim.cli.report_cmd", "Write one self-contained HTML report (scenario, summary, charts) that "
                                        "opens offline."),
    "run": (_RUN, "Run one scenario and print its summary and pass/fail per SLO target."),
    "schema": (_RUN, "Print the JSON schema of scenario files (for editor autocompletion)."),
    "validate": (_RUN, "Check scenario files without running them."),
    "presets": (_RUN, "List the packaged scenarios and the client policy presets (usable as `client: NAME`)."),
    "version": (_RUN, "Print the llmsim version."),
    "serve": ("llmsim.cli.serve_cmd", "Serve POST /v1/chat/completions and /v1/messages from the provider model "
                                      "(Ctrl-C stops)."),
    "stability": ("llmsim.cli.stability_cmd", "Map recovery probability over load x trigger duration per client, "
                                              "with the stable/metastable boundary."),
    "providers": ("llmsim.cli.providers_cmd", "List the provider presets (`providers: [{preset: NAME, tier: T}]`) "
                                              "with each figure's source and date."),
    "import": ("llmsim.cli.import_cmd", "Turn other tools' configs into llmsim scenarios."),
    "trace": ("llmsim.cli.trace_cmds", "Recorded traces: inspect, convert, replay, fit."),
}


def help_app() -> typer.Typer:
    """A stand-in for ``app`` that lists the commands from ``COMMANDS`` (for ``llmsim --help``)."""
    stub = typer.Typer(add_completion=False, no_args_is_help=True, help=app.info.help, context_settings=HELP_OPTIONS)
    stub.callback()(_group)  # the same --version option
    for name, (_module, short) in COMMANDS.items():
        stub.command(name, help=short)(_nothing)
    return stub


def _nothing() -> None:
    """(a listed command's stand-in: never run)"""


def main() -> None:
    args = sys.argv[1:]
    entry = COMMANDS.get(args[0]) if args else None
    if entry is None and (not args or args in (["--help"], ["-h"])):
        help_app()()
        return
    if entry is None:
        app()  # every command loaded (an unknown command is reported as such)
        return
    app.partial = True  # only this command's module
    try:
        app.load(entry[0])
        app()
    finally:
        app.partial = False
