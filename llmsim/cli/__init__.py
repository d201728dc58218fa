"""The ``llmsim`` command line (typer + rich). Bad input: one line naming the field, exit code 2.

Each command group lives in its own module and registers itself on ``app`` when imported here.
"""

from __future__ import annotations

from . import core  # noqa: F401  (registers run, schema, validate, presets, version)
from . import experiments as _experiments  # noqa: F401  (registers sweep, compare, tune)
from . import fidelity as _fidelity  # noqa: F401  (registers fidelity)
from . import importers as _importers  # noqa: F401  (registers import litellm)
from . import report as _report  # noqa: F401  (registers report)
from . import serve as _serve  # noqa: F401  (registers serve)
from . import trace as _trace  # noqa: F401  (registers the trace sub-app)
from .app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
