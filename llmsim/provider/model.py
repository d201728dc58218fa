"""The provider's decisions as plain objects (no SimPy): admission, capacity, latency, errors, billing.

The same model can answer a simulated attempt or, later, a live HTTP call: it is given the time and
the request, and says what happens.

>>> from llmsim.config import Provider
>>> m = ProviderModel(Provider.model_validate(
...     {"name": "p", "capacity": {"slots": 10, "contention": [[0, 0.2], [60, 0.5]]},
...      "pricing": {"input_per_mtok": 2.5, "output_per_mtok": 10}}), index=0)
>>> m.effective_slots(0.0), m.effective_slots(61.0)
(8, 5)
>>> m.cost(1000, 0, 500)
0.0075
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from llmsim.config.provider import Provider
from llmsim.core.schedule import Schedule
from llmsim.provider.buckets import RateLimiterSet

__all__ = ["ProviderModel", "DRAW_COLUMNS", "Plan"]

#: attempts of one request on one provider whose draws are keyed by (request, attempt); later ones
#: draw from a sequential overflow stream
DRAW_COLUMNS = 4
INF = float("inf")


@dataclass(slots=True)
class Plan:
    """What the provider will do with an attempt that starts service now (not frozen: a frozen
    dataclass costs three times as much to build, and one is built per attempt served)."""

    ttft: float  # seconds from start to first token (or to the error)
    duration: float  # seconds from start to the last byte (== ttft for an error)
    speed: float  # output tokens per second after the first token
    error: bool
    streamed: int = 0  # an error inside a stream after a 200: output tokens sent before it (billed)


def _schedules(cfg: Provider) -> tuple[Schedule, Schedule, Schedule, Schedule]:
    """Effective slots, server error rate, extra TTFT and slowdown factor over time: step schedules
    with a point wherever contention or an incident changes."""
    contention = cfg.capacity.contention_schedule()
    incidents = cfg.incidents
    points = tuple(sorted({0.0, *contention.times, *(i.start for i in incidents),
                           *(i.start + i.duration for i in incidents)}))
    rows = [_state_at(cfg, contention.at(t), [i for i in incidents if i.start <= t < i.start + i.duration])
            for t in points]
    capacity, error, extra, slow = zip(*rows, strict=True)
    return Schedule(points, capacity), Schedule(points, error), Schedule(points, extra), Schedule(points, slow)


def _state_at(cfg: Provider, contended: float, during: list) -> tuple[float, float, float, float]:
    """Slots, server error rate, extra TTFT and slowdown factor with ``contended`` share of the slots taken
    and the incidents ``during`` under way."""
    mult = min([1.0, *(i.capacity for i in during if i.capacity is not None)])
    capacity = float(math.floor(cfg.capacity.slots * (1.0 - contended) * mult + 1e-9))
    error = max([cfg.errors.server_error_rate, *(i.server_error_rate for i in during
                                                 if i.server_error_rate is not None)])
    extra = sum(i.extra_latency or 0.0 for i in during)
    return capacity, error, extra, math.prod((i.slowdown or 1.0 for i in during), start=1.0)


def _token_prices(pr) -> tuple[float, float, float]:
    """Price per input, cached input and output token, after the batch/flex discount."""
    keep = 1.0 - pr.discount  # batch/flex discount on every price
    cached = pr.input_per_mtok if pr.cached_input_per_mtok is None else pr.cached_input_per_mtok
    return pr.input_per_mtok * keep / 1e6, cached * keep / 1e6, pr.output_per_mtok * keep / 1e6


def _never_slower(extra: Schedule, slowdown: Schedule) -> bool:
    """No extra TTFT and no slowdown at any time."""
    return not any(extra.values) and all(v == 1.0 for v in slowdown.values)


class ProviderModel:
    """Time-varying capacity, error rate and latency of one provider, plus its rate limits and prices."""

    def __init__(self, cfg: Provider, index: int):
        self.cfg = cfg
        self.name = cfg.name
        self.index = index
        self.slots = cfg.capacity.slots
        (self.capacity_schedule, self.error_schedule, self.extra_latency_schedule,
         self.slowdown_schedule) = _schedules(cfg)
        self._constant_errors = len(set(self.error_schedule.values)) == 1
        self._error_rate = self.error_schedule.values[0]
        self._no_extra = _never_slower(self.extra_latency_schedule, self.slowdown_schedule)

        lat = cfg.latency
        self.service_mode = lat.service is not None
        self.service_sampler = lat.service.build() if lat.service is not None else None
        self.ttft_sampler = lat.ttft.build()
        self.tokens_per_s = lat.tokens_per_s
        self.slow_extra = lat.load_slowdown - 1.0
        self.error_status = cfg.errors.status
        self.mid_stream = cfg.errors.mid_stream_share  # share of server errors that come after a 200
        self.overload_status = cfg.queue.status
        self.queue_limit = cfg.queue.limit
        self.queue_timeout = INF if cfg.queue.timeout is None else cfg.queue.timeout
        self.abort_notice = INF if cfg.abort_notice == "never" else float(cfg.abort_notice)

        rl = cfg.rate_limits
        self.limits = None if rl is None else RateLimiterSet(
            rl.rpm, rl.tpm, rl.itpm, rl.otpm, window=rl.window, admission=rl.admission,
            count_refused=rl.count_refused, itpm_counts_cache_reads=rl.itpm_counts_cache_reads,
            output_burn=rl.output_burn)
        # provisioned capacity is paid by the hour (Provisioned.fee), its tokens cost nothing more
        self.price_in, self.price_cached, self.price_out = (0.0, 0.0, 0.0) if cfg.provisioned is not None \
            else _token_prices(cfg.pricing)
        # output contract: share of 200 answers that are invalid, over time (None: never)
        self.quality = None if cfg.quality is None else cfg.quality.schedule()

    # -- capacity -------------------------------------------------------------------------------
    def effective_slots(self, t: float) -> int:
        return int(self.capacity_schedule.at(t))

    def capacity_changes(self) -> list[tuple[float, int]]:
        """(time, effective slots) at every point where capacity may change, after time 0."""
        s = self.capacity_schedule
        return [(t, int(v)) for t, v in zip(s.times, s.values) if t > 0]

    # -- admission ------------------------------------------------------------------------------
    def admit(self, now: float, input_tokens: int, cached_tokens: int, max_tokens: int, output_tokens: int) -> float:
        """0.0 if the rate limits admit the attempt (and charge it), else the exact Retry-After in seconds."""
        if self.limits is None:
            return 0.0
        return self.limits.admit(now, input_tokens, cached_tokens, max_tokens, output_tokens)

    # -- service --------------------------------------------------------------------------------
    def draw_table(self, rng: np.random.Generator, n: int, cols: int = DRAW_COLUMNS):
        """Per-(request, attempt) draws: (first-token-or-service seconds, error uniform), (n, cols) arrays."""
        if self.service_mode:
            first = self.service_sampler.sample(rng, (n, cols))
        else:
            first = self.ttft_sampler.sample(rng, (n, cols))
        return first, rng.random((n, cols))

    def plan(self, now: float, first_draw: float, error_u: float, output_tokens: int, busy: int, eff: int) -> Plan:
        """The attempt's timing given its draws and the load at the start (``busy`` includes itself)."""
        err_rate = self._error_rate if self._constant_errors else self.error_schedule.at(now)
        error = error_u < err_rate
        slow = 1.0 if self._no_extra else self.slowdown_schedule.at(now)
        if self.service_mode:
            d = first_draw * slow
            return Plan(d, d, INF, error)
        ttft = first_draw if self._no_extra else (first_draw + self.extra_latency_schedule.at(now)) * slow
        if error and error_u >= err_rate * self.mid_stream:
            return Plan(ttft, ttft, 0.0, True)
        load = 1.0 if busy >= eff else busy / eff
        speed = self.tokens_per_s / (1.0 + self.slow_extra * load) / slow
        if error:  # inside the stream: given an error, error_u / (err_rate * mid_stream) is uniform on [0, 1)
            streamed = int(error_u / (err_rate * self.mid_stream) * output_tokens)
            return Plan(ttft, ttft + streamed / speed, speed, True, streamed)
        return Plan(ttft, ttft + output_tokens / speed, speed, False)

    # -- billing --------------------------------------------------------------------------------
    def cost(self, input_tokens: int, cached_tokens: int, output_tokens: int) -> float:
        return (input_tokens - cached_tokens) * self.price_in + cached_tokens * self.price_cached \
            + output_tokens * self.price_out

    @staticmethod
    def generated_tokens(plan: Plan, output_tokens: int, elapsed: float) -> int:
        """Output tokens produced ``elapsed`` seconds after service started."""
        if plan.error:
            output_tokens = plan.streamed  # a mid-stream error: what was sent before it; else nothing
        if output_tokens == 0 or elapsed <= plan.ttft:
            return 0
        if elapsed + 1e-9 >= plan.duration:
            return output_tokens  # ran to its end ((start + d) - start can fall an ulp short of d)
        if plan.speed == INF:
            return 0
        # whole tokens made; the epsilon keeps (t + a) - t an ulp below a from losing a token
        return min(output_tokens, int((elapsed - plan.ttft) * plan.speed + 1e-9))
