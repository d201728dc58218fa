"""Importers: other tools' configs as llmsim scenarios (see docs/bridges.md)."""

from llmsim.bridges.importers.litellm_file import import_litellm
from llmsim.config.litellm_router import ImportNote, LiteLLMImport

__all__ = ["import_litellm", "LiteLLMImport", "ImportNote"]
