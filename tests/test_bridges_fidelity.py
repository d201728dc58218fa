"""Fidelity: real SDK clients against llmsim serve vs the equivalent simulated client policy.

The client configs come from llmsim.bridges.fidelity.clients (the libraries' defaults as llmsim config); the
same checks hold for the presets of the same name once they exist (``reference_client`` prefers them).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import sys

import numpy as np
import pytest

from llmsim.bridges.fidelity import (
    REFERENCE_CLIENTS,
    anthropic_sdk,
    fidelity_table,
    openai_sdk,
    run_fidelity,
    tenacity_client,
    tenacity_openai,
)

from conftest import raised_priority

pytest.importorskip("openai")
pytest.importorskip("anthropic")
pytest.importorskip("tenacity")

@pytest.fixture(autouse=True, scope="module")
def _quiet_collector():
    """The server runs in a thread of this process: after the rest of the suite the heap is large,
    and a full garbage collection there would delay its answers by 100+ ms and skew the measured
    gaps. Freezing what exists keeps collections short while the real clients run."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


N = 100  # logical requests: one-sided KS critical value at alpha = 0.001 is ~0.19 against the pooled simulation
KS_MAX = 0.2
LOOPBACK = 0.02  # seconds of client and loopback overhead allowed on a quiet machine (KS tolerance, mean)

# How these checks stay honest on a loaded machine. A real wait, measured by the server from the end of
# one attempt to the arrival of the next, is the client's sleep PLUS its own overhead (being scheduled to
# read the error, handling it, being scheduled again after the sleep, building the request), and load can
# only make that overhead larger. So every check has two sides:
# - "real is not shorter than simulated" is load-immune: it is checked strictly, against the simulation
#   itself (formula minimum, one-sided KS, mean);
# - "real is not longer than simulated" is checked against the simulation plus the overhead measured in
#   this very run: the lateness of the first attempts against the workload's schedule (request i is sent
#   i * spacing after the first), one draw per time the client must be scheduled (two per retry: on the
#   error, after the sleep). On a quiet machine that lateness is a few milliseconds, so the check is as
#   tight as before; under load it grows with the load it measures, and only then does the check widen.
# The client process and the server thread also run at a raised priority where that is permitted (root,
# as in CI), so other processes' load reaches the measured waits less in the first place.


@pytest.fixture(autouse=True)
def _first_in_line():
    with raised_priority():
        yield


def ks_longer(a: np.ndarray, b: np.ndarray, tol: float = 0.0) -> float:
    """One-sided KS: how far ``b`` lies above ``a`` (max over x of F_a(x - tol) - F_b(x)) once ``b`` may be
    ``tol`` seconds longer: near 0 when ``b`` is not longer than ``a``, whatever ``a`` - ``b`` is otherwise."""
    a, b = np.sort(a), np.sort(b)
    xs = np.concatenate([a, b, a + tol, b + tol])
    return float(max(0.0, (np.searchsorted(a, xs - tol, side="right") / len(a)
                           - np.searchsorted(b, xs, side="right") / len(b)).max()))


def lateness(rep, spacing: float) -> np.ndarray:
    """The client's scheduling overhead in this run: how late each first attempt reached the server
    against the workload's schedule, relative to the least late one (so >= 0, and 0 for at least one).
    The first quarter is left out: an SDK's first call pays its lazy imports, once, not per attempt."""
    a = rep.real.attempts
    first = a[a["attempt"] == 0]
    i = first["request"].astype(str).str.removeprefix("req-").astype(int).to_numpy()
    late = (first["sent"].to_numpy(float) - spacing * i)[i >= i.max() // 4]
    return late - late.min()


def check_waits(real: np.ndarray, sim: np.ndarray, late: np.ndarray, lo: float, hi: float | None = None,
                overheads: int = 2, what: str = "") -> None:
    """``real`` waits (or times) against ``sim`` under the two-sided scheme above; ``lo`` / ``hi`` bound
    the formula's own values; ``overheads`` = how often the client is scheduled within one real value."""
    rng = np.random.default_rng(0)
    expected = sim + sum(rng.choice(late, size=len(sim)) for _ in range(overheads))  # sim + measured overhead
    se = float(real.std(ddof=1) / np.sqrt(len(real)))
    info = (what, real.min(), real.mean(), sim.mean(), expected.mean(), se, np.quantile(late, [0.5, 0.9]))
    # load-immune side: never shorter than the formula allows, not shorter than simulated
    assert real.min() >= lo - 0.005, info
    assert ks_longer(real, sim, 0.005) < KS_MAX, ("shorter than simulated", ks_longer(real, sim, 0.005), *info)
    assert real.mean() - sim.mean() >= -3 * se - 0.005, ("shorter than simulated", *info)
    # load side: not longer than simulated plus this run's overhead
    assert ks_longer(expected, real, LOOPBACK) < KS_MAX, ("longer than simulated", ks_longer(expected, real, LOOPBACK),
                                                          *info)
    assert real.mean() - expected.mean() <= 4 * se + LOOPBACK, ("longer than simulated", *info)
    if hi is not None:  # at most 5 % beyond the formula's maximum plus the overhead
        beyond = float(np.mean(real > hi + LOOPBACK + overheads * np.quantile(late, 0.95)))
        assert beyond <= 0.05, ("beyond the formula's maximum", beyond, *info)


@pytest.mark.parametrize("name,workload", [("openai-python", openai_sdk), ("anthropic-python", anthropic_sdk)])
def test_sdk_defaults_on_always_failing_provider(name, workload):
    wl = workload(requests=N)
    rep = run_fidelity("always-fail", REFERENCE_CLIENTS[name], workload=wl, replications=20)
    assert (rep.real.requests["attempts"] == 3).all()  # max_retries 2
    assert (rep.sim.requests["attempts"] == 3).all()
    assert rep.real.untagged == 0
    late = lateness(rep, wl.spacing)
    # the SDK formula: before retry n (n = 0, 1) the wait is min(0.5 * 2**n, 8) * (1 - 0.25 u)
    for k, base in ((1, 0.5), (2, 1.0)):
        real, sim = rep.real.gaps(k), rep.sim.gaps(k)
        assert len(real) == N and len(sim) == 20 * N
        assert sim.min() >= 0.75 * base - 1e-9 and sim.max() <= base + 1e-9  # the preset is the formula
        check_waits(real, sim, late, 0.75 * base, base, what=f"gap before attempt {k + 1}")
    give_up = lambda b: b.requests["elapsed"].to_numpy(float)  # noqa: E731 - three attempts, two waits
    check_waits(give_up(rep.real), give_up(rep.sim), late, 0.75 * 1.5, overheads=4, what="time to give up")
    # the tool's own verdict, with the KS tolerance and mean tolerance widened by the measured overhead
    tol = LOOPBACK + 2 * float(np.quantile(late, 0.9))
    verdict = dataclasses.replace(rep, table=fidelity_table(rep.real, rep.sim, tol))
    assert verdict.failures(abs_tol=LOOPBACK + 4 * float(late.mean())) == [], (verdict, tol)


def test_retry_after_waited_exactly_by_client_and_policy():
    # bucket of one request refilled at 1/s: concurrent calls get 429 with the exact time to refill
    rep = run_fidelity("rate-limited", REFERENCE_CLIENTS["openai-python"], workload=openai_sdk(requests=3, spacing=0),
                       replications=5)
    real = rep.real.attempts
    hinted = real[real.groupby("request")["retry_after"].shift(1).notna()]
    assert len(hinted) >= 2
    prev_ra = real.groupby("request")["retry_after"].shift(1)[hinted.index]
    assert (prev_ra > 0.5).all()  # real waits of about a second, not backoff-sized
    over = hinted["gap"].to_numpy() - prev_ra.to_numpy()
    assert (over >= -0.002).all(), over  # never earlier than the hint (load can only delay a retry)
    # waited exactly the hint: the least delayed retry within 30 ms (load delays some, never all by the
    # same amount), and none by a backoff on top of the hint (the smallest backoff would add 0.375 s)
    assert over.min() < 0.03 and (over < 0.3).all(), over
    sim = rep.sim.attempts
    sim_prev = sim.groupby("request")["retry_after"].shift(1)
    sel = sim_prev.notna()
    assert sel.sum() >= 2
    # the policy waits the hint too, as openai-python reads it from retry-after-ms: rounded up to the ms
    wait = sim.loc[sel, "gap"].to_numpy()
    assert np.allclose(wait, np.ceil(sim_prev[sel].to_numpy() * 1000) / 1000, atol=1e-9), wait
    assert rep.table.loc["attempts per request", "real_mean"] == rep.table.loc["attempts per request", "sim_mean"]


def test_tenacity_wrapped_call():
    wl = tenacity_openai(requests=N, attempts=3, multiplier=0.5, max_wait=8.0)
    rep = run_fidelity("always-fail", tenacity_client(attempts=3, multiplier=0.5, max_wait=8.0), workload=wl)
    assert (rep.real.requests["attempts"] == 3).all()
    late = lateness(rep, wl.spacing)
    for k, hi in ((1, 0.5), (2, 1.0)):  # full jitter: U(0, 0.5 * 2**(a-1))
        sim = rep.sim.gaps(k)
        assert sim.min() >= 0 and sim.max() <= hi + 1e-9
        check_waits(rep.real.gaps(k), sim, late, 0.0, hi, what=f"gap before attempt {k + 1}")
    assert not math.isnan(rep.table.loc["time to give up", "ks"])


def test_command_mode_groups_attempts_by_header(tmp_path):
    script = tmp_path / "client.py"
    script.write_text(
        "import openai\n"
        "c = openai.OpenAI(max_retries=1)\n"
        "for i in range(3):\n"
        "    try:\n"
        "        c.chat.completions.create(model='m', messages=[{'role': 'user', 'content': 'x'}],\n"
        "                                  extra_headers={'x-llmsim-request-id': f'r{i}'})\n"
        "    except openai.APIError:\n"
        "        pass\n")
    client = {"retry": {**REFERENCE_CLIENTS["openai-python"]["retry"], "max_attempts": 2}}
    rep = run_fidelity("always-fail", client, command=[sys.executable, str(script)], replications=3)
    assert rep.real.requests["attempts"].tolist() == [2, 2, 2]
    assert rep.table.loc["attempts per request", "sim_mean"] == 2
    assert rep.notes == []
