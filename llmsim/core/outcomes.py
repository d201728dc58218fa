"""The outcome vocabulary shared by attempts and requests (see DESIGN.md)."""

from __future__ import annotations

from typing import Literal

__all__ = ["Outcome", "OUTCOMES", "LOCAL_OUTCOMES"]

Outcome = Literal[
    "ok", "rate_limited", "overloaded", "server_error", "timeout", "invalid", "rejected", "spend_blocked", "deadline",
    "cancelled",  # a hedged attempt that lost: the client cancelled it (billed for what it consumed)
    "context_window",  # 400: input + max_tokens exceed the model's context window (not billed)
    "quota_exhausted",  # 429 insufficient_quota: the account's spend cap is reached (no Retry-After)
]
OUTCOMES: tuple[str, ...] = Outcome.__args__
#: outcomes decided by the client without sending anything to a provider
LOCAL_OUTCOMES = frozenset({"rejected", "spend_blocked"})
