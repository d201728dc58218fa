"""Pydantic validation errors -> one ScenarioError naming the dotted field path and the reason.

>>> from llmsim.config.scenario import Scenario
>>> try:
...     Scenario.model_validate({"horizon": "1h", "workload": {"arrivals": {"rate": -1}}, "providers": [{"name": "p"}]})
... except Exception as exc:
...     print(format_validation_error(exc))
workload.arrivals.rate: rate must be finite and >= 0, got -1 (and 1 more problem)
"""

from __future__ import annotations

import re
import typing
from functools import cache

from pydantic import ValidationError

from llmsim.config.base import Config
from llmsim.core.errors import ScenarioError

__all__ = ["format_validation_error"]

_TYPE_NAMES = {"float", "int", "str", "bool"}
_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")


@cache
def _union_tags() -> frozenset[str]:
    """The discriminator values (``kind``, ``dist``) pydantic puts into error locations: they are not
    fields, so they are left out of the path. Read off the config classes, not kept by hand."""
    tags: set[str] = set()
    todo = [Config]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        for name in ("kind", "dist"):
            field = getattr(cls, "model_fields", {}).get(name)
            if field is not None and typing.get_origin(field.annotation) is typing.Literal:
                tags.update(typing.get_args(field.annotation))
    return frozenset(tags)


def _loc_to_path(loc) -> str:
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        elif isinstance(item, str) and _FIELD.match(item) and item not in _union_tags() | _TYPE_NAMES:
            out += ("." if out else "") + item
    return out


def format_validation_error(exc: ValidationError, source: str | None = None) -> ScenarioError:
    """The first pydantic error as a ScenarioError naming the dotted path and the reason."""
    errors = exc.errors(include_url=False)
    # for a union, the member that got furthest into the input is the one the user meant
    err = max(errors, key=lambda e: len(e["loc"]))
    ctx = err.get("ctx") or {}
    path = ctx.get("path") or _loc_to_path(err["loc"])
    msg = _reason(err)
    # union members each report an error: count distinct paths only
    more = len({_loc_to_path(e["loc"]) for e in errors} - {path, _loc_to_path(err["loc"])})
    return ScenarioError(path, msg[0].lower() + msg[1:] if msg else msg, source=source, more=more)


def _reason(err: dict) -> str:
    """pydantic's message without its "Value error, " prefix, with the offending value when short and useful."""
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    value = err.get("input")
    if err["type"] not in ("unknown_key", "cross_ref", "missing") and _shows(value) and repr(value) not in msg:
        msg += f" (got {value!r})"
    return msg


def _shows(value: object) -> bool:
    """A number or short string worth quoting in a message (not a bool)."""
    return isinstance(value, (int, float, str)) and not isinstance(value, bool) and len(str(value)) < 40
