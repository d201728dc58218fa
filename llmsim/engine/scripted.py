"""Test doubles: a scripted fake provider to drive the real client pipeline deterministically.

Like httpx's MockTransport: the client policy runs unchanged, the provider answers from a script.

>>> from llmsim.config import Client
>>> cfg = Client.model_validate({"retry": {"max_attempts": 3, "backoff": {"base": "1s", "jitter": "none"}}})
>>> req, att = run_scripted(cfg, {"p": [("rate_limited", 0, 2.0), ("rate_limited", 0, 2.0), ("ok", 1.5)]})
>>> att["outcome"].tolist(), att["sent"].tolist(), req["outcome"].tolist()
(['rate_limited', 'rate_limited', 'ok'], [0.0, 2.0, 4.0], ['ok'])
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import simpy
from simpy.events import Timeout

from llmsim.config.client import Client
from llmsim.core.outcomes import DELIVERED, Outcome
from llmsim.core.streams import Streams
from llmsim.engine.clock import later
from llmsim.engine.pipeline import ClientPipeline, Request
from llmsim.engine.recorder import Recorder
from llmsim.engine.station import end_attempt

__all__ = ["ScriptedProvider", "run_scripted"]

NAN = float("nan")
_STATUS = {"ok": 200, "invalid": 200, "rate_limited": 429, "overloaded": 529, "server_error": 500}


@dataclass
class _Model:
    name: str
    price_in: float = 0.0
    price_out: float = 0.0


class ScriptedProvider:
    """Answers attempts in order from ``script``: items ``(outcome, seconds[, retry_after])``.

    The last item repeats once the script is used up. An attempt whose scripted duration passes the
    client's cut ends at the cut with the client's timeout/deadline outcome. Attempts end through
    the station's one path (llmsim.engine.station.end_attempt)."""

    def __init__(self, env, name: str, index: int, script: list, recorder: Recorder):
        self.env = env
        self.model = _Model(name)
        self.index = index
        self.script = list(script)
        self.rec = recorder
        self.calls: list[float] = []  # times attempts arrived

    def submit(self, att) -> None:
        now = self.env.now
        self.calls.append(now)
        item = self.script[min(len(self.calls) - 1, len(self.script) - 1)]
        outcome, seconds = item[0], float(item[1])
        retry_after = float(item[2]) if len(item) > 2 else NAN
        if now + seconds > att.cut:
            later(self.env, att.cut - now, self._end, (att, att.cut_outcome, 0, NAN))
        elif seconds == 0:
            self._finish(att, outcome, _STATUS.get(outcome, 0), retry_after)
        else:
            later(self.env, seconds, self._end, (att, outcome, _STATUS.get(outcome, 0), retry_after))

    def _end(self, event) -> None:
        answer = event.value
        if answer[0].in_flight:  # else the client cancelled it
            self._finish(*answer)

    def _finish(self, att, outcome: str, status: int, retry_after: float) -> None:
        now = self.env.now
        if outcome in DELIVERED:  # served from the moment it was sent
            att.started = att.sent
            att.first = now
        end_attempt(self.rec, self.index, att, now, outcome, status, retry_after, att.started)
        att.cb(att)

    def cancel(self, att) -> None:
        end_attempt(self.rec, self.index, att, self.env.now, Outcome.CANCELLED)


def run_scripted(client: Client | dict, scripts: dict[str, list], arrivals=(0.0,), seed: int = 0,
                 order: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the real client pipeline against scripted providers; returns (requests, attempts)."""
    cfg = client if isinstance(client, Client) else Client.model_validate(client)
    env = simpy.Environment()
    names = list(scripts)
    rec = Recorder(names)
    providers = [ScriptedProvider(env, n, i, s, rec) for i, (n, s) in enumerate(scripts.items())]
    pipeline = ClientPipeline(env, cfg, providers, order, rec, Streams(seed), max_tokens=10)

    def source():
        for rid, t in enumerate(arrivals):
            yield Timeout(env, t - env.now)
            pipeline.start(Request(rid, t, 100, 0, 10, None, 0, len(providers)))

    env.process(source())
    env.run()
    requests, attempts, _ = rec.tables()
    return requests, attempts
