"""Importers: other tools' configs as llmsim scenarios (see docs/bridges.md)."""

from llmsim.bridges.importers.litellm_router import ImportNote, LiteLLMImport, import_litellm

__all__ = ["import_litellm", "LiteLLMImport", "ImportNote"]
