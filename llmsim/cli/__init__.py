"""The ``llmsim`` command line (typer + rich). Bad input: one line naming the field, exit code 2.

Each command group lives in its own module and registers itself on ``app`` when imported here. A
command parses its options, calls the library and renders the result. The modules import at the top
only what parsing needs (typer, rich, the config and core layers, the metric names and their
formats); the rest of the library (simulation, experiments, traces, bridges, reports) is imported
inside the command that uses it, so that ``llmsim --help`` and a bad option answer fast. Each such
import carries a ``# deferred: <reason>`` comment.
"""

from __future__ import annotations

from llmsim.cli import experiment_cmds as _experiments  # noqa: F401  (registers sweep, compare, tune)
from llmsim.cli import fidelity_cmd as _fidelity  # noqa: F401  (registers fidelity)
from llmsim.cli import import_cmd as _importers  # noqa: F401  (registers import litellm)
from llmsim.cli import providers_cmd as _providers  # noqa: F401  (registers providers)
from llmsim.cli import report_cmd as _report  # noqa: F401  (registers report)
from llmsim.cli import run_cmds as core  # noqa: F401  (registers run, schema, validate, presets, version)
from llmsim.cli import serve_cmd as _serve  # noqa: F401  (registers serve)
from llmsim.cli import stability_cmd as _stability  # noqa: F401  (registers stability)
from llmsim.cli import trace_cmds as _trace  # noqa: F401  (registers the trace sub-app)
from llmsim.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
