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
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from llmsim.config.base import Config, Duration
from llmsim.config.client import Client, RouteLayer
from llmsim.config.error_paths import format_validation_error
from llmsim.config.presets import expand_preset
from llmsim.config.provider import Provider
from llmsim.config.slo import Target, parse_slo
from llmsim.config.start_time import StartTime, parse_start
from llmsim.config.workload import Workload
from llmsim.core.errors import InputError, ScenarioError

__all__ = ["Scenario", "validate_scenario", "set_dotted"]


class Scenario(Config):
    """Everything one run needs: horizon, warm-up, seed, workload, providers and the client policy."""

    name: str = "scenario"
    description: str = ""
    horizon: Annotated[Duration, Field(gt=0)]
    warmup: Duration = 0.0
    drain: Annotated[Duration, Field(gt=0, description=(
        "after the horizon, time allowed for requests in flight to finish; any still open are then "
        "closed as `timeout` (a client waiting forever would give up)"))] = 3600.0
    seed: Annotated[int, Field(ge=0)] = 0
    workload: Workload
    providers: Annotated[list[Provider], Field(min_length=1)]
    client: Client = Field(default_factory=Client)
    keep: Annotated[Literal["all", "requests", "summary"] | None, Field(description=(
        "what a run keeps: `all` (the requests, attempts and events tables), `requests` (no attempts "
        "table; the summary is computed before it is dropped) or `summary` (no tables: the summary "
        "metrics streamed during the run in bounded memory, quantiles within 0.5 %); unset: `all` "
        "for a single run, `summary` for the runs of a sweep, compare or tune"))] = None
    slo: Annotated[dict[str, str | float] | None, Field(description=(
        "targets the run must meet, metric -> bound: {success_rate: 99%, latency_p95: 10s, "
        "cost_per_1k_requests: $0.50}; a bare bound is a floor for success_rate/goodput, else a ceiling"))] = None
    start: Annotated[str | None, Field(description=(
        "wall-clock time of second 0, for charts: '2026-11-24T00:00' or 'Tue 09:00'"))] = None

    @field_validator("slo", mode="before")
    @classmethod
    def _slo_targets(cls, value):
        if value is not None and not isinstance(value, dict):
            raise PydanticCustomError("slo", "expected a mapping metric -> bound, e.g. {latency_p95: 10s}")
        try:
            parse_slo(value)
        except InputError as exc:
            raise PydanticCustomError("slo", "{reason}", {"reason": exc.reason}) from None
        return value

    @field_validator("start")
    @classmethod
    def _start_time(cls, value):
        try:
            parse_start(value)
        except InputError as exc:
            raise PydanticCustomError("start", "{reason}", {"reason": exc.reason}) from None
        return value

    def targets(self) -> list[Target]:
        """The scenario's SLO as parsed targets ([] when it declares none)."""
        return parse_slo(self.slo)

    def start_time(self) -> StartTime | None:
        """When second 0 is on the wall clock (None: charts show elapsed h:mm)."""
        return parse_start(self.start)

    @field_validator("client", mode="before")
    @classmethod
    def _client_preset(cls, value):
        """``client: openai-sdk`` or ``client: {preset: openai-sdk, deadline: 30s}`` (preset + overrides)."""
        return expand_preset(value)

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
        for i, p in enumerate(self.providers):
            if p.spill_over is not None and (p.spill_over not in names or p.spill_over == p.name):
                raise PydanticCustomError("cross_ref", "spill_over must name another provider (providers: {known})",
                                          {"path": f"providers[{i}].spill_over", "known": ", ".join(names)})
        _check_classes_offered(self.client, self.providers)
        for path, name in _route_references(self.client):
            if name not in names:
                raise PydanticCustomError("cross_ref", "no provider named '{name}' (providers: {known})",
                                          {"path": path, "name": name, "known": ", ".join(names)})
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
        data = self.model_dump(mode="json")
        for path, value in overrides.items():
            try:
                if path == "client":
                    value = expand_preset(value)  # so later paths can go into the preset's settings
                set_dotted(data, path, value)
            except KeyError as exc:
                raise ScenarioError(path, str(exc.args[0])) from None
        return validate_scenario(data)


def _check_classes_offered(client, providers) -> None:
    """Every service class the client chooses (but standard) is offered by some provider."""
    if client.service_class is None:
        return
    for cls in sorted(client.service_class.classes() - {"standard"}):
        if not any(p.service_classes is not None and getattr(p.service_classes, cls) is not None for p in providers):
            raise PydanticCustomError("cross_ref", "the client chooses {cls} but no provider offers it "
                                      "(providers[*].service_classes.{cls})",
                                      {"path": "client.service_class", "cls": cls})


def _route_references(client) -> list[tuple[str, str]]:
    """(field path, provider name) of every provider a route of the client names."""
    routes = []
    if client.route is not None:
        routes.append(("client.route", client.route))
    for j, layer in enumerate(client.layers or []):
        if isinstance(layer, RouteLayer) and layer.route is not None:
            routes.append((f"client.layers[{j}].route", layer.route))
    return [ref for base, route in routes for ref in _names_in_route(base, route)]


def _names_in_route(base: str, route) -> list[tuple[str, str]]:
    """(field path, provider name) of every provider one route names: its order, fallbacks and usage limits."""
    out = [(f"{base}.order[{i}]", n) for i, n in enumerate(route.order) if n != "*"]
    for k, fb in enumerate(route.fallbacks):
        out += [(f"{base}.fallbacks[{k}].to[{i}]", n) for i, n in enumerate(fb.to)]
    return out + [(f"{base}.usage_limits.{n}", n) for n in (route.usage_limits or {})]


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
    """The position ``part`` names in the list at ``where``: an index (negative from the end) or an item's name."""
    if part.lstrip("-").isdigit():
        idx = int(part)
        if -len(items) <= idx < len(items):
            return idx
        raise KeyError(f"index {idx} out of range for '{where}' ({len(items)} items)")
    return _named_index(items, part, where)


def _named_index(items: list, name: str, where: str) -> int:
    """The position of the item named ``name`` (KeyError listing the names there are)."""
    for j, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == name:
            return j
    names = [it.get("name") for it in items if isinstance(it, dict) and "name" in it]
    raise KeyError(f"no item named '{name}' in '{where}' (have: {', '.join(map(str, names))})")


def validate_scenario(data: dict, source: str | None = None) -> Scenario:
    """A Scenario from plain data; the first problem as a ScenarioError naming its field path."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, source) from None
