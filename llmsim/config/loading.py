"""Load scenarios and client policies from YAML files, packaged names or dicts, turning every problem
into a ScenarioError. The one place in config/ that reads files: validation itself never does.

>>> sc = load_scenario("tuesday", {"client.retry.max_attempts": 5})
>>> sc.name, sc.client.retry.max_attempts
('tuesday', 5)
>>> resolve_client({"timeout": "30s"}).timeout
30.0
>>> resolve_client("openai-sdk").retry.max_attempts
3
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from llmsim.config.client import Client
from llmsim.config.client_presets import _ALIASES, CLIENT_PRESETS
from llmsim.config.error_paths import format_validation_error
from llmsim.config.presets import expand_preset
from llmsim.config.scenario import Scenario, validate_scenario
from llmsim.config.yaml_io import read_yaml
from llmsim.core.errors import ScenarioError
from llmsim.core.units import UnitError, parse_duration

__all__ = ["load_scenario", "validate_scenario", "packaged_scenarios", "format_validation_error", "read_yaml",
           "resolve_client", "read_file_references"]

DEFAULT_SCENARIO = "tuesday"
HORIZON_CAP_VARIABLE = "LLMSIM_HORIZON_CAP"
MAX_SCENARIO_BYTES = 2_000_000
"""Scenario, client and LiteLLM files larger than this are refused before parsing (a real one is a few
kilobytes; parsing and validating tens of megabytes of YAML takes minutes and gigabytes)."""


def read_config_text(path: Path, what: str = "", limit: int = MAX_SCENARIO_BYTES) -> str:
    """The UTF-8 text of a config file: too large, unreadable or not UTF-8 -> a one-line ScenarioError.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.yaml"; _ = p.write_bytes(b"name: caf\\xe9")
    >>> try:
    ...     read_config_text(p)
    ... except ScenarioError as exc:
    ...     print(exc.reason)
    not UTF-8 text (byte 0xe9 at offset 9, line 1); save the file as UTF-8
    """
    try:
        size = path.stat().st_size
        if size > limit:
            raise ScenarioError(what, f"file of {size:,} bytes is larger than the {limit:,}-byte limit for "
                                      "config files", source=str(path))
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(what, f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(what, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}, line "
                                  f"{line}); save the file as UTF-8", source=str(path)) from None


def packaged_scenarios() -> dict[str, str]:
    """Name -> first comment line (description) of every scenario shipped inside llmsim."""
    out = {}
    for entry in sorted(resources.files("llmsim.scenarios").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            text = entry.read_text(encoding="utf-8")
            first = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.startswith("#")), "")
            out[entry.name[:-5]] = first
    return out


def load_scenario(source: str | Path | dict, overrides: dict[str, Any] | None = None) -> Scenario:
    """A Scenario from a YAML path, a packaged scenario name, or a dict; optional dotted overrides."""
    if isinstance(source, Scenario):
        sc = source
    elif isinstance(source, dict):
        sc = validate_scenario(read_file_references(source, None))
    else:
        name = str(source)
        data = read_yaml(_scenario_text(Path(source), name), name)
        if not isinstance(data, dict):
            raise ScenarioError("", "a scenario file must be a mapping of keys to values", source=name)
        sc = validate_scenario(read_file_references(data, name), source=name)
    if overrides:
        overrides = _client_override_file(overrides)
        try:
            sc = sc.with_overrides(overrides)
        except ScenarioError as exc:
            exc.source = exc.source or (None if isinstance(source, dict) else str(source))
            raise ScenarioError(exc.path, exc.reason, exc.source) from None
    return sc


def _client_override_file(overrides: dict[str, Any]) -> dict[str, Any]:
    """``--set client=probed.yaml``: a value of ``client`` naming a .yaml/.yml file becomes that file's client
    block (as ``llmsim compare --client NAME=FILE`` reads it); any other name must be a preset."""
    value = overrides.get("client")
    if not isinstance(value, str) or _ALIASES.get(value, value) in CLIENT_PRESETS:
        return overrides
    if not value.lower().endswith((".yaml", ".yml")):
        raise ScenarioError("client", f"no client preset named {value!r} (presets: {', '.join(CLIENT_PRESETS)}); "
                                      "a client file ends in .yaml or .yml")
    if not Path(value).is_file():
        raise ScenarioError("client", "no such client file", source=value)
    resolve_client(value)  # a bad client file is reported against that file, not the scenario
    return {**overrides, "client": _client_file(value)}


def capped_horizon(sc: Scenario, cap: str | None) -> Scenario:
    """``sc`` with its horizon cut to ``cap`` (a duration) and its warm-up to a quarter of that, if longer.
    A warm-up longer than ``cap`` is a window placed later in the day (``run --at``, ``trace replay --at``):
    it is kept whole, and the cap cuts the measured part after it.

    The switch behind the ``LLMSIM_HORIZON_CAP`` environment variable, which ``llmsim.simulate`` (every
    run, sweep and comparison) applies; the docs tests set it so that every documented command runs in
    seconds: results under it are not the documented ones, only shorter.

    >>> capped_horizon(load_scenario("tuesday"), "20m").horizon
    1200.0
    >>> capped_horizon(load_scenario("tuesday"), "1000d").horizon == load_scenario("tuesday").horizon
    True
    >>> late = load_scenario("tuesday").with_overrides({"warmup": "8h30m"})
    >>> [v / 3600 for v in (capped_horizon(late, "20m").warmup, capped_horizon(late, "20m").horizon)]
    [8.5, 8.833333333333334]
    """
    if not cap:
        return sc
    try:
        limit = parse_duration(cap)
    except UnitError as exc:
        raise ScenarioError("", f"{HORIZON_CAP_VARIABLE}={cap!r}: {exc}") from None
    if sc.horizon <= limit:
        return sc
    if sc.warmup > limit:
        return sc.with_overrides({"horizon": min(sc.horizon, sc.warmup + limit)})
    return sc.with_overrides({"horizon": limit, "warmup": min(sc.warmup, limit / 4)})


def _scenario_text(path: Path, name: str) -> str:
    """The YAML text of a scenario file, or of the packaged scenario ``name``."""
    if path.is_file():
        return read_config_text(path)
    if name in packaged_scenarios():
        return resources.files("llmsim.scenarios").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    known = ", ".join(packaged_scenarios())
    raise ScenarioError("", f"no such file, and no packaged scenario of that name (packaged: {known})", source=name)


def _read_litellm(client: Any, source: str | None) -> Any:
    """``{litellm: router.yaml, ...}`` -> the same with the file's contents in place of its path."""
    if isinstance(client, dict) and isinstance(client.get("litellm"), (str, Path)):
        path = Path(client["litellm"])
        if not path.is_file():
            raise ScenarioError("client.litellm", "no such file", source=str(path))
        config = read_yaml(read_config_text(path, "client.litellm"), str(path))
        if not isinstance(config, dict):
            raise ScenarioError("client.litellm", "a LiteLLM config is a mapping with model_list", source=str(path))
        return {**client, "litellm": config}
    return client


def read_file_references(data: dict, source: str | None) -> dict:
    """The files a scenario names, read before validation so that validating never touches the disk:
    ``client: {litellm: router.yaml}`` gets the router config's contents (paths are relative to the
    working directory)."""
    client = data.get("client")
    resolved = _read_litellm(client, source)
    return data if resolved is client else {**data, "client": resolved}


def resolve_client(spec: Any, source: str | None = None) -> Client:
    """A Client from a Client, a dict, a preset name, or a YAML file (a client block, or a scenario whose
    ``client`` block is used). Bad input raises ScenarioError naming the field."""
    if isinstance(spec, Client):
        return spec
    data, source = _client_data(spec, source)
    if not isinstance(data, dict):
        raise ScenarioError("client", "expected a mapping of client settings", source=source)
    try:
        return Client.model_validate(data)
    except ValidationError as exc:
        e = format_validation_error(exc, source)
        raise ScenarioError(".".join(p for p in ("client", e.path) if p), e.reason, source, e.more) from None


def _client_data(spec: Any, source: str | None) -> tuple[Any, str | None]:
    """The client block ``spec`` stands for (preset, file, preset/LiteLLM dict or plain data) and the source
    errors cite."""
    if isinstance(spec, str) and _ALIASES.get(spec, spec) in CLIENT_PRESETS:
        return CLIENT_PRESETS[_ALIASES.get(spec, spec)][1], source or f"preset {spec}"
    if isinstance(spec, (str, Path)):
        return _client_file(spec), source or str(spec)
    if isinstance(spec, dict) and ("preset" in spec or "litellm" in spec):
        try:
            return expand_preset(_read_litellm(spec, source)), source
        except ValueError as exc:
            raise ScenarioError("client.preset", str(exc), source) from None
    return spec, source


def _client_file(spec: str | Path) -> Any:
    """The client block of a YAML file: the whole file, or a scenario's ``client`` block."""
    path = Path(spec)
    if not path.is_file():
        known = ", ".join(CLIENT_PRESETS)
        raise ScenarioError("", f"no such file, and no client preset of that name (presets: {known})",
                            source=str(spec))
    data = read_yaml(read_config_text(path), str(spec))
    if isinstance(data, dict) and "client" in data and "providers" in data:
        return data["client"]
    return data
