"""``import_litellm``: a LiteLLM proxy config (YAML file or parsed dict) -> llmsim scenario and notes.

>>> imp = import_litellm({"model_list": [{"model_name": "m", "litellm_params": {"model": "openai/gpt-4o"}}]})
>>> [p["name"] for p in imp.scenario["providers"]]
['m-0']
"""

from __future__ import annotations

from pathlib import Path

from llmsim.config.litellm_router import DEFAULT_SLOTS, LiteLLMImport, translate_litellm
from llmsim.config.loading import read_config_text
from llmsim.config.yaml_io import read_yaml
from llmsim.core.errors import InputError

__all__ = ["import_litellm"]


def import_litellm(config: dict | str | Path, model: str | None = None, slots: int = DEFAULT_SLOTS) -> LiteLLMImport:
    """Map a LiteLLM config (dict or YAML path) for model group ``model`` (default: the first)."""
    if isinstance(config, dict):
        return translate_litellm(config, model, slots)
    source = str(config)
    path = Path(config)
    if not path.is_file():
        raise InputError("", "no such file", source=source)
    data = read_yaml(read_config_text(path), source)
    if not isinstance(data, dict):
        raise InputError("", "a LiteLLM config is a mapping with model_list", source=source)
    try:
        return translate_litellm(data, model, slots)
    except InputError as e:
        if not e.source:
            raise InputError(e.path, e.reason, source) from None
        raise
