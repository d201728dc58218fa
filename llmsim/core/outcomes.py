"""The outcome vocabulary shared by attempts and requests (docs/model.md, section 6).

``Outcome`` is a ``StrEnum``: its members are the contract's strings, so they compare, hash and
print as those strings, and the categorical ``outcome`` columns keep them as categories.

>>> Outcome.RATE_LIMITED == "rate_limited", f"{Outcome.OK}", OUTCOMES[:2]
(True, 'ok', ('ok', 'rate_limited'))
>>> "spend_blocked" in LOCAL_OUTCOMES
True
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

__all__ = ["Outcome", "OutcomeName", "OUTCOMES", "LOCAL_OUTCOMES", "DELIVERED"]


class Outcome(StrEnum):
    """How an attempt (or the request it decided) ended; the order is the categorical columns' order."""

    OK = "ok"
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    INVALID = "invalid"  # a 200 answer that breaks the output contract
    REJECTED = "rejected"  # refused by the client itself (limiter, open breaker, no healthy provider)
    SPEND_BLOCKED = "spend_blocked"  # refused by the client's spend guards
    DEADLINE = "deadline"  # the request's deadline cut the attempt
    CANCELLED = "cancelled"  # a hedged attempt that lost: the client cancelled it (billed for what it consumed)
    CONTEXT_WINDOW = "context_window"  # 400: input + max_tokens exceed the model's context window (not billed)
    QUOTA_EXHAUSTED = "quota_exhausted"  # 429 insufficient_quota: the account's spend cap is reached


#: the same strings as a type, for configuration fields (pydantic validates them as plain strings)
OutcomeName = Literal[
    "ok", "rate_limited", "overloaded", "server_error", "timeout", "invalid", "rejected", "spend_blocked", "deadline",
    "cancelled", "context_window", "quota_exhausted",
]
OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
#: outcomes decided by the client without sending anything to a provider
LOCAL_OUTCOMES = frozenset({Outcome.REJECTED, Outcome.SPEND_BLOCKED})
#: outcomes that delivered an answer (``invalid``: delivered, contract broken)
DELIVERED = frozenset({Outcome.OK, Outcome.INVALID})

assert OUTCOMES == OutcomeName.__args__, "Outcome and OutcomeName must list the same strings in the same order"
