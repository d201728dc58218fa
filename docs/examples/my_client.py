"""A client of your own for `llmsim fidelity ... -- python docs/examples/my_client.py`: openai-python with
its default retries, 20 logical requests, each tagged with the x-llmsim-request-id header."""

import os

from openai import OpenAI

client = OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="sk-llmsim")
for i in range(20):
    try:
        client.chat.completions.create(model="gpt-4o-mini", max_tokens=16,
                                       messages=[{"role": "user", "content": "hello"}],
                                       extra_headers={"x-llmsim-request-id": f"my-client-{i}"})
    except Exception as exc:  # a request that fails after its retries: the fidelity table counts it
        print(f"request {i}: {type(exc).__name__}")
