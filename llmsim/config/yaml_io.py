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


MAX_NODES = 1_000_000
"""Values a YAML document may stand for once its aliases are expanded: a few kilobytes of anchors and
aliases (``&a [*b, *b, ...]``, nested) can stand for billions of values, which validation would visit."""


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values ``node`` stands for with every alias expanded (each shared node counted once per use)."""
    key = id(node)
    if key not in memo:
        memo[key] = 0  # a node that contains itself counts once
        if isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_expanded_size(n, memo) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        else:
            memo[key] = 1
    return memo[key]


def _load(text: str, source: str) -> Any:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > MAX_NODES:
            raise ScenarioError("", f"YAML aliases expand to {size:,} values, more than the {MAX_NODES:,} a "
                                    "scenario may hold", source=source)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(text: str, source: str) -> Any:
    """Parse YAML safely (YAML 1.2 booleans); a syntax error becomes a one-line ScenarioError.

    >>> read_yaml("a: &x [1, 2]\\nb: *x", "s.yaml")
    {'a': [1, 2], 'b': [1, 2]}
    """
    try:
        return _load(text, source)
    except RecursionError:
        raise ScenarioError("", "YAML nested too deeply", source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError("", f"YAML syntax error{where}: {problem}", source=source) from None
