"""Real client workloads to run against ``llmsim serve``: the SDKs with their default retry settings, a
tenacity-wrapped call, and LiteLLM's Router over two deployments. Each is a callable
``workload(base_url)`` that sends ``requests`` logical requests ``spacing`` seconds apart (20 ms: calls
that all fail at the same instant measure the client's own CPU overhead more than its policy), tags each
with the ``x-llmsim-request-id`` header so the server can group its attempts, and swallows the errors a
client gives up with.

>>> w = openai_sdk(requests=3)
>>> w.requests, w.label
(3, 'openai-python (defaults)')
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Workload", "openai_sdk", "anthropic_sdk", "tenacity_openai", "litellm_router", "litellm_config",
           "WORKLOADS", "run_in_child"]

PROMPT = [{"role": "user", "content": "Say something short."}]


@dataclass
class Workload:
    """``requests`` concurrent logical requests made by ``call(client, i)``; ``make_client(url)``."""

    label: str
    requests: int
    make_client: Any
    call: Any
    spacing: float = 0.02
    results: list = field(default_factory=list)
    spec: tuple = ()  # (factory name in WORKLOADS, kwargs): lets run_fidelity run it in a child process
    warm_up: Any = None  # ``await warm_up(client)`` before the clock starts (imports, no request sent)
    ended: list = field(default_factory=list)  # time.monotonic() at which each request ended
    cooldowns: list = field(default_factory=list)  # [time.monotonic(), seconds] of each cooldown the client set

    def __call__(self, base_url: str) -> list:
        async def main():
            client = self.make_client(base_url)
            if self.warm_up is not None:
                await self.warm_up(client)
            start = time.monotonic()

            async def one(i):
                if self.spacing:
                    await asyncio.sleep(max(0.0, start + i * self.spacing - time.monotonic()))
                try:
                    await self.call(client, i)
                    return "ok"
                except Exception as e:  # noqa: BLE001 - the client gave up: that is the observation
                    return type(e).__name__
                finally:
                    self.ended[i] = time.monotonic()

            try:
                return await asyncio.gather(*(one(i) for i in range(self.requests)))
            finally:
                await _close(client)

        self.ended = [float("nan")] * self.requests
        self.results = asyncio.run(main())
        return self.results

    def report(self) -> dict:
        """What the client saw of each request: its final result (``ok`` or the error's class) and the
        ``time.monotonic()`` at which it ended (the server's clock base: one clock for all processes)."""
        return {"results": list(self.results), "ended": list(self.ended), "cooldowns": list(self.cooldowns)}


async def _close(client) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        await close()


def _tag(i: int) -> dict:
    return {"x-llmsim-request-id": f"req-{i}"}


def openai_sdk(requests: int = 20, stream: bool = False, max_tokens: int = 16, spacing: float = 0.02,
               **client_kwargs) -> Workload:
    """openai-python's AsyncOpenAI with default settings (``client_kwargs`` override, e.g. max_retries)."""
    def make(url):
        import openai  # deferred: optional dependency (llmsim[bridges])

        return openai.AsyncOpenAI(base_url=url + "/v1", api_key="llmsim", **client_kwargs)

    async def call(client, i):
        r = await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, max_tokens=max_tokens,
                                                 stream=stream, extra_headers=_tag(i))
        if stream:
            async for _ in r:
                pass

    label = "openai-python (defaults)" if not client_kwargs else f"openai-python {client_kwargs}"
    return Workload(label, requests, make, call, spacing, spec=("openai", dict(
        requests=requests, stream=stream, max_tokens=max_tokens, spacing=spacing, **client_kwargs)))


def anthropic_sdk(requests: int = 20, max_tokens: int = 16, spacing: float = 0.02, **client_kwargs) -> Workload:
    """anthropic-sdk-python's AsyncAnthropic with default settings."""
    def make(url):
        import anthropic  # deferred: optional dependency (llmsim[bridges])

        return anthropic.AsyncAnthropic(base_url=url, api_key="llmsim", **client_kwargs)

    async def call(client, i):
        await client.messages.create(model="claude-haiku-4-5", max_tokens=max_tokens, messages=PROMPT,
                                     extra_headers=_tag(i))

    label = "anthropic-sdk-python (defaults)" if not client_kwargs else f"anthropic-sdk-python {client_kwargs}"
    return Workload(label, requests, make, call, spacing, spec=("anthropic", dict(
        requests=requests, max_tokens=max_tokens, spacing=spacing, **client_kwargs)))


def tenacity_openai(requests: int = 20, attempts: int = 3, multiplier: float = 0.5, max_wait: float = 8.0,
                    spacing: float = 0.02) -> Workload:
    """openai-python with max_retries=0 inside tenacity's AsyncRetrying(stop_after_attempt(attempts),
    wait_random_exponential(multiplier, max=max_wait)): compare with clients.tenacity_client(...)."""
    def make(url):
        import openai  # deferred: optional dependency (llmsim[bridges])

        return openai.AsyncOpenAI(base_url=url + "/v1", api_key="llmsim", max_retries=0)

    async def call(client, i):
        from tenacity import (  # deferred: optional dependency (llmsim[bridges])
            AsyncRetrying,
            stop_after_attempt,
            wait_random_exponential,
        )

        async for attempt in AsyncRetrying(stop=stop_after_attempt(attempts), reraise=True,
                                           wait=wait_random_exponential(multiplier=multiplier, max=max_wait)):
            with attempt:
                await client.chat.completions.create(model="gpt-4o-mini", messages=PROMPT, max_tokens=16,
                                                     extra_headers=_tag(i))

    return Workload(f"tenacity(stop_after_attempt({attempts}), wait_random_exponential({multiplier:g}, "
                    f"max={max_wait:g})) + openai-python", requests, make, call, spacing,
                    spec=("tenacity", dict(requests=requests, attempts=attempts, multiplier=multiplier,
                                           max_wait=max_wait, spacing=spacing)))


#: the Router settings of the LiteLLM workload (the issue's measurement: simple-shuffle over two deployments)
LITELLM_ROUTER = {"routing_strategy": "simple-shuffle", "num_retries": 2, "allowed_fails": 1, "cooldown_time": 5}


def litellm_config(url: str, deployments: int = 2, **router_settings) -> dict:
    """The LiteLLM proxy-style config the workload's Router is built from (and ``llmsim import litellm``
    reads): deployments ``gpt-0``, ``gpt-1``, ... of model group ``gpt``, each an OpenAI-compatible
    endpoint at ``url`` whose model name selects the served provider of that name.

    >>> cfg = litellm_config("http://127.0.0.1:1")
    >>> [d["litellm_params"]["model"] for d in cfg["model_list"]], cfg["router_settings"]["allowed_fails"]
    (['openai/gpt-0', 'openai/gpt-1'], 1)
    """
    return {"model_list": [{"model_name": "gpt", "litellm_params": {"model": f"openai/gpt-{i}",
                                                                     "api_base": url + "/v1", "api_key": "llmsim"}}
                           for i in range(deployments)],
            "router_settings": {**LITELLM_ROUTER, **router_settings}}


def _litellm_env() -> None:
    """litellm fetches its model price map from the network at import unless told not to (and sleeps)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def litellm_router(requests: int = 100, spacing: float = 0.05, max_tokens: int = 16, deployments: int = 2,
                   **router_settings) -> Workload:
    """``litellm.Router`` (the installed release) over ``deployments`` deployments of one model group
    with ``LITELLM_ROUTER`` settings (``router_settings`` override), as ``litellm_config`` writes them.
    Requests it refuses itself ("No deployments available": every deployment cooling down) never reach
    the server; ``report()`` says which, and when."""
    settings = {**LITELLM_ROUTER, **router_settings}
    work: Workload

    def make(url):
        _litellm_env()
        import litellm  # deferred: optional dependency (llmsim[bridges]), slow to import

        _count_cooldowns(work.cooldowns)
        cfg = litellm_config(url, deployments, **settings)
        return litellm.Router(model_list=cfg["model_list"], **cfg["router_settings"])

    async def warm(router):
        # the first call imports half of litellm (seconds): pay that before the clock starts, sending nothing
        await router.acompletion(model="gpt", messages=PROMPT, mock_response="warm")

    async def call(router, i):
        await router.acompletion(model="gpt", messages=PROMPT, max_tokens=max_tokens, extra_headers=_tag(i))

    work = Workload(f"litellm.Router {settings}", requests, make, call, spacing, warm_up=warm,
                    spec=("litellm", dict(requests=requests, spacing=spacing, max_tokens=max_tokens,
                                          deployments=deployments, **router_settings)))
    return work


def _count_cooldowns(into: list) -> None:
    """Record every cooldown LiteLLM sets ([monotonic time, seconds]): its router core announces each one
    through ``cooldown_handlers.router_cooldown_event_callback`` (the Prometheus hook), wrapped here."""
    from litellm.router_utils import cooldown_handlers  # deferred: optional dependency

    original = getattr(cooldown_handlers.router_cooldown_event_callback, "__wrapped__",
                       cooldown_handlers.router_cooldown_event_callback)

    async def announce(*args, **kwargs):
        seconds = kwargs.get("cooldown_time")
        into.append([time.monotonic(), float("nan") if seconds is None else float(seconds)])
        return await original(*args, **kwargs)

    announce.__wrapped__ = original
    cooldown_handlers.router_cooldown_event_callback = announce


#: name -> (workload factory, reference client name or factory)
WORKLOADS = {
    "openai": (openai_sdk, "openai-python"),
    "anthropic": (anthropic_sdk, "anthropic-python"),
    "tenacity": (tenacity_openai, "tenacity"),
    "litellm": (litellm_router, "litellm"),
}


def run_in_child(workload: Workload, url: str, timeout: float = 900.0) -> dict:
    """Run a built-in workload in a fresh Python process (its own interpreter lock: the server's thread
    does not slow the client down, nor the client the server); returns its ``report()``."""
    name, kwargs = workload.spec
    fd, path = tempfile.mkstemp(prefix="llmsim-fidelity-", suffix=".json")
    os.close(fd)
    try:
        subprocess.run([sys.executable, "-m", "llmsim.bridges.fidelity.child", name, url, json.dumps(kwargs), path],
                       check=True, timeout=timeout, env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
        with open(path) as f:
            report = json.load(f)
    finally:
        os.unlink(path)
    workload.results, workload.ended = report["results"], report["ended"]
    workload.cooldowns = report.get("cooldowns", [])
    return report
