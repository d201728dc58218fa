"""Real client workloads to run against ``llmsim serve``: the SDKs with their default retry settings,
and a tenacity-wrapped call. Each is a callable ``workload(base_url)`` that sends ``requests`` logical
requests ``spacing`` seconds apart (20 ms: calls that all fail at the same instant measure the
client's own CPU overhead more than its policy), tags each with the ``x-llmsim-request-id`` header
so the server can group its attempts, and swallows the errors a client gives up with.

>>> w = openai_sdk(requests=3)
>>> w.requests, w.label
(3, 'openai-python (defaults)')
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Workload", "openai_sdk", "anthropic_sdk", "tenacity_openai", "WORKLOADS", "run_in_child"]

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

    def __call__(self, base_url: str) -> list:
        async def main():
            client = self.make_client(base_url)

            async def one(i):
                if self.spacing:
                    await asyncio.sleep(i * self.spacing)
                try:
                    await self.call(client, i)
                    return "ok"
                except Exception as e:  # noqa: BLE001 - the client gave up: that is the observation
                    return type(e).__name__

            try:
                return await asyncio.gather(*(one(i) for i in range(self.requests)))
            finally:
                await client.close()

        self.results = asyncio.run(main())
        return self.results


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


#: name -> (workload factory, reference client name or factory)
WORKLOADS = {
    "openai": (openai_sdk, "openai-python"),
    "anthropic": (anthropic_sdk, "anthropic-python"),
    "tenacity": (tenacity_openai, "tenacity"),
}


def run_in_child(workload: Workload, url: str, timeout: float = 900.0) -> None:
    """Run a built-in workload in a fresh Python process (its own interpreter lock: the server's thread
    does not slow the client down, nor the client the server)."""
    name, kwargs = workload.spec
    subprocess.run([sys.executable, "-m", "llmsim.bridges.fidelity.child", name, url, json.dumps(kwargs)],
                   check=True, timeout=timeout)

