"""``expand_preset``: a client block that names a preset (or holds a LiteLLM router config) -> client data.

>>> expand_preset("openai-sdk")["retry"]["max_attempts"]
3
>>> expand_preset({"preset": "openai-sdk", "deadline": "30s"})["deadline"]
'30s'
>>> expand_preset({"timeout": "10s"})
{'timeout': '10s'}
"""

from __future__ import annotations

from typing import Any

from llmsim.config.client_presets import _ALIASES, CLIENT_PRESETS, deep_merge
from llmsim.config.litellm_router import translate_litellm

__all__ = ["expand_preset"]


def expand_preset(value: Any) -> Any:
    """``"openai-sdk"`` or ``{preset: openai-sdk, deadline: 30s, retry: {max_attempts: 5}}`` -> the
    preset's client data with the overrides merged in; ``{litellm: router.yaml, model: gpt-4o}`` -> the
    client stack of that LiteLLM config (its deployments must be the scenario's providers, named as
    ``llmsim import litellm`` names them); anything else unchanged."""
    if isinstance(value, dict) and "litellm" in value:
        return _from_litellm(value)
    if isinstance(value, str):
        value = {"preset": value}
    if isinstance(value, dict) and "preset" in value:
        return _from_preset(value)
    return value


def _from_litellm(value: dict) -> dict:
    """The client stack of the LiteLLM router config in ``value["litellm"]``, with the other keys merged in."""
    config = value["litellm"]
    if not isinstance(config, dict):
        raise ValueError("client.litellm: a router config file is read by llmsim.load_scenario (or "
                         "resolve_client); here give its contents as a mapping")
    imported = translate_litellm(config, model=value.get("model")).client
    return deep_merge(imported, {k: v for k, v in value.items() if k not in ("litellm", "model")})


def _from_preset(value: dict) -> dict:
    """The client data of preset ``value["preset"]``, with the other keys merged in."""
    name = _ALIASES.get(value["preset"], value["preset"])
    if name not in CLIENT_PRESETS:
        raise ValueError(f"no client preset named {value['preset']!r} (presets: {', '.join(CLIENT_PRESETS)})")
    return deep_merge(CLIENT_PRESETS[name][1], {k: v for k, v in value.items() if k != "preset"})
