"""llmsim serve: the provider model answering real clients over loopback."""

from __future__ import annotations

import asyncio
import json
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import time

import httpx
import pytest

import llmsim
from llmsim.bridges.serve import ServerThread

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")


def scenario(**provider):
    base = {"name": "p", "model": "gpt-4o-mini", "capacity": {"slots": 64}, "abort_notice": "50ms",
            "latency": {"ttft": "300ms", "tokens_per_s": 50}, "pricing": {"input_per_mtok": 1, "output_per_mtok": 4}}
    base.update(provider)
    return llmsim.load_scenario({"horizon": "1h", "workload": {"arrivals": {"rate": "1/s"},
                                                               "output_tokens": {"dist": "fixed", "value": 40}},
                                 "providers": [base]})


MSG = [{"role": "user", "content": "hello"}]


def _warm_up(stream) -> None:
    """Consume one short stream first: an SDK's first stream pays its lazy imports and model building
    (~0.2 s here), which would be measured as a late first chunk."""
    for _ in stream:
        pass


def test_openai_stream_paced_by_ttft_and_token_rate():
    sc = scenario()
    with ServerThread(sc) as srv:
        c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x")
        _warm_up(c.chat.completions.create(model="gpt-4o-mini", messages=MSG, max_tokens=2, stream=True))
        t0 = time.monotonic()
        stream = c.chat.completions.create(model="gpt-4o-mini", messages=MSG, max_tokens=100, stream=True,
                                           stream_options={"include_usage": True})
        times, usage = [], None
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                times.append(time.monotonic() - t0)
            if chunk.usage is not None:
                usage = chunk.usage
    assert len(times) == 40
    assert 0.3 <= times[0] < 0.3 + 0.1  # first token after the model's TTFT (300 ms)
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert abs(rate - 50) / 50 < 0.10  # chunks at the model's 50 tokens/s
    assert usage.completion_tokens == 40 and usage.prompt_tokens >= 1
    assert usage.model_extra["cost"] == pytest.approx((usage.prompt_tokens * 1 + 40 * 4) / 1e6)


def test_anthropic_stream_and_message():
    sc = scenario(latency={"ttft": "200ms", "tokens_per_s": 100})
    with ServerThread(sc) as srv:
        a = anthropic.Anthropic(base_url=srv.url, api_key="x")
        with a.messages.stream(model="claude", max_tokens=2, messages=MSG) as st:
            _warm_up(st.text_stream)
        t0 = time.monotonic()
        times = []
        with a.messages.stream(model="claude", max_tokens=100, messages=MSG) as st:
            for _ in st.text_stream:
                times.append(time.monotonic() - t0)
            final = st.get_final_message()
        m = a.messages.create(model="claude", max_tokens=10, messages=MSG)
    assert len(times) == 40 and 0.2 <= times[0] < 0.3
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert abs(rate - 100) / 100 < 0.10
    assert final.usage.output_tokens == 40 and final.stop_reason == "end_turn"
    assert m.usage.output_tokens == 10 and m.stop_reason == "max_tokens"  # capped by max_tokens


def test_bad_requests_get_provider_style_400():
    with ServerThread(scenario()) as srv:
        h = {"content-type": "application/json"}
        r = httpx.post(srv.url + "/v1/chat/completions", content=b"{not json", headers=h)
        assert r.status_code == 400
        assert r.json()["error"]["type"] == "invalid_request_error"
        assert "could not parse the JSON body" in r.json()["error"]["message"]
        r = httpx.post(srv.url + "/v1/chat/completions", json={"messages": MSG})
        assert r.status_code == 400 and r.json()["error"]["message"] == "you must provide a model parameter"
        r = httpx.post(srv.url + "/v1/messages", content=b"[1,", headers=h)
        assert r.status_code == 400 and r.json()["type"] == "error"
        assert r.json()["error"]["type"] == "invalid_request_error"
        r = httpx.post(srv.url + "/v1/messages", json={"messages": MSG, "max_tokens": 5})
        assert r.status_code == 400 and r.json()["error"]["message"] == "model: Field required"
        with pytest.raises(openai.BadRequestError):  # the SDK does not retry a 400
            openai.OpenAI(base_url=srv.url + "/v1", api_key="x").chat.completions.create(model="", messages=MSG)
        assert len(srv.log) == 0  # refused before reaching the provider: no attempt recorded


def test_429_headers_and_bodies():
    sc = scenario(latency={"ttft": "10ms", "tokens_per_s": 1000}, rate_limits={"rpm": 60, "window": "1s"})
    with ServerThread(sc) as srv:
        body = {"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 5}
        ok = httpx.post(srv.url + "/v1/chat/completions", json=body)
        r = httpx.post(srv.url + "/v1/chat/completions", json=body)
        ar = httpx.post(srv.url + "/v1/messages", json=body)
    assert ok.status_code == 200 and ok.headers["x-ratelimit-limit-requests"] == "1"
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
    ms = int(r.headers["retry-after-ms"])
    assert 0 < ms <= 1000 and r.headers["retry-after"] == "1"
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert re.fullmatch(r"\d+ms", r.headers["x-ratelimit-reset-requests"])
    assert ar.status_code == 429 and ar.json()["error"]["type"] == "rate_limit_error"
    assert ar.headers["anthropic-ratelimit-requests-limit"] == "1" and "retry-after" in ar.headers


def test_overload_529_and_server_error_500():
    sc = scenario(capacity={"slots": 1}, queue={"limit": 0})
    fail = scenario(errors={"server_error_rate": 1.0, "status": 500}, latency={"ttft": "20ms"})
    body = {"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 5}
    with ServerThread(sc) as srv:
        async def two():
            async with httpx.AsyncClient() as c:
                first = asyncio.create_task(c.post(srv.url + "/v1/messages", json=body))
                await asyncio.sleep(0.1)
                second = await c.post(srv.url + "/v1/messages", json=body)
                return await first, second
        first, second = asyncio.run(two())
    assert first.status_code == 200
    assert second.status_code == 529 and second.json()["error"]["type"] == "overloaded_error"
    with ServerThread(fail) as srv:
        r = httpx.post(srv.url + "/v1/chat/completions", json=body)
        assert r.status_code == 500 and r.json()["error"]["type"] == "server_error"
        frame = srv.log.frame()
    assert frame["outcome"].tolist() == ["server_error"] and int(frame["http_status"][0]) == 500


def test_250_concurrent_connections():
    sc = scenario(capacity={"slots": 300}, latency={"ttft": "300ms", "tokens_per_s": 1000})
    with ServerThread(sc) as srv:
        async def many():
            limits = httpx.Limits(max_connections=300)
            async with httpx.AsyncClient(limits=limits, timeout=30) as c:
                body = {"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 5}
                return await asyncio.gather(*(c.post(srv.url + "/v1/chat/completions", json=body)
                                              for _ in range(250)))
        t0 = time.monotonic()
        rs = asyncio.run(many())
        took = time.monotonic() - t0
    assert [r.status_code for r in rs] == [200] * 250
    assert took < 0.3 * 250 / 10  # served concurrently (serially it would take 250 x 0.3 s)


def _abort(writer) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
    writer.transport.abort()


def test_1000_abrupt_disconnects_leak_no_slot():
    sc = scenario(capacity={"slots": 40}, latency={"ttft": "20ms", "tokens_per_s": 1000}, abort_notice="50ms")
    payload = json.dumps({"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 50, "stream": True}).encode()
    rng = random.Random(5)
    with ServerThread(sc) as srv:
        head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()

        async def one(delay):
            reader, writer = await asyncio.open_connection(srv.host, srv.port)
            writer.write(head + payload)
            await writer.drain()
            await asyncio.sleep(delay)
            _abort(writer)

        async def waves():
            for _ in range(5):
                await asyncio.gather(*(one(rng.uniform(0.0, 0.08)) for _ in range(200)))

        asyncio.run(waves())
        deadline = time.monotonic() + 10
        while True:
            st = httpx.get(srv.url + "/llmsim/status").json()["providers"][0]
            if (st["busy"], st["queued"]) == (0, 0) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "m", "messages": MSG, "max_tokens": 3})
        frame = srv.log.frame()
    assert (st["busy"], st["queued"], st["slots"]) == (0, 0, 40)  # capacity back to full
    assert r.status_code == 200
    # every request the server read is recorded (the 1,000 aborted ones and the last); a client that
    # aborts within microseconds can close before aiohttp hands the request to the handler, so a few
    # may never become attempts
    assert 1001 - 10 <= len(frame) <= 1001
    assert (frame["outcome"] == "timeout").sum() >= 900  # most left before their answer ended


def test_cli_serve_records_canonical_trace(tmp_path):
    rec = tmp_path / "attempts.parquet"
    cli = "from llmsim.cli import main; main()"
    p = subprocess.Popen([sys.executable, "-c", cli, "serve", "--port", "0", "--record", str(rec)],
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stderr.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        r = httpx.post(url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 4},
                       headers={"x-llmsim-request-id": "job-1"})
        assert r.status_code == 200
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(20) == 0
    tr = llmsim.load_trace(rec)
    assert len(tr) == 1 and tr.loc[0, "logical_request_id"] == "job-1" and tr.loc[0, "outcome"] == "ok"
    assert tr.loc[0, "output_tokens"] == 4 and tr.loc[0, "provider"] == "shared-gpt"


def test_cli_serve_bad_input_exit_2():
    from typer.testing import CliRunner

    from llmsim.cli import app

    r = CliRunner().invoke(app, ["serve", "--record", "x.txt"])
    assert r.exit_code == 2 and "--record" in r.output
    r = CliRunner().invoke(app, ["serve", "--provider", "nope"])
    assert r.exit_code == 2 and "no provider named 'nope'" in r.output
