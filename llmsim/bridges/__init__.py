"""Bridges to the real world: ``serve`` (a live OpenAI/Anthropic-compatible endpoint on the provider
model), ``fidelity`` (real client libraries against it, compared with the presets) and ``importers``
(gateway configs such as LiteLLM's as scenarios). See docs/bridges.md.
"""
