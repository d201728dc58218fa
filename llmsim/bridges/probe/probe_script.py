"""The probe script: phases of scripted faults, each answered while the user's command runs once.

A phase runs the command once. The first ``fail`` attempts the endpoint sees during that run get the
phase's fault (an HTTP ``status`` with optional ``retry_after`` / ``retry_after_ms`` headers, or a
``delay`` before an otherwise normal answer); ``fail: all`` faults every attempt up to ``cap`` (then
answers normally, so a client that never gives up still ends). Later attempts are answered normally.

YAML form (``llmsim probe --script FILE``)::

    phases:
      - {name: backoff, status: 429, fail: all, cap: 8, repeat: 3}
      - {name: retry-after, status: 429, fail: 1, retry_after: 2}
      - {name: slow, delay: 20s, fail: 1}
      - {name: cut, stream: cut, after_tokens: 3, fail: 1}   # streamed calls only
      - {name: deadline, status: 429, delay: 3s, fail: all}  # a slow failure: 3 s, then the 429
      - {name: should-retry-false, status: 429, fail: 1, should_retry: false}   # x-should-retry: false

A ``status`` with a ``delay`` is a slow failure (the status after the delay); ``should_retry`` sends the
``x-should-retry`` header with the status. Phases whose timing is measured (``fail: all`` without a delay,
Retry-After hints) run one after the other; the others run at the same time as them, each run of the
command on its own URL (``/probe/<lane>``), unless the script says ``parallel: false`` (a command that
cannot run twice at once, e.g. a service on a fixed port).

A ``stream`` fault (``cut`` after ``after_tokens`` tokens, ``stall`` for ``stall`` seconds after them, or an
``error`` event with ``status``'s error after them) applies to streamed calls; a non-streamed call in
that phase is answered normally.

>>> s = ProbeScript.model_validate({"phases": [{"name": "p", "status": 500, "fail": 1}]})
>>> s.phases[0].faults(0), s.phases[0].faults(1)
(True, False)
>>> [p.name for p in default_script().phases][:3]
['backoff', 'retry-after', 'retry-after-ms']
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import Field, model_validator

from llmsim.config.base import Config, Duration

__all__ = ["ProbePhase", "ProbeScript", "default_script", "quick_script"]


class ProbePhase(Config):
    """One run of the command: which attempts get which fault."""

    name: str
    status: Optional[Annotated[int, Field(ge=400, le=599)]] = None
    delay: Optional[Annotated[Duration, Field(gt=0)]] = None
    fail: Union[Annotated[int, Field(ge=0)], Literal["all"]] = 1
    cap: Annotated[int, Field(ge=1, le=100)] = 8
    repeat: Annotated[int, Field(ge=1, le=20)] = 1  # runs of the command in this phase (more backoff samples)
    retry_after: Optional[Annotated[float, Field(gt=0)]] = None
    retry_after_ms: Optional[Annotated[int, Field(gt=0)]] = None
    stream: Optional[Literal["cut", "stall", "error"]] = None  # a streamed answer's fault (status: the error's)
    after_tokens: Annotated[int, Field(ge=0)] = 3
    stall: Annotated[Duration, Field(gt=0)] = 10.0
    should_retry: Optional[bool] = None  # the x-should-retry header sent with the status

    @model_validator(mode="after")
    def _one_fault(self):
        if self.stream is None and self.status is None and self.delay is None:
            raise ValueError(f"phase {self.name!r}: give a status, a delay or a stream fault")
        if self.stream is not None and self.delay is not None:
            raise ValueError(f"phase {self.name!r}: a stream fault takes no delay")
        if self.should_retry is not None and self.status is None:
            raise ValueError(f"phase {self.name!r}: should_retry goes with a status")
        return self

    @property
    def timed(self) -> bool:
        """Whether the phase's waits are measured (backoff, Retry-After): it runs alone, not beside others."""
        return (self.fail == "all" and self.delay is None) or self.retry_after is not None \
            or self.retry_after_ms is not None

    def faults(self, index: int) -> bool:
        """Whether the ``index``-th attempt of this phase (0-based) gets the fault."""
        limit = self.cap if self.fail == "all" else self.fail
        return index < limit

    def headers(self) -> dict[str, str]:
        """The Retry-After headers the fault carries."""
        h = {}
        if self.retry_after is not None:
            h["retry-after"] = f"{self.retry_after:g}"
        if self.retry_after_ms is not None:
            h["retry-after-ms"] = str(self.retry_after_ms)
        if self.should_retry is not None:
            h["x-should-retry"] = "true" if self.should_retry else "false"
        return h


class ProbeScript(Config):
    """Phases: the timed ones in order, one run of the command each; the others beside them (``parallel``)."""

    phases: list[ProbePhase] = Field(min_length=1)
    parallel: bool = True

    @model_validator(mode="after")
    def _unique(self):
        names = [p.name for p in self.phases]
        if len(set(names)) != len(names):
            raise ValueError("phase names must be unique")
        return self


_DEFAULT = [
    # no hint, every attempt refused: how many attempts, and the backoff curve between them
    {"name": "backoff", "status": 429, "fail": "all", "cap": 8, "repeat": 3},
    # whole-second hint only: is it read? (2 s: apart from common fixed 1 s waits and 0.5 s first backoffs)
    {"name": "retry-after", "status": 429, "fail": 1, "retry_after": 2},
    # both hints, as OpenAI sends them: which one wins (1.3 s vs 3 s)?
    {"name": "retry-after-ms", "status": 429, "fail": 1, "retry_after": 3, "retry_after_ms": 1300},
    # the rest run beside the phases above, each on its own URL
    {"name": "529", "status": 529, "fail": 1},
    {"name": "503", "status": 503, "fail": 1},
    {"name": "500", "status": 500, "fail": 1},
    {"name": "400", "status": 400, "fail": 1},
    {"name": "401", "status": 401, "fail": 1},
    # x-should-retry: does "false" stop a retry of a 429, does "true" make a 400 retried?
    {"name": "should-retry-false", "status": 429, "fail": 1, "should_retry": False},
    {"name": "should-retry-true", "status": 400, "fail": 1, "should_retry": True},
    # every attempt fails slowly (3 s, then a 429): does an overall deadline stop it before its attempts run out?
    {"name": "deadline", "status": 429, "delay": 3.0, "fail": "all", "cap": 8},
    # an answer slower than common per-attempt timeouts: is there one, and is a timeout retried?
    {"name": "slow", "delay": 20.0, "fail": 1},
]


def default_script() -> ProbeScript:
    """The script that answers every question of docs/probe.md."""
    return ProbeScript.model_validate({"phases": _DEFAULT})


def quick_script() -> ProbeScript:
    """A short script (attempts, backoff, Retry-After, 529, 500, 400): for tests and quick checks."""
    keep = {"backoff", "retry-after-ms", "529", "500", "400"}
    return ProbeScript.model_validate({"phases": [p for p in _DEFAULT if p["name"] in keep]})
