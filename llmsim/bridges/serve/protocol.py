"""What both wire formats share: a parsed call, a bad request, token text, rate-limit state.

>>> Call(api="openai", model="m", max_tokens=5, stream=False, input_tokens=3).max_tokens
5
>>> estimate_tokens("hello world, how are you?")  # 25 characters
7
>>> fmt_duration(360.0), fmt_duration(1.5), fmt_duration(0.02)
('6m0s', '1.5s', '20ms')
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field

__all__ = ["Call", "BadRequest", "estimate_tokens", "token_text", "fmt_duration", "limit_state", "new_id",
           "binding_limit", "is_count", "str_or_none"]

_WORDS = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do")


@dataclass
class Call:
    """One parsed API call: what the provider model needs, plus how to answer."""

    api: str
    model: str
    max_tokens: int
    stream: bool
    input_tokens: int
    include_usage: bool = False
    request_key: str | None = None  # groups the attempts of one logical request (see llmsim.bridges.fidelity)
    extra: dict = field(default_factory=dict)


class BadRequest(Exception):
    """A request the provider refuses with 400 (``param`` names the offending field, if any)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.status = status


def is_count(value) -> bool:
    """``value`` is an integer (not a bool) of at least 1, as ``max_tokens`` must be."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def str_or_none(value) -> str | None:
    """``value`` when it is a string, else None."""
    return value if isinstance(value, str) else None


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def estimate_tokens(*texts) -> int:
    """Prompt tokens estimated from characters (about 4 per token, as providers estimate at admission)."""
    chars = sum(len(_text_of(t)) for t in texts)
    return max(1, math.ceil(chars / 4))


def token_text(i: int) -> str:
    """The text of output token ``i`` (a word with its leading space)."""
    return ("" if i == 0 else " ") + _WORDS[i % len(_WORDS)]


def fmt_duration(seconds: float) -> str:
    """OpenAI's reset format: 6m0s, 1.5s, 20ms (a wait that never ends, or not a number: "inf")."""
    if not math.isfinite(seconds):
        return "inf"
    if seconds < 1.0:
        return f"{max(0, round(seconds * 1000))}ms"
    if seconds < 60.0:
        return f"{round(seconds, 3):g}s"
    m, s = divmod(seconds, 60.0)
    return f"{int(m)}m{round(s):d}s"


def limit_state(model, now: float) -> dict[str, tuple[float, float, float]]:
    """Per configured limit (requests, tokens, input_tokens, output_tokens): (limit, remaining, reset s)."""
    limits = model.limits
    if limits is None:
        return {}
    out = {}
    for key, bucket in (("requests", limits.rpm), ("tokens", limits.tpm), ("input_tokens", limits.itpm),
                        ("output_tokens", limits.otpm)):
        if bucket is None:
            continue
        level = bucket.level_at(now)
        out[key] = (bucket.capacity, max(0.0, level), (bucket.capacity - level) / bucket.rate)
    return out


def binding_limit(model, now: float, call: Call) -> str:
    """Which limit refused the call: 'requests' or a token limit name."""
    limits = model.limits
    if limits is None or limits.rpm is None:
        return "tokens"
    return "requests" if limits.rpm.level_at(now) < 1.0 else "tokens"
