"""The Scenario: a whole simulation described as pure, validated data.

>>> sc = Scenario.model_validate({
...     "horizon": "1h",
...     "workload": {"arrivals": {"rate": "5/s"}},
...     "providers": [{"name": "p", "capacity": {"slots": 8}}],
... })
>>> sc.with_overrides({"client.retry.max_attempts": 5}).client.retry.max_attempts
5
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from .base import Config, Duration
from .client import Client
from .provider import Provider
from .workload import Workload

__all__ = ["Scenario"]


class Scenario(Config):
    """Everything one run needs: horizon, warm-up, seed, workload, providers and the client policy."""

    name: str = "scenario"
    description: str = ""
    horizon: Annotated[Duration, Field(gt=0)]
    warmup: Duration = 0.0
    seed: Annotated[int, Field(ge=0)] = 0
    workload: Workload
    providers: Annotated[list[Provider], Field(min_length=1)]
    client: Client = Field(default_factory=Client)

    @model_validator(mode="after")
    def _cross_references(self):
        if self.warmup >= self.horizon:
            raise PydanticCustomError(
                "cross_ref", "warmup ({warmup}s) must be shorter than horizon ({horizon}s)",
                {"path": "warmup", "warmup": self.warmup, "horizon": self.horizon},
            )
        names = [p.name for p in self.providers]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise PydanticCustomError("cross_ref", "duplicate provider name '{name}'",
                                          {"path": f"providers[{i}].name", "name": name})
        if self.client.route is not None:
            for i, name in enumerate(self.client.route.order):
                if name not in names:
                    raise PydanticCustomError(
                        "cross_ref", "no provider named '{name}' (providers: {known})",
                        {"path": f"client.route.order[{i}]", "name": name, "known": ", ".join(names)},
                    )
        return self

    def provider(self, name: str) -> Provider:
        for p in self.providers:
            if p.name == name:
                return p
        raise KeyError(name)

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A validated copy with dotted-path values replaced.

        List items are addressed by index or, for providers, by name: ``providers.primary.capacity.slots``.
        Raises ScenarioError naming the path when a path does not exist or a value is invalid."""
        from ..errors import ScenarioError
        from .loading import validate_scenario

        data = self.model_dump(mode="json")
        for path, value in overrides.items():
            try:
                set_dotted(data, path, value)
            except KeyError as exc:
                raise ScenarioError(path, str(exc.args[0])) from None
        return validate_scenario(data)


def set_dotted(data: dict, path: str, value: Any) -> None:
    """Set ``value`` at a dotted path inside nested dicts and lists (creates missing dicts)."""
    parts = path.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            idx = _list_index(node, part, ".".join(parts[:i]))
            if last:
                node[idx] = copy.deepcopy(value)
            else:
                node = node[idx]
        elif isinstance(node, dict):
            if last:
                node[part] = copy.deepcopy(value)
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        else:
            raise KeyError(f"cannot go into '{part}': '{'.'.join(parts[:i])}' is a plain value")


def _list_index(items: list, part: str, where: str) -> int:
    if part.lstrip("-").isdigit():
        idx = int(part)
        if -len(items) <= idx < len(items):
            return idx
        raise KeyError(f"index {idx} out of range for '{where}' ({len(items)} items)")
    for j, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return j
    names = [it.get("name") for it in items if isinstance(it, dict) and "name" in it]
    raise KeyError(f"no item named '{part}' in '{where}' (have: {', '.join(map(str, names))})")
