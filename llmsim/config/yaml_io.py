"""YAML text -> Python data, safely and with YAML 1.2 booleans (so a key written ``on:`` stays "on").

Parsing only: reading files is the loaders' job (llmsim.config.loading).

>>> read_yaml("{on: [rate_limited], retry: yes}", "s.yaml")
{'on': ['rate_limited'], 'retry': 'yes'}
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from llmsim.core.errors import ScenarioError

__all__ = ["read_yaml"]


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: only true/false, so a key written ``on:`` stays "on"."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_yaml(text: str, source: str) -> Any:
    """Parse YAML safely (YAML 1.2 booleans); a syntax error becomes a one-line ScenarioError."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError("", f"YAML syntax error{where}: {problem}", source=source) from None
