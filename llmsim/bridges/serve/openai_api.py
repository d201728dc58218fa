"""The OpenAI Chat Completions wire format (POST /v1/chat/completions): parse, answer, stream, errors.

>>> c = parse({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi there"}], "max_tokens": 20})
>>> c.model, c.max_tokens, c.stream, c.input_tokens
('gpt-4o', 20, False, 2)
>>> parse({"messages": []})
Traceback (most recent call last):
...
llmsim.bridges.serve.protocol.BadRequest: you must provide a model parameter
>>> error_body(429, "slow down")["error"]["code"]
'rate_limit_exceeded'
"""

from __future__ import annotations

import json
import math
import time

from llmsim.bridges.serve.protocol import (
    BadRequest,
    Call,
    estimate_tokens,
    fmt_duration,
    is_count,
    new_id,
    str_or_none,
    token_text,
)

__all__ = ["parse", "ok_body", "error_body", "chunks", "final_chunks", "stream_error", "limit_headers", "BAD_JSON",
           "DEFAULT_MAX"]

DEFAULT_MAX = 4096
BAD_JSON = ("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
            "HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)")


def parse(body) -> Call:
    """A Call from a request body, or BadRequest with OpenAI's message."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid type for request body: expected an object.")
    model = body.get("model")
    if not model or not isinstance(model, str):
        raise BadRequest("you must provide a model parameter")
    messages = _messages(body)
    mt = _max_tokens(body)
    opts = body.get("stream_options") or {}
    return Call("openai", model, mt, bool(body.get("stream", False)),
                estimate_tokens(*[m.get("content", "") for m in messages]),
                include_usage=bool(opts.get("include_usage")) if isinstance(opts, dict) else False,
                request_key=str_or_none(body.get("user")))


def _messages(body: dict) -> list:
    """The request's messages: a non-empty list of objects with a role (BadRequest otherwise)."""
    messages = body.get("messages")
    if messages is None:
        raise BadRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages",
                         "empty_array")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m:
            raise BadRequest(f"Missing required parameter: 'messages[{i}].role'.", f"messages[{i}].role",
                             "missing_required_parameter")
    return messages


def _max_tokens(body: dict) -> int:
    """``max_completion_tokens``, else ``max_tokens``, else DEFAULT_MAX (BadRequest when below 1)."""
    mt = body.get("max_completion_tokens", body.get("max_tokens"))
    if mt is None:
        return DEFAULT_MAX
    if not is_count(mt):
        raise BadRequest(f"Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got {mt!r}.",
                         "max_tokens", "integer_below_min_value")
    return mt


def _usage(call: Call, out: int, cost: float) -> dict:
    return {"prompt_tokens": call.input_tokens, "completion_tokens": out, "total_tokens": call.input_tokens + out,
            "prompt_tokens_details": {"cached_tokens": 0}, "cost": cost}


def ok_body(call: Call, rid: str, out: int, cost: float) -> dict:
    text = "".join(token_text(i) for i in range(out))
    return {"id": rid, "object": "chat.completion", "created": int(time.time()), "model": call.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                         "logprobs": None, "finish_reason": "length" if out >= call.max_tokens else "stop"}],
            "usage": _usage(call, out, cost), "system_fingerprint": None}


_ERRORS = {
    429: ("Rate limit reached for {model} on {what}. Please try again in {wait}.", "{what}", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that!", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
    529: ("The engine is currently overloaded, please try again later.", "server_error", None),
}


def error_body(status: int, message: str | None = None, *, param=None, code=None, model: str = "",
               what: str = "requests", wait: float | None = None) -> dict:
    """OpenAI's error envelope for a status (or a given message)."""
    tmpl, etype, ecode = _ERRORS.get(status, ("The server had an error processing your request.", "server_error",
                                               None))
    if 400 <= status < 500 and status != 429:
        etype, ecode = "invalid_request_error", code
    if message is None and status == 429 and wait is not None and not math.isfinite(wait):
        message = (f"Request too large for {model} on {what}: the request is larger than the limit, so no wait "
                   "helps. The input or output tokens must be reduced in order to run successfully.")
    if message is None:
        message = tmpl.format(model=model, what=what, wait=fmt_duration(wait or 0.0))
    return {"error": {"message": message, "type": etype.format(what=what), "param": param,
                      "code": code if code is not None else ecode}}


def _sse(obj) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def chunks(call: Call, rid: str, created: int, i: int) -> bytes:
    """The SSE event(s) carrying token ``i`` (the first one also announces the assistant role)."""
    delta = {"content": token_text(i)}
    if i == 0:
        delta = {"role": "assistant", "content": token_text(0), "refusal": None}
    return _sse({"id": rid, "object": "chat.completion.chunk", "created": created, "model": call.model,
                 "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]})


def final_chunks(call: Call, rid: str, created: int, out: int, cost: float) -> bytes:
    base = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": call.model}
    data = _sse({**base, "choices": [{"index": 0, "delta": {}, "logprobs": None,
                                      "finish_reason": "length" if out >= call.max_tokens else "stop"}]})
    if call.include_usage:
        data += _sse({**base, "choices": [], "usage": _usage(call, out, cost)})
    return data + b"data: [DONE]\n\n"


def stream_error(status: int) -> bytes:
    """An error inside a stream after its 200: a chunk carrying ``error`` (the SDK raises it as an APIError).

    >>> b'"error"' in stream_error(500)
    True
    """
    return _sse(error_body(status))


def limit_headers(state: dict) -> dict[str, str]:
    """x-ratelimit-{limit,remaining,reset}-{requests,tokens} from limit_state()."""
    h = {}
    for key in ("requests", "tokens"):
        if key in state:
            limit, remaining, reset = state[key]
            h[f"x-ratelimit-limit-{key}"] = str(int(limit))
            h[f"x-ratelimit-remaining-{key}"] = str(int(remaining))
            h[f"x-ratelimit-reset-{key}"] = fmt_duration(reset)
    return h


def new_response_id() -> str:
    return new_id("chatcmpl-")
