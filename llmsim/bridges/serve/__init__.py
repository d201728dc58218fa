"""``llmsim serve``: the provider model as a live OpenAI / Anthropic compatible HTTP endpoint.

See docs/bridges.md. ``ServerThread`` runs it in the background (tests, fidelity reports).
"""

from llmsim.bridges.serve.runtime import LiveProvider, Refused
from llmsim.bridges.serve.server import LiveServer
from llmsim.bridges.serve.threads import ServerThread, run_forever

__all__ = ["LiveServer", "ServerThread", "run_forever", "LiveProvider", "Refused"]
