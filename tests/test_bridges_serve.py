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
import numpy as np
import pytest
from aiohttp import web

import llmsim
from llmsim.bridges.serve import ServerThread

from conftest import raised_priority

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


@pytest.fixture(autouse=True)
def _first_in_line():
    """Client and server thread at a raised priority where permitted (see conftest.raised_priority)."""
    with raised_priority():
        yield


def _warm_up(stream) -> None:
    """Consume one short stream first: an SDK's first stream pays its lazy imports and model building
    (~0.2 s here), which would be measured as a late first chunk."""
    for _ in stream:
        pass


TRIES = 3  # streams measured per test at most; the first that meets the tight bounds ends it


def check_pacing(measure, ttft: float, rate: float, n: int) -> None:
    """``measure()`` -> chunk arrival times since the request was sent. A chunk can never arrive before
    the server's schedule (TTFT, then one token per 1/rate): checked on every stream, load or not. How
    late chunks are is the machine's load as much as the server's pacing, and load only ever delays
    them: so the tight upper bounds (first chunk within 100 ms of TTFT, rate within 10 %) must hold for
    the least delayed of up to three streams. A server pacing too slowly fails all three."""
    seen = []
    for _ in range(TRIES):
        times = np.asarray(measure())
        assert len(times) == n
        schedule = ttft + np.arange(n) / rate
        assert (times >= schedule - 0.002).all(), times - schedule  # never ahead of the schedule
        got = (times[0] - ttft, (n - 1) / (times[-1] - times[0]))
        seen.append(got)
        if got[0] < 0.1 and abs(got[1] - rate) / rate < 0.10:
            return
    raise AssertionError(f"late first chunk or wrong token rate in all {TRIES} streams: {seen}")


def test_openai_stream_paced_by_ttft_and_token_rate():
    sc = scenario()
    usages = []
    with ServerThread(sc) as srv:
        c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x")
        _warm_up(c.chat.completions.create(model="gpt-4o-mini", messages=MSG, max_tokens=2, stream=True))

        def measure():
            t0 = time.monotonic()
            stream = c.chat.completions.create(model="gpt-4o-mini", messages=MSG, max_tokens=100, stream=True,
                                               stream_options={"include_usage": True})
            times = []
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    times.append(time.monotonic() - t0)
                if chunk.usage is not None:
                    usages.append(chunk.usage)
            return times

        check_pacing(measure, 0.3, 50, 40)  # the model's TTFT (300 ms), then 50 tokens/s
    usage = usages[-1]
    assert usage.completion_tokens == 40 and usage.prompt_tokens >= 1
    assert usage.model_extra["cost"] == pytest.approx((usage.prompt_tokens * 1 + 40 * 4) / 1e6)


def test_anthropic_stream_and_message():
    sc = scenario(latency={"ttft": "200ms", "tokens_per_s": 100})
    finals = []
    with ServerThread(sc) as srv:
        a = anthropic.Anthropic(base_url=srv.url, api_key="x")
        with a.messages.stream(model="claude", max_tokens=2, messages=MSG) as st:
            _warm_up(st.text_stream)

        def measure():
            t0 = time.monotonic()
            times = []
            with a.messages.stream(model="claude", max_tokens=100, messages=MSG) as st:
                for _ in st.text_stream:
                    times.append(time.monotonic() - t0)
                finals.append(st.get_final_message())
            return times

        check_pacing(measure, 0.2, 100, 40)
        m = a.messages.create(model="claude", max_tokens=10, messages=MSG)
    final = finals[-1]
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
    # a bucket of one request refilled in 10 s: no refill between the three calls, however loaded the machine
    sc = scenario(latency={"ttft": "10ms", "tokens_per_s": 1000}, rate_limits={"rpm": 6, "window": "10s"})
    with ServerThread(sc) as srv:
        body = {"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 5}
        ok = httpx.post(srv.url + "/v1/chat/completions", json=body)
        r = httpx.post(srv.url + "/v1/chat/completions", json=body)
        ar = httpx.post(srv.url + "/v1/messages", json=body)
    assert ok.status_code == 200 and ok.headers["x-ratelimit-limit-requests"] == "1"
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
    ms = int(r.headers["retry-after-ms"])
    assert 9000 < ms <= 10000 and r.headers["retry-after"] == "10"  # ceil of the exact wait, in s and in ms
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    reset = re.fullmatch(r"(\d+(?:\.\d+)?)s", r.headers["x-ratelimit-reset-requests"])  # OpenAI's "9.821s"
    assert reset and 9 < float(reset.group(1)) <= 10
    assert ar.status_code == 429 and ar.json()["error"]["type"] == "rate_limit_error"
    assert ar.headers["anthropic-ratelimit-requests-limit"] == "1" and "retry-after" in ar.headers


def test_refusals_answer_after_the_refusal_time():
    """A 429 and a 529 reach the client after latency.refusal / latency.error, as in the simulator: at least
    that long (sleeps never end early, so a loaded machine cannot fail this), and recorded so."""
    sc = scenario(latency={"ttft": "10ms", "tokens_per_s": 1000, "refusal": "400ms", "error": "700ms"},
                  rate_limits={"rpm": 6, "window": "10s"})
    body = {"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 5}
    with ServerThread(sc) as srv:
        assert httpx.post(srv.url + "/v1/chat/completions", json=body).status_code == 200
        t0 = time.monotonic()
        r = httpx.post(srv.url + "/v1/chat/completions", json=body)
        took = time.monotonic() - t0
        frame = srv.log.frame()
    assert r.status_code == 429 and took >= 0.4
    row = frame[frame["outcome"] == "rate_limited"].iloc[0]
    assert row["latency_s"] >= 0.4 - 1e-3
    full = scenario(capacity={"slots": 1, "contention": [[0, 1.0]]}, queue={"limit": 0},
                    latency={"ttft": "10ms", "error": "700ms"})
    with ServerThread(full) as srv:
        t0 = time.monotonic()
        r = httpx.post(srv.url + "/v1/messages", json=body)
        assert r.status_code == 529 and time.monotonic() - t0 >= 0.7


def test_overload_529_and_server_error_500():
    sc = scenario(capacity={"slots": 1}, queue={"limit": 0})
    fail = scenario(errors={"server_error_rate": 1.0, "status": 500}, latency={"ttft": "20ms"})
    body = {"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 5}
    with ServerThread(sc) as srv:
        async def two():
            async with httpx.AsyncClient() as c:
                first = asyncio.create_task(c.post(srv.url + "/v1/messages", json=body))
                while (await c.get(srv.url + "/llmsim/status")).json()["providers"][0]["busy"] == 0:
                    await asyncio.sleep(0.01)  # until the first call holds the only slot, however long it takes
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
        rs = asyncio.run(many())
        frame = srv.log.frame()
    assert [r.status_code for r in rs] == [200] * 250
    # served concurrently, read from the server's own log: the most attempts in service at one instant
    # (serially it would be 1); load can delay the clients' sends, but each attempt takes >= 0.3 s
    start = frame["arrival_s"].to_numpy(float)
    end = start + frame["latency_s"].to_numpy(float)
    assert (end - start >= 0.3 - 0.002).all()
    in_service = (start[:, None] <= start[None, :]) & (end[:, None] > start[None, :])
    assert in_service.sum(axis=0).max() >= 100


def _abort(writer) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
    writer.transport.abort()


def _count_reads(srv: ServerThread) -> list[int]:
    """Count the requests whose body the server read, with an aiohttp middleware ahead of the handlers.
    After the read completes the handler runs to the provider without yielding to the event loop, so
    each counted request becomes an attempt however soon its client goes away."""
    reads = [0]

    @web.middleware
    async def count(request, handler):
        if request.method == "POST":
            await request.read()  # cached: the handler's own read returns the same bytes at once
            reads[0] += 1
        return await handler(request)

    make_app = srv.server.app

    def app():
        application = make_app()
        application.middlewares.append(count)
        return application

    srv.server.app = app
    return reads


def test_1000_abrupt_disconnects_leak_no_slot():
    sc = scenario(capacity={"slots": 40}, latency={"ttft": "20ms", "tokens_per_s": 1000}, abort_notice="50ms")
    payload = json.dumps({"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 50, "stream": True}).encode()
    rng = random.Random(5)
    srv = ServerThread(sc)
    reads = _count_reads(srv)
    with srv:
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
        deadline = time.monotonic() + 30
        while True:
            st = httpx.get(srv.url + "/llmsim/status").json()["providers"][0]
            if (st["busy"], st["queued"]) == (0, 0) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "m", "messages": MSG, "max_tokens": 3})
        frame = srv.log.frame()
    assert (st["busy"], st["queued"], st["slots"]) == (0, 0, 40)  # capacity back to full
    assert r.status_code == 200
    # every request the server read is recorded, exactly once: the aborted ones it read, and the last
    # (a client that aborts within microseconds may close before the server reads its request: not an
    # attempt, and not counted; a loaded server may still be reading aborted ones after the waves end,
    # so they are counted at the end)
    aborted_read = reads[0] - 1
    assert aborted_read >= 500  # most of the 1,000 were read: the aborts hit queued and served attempts
    timeouts = int((frame["outcome"] == "timeout").sum())
    assert timeouts >= 0.9 * aborted_read, (timeouts, aborted_read)  # most left before their answer ended
    assert len(frame) == reads[0]


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


# -- hardening: every error JSON, bad headers, stalled and surplus connections, --record ---------------
def _raw(url: str, data: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes to the server; (status, headers, body) of its answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as s:
        s.sendall(data)
        buf = b""
        while chunk := s.recv(65536):
            buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize("method, path, kind", [
    ("POST", "/v1/nope", "openai"), ("GET", "/v1/chat/completions", "openai"), ("GET", "/v1/messages", "anthropic"),
    ("DELETE", "/v1/messages", "anthropic"),
])
def test_404_405_answers_are_the_apis_json(method, path, kind):
    with ServerThread(scenario()) as srv:
        r = httpx.request(method, srv.url + path)
    assert r.status_code in (404, 405) and r.headers["content-type"].startswith("application/json")
    body = r.json()
    if kind == "anthropic":
        assert body["type"] == "error" and body["error"]["type"] in ("not_found_error", "invalid_request_error")
    else:
        assert body["error"]["type"] == "invalid_request_error" and path in body["error"]["message"]


def test_413_body_too_large_is_json():
    with ServerThread(scenario()) as srv:
        r = httpx.post(srv.url + "/v1/messages", content=b"x" * (33 * 1024 * 1024),
                       headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["type"] == "request_too_large"


def test_max_tokens_above_token_bucket_is_429_json_without_retry_after():
    sc = scenario(rate_limits={"tpm": 1000})
    with ServerThread(sc) as srv:
        r = httpx.post(srv.url + "/v1/chat/completions",
                       json={"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 5000})
        m = httpx.post(srv.url + "/v1/messages", json={"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 5000})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
    assert "retry-after" not in r.headers and "too large" in r.json()["error"]["message"]
    assert m.status_code == 429 and m.json()["error"]["type"] == "rate_limit_error"


@pytest.mark.parametrize("value", ["9" * 5000, "-1", "1e3", "12x"], ids=["5000-digits", "negative", "float", "junk"])
def test_absurd_retry_count_header_is_ignored(value):
    with ServerThread(scenario()) as srv:
        r = httpx.post(srv.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG,
                                                               "max_tokens": 2},
                       headers={"x-stainless-retry-count": value, "x-llmsim-request-id": "k"})
        frame = srv.log.frame()
    assert r.status_code == 200
    assert frame["attempt"].tolist() == [0]  # counted by the server, not taken from the header


def test_stalled_connections_evicted_and_good_request_answered():
    """More stalled connections (nothing sent, or half a header) than the bound: the oldest idle ones are
    closed to make room, and a good request is still answered (behaviour, not speed, is checked)."""
    with ServerThread(scenario(), max_connections=50) as srv:
        socks = []
        for i in range(150):
            s = socket.create_connection((srv.host, srv.port))
            if i % 2:
                s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
            socks.append(s)
        try:
            r = httpx.post(srv.url + "/v1/chat/completions",
                           json={"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 2}, timeout=30)
            status = httpx.get(srv.url + "/llmsim/status").json()
        finally:
            for s in socks:
                s.close()
    assert r.status_code == 200
    assert status["connections"] <= 50 and status["connections_evicted"] >= 100


def test_busy_connections_past_the_bound_get_503_json():
    """When every connection is inside a request, a new one is answered 503 in a body both SDKs parse."""
    sc = scenario(latency={"ttft": "6s", "tokens_per_s": 50})
    with ServerThread(sc, max_connections=4) as srv:
        async def main():
            async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as c:
                body = {"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 2}
                slow = [asyncio.create_task(c.post(srv.url + "/v1/chat/completions", json=body)) for _ in range(4)]
                # wait until all four are inside their request (a connection not yet inside one may be
                # closed to make room, which is the server's rule, not what this test is about)
                for _ in range(400):
                    if len(srv.server.bound.busy) == 4:
                        break
                    await asyncio.sleep(0.025)
                extra = await asyncio.to_thread(_raw, srv.url, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                return extra, [t.status_code for t in await asyncio.gather(*slow)]

        (status, headers, payload), slow_codes = asyncio.run(main())
    assert slow_codes == [200] * 4
    assert status == 503 and headers["content-type"] == "application/json"
    body = json.loads(payload)
    assert body["type"] == "error" and body["error"]["type"] == "overloaded_error" and body["error"]["message"]


def test_many_concurrent_bad_bodies_all_400_json_then_good_request():
    with ServerThread(scenario()) as srv:
        async def main():
            async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=300)) as c:
                bad = [c.post(srv.url + ("/v1/messages" if i % 2 else "/v1/chat/completions"),
                              content=[b"{", b"[1,2]", b"\xff\xfe", b'{"model": 5}'][i % 4],
                              headers={"content-type": "application/json"}) for i in range(300)]
                return await asyncio.gather(*bad)

        answers = asyncio.run(main())
        good = httpx.post(srv.url + "/v1/chat/completions",
                          json={"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 2}, timeout=30)
    assert {r.status_code for r in answers} == {400}
    assert all(r.headers["content-type"].startswith("application/json") and "error" in r.json() for r in answers)
    assert good.status_code == 200


def test_unexpected_exception_is_500_json():
    srv = ServerThread(scenario())

    def boom(model):
        raise RuntimeError("a bug")

    srv.server.provider_for = boom
    with srv:
        r = httpx.post(srv.url + "/v1/messages", json={"model": "m", "messages": MSG, "max_tokens": 2})
    assert r.status_code == 500 and r.json()["error"]["type"] == "api_error"


def test_cli_serve_record_unwritable_refused_at_start(tmp_path):
    from typer.testing import CliRunner

    from llmsim.cli import app

    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = CliRunner().invoke(app, ["serve", "--port", "0", "--record", str(blocker / "a.parquet")])
    assert r.exit_code == 2 and "--record" in r.output and "listen" not in r.output


@pytest.mark.parametrize("raw", [b"GARBAGE\r\n\r\n",
                                 b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                                 b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"])
def test_malformed_http_gets_a_json_400(raw):
    """Requests aiohttp cannot parse are answered in JSON too (every non-2xx answer is JSON)."""
    with ServerThread(scenario()) as srv:
        with socket.create_connection((srv.host, srv.port), timeout=30) as s:
            s.sendall(raw)
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    assert head.split()[1] == "400" and "application/json" in head.lower()
    assert json.loads(body)["error"]["type"] == "invalid_request_error"
