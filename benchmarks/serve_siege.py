"""Can ``llmsim serve`` be knocked over? Open N stalled connections (half send nothing, half half a
header) and M concurrent requests with bad bodies against a real ``llmsim serve`` process, then time a
good request and check that every error answer was JSON.

    python benchmarks/serve_siege.py [--stalled 2000] [--bad 1000]

Prints the good request's latency, the statuses seen, and the server's connection counters. Wall-clock
figures: run it on a quiet machine; the suite checks the same behaviour with smaller numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import signal
import socket
import subprocess
import sys
import time

import httpx

MSG = [{"role": "user", "content": "hello"}]
BAD = [b"{", b"[1,2]", b"\xff\xfe", b'{"model": 5}', b'{"model": "m", "messages": [], "max_tokens": -1}']


def start_server() -> tuple[subprocess.Popen, str]:
    cli = "from llmsim.cli import main; main()"
    p = subprocess.Popen([sys.executable, "-c", cli, "serve", "--port", "0"], stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    return p, re.search(r"http://127\.0\.0\.1:\d+", line).group(0)


async def bad_bodies(url: str, n: int) -> list[tuple[int, bool]]:
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=n)) as c:
        async def one(i):
            path = "/v1/messages" if i % 2 else "/v1/chat/completions"
            r = await c.post(url + path, content=BAD[i % len(BAD)], headers={"content-type": "application/json"})
            return r.status_code, r.headers.get("content-type", "").startswith("application/json")
        return await asyncio.gather(*(one(i) for i in range(n)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stalled", type=int, default=2000)
    ap.add_argument("--bad", type=int, default=1000)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.stalled + args.bad + 256)), hard))
    p, url = start_server()
    host, port = url.removeprefix("http://").split(":")
    socks = []
    try:
        for i in range(args.stalled):
            s = socket.create_connection((host, int(port)))
            if i % 2:
                s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        answers = asyncio.run(bad_bodies(url, args.bad))
        t = time.perf_counter()
        good = httpx.post(url + "/v1/chat/completions", json={"model": "m", "messages": MSG, "max_tokens": 1},
                          timeout=30)
        took = time.perf_counter() - t
        status = httpx.get(url + "/llmsim/status").json()
    finally:
        for s in socks:
            s.close()
        p.send_signal(signal.SIGTERM)
        p.wait(30)
    codes = sorted({c for c, _ in answers})
    print(json.dumps({"stalled": args.stalled, "bad_bodies": args.bad, "bad_statuses": codes,
                      "bad_all_json": all(j for _, j in answers), "good_status": good.status_code,
                      "good_seconds": round(took, 3), "connections_evicted": status["connections_evicted"],
                      "connections_refused": status["connections_refused"]}, indent=1))


if __name__ == "__main__":
    main()
