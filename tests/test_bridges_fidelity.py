"""Fidelity: real SDK clients against llmsim serve vs the equivalent simulated client policy.

The client configs come from llmsim.bridges.fidelity.clients (the libraries' defaults as llmsim config); the
same checks hold for the presets of the same name once they exist (``reference_client`` prefers them).
"""

from __future__ import annotations

import gc
import math
import sys

import numpy as np
import pytest

from llmsim.bridges.fidelity import (
    REFERENCE_CLIENTS,
    anthropic_sdk,
    openai_sdk,
    run_fidelity,
    tenacity_client,
    tenacity_openai,
)

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


N = 100  # logical requests: with KS critical values ~1.36/sqrt(N), 0.2 is far from chance


def _sdk_backoff_gaps(rep):
    """The SDK formula: before retry n (n = 0, 1) the wait is min(0.5 * 2**n, 8) * (1 - 0.25 u)."""
    for k, base in ((1, 0.5), (2, 1.0)):
        real = rep.real.gaps(k)
        assert len(real) == N
        # no real wait is shorter than the formula allows; 90 % lie within its range plus 50 ms of client
        # overhead (anthropic-sdk-python 2.14 adds 50-130 ms to about 5 % of its waits on this machine,
        # outside the formula: connection set-up after the error, most likely)
        high = float(np.quantile(real, 0.90))
        assert real.min() >= 0.75 * base - 0.005 and high <= base + 0.05, (k, real.min(), high)
        row = rep.table.loc[f"gap before attempt {k + 1}"]
        assert abs(row.rel_diff) < 0.05, row
        assert row.ks_tol < 0.2, row  # KS allowing 20 ms of client and loopback overhead


@pytest.mark.parametrize("name,workload", [("openai-python", openai_sdk), ("anthropic-python", anthropic_sdk)])
def test_sdk_defaults_on_always_failing_provider(name, workload):
    rep = run_fidelity("always-fail", REFERENCE_CLIENTS[name], workload=workload(requests=N), replications=20)
    assert (rep.real.requests["attempts"] == 3).all()  # max_retries 2
    assert (rep.sim.requests["attempts"] == 3).all()
    assert rep.real.untagged == 0
    _sdk_backoff_gaps(rep)
    give_up = rep.table.loc["time to give up"]
    assert abs(give_up.rel_diff) < 0.05 and give_up.ks_tol < 0.2
    assert rep.failures() == []


def test_retry_after_waited_exactly_by_client_and_policy():
    # bucket of one request refilled at 1/s: concurrent calls get 429 with the exact time to refill
    rep = run_fidelity("rate-limited", REFERENCE_CLIENTS["openai-python"], workload=openai_sdk(requests=3, spacing=0),
                       replications=5)
    real = rep.real.attempts
    hinted = real[real.groupby("request")["retry_after"].shift(1).notna()]
    assert len(hinted) >= 2
    prev_ra = real.groupby("request")["retry_after"].shift(1)[hinted.index]
    assert (prev_ra > 0.5).all()  # real waits of about a second, not backoff-sized
    assert np.all(np.abs(hinted["gap"].to_numpy() - prev_ra.to_numpy()) < 0.03)  # waited exactly the hint
    sim = rep.sim.attempts
    sim_prev = sim.groupby("request")["retry_after"].shift(1)
    sel = sim_prev.notna()
    assert sel.sum() >= 2
    assert np.allclose(sim.loc[sel, "gap"], sim_prev[sel], atol=1e-9)  # the policy waits exactly too
    assert rep.table.loc["attempts per request", "real_mean"] == rep.table.loc["attempts per request", "sim_mean"]


def test_tenacity_wrapped_call():
    rep = run_fidelity("always-fail", tenacity_client(attempts=3, multiplier=0.5, max_wait=8.0),
                       workload=tenacity_openai(requests=N, attempts=3, multiplier=0.5, max_wait=8.0))
    assert (rep.real.requests["attempts"] == 3).all()
    for k, hi in ((1, 0.5), (2, 1.0)):  # full jitter: U(0, 0.5 * 2**(a-1))
        row = rep.table.loc[f"gap before attempt {k + 1}"]
        assert row.ks < 0.2, row
        assert abs(row.abs_diff) < 4 * row.real_se + 0.01, row  # wide spread: compare in standard errors
        assert rep.real.gaps(k).max() <= hi + 0.1  # client overhead on a loaded 2-core box
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
