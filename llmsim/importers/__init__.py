"""Importers: other tools' configs as llmsim scenarios (see docs/bridges.md)."""

from .litellm import ImportNote, LiteLLMImport, import_litellm

__all__ = ["import_litellm", "LiteLLMImport", "ImportNote"]
