"""``llmsim serve --at / --speed``: the provider's clock starts at a time of the scenario's day and runs
faster than wall time, checked with a real HTTP client (httpx) against a live server.

Wall-clock bounds are one-sided where load can only move them one way (a server never answers before
its schedule) and generous on the other side (a tenfold margin), and the least delayed of a few tries
counts, as in tests/test_bridges_serve.py.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import llmsim
from llmsim.bridges.serve import ServerThread

from conftest import raised_priority

ROOT = Path(__file__).resolve().parents[1]
LLMSIM = [sys.executable, "-c", "from llmsim.cli import main; main()"]  # this checkout's llmsim
MSG = [{"role": "user", "content": "hello"}]


@pytest.fixture(autouse=True)
def _first_in_line():
    with raised_priority():
        yield


def morning(**provider):
    """A provider of 8 slots of which other tenants hold 7 from 08:00 (as in ``tuesday``), no queue: a call
    that finds every slot you have busy is refused with a 529 at once."""
    base = {"name": "p", "model": "gpt-4o-mini", "capacity": {"slots": 8, "contention": [["0s", 0.0], ["8h", 0.875]]},
            "queue": {"limit": 0, "status": 529}, "latency": {"ttft": "1s", "tokens_per_s": 1000}}
    base.update(provider)
    workload = {"arrivals": {"rate": "1/s"}, "output_tokens": {"dist": "fixed", "value": 1}}
    return llmsim.load_scenario({"horizon": "10h", "start": "Tue 00:00", "workload": workload, "providers": [base]})


def _post(url: str) -> httpx.Response:
    return httpx.post(url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": MSG, "max_tokens": 1},
                      timeout=60)


def _statuses_of_concurrent_calls(at: float, n: int = 4) -> list[int]:
    """n calls sent together (each holds its slot for 1 s of the scenario's time)."""
    with ServerThread(morning(), at=at) as srv, ThreadPoolExecutor(n) as pool:
        return sorted(r.status_code for r in pool.map(lambda _: _post(srv.url), range(n)))


def test_at_0830_the_morning_contention_refuses_calls():
    statuses = _statuses_of_concurrent_calls(at=llmsim.core.units.parse_offset("08:30"))
    # one slot left: the first call is served; the others arrive within its second (barring a 1 s stall) -> 529
    assert statuses[0] == 200
    assert 529 in statuses, statuses


def test_at_0200_the_same_calls_are_all_served():
    assert _statuses_of_concurrent_calls(at=llmsim.core.units.parse_offset("02:00")) == [200] * 4


def test_speed_10_makes_a_1s_ttft_take_about_a_tenth_of_a_second():
    seen = []
    with ServerThread(morning(), speed=10.0) as srv:
        _post(srv.url)  # the first request pays the client's and the server's first-use costs
        for _ in range(3):
            t0 = time.perf_counter()
            r = _post(srv.url)
            seen.append(time.perf_counter() - t0)
            assert r.status_code == 200
            assert seen[-1] >= 0.1 - 0.005  # never before the scaled TTFT (1 s / 10)
            if seen[-1] < 0.5:  # far below the unscaled 1 s
                return
    raise AssertionError(f"a 1 s TTFT at --speed 10 took {seen} s in all three tries")


def test_speed_scales_retry_after_to_wall_time():
    """One request a minute (a bucket of 1): the second call's wait is about 60 s of the scenario's time,
    which at --speed 10 is about 6 s of a real client's."""
    sc = morning(rate_limits={"rpm": 1})
    with ServerThread(sc, speed=10.0) as srv:
        assert _post(srv.url).status_code == 200
        r = _post(srv.url)
        logged = srv.log.frame()["retry_after_s"].dropna()
    assert r.status_code == 429
    wall_ms = int(r.headers["retry-after-ms"])
    assert 3000 < wall_ms <= 6000, wall_ms  # 6 s less 10x the (wall) time between the two calls
    assert int(r.headers["retry-after"]) == -(-wall_ms // 1000)
    assert logged.iloc[-1] == pytest.approx(wall_ms * 10 / 1000, abs=0.02)  # the log keeps the scenario's time


def test_bad_speed_and_at_are_one_line_errors():
    for args, field in ((["--speed", "0"], "--speed"), (["--at", "25:00"], "--at"), (["--speed", "nan"], "--speed")):
        proc = subprocess.run([*LLMSIM, "serve", "tuesday", *args, "--port", "0"],
                              capture_output=True, text=True, timeout=60, env=_env())
        assert proc.returncode == 2, proc.stderr
        assert field in proc.stderr and "Traceback" not in proc.stderr


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", COLUMNS="200")


def test_cli_serve_at_and_speed_set_the_clock():
    """``llmsim serve tuesday --at 08:30 --speed 10``: it says so, and its status reports the scenario's time
    from 08:30 on, advancing about ten times faster than wall time."""
    proc = subprocess.Popen([*LLMSIM, "serve", "tuesday", "--at", "08:30", "--speed", "10",
                             "--port", "0"], stderr=subprocess.PIPE, text=True, env=_env())
    try:
        line = proc.stderr.readline()
        assert "clock starts at Tue 08:30, 10x wall time" in line, line
        url = re.search(r"http://[\d.]+:\d+", line).group(0)
        t_wall0 = time.monotonic()
        first = httpx.get(url + "/llmsim/status", timeout=30).json()
        time.sleep(0.5)
        second = httpx.get(url + "/llmsim/status", timeout=30).json()
        wall = time.monotonic() - t_wall0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert first["speed"] == 10.0
    assert 30600.0 <= first["time"] < 30600.0 + 10 * 60  # started at 08:30 (within a minute of wall time)
    advanced = second["time"] - first["time"]
    assert 10 * 0.5 <= advanced <= 10 * wall + 1e-6  # ten scenario seconds per wall second, no more
