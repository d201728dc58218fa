"""llmsim serve behaves as the simulator for the provider tiers: spill-over sends what a provider would refuse
to its spill_over provider at once, and errors come inside the stream after a 200, billed for the tokens sent."""

from __future__ import annotations

import httpx
import pytest

import llmsim
from llmsim.bridges.serve import ServerThread

openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

MSG = [{"role": "user", "content": "hello"}]


def _scenario(providers: list[dict]) -> llmsim.Scenario:
    return llmsim.load_scenario({"horizon": "1h", "workload": {"arrivals": {"rate": "1/s"},
                                                               "output_tokens": {"dist": "fixed", "value": 20}},
                                 "providers": providers})


def test_serve_spills_what_the_first_provider_refuses_to_its_spill_over_provider():
    lat = {"ttft": "10ms", "tokens_per_s": 2000, "refusal": 0}
    sc = _scenario([{"name": "ptu", "model": "m", "capacity": {"slots": 4}, "rate_limits": {"rpm": 3},
                     "provisioned": {"usd_per_hour": 1}, "spill_over": "paygo", "latency": lat},
                    {"name": "paygo", "capacity": {"slots": 4}, "latency": lat,
                     "pricing": {"input_per_mtok": 1, "output_per_mtok": 4}}])
    with ServerThread(sc) as srv:
        for _ in range(6):
            r = httpx.post(srv.url + "/v1/chat/completions", timeout=10,
                           json={"model": "m", "messages": MSG, "max_tokens": 50})
            assert r.status_code == 200  # never refused: the bucket of 3 requests spills to paygo
        log = srv.log.frame()
    assert list(log["provider"]) == ["ptu"] * 3 + ["paygo"] * 3  # RPM 3: a bucket of three, then spill-over
    assert (log.loc[log["provider"] == "ptu", "cost_usd"] == 0).all()  # provisioned: paid by the hour
    assert (log.loc[log["provider"] == "paygo", "cost_usd"] > 0).all()


def test_serve_refuses_from_the_spill_over_provider_when_it_is_full_too():
    sc = _scenario([{"name": "a", "model": "m", "capacity": {"slots": 1}, "rate_limits": {"rpm": 1},
                     "spill_over": "b", "latency": {"refusal": 0, "ttft": "10ms"}},
                    {"name": "b", "capacity": {"slots": 1}, "rate_limits": {"rpm": 1},
                     "latency": {"refusal": 0, "ttft": "10ms"}}])
    with ServerThread(sc) as srv:
        codes = [httpx.post(srv.url + "/v1/chat/completions", timeout=10,
                            json={"model": "m", "messages": MSG, "max_tokens": 5}).status_code for _ in range(3)]
        log = srv.log.frame()
    assert codes == [200, 200, 429]
    assert list(log["provider"]) == ["a", "b", "b"]


def _erroring(api_model: str) -> llmsim.Scenario:
    # every attempt errors, all inside the stream: after a uniform share of the 20 tokens
    return _scenario([{"name": "p", "model": api_model, "capacity": {"slots": 4},
                       "latency": {"ttft": "10ms", "tokens_per_s": 2000, "refusal": 0},
                       "errors": {"server_error_rate": 1.0, "mid_stream_share": 1.0},
                       "pricing": {"input_per_mtok": 1, "output_per_mtok": 4}}])


def test_serve_sends_openai_errors_inside_the_stream_after_a_200_billed_for_the_tokens_sent():
    with ServerThread(_erroring("gpt")) as srv:
        c = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
        received = []
        for _ in range(8):
            got = 0
            with pytest.raises(openai.APIError):
                for chunk in c.chat.completions.create(model="gpt", messages=MSG, max_tokens=50, stream=True):
                    got += bool(chunk.choices and chunk.choices[0].delta.content)
            received.append(got)
        log = srv.log.frame()
    assert (log["outcome"] == "server_error").all() and (log["http_status"] == 500).all()
    assert list(log["output_tokens"]) == received and max(received) > 0  # billed for exactly what was sent
    assert all(0 <= n < 20 for n in received)
    expected = (log["input_tokens"] * 1 + log["output_tokens"] * 4) / 1e6
    assert list(log["cost_usd"]) == pytest.approx(list(expected), rel=1e-12)
    assert log["ttft_s"].notna().all()  # a 200 and a first byte came before the error


def test_serve_sends_anthropic_error_events_inside_the_stream():
    with ServerThread(_erroring("claude")) as srv:
        a = anthropic.Anthropic(base_url=srv.url, api_key="x", max_retries=0)
        with pytest.raises(anthropic.APIStatusError), a.messages.stream(model="claude", max_tokens=50,
                                                                         messages=MSG) as st:
            for _ in st.text_stream:
                pass
        log = srv.log.frame()
    assert list(log["outcome"]) == ["server_error"]


@pytest.mark.parametrize("extra, field", [
    ({"service_classes": {"flex": {}}}, "providers[0].service_classes"),
    ({"rate_limits": {"rpm": 600, "acceleration": {"min_tpm": 120_000}}}, "providers[0].rate_limits.acceleration"),
])
def test_serve_says_in_one_line_what_it_does_not_model(extra, field):
    """Service classes and acceleration limits are simulated only: serve refuses them by name rather
    than answering as if they were not there."""
    from llmsim.bridges.serve.server import LiveServer
    from llmsim.core.errors import InputError

    with pytest.raises(InputError) as e:
        LiveServer(_scenario([{"name": "p", "capacity": {"slots": 4}, **extra}]))
    assert e.value.path == field and "llmsim serve does not model" in e.value.reason
