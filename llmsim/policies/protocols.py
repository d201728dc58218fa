"""What the client pipeline asks of each kind of policy, declared as Protocols.

Every implementation implements its whole protocol (no optional methods, no probing with
``hasattr``): a policy that has nothing to do at some step does nothing there. Runtime policy
objects are built from their config (``llmsim.config.client``) by their constructor, or by the
``build(cfg, ...)`` of their family when a config union has several kinds.

A limiter answers ``acquire`` with a ``Decision``: go now, wait a reserved delay, queue, or reject.

>>> GO.kind, REJECT.kind, wait(1.5)
(<Admit.GO: 'go'>, <Admit.REJECT: 'reject'>, Decision(kind=<Admit.WAIT: 'wait'>, delay=1.5))
>>> wait(0.0) is GO
True

Every implementation has every member of its protocol:

>>> from llmsim.config import client as C
>>> from llmsim.policies import backoff, breaker, budgets, ejection, hints, limiters, routing
>>> all(isinstance(budgets.build(cfg(kind=k)), RetryBudget) for cfg, k in [(C.AwsQuota, "aws"),
...     (C.GrpcThrottle, "grpc"), (C.FinagleBudget, "finagle"), (C.EnvoyBudget, "envoy"), (C.RatioBudget, "ratio")])
True
>>> all(isinstance(limiters.build(cfg(kind=k), u=None), Limiter) for cfg, k in [(C.TokenBucketLimiter, "token_bucket"),
...     (C.ConcurrencyLimiter, "concurrency"), (C.AimdLimiter, "aimd"), (C.SreThrottle, "sre"),
...     (C.AwsAdaptive, "aws_adaptive")])
True
>>> all(isinstance(ejection.build(cfg(), 2), Ejection) for cfg in (C.LiteLLMCooldown, C.EnvoyOutlier))
True
>>> (isinstance(breaker.BreakerPolicy(C.CircuitBreaker()), Breaker),
...  isinstance(routing.StrategyRouter(C.Route(order=["a"])), Router),
...  isinstance(backoff.BackoffPolicy(C.Backoff()), BackoffSchedule),
...  isinstance(hints.RetryAfterPolicy("honor"), RetryHint))
(True, True, True, True)
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = ["BackoffSchedule", "RetryHint", "RetryBudget", "Breaker", "Router", "Ejection", "Limiter", "Admit",
           "Decision", "GO", "QUEUE", "REJECT", "wait"]


@runtime_checkable
class BackoffSchedule(Protocol):
    def step(self, n: int, u: float, prev) -> tuple[float, object]:
        """(delay before retry n, state to pass as ``prev`` next time), from a uniform u in [0, 1)."""


@runtime_checkable
class RetryHint(Protocol):
    def delay(self, backoff: float, retry_after: float) -> float:
        """The wait before going back to a provider that sent ``retry_after`` (NaN: no hint)."""


@runtime_checkable
class RetryBudget(Protocol):
    """Shared by the calls of one client instance: may a retry go out at all?"""

    taken: int  # what the last allowed retry took (0 unless the budget is a token quota)

    def on_request(self, now: float) -> None:
        """A logical call starts."""

    def request_done(self) -> None:
        """A logical call ends (answered, given up, or dropped as a lost hedge)."""

    def allow(self, now: float, outcome: str) -> bool:
        """May a retry go after ``outcome``? Takes what it costs when it says yes."""

    def on_success(self, now: float, retried: bool, taken: int = 0) -> None:
        """An attempt succeeded (``taken``: what this call's last retry took)."""

    def on_failure(self, now: float) -> None:
        """An attempt failed with a retryable outcome."""

    def retry_done(self, now: float) -> None:
        """An allowed retry's call ended (or will never be sent)."""


@runtime_checkable
class Breaker(Protocol):
    def available(self, now: float) -> bool:
        """Would ``allow`` give a permit now? (takes none)"""

    def allow(self, now: float):
        """A permit if a call may go out now, else None."""

    def record(self, now: float, permit, failed: bool, duration: float = 0.0) -> None:
        """The result of a call made with ``permit``."""


@runtime_checkable
class Router(Protocol):
    strategy: str

    def candidates(self, now: float, start: int, u: float, sizes: tuple[int, int]) -> list[int]:
        """Provider indices to try, best first."""

    def sent(self, now: float, i: int, tokens: int) -> None:
        """A call went to provider i."""

    def done(self, i: int, outcome: str, latency: float) -> None:
        """A call to provider i ended."""


@runtime_checkable
class Ejection(Protocol):
    def healthy(self, now: float, i: int) -> bool:
        """May provider i be chosen now?"""

    def record(self, now: float, i: int, outcome: str, retry_after: float = float("nan")) -> None:
        """A call to provider i ended with ``outcome``."""


class Admit(Enum):
    GO = "go"  # a permit is taken: send now
    WAIT = "wait"  # a permit is reserved: send after ``delay`` seconds (callers queue in FIFO order)
    QUEUE = "queue"  # wait in the limiter's queue until ``admit_waiter`` lets the caller in
    REJECT = "reject"  # refused locally, nothing taken


class Decision(NamedTuple):
    kind: Admit
    delay: float = 0.0


GO = Decision(Admit.GO)
QUEUE = Decision(Admit.QUEUE)
REJECT = Decision(Admit.REJECT)


def wait(delay: float) -> Decision:
    """Go after ``delay`` seconds (GO when there is nothing to wait)."""
    return GO if delay == 0.0 else Decision(Admit.WAIT, delay)


@runtime_checkable
class Limiter(Protocol):
    """A client-side limiter before the layers below it."""

    max_wait: float  # the longest a caller waits in the queue (inf: no limit)

    def acquire(self, now: float, tokens: int, max_wait: float = float("inf")) -> Decision:
        """May a call of ``tokens`` go, giving up after ``max_wait`` seconds of waiting?"""

    def release(self, now: float, outcome: str, latency: float) -> None:
        """A call admitted by ``acquire`` ended."""

    def admit_waiter(self) -> bool:
        """After a release: does the first queued caller take the free permit?"""

    def give_up_waiting(self) -> None:
        """A queued caller left the queue."""
