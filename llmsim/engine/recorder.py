"""Column-wise recording of attempts, requests and events; DataFrames are built once at the end.

Recording never decides behaviour: the engine calls ``attempt_row`` (from the ended attempt),
``request_row`` (from the ended request) and ``event`` (typed: text, number, session), and nothing
reads back.
"""

from __future__ import annotations

from array import array

import numpy as np
import pandas as pd

from llmsim.core.outcomes import OUTCOMES, Outcome

__all__ = ["Recorder", "OUTCOME_CODE", "EVENT_COLUMNS", "event_frame"]

#: outcome -> its code in the categorical columns; keyed by the members, so looking a member up is an
#: identity hit (plain strings find the same codes)
OUTCOME_CODE = {o: i for i, o in enumerate(Outcome)}
NAN = float("nan")
#: the event log's columns: ``value`` is text (a state, a name, a reason), ``number`` a quantity (slots,
#: dollars, a time; NaN when the event has none), ``session_id`` the session it is about (-1: none)
EVENT_COLUMNS = ("time", "kind", "subject", "value", "number", "session_id")


def event_frame(time, kind, subject, value, number, session_id) -> pd.DataFrame:
    """The event log's DataFrame from its columns (sequences of equal length), typed."""
    return pd.DataFrame({
        "time": np.asarray(time, dtype=float),
        "kind": pd.Series(kind, dtype=str),
        "subject": pd.Series(subject, dtype=str),
        "value": pd.Series(value, dtype=str),
        "number": np.asarray(number, dtype=float),
        "session_id": np.asarray(session_id, dtype=np.int64),
    })


#: the service classes in code order (llmsim.provider.tiers)
TIER_NAMES = ("priority", "standard", "flex", "batch")


def tier_columns(tiers: dict, request_id: np.ndarray, attempt: np.ndarray) -> tuple[pd.Categorical, np.ndarray]:
    """The ``service_tier`` (categorical; what the attempt was served and billed as) and ``downgraded``
    (a priority request the ramp rule served as standard) columns from the sparse codes ``tiers``.

    >>> c, d = tier_columns({(0, 1): 2, (1, 0): 4}, np.array([0, 0, 1]), np.array([0, 1, 0]))
    >>> list(c), d.tolist()
    (['standard', 'flex', 'standard'], [False, False, True])
    """
    codes = np.ones(len(request_id), dtype=np.int8)
    if tiers:
        keys = np.fromiter((r for r, _ in tiers), np.int64, len(tiers))
        ks = np.fromiter((k for _, k in tiers), np.int64, len(tiers))
        vals = np.fromiter(tiers.values(), np.int8, len(tiers))
        pos = np.lexsort((attempt, request_id))  # rows are sorted already: searchsorted on (rid, k) pairs
        combined = request_id[pos].astype(np.int64) * 65536 + attempt[pos]
        wanted = keys * 65536 + ks
        at = np.minimum(np.searchsorted(combined, wanted), max(len(combined) - 1, 0))
        found = combined[at] == wanted if len(combined) else np.zeros(len(wanted), bool)
        codes[pos[at[found]]] = vals[found]
    downgraded = codes == 4
    codes[downgraded] = 1
    return pd.Categorical.from_codes(codes, categories=list(TIER_NAMES)), downgraded


def _cat(codes: np.ndarray) -> pd.Categorical:
    """Outcome codes as the categorical column of ``OUTCOMES``."""
    return pd.Categorical.from_codes(codes.astype(np.int16, copy=False), categories=list(OUTCOMES))


class Recorder:
    """Appends rows into per-column lists; ``cost`` of an attempt may be settled after its row is written."""

    def __init__(self, provider_names: list[str]):
        self.provider_names = list(provider_names)
        # typed arrays: 8 bytes a value instead of a Python object each (1M requests fit in memory)
        # attempts
        self.a_req = array("q")
        self.a_k = array("h")
        self.a_prov = array("h")
        self.a_sent = array("d")
        self.a_started = array("d")
        self.a_first = array("d")
        self.a_end = array("d")
        self.a_outcome = array("b")
        self.a_status = array("h")
        self.a_retry_after = array("d")
        self.a_in = array("q")
        self.a_out = array("q")
        self.a_cost = array("d")
        # requests
        self.r_id = array("q")
        self.r_arrival = array("d")
        self.r_end = array("d")
        self.r_outcome = array("b")
        self.r_attempts = array("h")
        self.r_prov = array("h")
        self.r_ttft = array("d")
        self.r_in = array("q")
        self.r_out = array("q")
        # cached input tokens of billed attempts (sparse: row -> tokens; most rows have none)
        self.a_cached: dict[int, int] = {}
        # session steps: request id -> (session id, step index)
        self.s_rid = array("q")
        self.s_sid = array("q")
        self.s_step = array("l")
        # events
        self.events: list[tuple[float, str, str, str, float, int]] = []
        # service classes (llmsim.engine.tiered_station): (request id, attempt) -> class code, sparse (standard
        # is not stored); None: no provider offers classes, the attempts table has no class columns
        self.a_tier: dict[tuple[int, int], int] | None = None

    def attempt_row(self, att, prov: int, started: float = NAN, billed_in: int = 0, billed_out: int = 0,
                    cost: float = 0.0) -> int:
        """The row of an attempt that has ended for its client (its answer is on ``att``: ``first``,
        ``end``, ``outcome``, ``status``, ``retry_after``), sent to provider ``prov`` (-1: none), with
        service start ``started`` and the bill; returns the row number (to settle or add cached input)."""
        row = len(self.a_req)
        self.a_req.append(att.req.rid)
        self.a_k.append(att.k)
        self.a_prov.append(prov)
        self.a_sent.append(att.sent)
        self.a_started.append(started)
        self.a_first.append(att.first)
        self.a_end.append(att.end)
        self.a_outcome.append(OUTCOME_CODE[att.outcome])
        self.a_status.append(att.status)
        self.a_retry_after.append(att.retry_after)
        self.a_in.append(billed_in)
        self.a_out.append(billed_out)
        self.a_cost.append(cost)
        return row

    def track_tiers(self) -> None:
        """Give the attempts table its ``service_tier`` and ``downgraded`` columns."""
        self.a_tier = {}

    def tier(self, rid: int, k: int, code: int) -> None:
        """Attempt ``k`` of request ``rid`` went as class ``code`` (llmsim.provider.tiers; 4: priority
        downgraded to standard)."""
        if code == 1:
            self.a_tier.pop((rid, k), None)
        else:
            self.a_tier[(rid, k)] = code

    def cached(self, row: int, tokens: int) -> None:
        """``tokens`` of the attempt's billed input were billed at the cached-input price."""
        self.a_cached[row] = tokens

    def settle(self, row: int, billed_in: int, billed_out: int, cost: float) -> None:
        """Bill an attempt whose provider-side work ended after the client had given up on it."""
        self.a_in[row] = billed_in
        self.a_out[row] = billed_out
        self.a_cost[row] = cost

    def request_row(self, req, end: float, outcome: str, prov: int, ttft: float) -> None:
        """The row of a request that ended now (``req``: rid, arrival, k attempts, sizes), decided by an
        attempt on provider ``prov`` (-1: none)."""
        self.r_id.append(req.rid)
        self.r_arrival.append(req.arrival)
        self.r_end.append(end)
        self.r_outcome.append(OUTCOME_CODE[outcome])
        self.r_attempts.append(req.k)
        self.r_prov.append(prov)
        self.r_ttft.append(ttft)
        self.r_in.append(req.inp)
        self.r_out.append(req.out)

    def session_step(self, rid: int, session_id: int, step: int) -> None:
        """Request ``rid`` is step ``step`` (0 = first) of session ``session_id``."""
        self.s_rid.append(rid)
        self.s_sid.append(session_id)
        self.s_step.append(step)

    def event(self, time: float, kind: str, subject: str, value: str = "", *, number: float = NAN,
              session: int = -1) -> None:
        """One row of the event log: ``value`` a name or state, ``number`` a quantity (slots, dollars,
        a time), ``session`` the session it is about (-1: none)."""
        self.events.append((time, kind, subject, value, number, session))

    # -- tables ---------------------------------------------------------------------------------
    def _take(self, name: str, dtype, order: np.ndarray | None) -> np.ndarray:
        """Column ``name`` as a numpy array in ``order`` (None: as recorded); the recorded buffer is
        released at once, so building the tables holds one column twice at most, never a table."""
        buf = getattr(self, name)
        setattr(self, name, array(buf.typecode))
        view = np.frombuffer(buf, dtype=buf.typecode) if len(buf) else np.zeros(0, dtype=buf.typecode)
        col = view[order] if order is not None else view.copy()
        del view, buf
        return col if col.dtype == dtype else col.astype(dtype)

    def _cached_column(self, order: np.ndarray) -> np.ndarray:
        col = np.zeros(len(order), dtype=np.int64)
        if self.a_cached:
            col[np.fromiter(self.a_cached.keys(), np.int64)] = np.fromiter(self.a_cached.values(), np.int64)
            self.a_cached = {}
        return col[order]

    def _provider(self, codes: np.ndarray) -> pd.Categorical:
        names = self.provider_names + ["none"]
        return pd.Categorical.from_codes(np.where(codes < 0, len(names) - 1, codes), categories=names)

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(requests, attempts, events), sorted by request id (and attempt). Hands the recorded buffers
        over: each is freed as its column is built (one sort order, no copy of a whole table), so call
        it once, at the end of the run."""
        # attempts: one stable order by (request, attempt), then column by column
        req = np.frombuffer(self.a_req, dtype=np.int64) if len(self.a_req) else np.zeros(0, np.int64)
        k = np.frombuffer(self.a_k, dtype=np.int16) if len(self.a_k) else np.zeros(0, np.int16)
        order = np.lexsort((k, req))
        del req, k
        take = self._take
        cols = {"request_id": take("a_req", np.int64, order), "attempt": take("a_k", np.int16, order),
                "provider": self._provider(take("a_prov", np.int16, order))}
        for col, name in (("sent", "a_sent"), ("started", "a_started"), ("first_token", "a_first"),
                          ("end", "a_end")):
            cols[col] = take(name, float, order)
        cols["outcome"] = _cat(take("a_outcome", np.int8, order))
        cols["status"] = take("a_status", np.int16, order)
        cols["retry_after"] = take("a_retry_after", float, order)
        cols["billed_input_tokens"] = take("a_in", np.int64, order)
        cols["billed_output_tokens"] = take("a_out", np.int64, order)
        cols["cost"] = take("a_cost", float, order)
        cols["billed_cached_tokens"] = self._cached_column(order)
        if self.a_tier is not None:
            cols["service_tier"], cols["downgraded"] = tier_columns(self.a_tier, cols["request_id"], cols["attempt"])
            self.a_tier = {}
        del order
        attempts = pd.DataFrame(cols, copy=False)
        requests = self._request_table(cols["request_id"], cols["cost"], cols["outcome"].codes)
        del cols
        return requests, attempts, self.event_table()

    def _request_table(self, a_req: np.ndarray, a_cost: np.ndarray, a_outcome: np.ndarray) -> pd.DataFrame:
        """The requests table (sorted by id), with each request's money summed from its attempts."""
        rid = np.frombuffer(self.r_id, dtype=np.int64) if len(self.r_id) else np.zeros(0, np.int64)
        order = np.argsort(rid, kind="stable")
        del rid
        take = self._take
        req_ids = take("r_id", np.int64, order)
        n = len(req_ids)
        # per-request money from the attempts: everything spent, and what did not deliver;
        # request ids may be sparse (session steps): sum per position, not per id
        pos = np.searchsorted(req_ids, a_req) if n else a_req
        cost = np.bincount(pos, weights=a_cost, minlength=n) if n else np.zeros(0)
        wasted = (np.bincount(pos, weights=np.where(a_outcome == OUTCOME_CODE["ok"], 0.0, a_cost), minlength=n)
                  if n else np.zeros(0))
        del pos
        session_id, step = self._session_columns(req_ids)
        arrival = take("r_arrival", float, order)
        end = take("r_end", float, order)
        cols = {"request_id": req_ids, "arrival": arrival, "end": end,
                "outcome": _cat(take("r_outcome", np.int8, order)),
                "attempts": take("r_attempts", np.int16, order),
                "provider": self._provider(take("r_prov", np.int16, order)),
                "latency": end - arrival, "ttft": take("r_ttft", float, order),
                "input_tokens": take("r_in", np.int64, order), "output_tokens": take("r_out", np.int64, order),
                "cost": cost, "wasted_cost": wasted,
                "session_id": session_id,  # -1: open-loop request
                "step": step}  # step index within its session (0 = first), -1: open-loop
        return pd.DataFrame(cols, copy=False)

    def _session_columns(self, req_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(session id, step) of each request of the sorted ids ``req_ids`` (-1, -1: open-loop)."""
        n = len(req_ids)
        session_id = np.full(n, -1, dtype=np.int64)
        step = np.full(n, -1, dtype=np.int32)
        if len(self.s_rid):
            s_rid = np.asarray(self.s_rid, dtype=np.int64)
            spos = np.searchsorted(req_ids, s_rid)
            found = spos < n
            found[found] = req_ids[spos[found]] == s_rid[found]
            session_id[spos[found]] = np.asarray(self.s_sid, dtype=np.int64)[found]
            step[spos[found]] = np.asarray(self.s_step, dtype=np.int64)[found]
        return session_id, step

    def event_table(self) -> pd.DataFrame:
        """The event log (``EVENT_COLUMNS``), in the order recorded."""
        return event_frame(*(zip(*self.events) if self.events else ((),) * len(EVENT_COLUMNS)))
