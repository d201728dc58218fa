"""Client configs equivalent to the real libraries' defaults, and the test scenarios fidelity uses.

Use these when no preset of that name exists yet (presets come from llmsim.config.presets);
``reference_client(name)`` prefers the preset and falls back to the dict here.

>>> reference_client("openai-python").retry.max_attempts
3
>>> sorted(FIDELITY_SCENARIOS)
['always-fail', 'flaky', 'rate-limited', 'rate-limited-pair']
>>> reference_client("litellm").route.order
['gpt-0', 'gpt-1']
"""

from __future__ import annotations

from typing import Any

from llmsim.bridges.fidelity.workloads import litellm_config
from llmsim.config.client_presets import CLIENT_PRESETS, SDK_STATUSES
from llmsim.config.litellm_router import translate_litellm
from llmsim.config.loading import load_scenario, resolve_client
from llmsim.config.presets import expand_preset

__all__ = ["REFERENCE_CLIENTS", "reference_client", "tenacity_client", "litellm_client", "FIDELITY_SCENARIOS",
           "fidelity_scenario"]

#: name of the real client library -> the llmsim preset that mirrors its defaults (openai-python v3 and
#: anthropic-sdk-python 2.x, read from their _base_client.py / _constants.py); fidelity runs check them
REFERENCE_CLIENTS: dict[str, dict[str, Any]] = {
    "openai-python": CLIENT_PRESETS["openai-sdk"][1],
    "anthropic-python": CLIENT_PRESETS["anthropic-sdk"][1],
}


def tenacity_client(attempts: int = 3, multiplier: float = 0.5, max_wait: float = 8.0) -> dict[str, Any]:
    """``@retry(stop=stop_after_attempt(attempts), wait=wait_random_exponential(multiplier, max=max_wait))``
    around a call with the SDK's own retries off: full jitter U(0, multiplier * 2**(a-1)), capped; any
    error retried; Retry-After ignored (tenacity never reads headers)."""
    return expand_preset({"preset": "tenacity-exponential",
                          "retry": {"max_attempts": attempts, "on": list(SDK_STATUSES),
                                    "backoff": {"base": multiplier, "cap": max_wait}}})


def litellm_client(**router_settings) -> dict[str, Any]:
    """What ``llmsim import litellm`` makes of the LiteLLM workload's config (``workloads.litellm_config``):
    the simulated counterpart of the real Router in a fidelity run."""
    return translate_litellm(litellm_config("http://llmsim", **router_settings)).client


def reference_client(name: str):
    """A client preset, a real library's name (openai-python, anthropic-python, tenacity, litellm: the
    imported config of the LiteLLM workload), or a file."""
    if name == "tenacity":
        return resolve_client(tenacity_client(), source="reference client tenacity")
    if name == "litellm":
        return resolve_client(litellm_client(), source="reference client litellm")
    if name in REFERENCE_CLIENTS:
        return resolve_client(REFERENCE_CLIENTS[name], source=f"reference client {name}")
    return resolve_client(name)


def _scenario(name: str, provider: dict) -> dict:
    base = {"name": "p", "model": "gpt-4o-mini", "capacity": {"slots": 512}, "abort_notice": "100ms",
            "latency": {"ttft": "50ms", "tokens_per_s": 200, "refusal": 0}}  # the client's own waits, unblurred
    return {"name": name, "horizon": "1h", "warmup": 0, "seed": 7,
            "workload": {"arrivals": {"rate": "1/s"}, "output_tokens": {"dist": "fixed", "value": 20},
                         "max_tokens": 64},
            "providers": [{**base, **provider}]}


#: small scenarios for fidelity runs (a name here works wherever ``--scenario`` is accepted)
FIDELITY_SCENARIOS: dict[str, dict[str, Any]] = {
    "always-fail": _scenario("always-fail", {"errors": {"server_error_rate": 1.0, "status": 500}}),
    "flaky": _scenario("flaky", {"errors": {"server_error_rate": 0.5, "status": 500}}),
    # 1 request per second, bucket of 1: concurrent calls get 429 with an exact Retry-After
    "rate-limited": _scenario("rate-limited", {"rate_limits": {"rpm": 60, "window": "1s"}}),
}
# two deployments gpt-0 and gpt-1 (the LiteLLM workload's), each 2 requests per second with a bucket of 2
_PAIR = {"rate_limits": {"rpm": 120, "window": "1s"}}
FIDELITY_SCENARIOS["rate-limited-pair"] = {
    **_scenario("rate-limited-pair", {}),
    "providers": [{**_scenario("", _PAIR)["providers"][0], "name": f"gpt-{i}", "model": f"gpt-{i}"} for i in range(2)]}


def fidelity_scenario(spec):
    """A Scenario from a FIDELITY_SCENARIOS name, a packaged scenario name, a file or a dict."""
    if isinstance(spec, str) and spec in FIDELITY_SCENARIOS:
        return load_scenario(FIDELITY_SCENARIOS[spec])
    return load_scenario(spec)
