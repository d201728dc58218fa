"""Load scenarios from YAML files, packaged names or dicts, turning every problem into a ScenarioError.

>>> sc = load_scenario("tuesday", {"client.retry.max_attempts": 5})
>>> sc.name, sc.client.retry.max_attempts
('tuesday', 5)
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from llmsim.config.scenario import Scenario
from llmsim.core.errors import ScenarioError

__all__ = ["load_scenario", "validate_scenario", "packaged_scenarios", "format_validation_error", "read_yaml"]

DEFAULT_SCENARIO = "tuesday"
_TAGS = {"fixed", "exponential", "lognormal", "gamma", "empirical",  # union tags pydantic puts in paths
         "aws", "grpc", "finagle", "envoy", "ratio", "litellm", "token_bucket", "concurrency", "aimd", "sre",
         "aws_adaptive"}
_TYPE_NAMES = {"float", "int", "str", "bool"}
_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")


def packaged_scenarios() -> dict[str, str]:
    """Name -> first comment line (description) of every scenario shipped inside llmsim."""
    out = {}
    for entry in sorted(resources.files("llmsim.scenarios").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            text = entry.read_text(encoding="utf-8")
            first = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("#")), "")
            out[entry.name[:-5]] = first
    return out


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


def load_scenario(source: str | Path | dict, overrides: dict[str, Any] | None = None) -> Scenario:
    """A Scenario from a YAML path, a packaged scenario name, or a dict; optional dotted overrides."""
    if isinstance(source, Scenario):
        sc = source
    elif isinstance(source, dict):
        sc = validate_scenario(source)
    else:
        path = Path(source)
        name = str(source)
        if path.is_file():
            text = path.read_text(encoding="utf-8")
        elif name in packaged_scenarios():
            text = resources.files("llmsim.scenarios").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
        else:
            known = ", ".join(packaged_scenarios())
            raise ScenarioError("", f"no such file, and no packaged scenario of that name (packaged: {known})",
                                source=name)
        data = read_yaml(text, name)
        if not isinstance(data, dict):
            raise ScenarioError("", "a scenario file must be a mapping of keys to values", source=name)
        sc = validate_scenario(data, source=name)
    if overrides:
        try:
            sc = sc.with_overrides(overrides)
        except ScenarioError as exc:
            exc.source = exc.source or (None if isinstance(source, dict) else str(source))
            raise ScenarioError(exc.path, exc.reason, exc.source) from None
    return sc


def validate_scenario(data: dict, source: str | None = None) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, source) from None


def _loc_to_path(loc) -> str:
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        elif isinstance(item, str) and _FIELD.match(item) and item not in _TAGS | _TYPE_NAMES:
            out += ("." if out else "") + item
    return out


def format_validation_error(exc: ValidationError, source: str | None = None) -> ScenarioError:
    """The first pydantic error as a ScenarioError naming the dotted path and the reason."""
    errors = exc.errors(include_url=False)
    # for a union, the member that got furthest into the input is the one the user meant
    err = max(errors, key=lambda e: len(e["loc"]))
    ctx = err.get("ctx") or {}
    path = ctx.get("path") or _loc_to_path(err["loc"])
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    value = err.get("input")
    if err["type"] not in ("unknown_key", "cross_ref", "missing") and isinstance(value, (int, float, str)) \
            and not isinstance(value, bool) and len(str(value)) < 40 and repr(value) not in msg:
        msg += f" (got {value!r})"
    # union members each report an error: count distinct paths only
    more = len({_loc_to_path(e["loc"]) for e in errors} - {path, _loc_to_path(err["loc"])})
    return ScenarioError(path, msg[0].lower() + msg[1:] if msg else msg, source=source, more=more)
