"""``llmsim serve``: the provider model as a live OpenAI / Anthropic compatible HTTP endpoint.

See docs/bridges.md. ``ServerThread`` runs it in the background (tests, fidelity reports).
"""

from .app import LiveServer
from .runner import ServerThread, run_forever
from .runtime import LiveProvider, Refused

__all__ = ["LiveServer", "ServerThread", "run_forever", "LiveProvider", "Refused"]
