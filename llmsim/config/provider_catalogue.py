"""The packaged provider catalogue (``provider_catalogue.yaml``): dated, sourced presets, and their expansion
into provider data.

A provider entry ``{preset: anthropic/claude-sonnet-4.5, tier: 2, name: primary, ...}`` becomes the preset's
provider data (capacity, latency, prices, context window, the tier's rate limits) with the entry's other keys
merged over it, so an override changes one figure and keeps the rest.

>>> p = expand_provider({"preset": "anthropic/claude-sonnet-4.5", "tier": 2, "name": "primary"})
>>> p["name"], p["rate_limits"]["itpm"], p["pricing"]["cached_input_per_mtok"]
('primary', 450000, 0.3)
>>> expand_provider({"preset": "anthropic/claude-sonet-4.5", "tier": 2})
Traceback (most recent call last):
ValueError: no provider preset named 'anthropic/claude-sonet-4.5' (did you mean anthropic/claude-sonnet-4.5?)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import yaml

from llmsim.config.client_presets import deep_merge

__all__ = ["catalogue", "preset_names", "preset_figures", "expand_provider", "default_name", "CATALOGUE_FILE"]

CATALOGUE_FILE = "provider_catalogue.yaml"
_PRESET_KEYS = ("preset", "tier")


@cache
def catalogue() -> dict:
    """The parsed catalogue: ``{"sources": {id: {where, read}}, "presets": {name: entry}}`` (read once).

    Packaged data, not a user's file: reading it is part of importing the catalogue, like a module."""
    text = resources.files("llmsim.config").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def preset_names() -> list[str]:
    """Every preset name, in catalogue order.

    >>> "openai/gpt-4o" in preset_names()
    True
    """
    return list(catalogue()["presets"])


def preset_figures(name: str) -> Iterator[tuple[str, dict]]:
    """(dotted path, figure) for every figure of preset ``name``: a figure is a mapping with ``value`` and
    ``source``.

    >>> dict(preset_figures("openai/gpt-4o"))["tiers.1.rpm"]["value"]
    500
    """
    yield from _figures(catalogue()["presets"][name], "")


def _figures(node: Any, prefix: str) -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict) and "value" in node:
        yield prefix, node
        return
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _figures(child, f"{prefix}.{key}" if prefix else str(key))


def _lookup(name: Any) -> dict:
    """The catalogue entry of preset ``name``; ValueError with a did-you-mean otherwise."""
    presets = catalogue()["presets"]
    if name in presets:
        return presets[name]
    close = difflib.get_close_matches(str(name), list(presets), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else "see `llmsim providers`"
    raise ValueError(f"no provider preset named {name!r} ({hint})")


def _value(entry: dict, path: str) -> Any:
    """The value of the figure at dotted ``path`` in ``entry``, or None when the catalogue leaves it out."""
    node: Any = entry
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node["value"]


def _rate_limits(name: str, entry: dict, tier: Any) -> dict | None:
    """The rate limits of usage tier ``tier`` (None: no published limits)."""
    tiers = entry.get("tiers") or {}
    if tier is None and tiers:
        raise ValueError(f"preset {name} has usage tiers {', '.join(tiers)}: give tier")
    if tier is not None and str(tier) not in tiers:
        known = ", ".join(tiers) if tiers else "none (give rate_limits yourself)"
        raise ValueError(f"preset {name} has no usage tier {tier!r} (tiers: {known})")
    limits = {k: f["value"] for k, f in tiers.get(str(tier), {}).items()}
    return limits or None


def _semantics(entry: dict) -> dict:
    """How the preset's provider counts against its limits (admission, cache reads, output burn)."""
    keys = ("admission", "itpm_counts_cache_reads", "output_burn")
    return {k: v for k in keys if (v := _value(entry, f"limits.{k}")) is not None}


def _latency(entry: dict) -> dict:
    median, p95, speed = (_value(entry, f"latency.{k}") for k in ("ttft_median", "ttft_p95", "tokens_per_s"))
    out: dict = {}
    if median is not None:
        out["ttft"] = ({"dist": "lognormal", "median": median, "p95": p95} if p95 is not None
                       else {"dist": "fixed", "value": median})
    if speed is not None:
        out["tokens_per_s"] = speed
    return out


def _pricing(entry: dict) -> dict:
    keys = ("input_per_mtok", "cached_input_per_mtok", "output_per_mtok")
    return {k: v for k in keys if (v := _value(entry, f"pricing.{k}")) is not None}


def _classes(entry: dict, wanted: Any) -> dict:
    """The catalogue's figures (prices, speed target) of the service classes the user's entry lists under
    ``service_classes``; classes it does not list stay off (they are opt-in).

    >>> _classes(catalogue()["presets"]["openai/gpt-5"], {"priority": {}})
    {'priority': {'price_factor': 2.0, 'min_tokens_per_s': 50}}
    """
    if not isinstance(wanted, dict):
        return {}
    known = entry.get("classes") or {}
    return {cls: {k: f["value"] for k, f in known[cls].items()} for cls in wanted if cls in known}


def _base(name: str, entry: dict, tier: Any) -> dict:
    """The provider data preset ``name`` stands for at usage tier ``tier``."""
    data: dict = {"name": default_name(name), "model": entry["model"],
                  "capacity": {"slots": _value(entry, "capacity_slots")},
                  "latency": _latency(entry), "pricing": _pricing(entry)}
    if (status := _value(entry, "overload_status")) is not None:
        data["queue"] = {"status": status}
    if (window := _value(entry, "context_window")) is not None:
        data["context_window"] = window
    limits = _rate_limits(name, entry, tier)
    if limits is not None:
        data["rate_limits"] = limits
    return data


def default_name(preset: str) -> str:
    """The provider name a preset entry gets without ``name``: usable in dotted overrides (no dots, no slash).

    >>> default_name("anthropic/claude-sonnet-4.5")
    'anthropic-claude-sonnet-4-5'
    """
    return preset.replace("/", "-").replace(".", "-")


def expand_provider(value: Any) -> Any:
    """``{preset: NAME, tier: T, ...overrides}`` -> provider data (the preset's, overrides merged over it);
    anything else unchanged. Raises ValueError for an unknown preset or tier.

    Azure's rule "6 RPM per 1000 TPM" gives the RPM of a TPM quota the user states, unless they state RPM:

    >>> expand_provider({"preset": "azure-openai/gpt-4o", "rate_limits": {"tpm": 100000}})["rate_limits"]["rpm"]
    600.0
    """
    if not isinstance(value, dict) or "preset" not in value:
        return value
    name = value["preset"]
    entry = _lookup(name)
    base = _base(name, entry, value.get("tier"))
    classes = _classes(entry, value.get("service_classes"))
    if classes:
        base["service_classes"] = classes
    data = deep_merge(base, {k: v for k, v in value.items() if k not in _PRESET_KEYS})
    limits = data.get("rate_limits")
    if isinstance(limits, dict):  # the preset's semantics apply to the user's limits too; their keys win
        limits = {**_semantics(entry), **limits}
        per_ktpm = _value(entry, "limits.rpm_per_1000_tpm")
        if per_ktpm is not None and "tpm" in limits and "rpm" not in limits:
            limits["rpm"] = float(limits["tpm"]) * per_ktpm / 1000.0
        data["rate_limits"] = limits
    return data
