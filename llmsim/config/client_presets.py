"""Client policy presets that mirror real libraries (data only: client settings as plain dicts).

Each preset cites the source it mirrors and uses that library's defaults, and states which
rate-limit header the library parses for its wait (``retry.hint_header``: retry-after-ms,
whole-second retry-after, or none when it ignores hints). Presets that route use ``order: ["*"]``
(every provider of the scenario).

>>> sorted(client_presets())[:3]
['anthropic-sdk', 'aws-adaptive', 'aws-standard']
>>> deep_merge({"retry": {"max_attempts": 3, "on": []}}, {"retry": {"max_attempts": 5}})
{'retry': {'max_attempts': 5, 'on': []}}
"""

from __future__ import annotations

from typing import Any

__all__ = ["CLIENT_PRESETS", "client_presets", "deep_merge", "LITELLM_OVERHEAD"]

SDK_STATUSES = ["rate_limited", "overloaded", "server_error", "timeout"]  # 408/409/429/>=500 and timeouts

#: botocore standard-mode retries as released in 2026 (shared by aws-standard and aws-adaptive)
_AWS_RETRY: dict[str, Any] = {
    "max_attempts": 3, "on": SDK_STATUSES,
    "backoff": {"kind": "exponential", "base": "50ms", "multiplier": 2, "cap": "20s", "jitter": "full"},
    "backoff_for": {"rate_limited": {"kind": "exponential", "base": "1s", "multiplier": 2, "cap": "20s",
                                     "jitter": "full"}},
    "retry_after": {"clamp": "5s"}, "hint_header": "retry-after-ms",  # x-amz-retry-after, milliseconds
    "budget": {"kind": "aws", "retry_cost": 14, "timeout_cost": 14, "throttling_cost": 5},
}

#: the retry loop both LLM SDKs share (the same generated base client): they differ only in Retry-After
_STAINLESS_RETRY: dict[str, Any] = {
    "max_attempts": 3, "on": SDK_STATUSES, "timeout": "600s", "respect_should_retry": True,
    "statuses": [408, 409, 429, 500, 502, 503, 504, 529],
    "backoff": {"kind": "exponential", "base": "500ms", "multiplier": 2, "cap": "8s",
                "jitter": {"multiplicative": [0.75, 1.0]}},
}

#: litellm 1.110's Router, time from a failed attempt's response to its retry reaching ``llmsim serve``
#: (the Router's own work: failure callbacks, cooldown bookkeeping, the pick, the request built by the
#: OpenAI client): median 27 ms, 5th-95th percentile 11-53 ms over 105 retries at load average 2-5 on 2
#: cores, 11-86 ms over 155 at load 5-6 (docs/bridges.md). Every attempt pays it after the pick.
LITELLM_OVERHEAD: dict[str, Any] = {"dist": "lognormal", "median": "27ms", "p95": "70ms"}

#: name -> (description citing the source, client config as plain data)
CLIENT_PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "openai-sdk": (
        "openai-python v3 defaults (src/openai/_base_client.py, _constants.py): max_retries 2, timeout 600 s, "
        "retry 408/409/429/5xx/timeouts, wait min(0.5*2^n, 8)*(1-0.25u), Retry-After (read from retry-after-ms, "
        "else retry-after) honoured in (0, 120] s, no retry above 120 s",
        {"retry": {**_STAINLESS_RETRY, "retry_after": {"window": [0, "120s"]}, "give_up_retry_after_over": "120s",
                   "hint_header": "retry-after-ms"}},
    ),
    "anthropic-sdk": (
        "anthropic-sdk-python 2.x defaults (src/anthropic/_base_client.py): max_retries 2, timeout 600 s, retry "
        "408/409/429/5xx (529 included)/timeouts, wait min(0.5*2^n, 8)*(1-0.25u), any positive Retry-After "
        "(read from retry-after-ms, else retry-after) honoured as given",
        {"retry": {**_STAINLESS_RETRY, "retry_after": "honor", "hint_header": "retry-after-ms"}},
    ),
    "tenacity-exponential": (
        "tenacity as in the OpenAI cookbook: @retry(wait=wait_random_exponential(multiplier=1, max=60), "
        "stop=stop_after_attempt(6)) (tenacity/wait.py): U(0, min(2^(a-1), 60)), any error retried, "
        "Retry-After not read, no per-attempt timeout",
        {"retry": {"max_attempts": 6, "on": SDK_STATUSES,
                   "backoff": {"kind": "exponential", "base": "1s", "multiplier": 2, "cap": "60s", "jitter": "full"},
                   "retry_after": "ignore", "hint_header": "none"}},
    ),
    "aws-standard": (
        "botocore standard mode as released in 2026 (botocore/retries/standard.py, quota.py): 3 attempts, "
        "U(0,1)*min(base*2^(a-1), 20 s) with base 1 s after a throttle (429) and 50 ms otherwise, Retry-After "
        "raised to at most backoff + 5 s, retry quota 500 tokens (a retry costs 5 after a throttle, 14 "
        "otherwise; refunds on success)",
        {"retry": _AWS_RETRY},
    ),
    "aws-standard-legacy": (
        "botocore standard mode before 2026: 3 attempts, U(0,1)*min(2^(a-1), 20 s), retry quota 500 tokens "
        "(cost 5, after a timeout 10, refunds), Retry-After not read",
        {"retry": {"max_attempts": 3, "on": SDK_STATUSES,
                   "backoff": {"kind": "exponential", "base": "1s", "multiplier": 2, "cap": "20s", "jitter": "full"},
                   "retry_after": "ignore", "hint_header": "none", "budget": {"kind": "aws"}}},
    ),
    "aws-adaptive": (
        "botocore adaptive mode (botocore/retries/adaptive.py): standard mode plus a client-side token bucket "
        "switched on by the first throttle, rate following CUBIC (beta 0.7, scale 0.4), consulted before "
        "every attempt",
        {"layers": [
            {"retry": _AWS_RETRY},
            {"limiter": {"kind": "aws_adaptive"}},
        ]},
    ),
    "resilience4j": (
        "resilience4j defaults (CircuitBreakerConfig.java, RetryConfig.java): Retry maxAttempts 3, fixed 500 ms; "
        "CircuitBreaker COUNT_BASED window 100, minimumNumberOfCalls 100, failure 50 %, slow calls >= 60 s at "
        "100 %, open 60 s, 10 half-open calls, no automatic transition",
        {"retry": {"max_attempts": 3, "on": SDK_STATUSES,
                   "backoff": {"kind": "constant", "base": "500ms", "jitter": "none"}, "retry_after": "ignore",
                   "hint_header": "none"},
         "circuit_breaker": {"kind": "count", "window": 100, "min_calls": 100, "failure_rate": 0.5,
                             "slow_call_rate": 1.0, "slow_call_duration": "60s", "open_for": "60s",
                             "half_open_calls": 10, "automatic": False}},
    ),
    "polly": (
        "Polly v8 standard resilience pipeline (Microsoft.Extensions.Http.Resilience AddStandardResilienceHandler, "
        "Polly.Core): total timeout 30 s, 3 retries exponential from 2 s with decorrelated jitter v2, attempt "
        "timeout 10 s, Retry-After read from the whole-second retry-after header, circuit breaker ratio 0.1 "
        "over 30 s, min throughput 100, break 5 s, one half-open probe, "
        "concurrency limit 1000 with no queue",
        {"deadline": "30s",
         "limiter": {"kind": "concurrency", "limit": 1000, "queue": 0},
         "retry": {"max_attempts": 4, "on": SDK_STATUSES, "timeout": "10s",
                   "backoff": {"kind": "exponential", "base": "2s", "multiplier": 2, "cap": "30s",
                               "jitter": "polly-v2"},
                   "retry_after": "honor", "hint_header": "retry-after"},
         "circuit_breaker": {"kind": "time", "window": "30s", "min_calls": 100, "failure_rate": 0.1,
                             "open_for": "5s", "half_open_calls": 1}},
    ),
    "envoy": (
        "Envoy router defaults (router.proto, retry_policy, outlier_detection): route timeout 15 s, 1 retry on 5xx "
        "with fully jittered backoff [0, (2^N-1)*25 ms) capped at 250 ms, retry budget 20 % of active requests "
        "(min 3), outlier ejection after 5 consecutive 5xx for 30 s x times ejected, max 10 %",
        {"deadline": "15s",
         "layers": [
             {"retry": {"max_attempts": 2, "on": ["overloaded", "server_error"],
                        "backoff": {"kind": "envoy", "base": "25ms", "cap": "250ms", "jitter": "full"},
                        "retry_after": "ignore", "hint_header": "none", "budget": {"kind": "envoy"}}},
             {"route": {"strategy": "weighted", "order": ["*"],
                        "ejection": {"kind": "envoy"}}},
         ]},
    ),
    "grpc": (
        "gRPC retry policy (proposal A6) as in its example service config: maxAttempts 4, initialBackoff 100 ms, "
        "maxBackoff 1 s, multiplier 2, U(0, min(initial*mult^(n-1), max)), on UNAVAILABLE; retry throttling "
        "maxTokens 10, tokenRatio 0.1",
        {"retry": {"max_attempts": 4, "on": ["overloaded", "server_error"],
                   "backoff": {"kind": "exponential", "base": "100ms", "multiplier": 2, "cap": "1s", "jitter": "full"},
                   "retry_after": "ignore", "hint_header": "none",
                   "budget": {"kind": "grpc", "max_tokens": 10, "token_ratio": 0.1}}},
    ),
    "litellm-router": (
        "LiteLLM Router (litellm 1.110: router_utils/cooldown_handlers.py, utils.calculate_retry_after, "
        "router_rust/core.py): num_retries 2 around the deployments, SDK inside pinned to max_retries 0; in a "
        "group of > 1 a retry goes at once when any deployment is healthy after the failure (the one that "
        "failed included: re-picked by the routing), a 429 with none healthy is raised without retry, else "
        "it waits the whole-second retry-after in (0, 60] s or min(0.5*2^n, 8) s, plus U(0, 0.75) s; "
        "simple-shuffle routing; cooldown (Router without allowed_fails) on a 429 in a group of > 1, or > 50 % "
        "of >= 5 calls a minute failed, for the whole-second retry-after, else 5 s; all deployments cooling "
        "down: refused locally (rejected); timeout 600 s; its own work before each attempt leaves (pick, "
        "failure handling, request building) measured against llmsim serve: median 27 ms, p95 70 ms",
        {"overhead": LITELLM_OVERHEAD,
         "layers": [
            {"retry": {"max_attempts": 3, "on": SDK_STATUSES, "instant_if_alternative": True,
                       "backoff": {"kind": "exponential", "base": "500ms", "multiplier": 2, "cap": "8s",
                                   "jitter": {"additive": "750ms"}},
                       "retry_after": {"window": [0, "60s"], "jitter": "750ms"}, "hint_header": "retry-after"}},
            {"route": {"strategy": "weighted", "order": ["*"], "failover_on": SDK_STATUSES,
                       "ejection": {"kind": "litellm", "mode": "rates", "cooldown_time": "5s",
                                    "hint_header": "retry-after"}}},
            {"timeout": "600s"},
        ]},
    ),
    "portkey": (
        "Portkey gateway (src/handlers/retryHandler.ts): retry attempts 3 on [429, 500, 502, 503, 504], waits "
        "1, 2, 4, 8, 16 s without jitter, Retry-After not used unless use_retry_after_header",
        {"retry": {"max_attempts": 4, "on": ["rate_limited", "overloaded", "server_error"],
                   "backoff": {"kind": "exponential", "base": "1s", "multiplier": 2, "cap": "16s", "jitter": "none"},
                   "retry_after": "ignore", "hint_header": "none"}},
    ),
    "naive": (
        "the retry storm: 5 attempts immediately one after the other, no backoff, no jitter, Retry-After ignored",
        {"timeout": "30s", "retry": {"max_attempts": 5, "on": SDK_STATUSES,
                                     "backoff": {"kind": "constant", "base": 0, "jitter": "none"},
                                     "retry_after": "ignore", "hint_header": "none"}},
    ),
    "no-retry": ("one attempt, no timeout, no breaker, no hint read (nothing to wait for): the baseline", {}),
}
_ALIASES = {"no-retries": "no-retry", "naive-retry": "naive"}


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``, merging nested mappings (so a preset keeps what an override omits)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def client_presets() -> dict[str, str]:
    """Preset name -> description."""
    return {name: about for name, (about, _) in CLIENT_PRESETS.items()}
