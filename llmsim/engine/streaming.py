"""Summary-only recording (``keep: summary``): the summary metrics accumulated while the run goes, in
bounded memory (counters, money totals, and log-bucket histograms of the successful requests' latency
and TTFT), instead of one row per attempt and request.

The engine calls it exactly as it calls ``Recorder``. A request is measured when it arrived after the
warm-up; an attempt when its request was. Counts, money and means are exact (money and means up to the
order of float additions); the latency and TTFT quantiles are within the histogram's relative error
(0.5 %) of the exact ones. No table and no event log are kept (breaker openings are counted); the
collapse metrics come from arrivals and successful ends counted per detection bin, and the capacity and
incident events (the triggers), so they equal those of the full tables.

>>> import llmsim
>>> sc = llmsim.load_scenario("tuesday", {"horizon": "10m", "keep": "summary"})
>>> res = llmsim.simulate(sc, seed=1)
>>> res.requests is None, bool(res.summary()["requests"] > 0)
(True, True)
"""

from __future__ import annotations

from array import array

import numpy as np

from llmsim.core.goodput_collapse import collapse_bins
from llmsim.core.histogram import LogHistogram
from llmsim.core.outcomes import OUTCOMES, Outcome

__all__ = ["StreamingRecorder", "StreamedSummary"]

_FLUSH = 1 << 16  # values buffered before a histogram update (vectorised)


class StreamedSummary:
    """What a summary-only run measured: the ingredients of ``llmsim.results.summary_metrics``."""

    def __init__(self, rel_error: float, edges: np.ndarray):
        self.edges = edges  #: collapse-detection bins (``collapse_bins``)
        self.offered = np.zeros(max(len(edges) - 1, 0))  #: arrivals per bin
        self.goodput = np.zeros(max(len(edges) - 1, 0))  #: successful ends per bin
        self.triggers: tuple[list, list, list, list] = ([], [], [], [])  #: kind, time, number, subject
        self.n = 0
        self.invalid = 0
        self.attempts = [0] * len(OUTCOMES)  # by outcome code
        self.cost_total = 0.0
        self.wasted_cost = 0.0
        self.breaker_opens = 0
        self.latency = LogHistogram(rel_error)
        self.ttft = LogHistogram(rel_error)

    def attempt_outcomes(self) -> dict[str, int]:
        return dict(zip(OUTCOMES, self.attempts, strict=True))


class StreamingRecorder:
    """A recorder that keeps the summary only. Row numbers it hands out are opaque: the lowest bit says
    whether the attempt is measured, so a bill settled later lands in the right totals."""

    def __init__(self, provider_names: list[str], warmup: float, horizon: float, rel_error: float = 0.005):
        self.provider_names = list(provider_names)
        self.warmup = warmup
        self.s = StreamedSummary(rel_error, collapse_bins(horizon, warmup))
        self._arrivals = array("d")
        self._ok_ends = array("d")
        self._rows = 0
        self._lat = array("d")
        self._ttft = array("d")
        self._code = {o: i for i, o in enumerate(Outcome)}

    def attempt_row(self, att, prov: int, started: float = float("nan"), billed_in: int = 0, billed_out: int = 0,
                    cost: float = 0.0) -> int:
        self._rows += 2
        if att.req.arrival < self.warmup:
            return self._rows
        s = self.s
        outcome = att.outcome
        s.attempts[self._code[outcome]] += 1
        if cost:
            s.cost_total += cost
            if outcome != Outcome.OK:
                s.wasted_cost += cost
        return self._rows + 1

    def cached(self, row: int, tokens: int) -> None:
        """Cached input is not a summary metric."""

    def settle(self, row: int, billed_in: int, billed_out: int, cost: float) -> None:
        """The bill of an attempt the client had given up on (its row was written unbilled, not delivered)."""
        if row & 1:
            self.s.cost_total += cost
            self.s.wasted_cost += cost

    def request_row(self, req, end: float, outcome: str, prov: int, ttft: float) -> None:
        arrival = req.arrival
        self._arrivals.append(arrival)
        if outcome == Outcome.OK:
            self._ok_ends.append(end)
        if arrival < self.warmup:
            return
        s = self.s
        s.n += 1
        if outcome == Outcome.OK:
            self._lat.append(end - arrival)
            self._ttft.append(ttft)
        elif outcome == Outcome.INVALID:
            s.invalid += 1
        if len(self._arrivals) >= _FLUSH:
            self._flush()

    def session_step(self, rid: int, session_id: int, step: int) -> None:
        """Session membership is not a summary metric."""

    def event(self, time: float, kind: str, subject: str, value: str = "", *, number: float = float("nan"),
              session: int = -1) -> None:
        if kind == "breaker" and value == "open" and time >= self.warmup:
            self.s.breaker_opens += 1
        elif kind in ("capacity", "incident_start", "incident_end"):
            for column, v in zip(self.s.triggers, (kind, time, number, subject)):
                column.append(v)

    def _flush(self) -> None:
        s = self.s
        s.latency.add(self._lat)
        s.ttft.add(self._ttft)
        self._lat = array("d")
        self._ttft = array("d")
        if len(s.edges) > 1:  # the same binning as np.histogram over the whole run
            s.offered += np.histogram(np.frombuffer(self._arrivals), s.edges)[0]
            s.goodput += np.histogram(np.frombuffer(self._ok_ends), s.edges)[0]
        self._arrivals = array("d")
        self._ok_ends = array("d")

    def summary(self) -> StreamedSummary:
        """The totals, histograms filled (call at the end of the run)."""
        self._flush()
        return self.s
