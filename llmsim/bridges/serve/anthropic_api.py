"""The Anthropic Messages wire format (POST /v1/messages): parse, answer, stream, errors.

>>> c = parse({"model": "claude-sonnet-4", "max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]})
>>> c.model, c.max_tokens, c.input_tokens
('claude-sonnet-4', 64, 2)
>>> parse({"model": "m", "messages": [{"role": "user", "content": "x"}]})
Traceback (most recent call last):
...
llmsim.bridges.serve.protocol.BadRequest: max_tokens: Field required
>>> error_body(529)["error"]["type"]
'overloaded_error'
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from llmsim.bridges.serve.protocol import BadRequest, Call, estimate_tokens, is_count, new_id, str_or_none, token_text

__all__ = ["parse", "ok_body", "error_body", "start_events", "token_event", "final_events", "stream_error",
           "limit_headers", "BAD_JSON"]

BAD_JSON = "There was an issue with your request body: the JSON could not be parsed."


def parse(body) -> Call:
    """A Call from a request body, or BadRequest with Anthropic's message."""
    if not isinstance(body, dict):
        raise BadRequest("Input should be a valid dictionary")
    if not body.get("model") or not isinstance(body.get("model"), str):
        raise BadRequest("model: Field required")
    messages = body.get("messages")
    if messages is None:
        raise BadRequest("messages: Field required")
    if not isinstance(messages, list):
        raise BadRequest("messages: Input should be a valid list")
    mt = _max_tokens(body)
    contents = [m.get("content", "") for m in messages if isinstance(m, dict)]
    return Call("anthropic", body["model"], mt, bool(body.get("stream", False)),
                estimate_tokens(body.get("system", ""), *contents), request_key=_user_id(body))


def _max_tokens(body: dict) -> int:
    """``max_tokens``, which Anthropic requires (BadRequest when missing or below 1)."""
    mt = body.get("max_tokens")
    if mt is None:
        raise BadRequest("max_tokens: Field required")
    if not is_count(mt):
        raise BadRequest("max_tokens: Input should be greater than or equal to 1")
    return mt


def _user_id(body: dict) -> str | None:
    """``metadata.user_id`` when it is a string."""
    meta = body.get("metadata") or {}
    return str_or_none(meta.get("user_id")) if isinstance(meta, dict) else None


def _usage(call: Call, out: int, cost: float) -> dict:
    return {"input_tokens": call.input_tokens, "output_tokens": out, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0, "cost": cost}


def _stop(call: Call, out: int) -> str:
    return "max_tokens" if out >= call.max_tokens else "end_turn"


def ok_body(call: Call, rid: str, out: int, cost: float) -> dict:
    text = "".join(token_text(i) for i in range(out))
    return {"id": rid, "type": "message", "role": "assistant", "model": call.model,
            "content": [{"type": "text", "text": text}], "stop_reason": _stop(call, out), "stop_sequence": None,
            "usage": _usage(call, out, cost)}


_ERRORS = {
    400: "invalid_request_error", 404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 503: "overloaded_error", 529: "overloaded_error",
}
_MESSAGES = {429: "This request would exceed your organization's rate limit. Please try again later.",
             500: "Internal server error", 503: "Overloaded", 529: "Overloaded"}


def error_body(status: int, message: str | None = None, **_) -> dict:
    """Anthropic's error envelope: {"type": "error", "error": {"type": ..., "message": ...}}."""
    etype = _ERRORS.get(status, "invalid_request_error" if 400 <= status < 500 else "api_error")
    message = message or _MESSAGES.get(status, "Internal server error")
    return {"type": "error", "error": {"type": etype, "message": message}}


def _event(name: str, obj) -> bytes:
    return f"event: {name}\n".encode() + b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def start_events(call: Call, rid: str) -> bytes:
    msg = {"id": rid, "type": "message", "role": "assistant", "model": call.model, "content": [],
           "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": call.input_tokens, "output_tokens": 1}}
    return (_event("message_start", {"type": "message_start", "message": msg})
            + _event("content_block_start", {"type": "content_block_start", "index": 0,
                                              "content_block": {"type": "text", "text": ""}})
            + _event("ping", {"type": "ping"}))


def token_event(i: int) -> bytes:
    return _event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "text_delta", "text": token_text(i)}})


def final_events(call: Call, out: int, cost: float) -> bytes:
    return (_event("content_block_stop", {"type": "content_block_stop", "index": 0})
            + _event("message_delta", {"type": "message_delta",
                                       "delta": {"stop_reason": _stop(call, out), "stop_sequence": None},
                                       "usage": {"output_tokens": out}})
            + _event("message_stop", {"type": "message_stop"}))


def stream_error(status: int) -> bytes:
    """An ``error`` event inside a stream after its 200 (Anthropic's mid-stream errors).

    >>> stream_error(529).startswith(b"event: error")
    True
    """
    return _event("error", error_body(status))


def limit_headers(state: dict) -> dict[str, str]:
    """anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}."""
    now = datetime.now(UTC)
    h = {}
    for key, state_v in state.items():
        limit, remaining, reset = state_v
        name = key.replace("_", "-")
        h[f"anthropic-ratelimit-{name}-limit"] = str(int(limit))
        h[f"anthropic-ratelimit-{name}-remaining"] = str(int(remaining))
        h[f"anthropic-ratelimit-{name}-reset"] = (now + timedelta(seconds=reset)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return h


def new_response_id() -> str:
    return new_id("msg_")
