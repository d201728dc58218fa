"""Errors inside a stream after a 200: at a uniform point of the answer, billed for the tokens sent before it."""

from __future__ import annotations

import numpy as np
import pytest

from llmsim import simulate
from llmsim.config.loading import load_scenario

OUT, SPEED, TTFT, PRICE_OUT = 1000, 200.0, 0.5, 10.0


def _scenario(mid_stream_share: float) -> dict:
    return {
        "horizon": "30m", "seed": 9,
        "workload": {"arrivals": {"rate": "3/s"}, "output_tokens": {"dist": "fixed", "value": OUT},
                     "max_tokens": OUT},
        "providers": [{"name": "p", "capacity": {"slots": 100},
                       "latency": {"ttft": {"dist": "fixed", "value": TTFT}, "tokens_per_s": SPEED},
                       "errors": {"server_error_rate": 0.2, "mid_stream_share": mid_stream_share},
                       "pricing": {"output_per_mtok": PRICE_OUT}}],
        "client": {"retry": {"max_attempts": 1}},
    }


def test_a_mid_stream_error_is_billed_for_the_tokens_streamed_at_a_uniform_point():
    att = simulate(load_scenario(_scenario(1.0))).attempts
    err = att[att["outcome"] == "server_error"]
    streamed = err["billed_output_tokens"].to_numpy(float)
    # uniform on [0, OUT): mean OUT/2, sd OUT/sqrt(12); a 4-standard-error band
    se = OUT / np.sqrt(12) / np.sqrt(len(streamed))
    assert len(streamed) > 500 and abs(streamed.mean() - (OUT - 1) / 2) < 4 * se
    assert streamed.min() >= 0 and streamed.max() < OUT
    # the quartiles of a uniform, within a few standard errors of a quantile (sqrt(p(1-p)/n) * OUT)
    for q in (0.25, 0.5, 0.75):
        assert abs(np.quantile(streamed, q) - q * OUT) < 4 * np.sqrt(q * (1 - q) / len(streamed)) * OUT
    assert err["cost"].to_numpy() == pytest.approx(streamed * PRICE_OUT / 1e6)
    # the error arrives when those tokens have streamed: ttft + streamed / speed after service started
    assert (err["end"] - err["started"]).to_numpy() == pytest.approx(TTFT + streamed / SPEED, abs=1e-6)


def test_without_mid_stream_errors_a_failure_bills_no_output():
    att = simulate(load_scenario(_scenario(0.0))).attempts
    err = att[att["outcome"] == "server_error"]
    assert len(err) > 500 and (err["billed_output_tokens"] == 0).all() and (err["cost"] == 0).all()
