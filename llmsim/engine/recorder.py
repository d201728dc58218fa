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


#: the attempt row's values, in the order ``attempt_row`` writes them (one ``extend`` per row), and
#: each column's dtype in the compacted chunks
A_FIELDS = (("a_req", np.int64), ("a_k", np.int16), ("a_prov", np.int16), ("a_sent", float), ("a_started", float),
            ("a_first", float), ("a_end", float), ("a_outcome", np.int8), ("a_status", np.int16),
            ("a_retry_after", float), ("a_in", np.int64), ("a_out", np.int64), ("a_cost", float))
#: the request row's values, in the order ``request_row`` writes them
R_FIELDS = (("r_id", np.int64), ("r_arrival", float), ("r_end", float), ("r_outcome", np.int8),
            ("r_attempts", np.int16), ("r_prov", np.int16), ("r_ttft", float), ("r_in", np.int64),
            ("r_out", np.int64))
#: the attempts table's columns as recorded (before ``billed_cached_tokens``)
ATTEMPT_COLUMNS = ("request_id", "attempt", "provider", "sent", "started", "first_token", "end", "outcome", "status",
                   "retry_after", "billed_input_tokens", "billed_output_tokens", "cost")
_SHIFT = 15
_ROWS = 1 << _SHIFT  # rows per chunk
_MASK = _ROWS - 1
_IN, _OUT, _COST = 10, 11, 12  # positions of the bill in an attempt row (``settle``)


class _Rows:
    """Rows of ``fields`` appended as one ``extend`` of doubles each (integers below 2**53 are exact),
    compacted every ``_ROWS`` rows into typed columns: one call per row on the hot path, and in memory
    the typed size plus one chunk of doubles.

    >>> t = _Rows((("x", np.int64), ("y", float)))
    >>> for i in range(3): t.buf.extend((i, i / 2))
    >>> t.n = 3
    >>> [c.tolist() for c in t.columns()]
    [[0, 1, 2], [0.0, 0.5, 1.0]]
    """

    __slots__ = ("fields", "width", "buf", "n", "chunks")

    def __init__(self, fields):
        self.fields = fields
        self.width = len(fields)
        self.buf = array("d")  # the rows since the last compaction
        self.n = 0  # rows written
        self.chunks: list[list[np.ndarray]] = [[] for _ in fields]  # per column, its compacted chunks

    def compact(self) -> None:
        """Move the buffered rows into typed columns (a chunk each)."""
        if not len(self.buf):
            return
        raw = np.frombuffer(self.buf, dtype=float).reshape(-1, self.width)
        for j, (_, dtype) in enumerate(self.fields):
            self.chunks[j].append(raw[:, j].astype(dtype))
        del raw
        self.buf = array("d")

    def set(self, row: int, j: int, value) -> None:
        """Overwrite value ``j`` of row ``row`` (written before)."""
        c, off = row >> _SHIFT, row & _MASK
        if c < len(self.chunks[0]):
            self.chunks[j][c][off] = value
        else:
            self.buf[off * self.width + j] = value

    def get(self, row: int, j: int):
        c, off = row >> _SHIFT, row & _MASK
        if c < len(self.chunks[0]):
            return self.chunks[j][c][off].item()
        return self.fields[j][1](self.buf[off * self.width + j]).item()

    def columns(self):
        """Each column as one typed array, handed over: the chunks are freed as each is joined."""
        self.compact()
        for j, (_, dtype) in enumerate(self.fields):
            parts = self.chunks[j]
            self.chunks[j] = []
            col = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
            del parts
            yield col
            del col


class Recorder:
    """Appends rows (one call each) into chunked buffers; ``cost`` of an attempt may be settled after its
    row is written."""

    def __init__(self, provider_names: list[str]):
        self.provider_names = list(provider_names)
        self.att = _Rows(A_FIELDS)
        self.a_buf = self.att.buf
        self.req = _Rows(R_FIELDS)
        self.r_buf = self.req.buf
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
        t = self.att
        row = t.n
        t.n = row + 1
        self.a_buf.extend((att.req.rid, att.k, prov, att.sent, started, att.first, att.end, OUTCOME_CODE[att.outcome],
                           att.status, att.retry_after, billed_in, billed_out, cost))
        if row & _MASK == _MASK:
            t.compact()
            self.a_buf = t.buf
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

    def billed_output(self, row: int) -> int:
        """The billed output tokens of attempt row ``row`` (as settled so far)."""
        return int(self.att.get(row, _OUT))

    def cached(self, row: int, tokens: int) -> None:
        """``tokens`` of the attempt's billed input were billed at the cached-input price."""
        self.a_cached[row] = tokens

    def settle(self, row: int, billed_in: int, billed_out: int, cost: float) -> None:
        """Bill an attempt whose provider-side work ended after the client had given up on it."""
        t = self.att
        t.set(row, _IN, billed_in)
        t.set(row, _OUT, billed_out)
        t.set(row, _COST, cost)

    def request_row(self, req, end: float, outcome: str, prov: int, ttft: float) -> None:
        """The row of a request that ended now (``req``: rid, arrival, k attempts, sizes), decided by an
        attempt on provider ``prov`` (-1: none)."""
        t = self.req
        row = t.n
        t.n = row + 1
        self.r_buf.extend((req.rid, req.arrival, end, OUTCOME_CODE[outcome], req.k, prov, ttft, req.inp, req.out))
        if row & _MASK == _MASK:
            t.compact()
            self.r_buf = t.buf

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
        over: each column's chunks are freed as it is built (one sort order, no copy of a whole table),
        so call it once, at the end of the run."""
        # attempts: one stable order by (request, attempt), then column by column
        columns = self.att.columns()
        req, k = next(columns), next(columns)
        order = np.lexsort((k, req))
        cols = {"request_id": req[order], "attempt": k[order]}
        del req, k
        for name, col in zip(ATTEMPT_COLUMNS[2:], columns, strict=True):
            cols[name] = col[order]
            del col
        cols["provider"] = self._provider(cols["provider"])
        cols["outcome"] = _cat(cols["outcome"])
        cols["billed_cached_tokens"] = self._cached_column(order)
        if self.a_tier is not None:
            cols["service_tier"], cols["downgraded"] = tier_columns(self.a_tier, cols["request_id"], cols["attempt"])
            self.a_tier = {}
        del order
        self.a_buf = self.att.buf
        attempts = pd.DataFrame(cols, copy=False)
        requests = self._request_table(cols["request_id"], cols["cost"], cols["outcome"].codes)
        del cols
        return requests, attempts, self.event_table()

    def _request_table(self, a_req: np.ndarray, a_cost: np.ndarray, a_outcome: np.ndarray) -> pd.DataFrame:
        """The requests table (sorted by id), with each request's money summed from its attempts."""
        columns = self.req.columns()
        rid = next(columns)
        order = np.argsort(rid, kind="stable")
        req_ids = rid[order]
        del rid
        n = len(req_ids)
        # per-request money from the attempts: everything spent, and what did not deliver;
        # request ids may be sparse (session steps): sum per position, not per id
        pos = np.searchsorted(req_ids, a_req) if n else a_req
        cost = np.bincount(pos, weights=a_cost, minlength=n) if n else np.zeros(0)
        wasted = (np.bincount(pos, weights=np.where(a_outcome == OUTCOME_CODE["ok"], 0.0, a_cost), minlength=n)
                  if n else np.zeros(0))
        del pos
        session_id, step = self._session_columns(req_ids)
        arrival, end, outcome, attempts, prov, ttft, inp, out = (col[order] for col in columns)
        self.r_buf = self.req.buf
        cols = {"request_id": req_ids, "arrival": arrival, "end": end, "outcome": _cat(outcome),
                "attempts": attempts, "provider": self._provider(prov),
                "latency": end - arrival, "ttft": ttft, "input_tokens": inp, "output_tokens": out,
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
