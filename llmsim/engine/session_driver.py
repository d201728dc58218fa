"""Closed-loop workload: sessions (chains of calls with think time) and agent-to-agent conversations.

Every session start time is drawn at build time (per group, stream ``session-starts``) and numbered
in time order: session ids do not depend on the client policy. A session's length, sizes, think
times and provider draws come from streams keyed by its id (and step chunk), so a guard that stops
a session early never changes what any other request sees (common random numbers).

Request ids of session steps are ``SESSION_RID_BASE + session_id * STEP_STRIDE + step``
(open-loop requests keep 0, 1, 2, ...); the requests table also has ``session_id`` and ``step``.
Events (``session_id``: the session; subject: its group): ``session_start`` (value ``"runaway"`` or
empty) and ``session_end`` (value: the reason: done, failed, horizon, step_limit, or the guard's
reason: session_steps, session_tokens, session_cost, budget, alert_block, alert_throttle).
"""

from __future__ import annotations

import numpy as np
from simpy.events import Timeout

from llmsim.config.sessions import SessionGroup
from llmsim.core.outcomes import DELIVERED, Outcome
from llmsim.core.streams import Streams
from llmsim.engine.arrivals import arrival_times
from llmsim.engine.clock import exact_delay, later
from llmsim.engine.pipeline import Request
from llmsim.policies.spend import SessionSpend
from llmsim.provider.model import DRAW_COLUMNS

__all__ = ["SESSION_RID_BASE", "STEP_STRIDE", "STEP_CHUNK", "SessionDraws", "Session", "SessionDriver",
           "session_start_times"]

SESSION_RID_BASE = 10**12
STEP_STRIDE = 10**6  # at most this many steps per session (then it ends with reason step_limit)
STEP_CHUNK = 64  # steps whose sizes and provider draws are drawn together
_SPEND_BLOCKED = Outcome.SPEND_BLOCKED


class SessionDraws:
    """Provider draws for one chunk of a session's steps (same interface as run.ChunkDraws)."""

    __slots__ = ("sid", "chunk", "streams", "tables", "qtables")

    def __init__(self, sid: int, chunk: int, streams: Streams, n_providers: int):
        self.sid = sid
        self.chunk = chunk
        self.streams = streams
        self.tables = [None] * n_providers
        self.qtables = [None] * n_providers

    def table(self, station):
        t = self.tables[station.index]
        if t is None:
            t = self.tables[station.index] = station.model.draw_table(
                self.streams.rng("session-provider", station.index, self.sid, self.chunk), STEP_CHUNK)
        return t

    def quality_table(self, station):
        t = self.qtables[station.index]
        if t is None:
            t = self.qtables[station.index] = self.streams.rng(
                "session-quality", station.index, self.sid, self.chunk).random((STEP_CHUNK, DRAW_COLUMNS))
        return t


class Session(SessionSpend):
    """One running session: its spend (steps, tokens, cost) plus where it is in its chain."""

    __slots__ = ("sid", "group", "runaway", "length", "step", "history", "sizes", "draws", "block_reason")

    def __init__(self, sid: int, group: int, runaway: bool, length: float):
        super().__init__()
        self.sid = sid
        self.group = group
        self.runaway = runaway
        self.length = length  # steps it makes by itself (inf when runaway)
        self.step = 0  # index of the current step
        self.history = 0  # tokens of the conversation so far
        self.sizes = None  # (new, out, think) lists for the current chunk of steps
        self.draws = None
        self.block_reason = ""


class _Group:
    __slots__ = ("cfg", "name", "agents", "think", "stop_p", "steps")

    def __init__(self, cfg: SessionGroup):
        self.cfg = cfg
        self.name = cfg.name
        self.agents = [(a.input_tokens.build(), a.output_tokens.build()) for a in cfg.participants()]
        self.think = cfg.think_time.build()
        self.stop_p = cfg.stop_probability
        self.steps = cfg.steps.build() if cfg.steps is not None else None


def session_start_times(groups: list[SessionGroup], horizon: float, streams: Streams) -> list[tuple[float, int]]:
    """(start time, group index) of every session in [0, horizon), in time order (ties: group order)."""
    out = []
    for gi, g in enumerate(groups):
        if g.starts.at is not None:
            times = [t for t in g.starts.at if t < horizon]
        else:
            times = arrival_times(g.starts.rate_schedule(), horizon, streams.rng("session-starts", gi)).tolist()
        out.extend((float(t), gi) for t in times)
    out.sort()
    return out


class SessionDriver:
    """Starts sessions and sends each next step when the previous one ends (closed loop)."""

    def __init__(self, env, groups: list[SessionGroup], client, recorder, streams: Streams, horizon: float,
                 n_providers: int, max_tokens: int):
        self.env = env
        self.groups = [_Group(g) for g in groups]
        self.client = client
        self.rec = recorder
        self.streams = streams
        self.horizon = horizon
        self.n_prov = n_providers
        self.max_tokens = max_tokens
        self.live: dict[int, Session] = {}
        self.starts = session_start_times(groups, horizon, streams)
        client.on_end = self._on_end
        env.process(self._source())

    def _source(self):
        env = self.env
        for sid, (t, gi) in enumerate(self.starts):
            yield Timeout(env, exact_delay(env.now, t))
            self._begin(sid, gi)

    def _begin(self, sid: int, gi: int) -> None:
        g = self.groups[gi]
        rng = self.streams.rng("session", sid)
        runaway = bool(rng.random() < g.cfg.runaway)
        if g.stop_p is not None:
            length = float(rng.geometric(g.stop_p))
        elif g.steps is not None:
            length = float(max(1, round(float(g.steps.sample(rng, 1)[0]))))
        else:
            length = float("inf")
        if runaway:
            length = float("inf")
        s = Session(sid, gi, runaway, length)
        self.live[sid] = s
        self.rec.event(self.env.now, "session_start", g.name, "runaway" if runaway else "", session=sid)
        self._step(s)

    def _sizes(self, s: Session, chunk: int):
        g = self.groups[s.group]
        rng = self.streams.rng("session-sizes", s.sid, chunk)
        news, outs = [], []
        for inp, out in g.agents:
            news.append(np.maximum(1, np.rint(inp.sample(rng, STEP_CHUNK))).astype(np.int64))
            outs.append(np.clip(np.rint(out.sample(rng, STEP_CHUNK)), 1, self.max_tokens).astype(np.int64))
        think = np.maximum(0.0, g.think.sample(rng, STEP_CHUNK))
        n = len(g.agents)
        if n == 1:
            return news[0].tolist(), outs[0].tolist(), think.tolist()
        roles = (chunk * STEP_CHUNK + np.arange(STEP_CHUNK)) % n
        cols = np.arange(STEP_CHUNK)
        return np.stack(news)[roles, cols].tolist(), np.stack(outs)[roles, cols].tolist(), think.tolist()

    def _next_step(self, event) -> None:
        self._step(event.value)

    def _step(self, s: Session) -> None:
        now = self.env.now
        if now >= self.horizon:
            self._end(s, "horizon")
            return
        j = s.step
        if j >= STEP_STRIDE:
            self._end(s, "step_limit")
            return
        chunk, row = divmod(j, STEP_CHUNK)
        if row == 0 or s.sizes is None:
            s.sizes = self._sizes(s, chunk)
            s.draws = SessionDraws(s.sid, chunk, self.streams, self.n_prov)
        cfg = self.groups[s.group].cfg
        new = s.sizes[0][row]
        inp = new + s.history
        if cfg.context_limit is not None and inp > cfg.context_limit:
            inp = max(new, cfg.context_limit)  # the history is truncated to fit the context window
        cached = int((inp - new) * cfg.history_cached_share) if inp > new else 0
        rid = SESSION_RID_BASE + s.sid * STEP_STRIDE + j
        s.steps = j + 1
        self.rec.session_step(rid, s.sid, j)
        req = Request(rid, now, inp, cached, s.sizes[1][row], s.draws, row, self.n_prov)
        req.session = s
        self.client.start(req)

    def _on_end(self, req, outcome: str) -> None:
        s = req.session
        if s is None:
            return
        row = s.step % STEP_CHUNK
        if outcome == _SPEND_BLOCKED:
            self._end(s, s.block_reason or _SPEND_BLOCKED.value)
            return
        if outcome in DELIVERED:
            if self.groups[s.group].cfg.history:
                s.history += s.sizes[0][row] + s.sizes[1][row]
        elif self.groups[s.group].cfg.on_failure == "stop":
            self._end(s, "failed")
            return
        s.step += 1
        if s.step >= s.length:
            self._end(s, "done")
            return
        later(self.env, s.sizes[2][row], self._next_step, s)

    def _end(self, s: Session, reason: str) -> None:
        if self.live.pop(s.sid, None) is None:
            return
        self.rec.event(self.env.now, "session_end", self.groups[s.group].name, reason, session=s.sid)

    def close(self) -> None:
        """At the end of the run: sessions still going end with reason ``horizon``."""
        for sid in sorted(self.live):
            self._end(self.live[sid], "horizon")
