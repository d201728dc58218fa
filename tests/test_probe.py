"""llmsim probe: real clients probed blind against scripted faults; inferred values vs the libraries' known
policies (openai-python: 3 attempts, 0.5 s x 2^n with jitter (0.75, 1], retry-after-ms read first; a plain
httpx loop: fixed 1 s, no jitter). Timings are compared with tolerance on inferred parameters only."""

from __future__ import annotations

import sys
import textwrap
import threading

import httpx
import numpy as np
import pytest

from llmsim.bridges.probe.probe_backoff import fit_backoff
from llmsim.bridges.probe.probe_infer import waits
from llmsim.bridges.probe.probe_plugin import llmsim_probe  # noqa: F401  (the plugin's fixture)
from llmsim.bridges.probe.probe_report import probe
from llmsim.bridges.probe.probe_script import ProbeScript
from llmsim.core.errors import InputError

OPENAI = textwrap.dedent("""
    import sys, openai
    kw = {{"max_retries": int(sys.argv[1])}} if len(sys.argv) > 1 else {{}}
    try:
        openai.OpenAI(**kw).chat.completions.create(model="m", messages=[{{"role": "user", "content": "hi"}}],
                                                  max_tokens=5)
    except Exception:
        pass
""").format()

SHORT = ProbeScript.model_validate({"phases": [
    {"name": "backoff", "status": 429, "fail": "all", "cap": 8, "repeat": 4},  # 8 waits: P(jitter unseen) < 1 %
    {"name": "retry-after-ms", "status": 429, "fail": 1, "retry_after": 3, "retry_after_ms": 1300},
    {"name": "400", "status": 400, "fail": 1},
]})


def _script(tmp_path, text: str) -> list[str]:
    f = tmp_path / "client.py"
    f.write_text(text)
    return [sys.executable, str(f)]


def _no_server_left() -> bool:
    return not any(t.name == "llmsim-serve" and t.is_alive() for t in threading.enumerate())


def test_openai_defaults_inferred_blind(tmp_path):
    rep = probe(_script(tmp_path, OPENAI), SHORT, timeout=120, scenario=None)
    p, fit = rep.policy, rep.policy.backoff
    assert p.get("max_attempts") == 3  # max_retries 2
    assert fit.kind == "exponential" and fit.multiplier == 2.0 and fit.jitter == "multiplicative"
    assert abs(fit.base - 0.5) <= 0.05  # 0.5 s within 10 %
    assert p.get("hint_header") == "retry-after-ms"  # waited 1.3 s, not 3 s
    assert p.retried[400] is False
    assert "retries-400" not in [f.code for f in rep.scorecard.findings]
    assert "hint_header: retry-after-ms" in rep.yaml
    assert _no_server_left()


@pytest.mark.slow
def test_openai_max_retries_5(tmp_path):
    cmd = _script(tmp_path, OPENAI) + ["5"]
    rep = probe(cmd, SHORT, timeout=120, scenario=None)
    fit = rep.policy.backoff
    assert rep.policy.get("max_attempts") == 6
    assert fit.multiplier == 2.0 and abs(fit.base - 0.5) <= 0.05 and fit.jitter == "multiplicative"


@pytest.mark.slow
def test_anthropic_defaults(tmp_path):
    text = textwrap.dedent("""
        import anthropic
        try:
            anthropic.Anthropic().messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        except Exception:
            pass
    """)
    rep = probe(_script(tmp_path, text), SHORT, timeout=120, scenario=None)
    fit = rep.policy.backoff
    assert rep.policy.get("max_attempts") == 3
    assert abs(fit.base - 0.5) <= 0.05 and fit.jitter == "multiplicative"
    assert rep.policy.get("hint_header") == "retry-after-ms"


def _tenacity_app(wait: str, attempts: int) -> str:
    """A script: tenacity's ``@retry(wait=WAIT, stop=stop_after_attempt(ATTEMPTS))`` around one httpx call
    (one client: a new one per attempt costs ~0.1 s of SSL set-up inside the wait)."""
    return textwrap.dedent(f"""
        import os, httpx
        from tenacity import *
        client = httpx.Client()
        @retry(wait={wait}, stop=stop_after_attempt({attempts}), reraise=True)
        def call():
            r = client.post(os.environ["OPENAI_BASE_URL"] + "/chat/completions",
                            json={{"model": "m", "max_tokens": 5, "messages": [{{"role": "user", "content": "hi"}}]}})
            r.raise_for_status()
        try:
            call()
        except Exception:
            pass
    """)


@pytest.mark.slow
def test_tenacity_random_exponential(tmp_path):
    text = _tenacity_app("wait_random_exponential(multiplier=1, max=60)", attempts=5)
    script = ProbeScript.model_validate({"phases": [{"name": "backoff", "status": 429, "fail": "all", "repeat": 4}]})
    rep = probe(_script(tmp_path, text), script, timeout=200, scenario=None)
    fit = rep.policy.backoff
    assert rep.policy.get("max_attempts") == 5
    assert fit.jitter == "full" and fit.multiplier == 2.0


ROUTER = textwrap.dedent("""
    import os, sys, litellm
    router = litellm.Router(model_list=[{"model_name": "m", "litellm_params": {"model": "openai/m",
        "api_base": os.environ["OPENAI_BASE_URL"], "api_key": os.environ["OPENAI_API_KEY"]}}],
        num_retries=int(sys.argv[1]))
    try:
        router.completion(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
    except Exception:
        pass
""")


@pytest.mark.slow
def test_litellm_router_inferred_blind(tmp_path, monkeypatch):
    """A real litellm.Router (num_retries 4, one deployment) probed blind: 5 attempts, 0.5 s x 2^n with
    additive jitter U(0, 0.75) (litellm 1.110 utils.calculate_retry_after), the whole-second retry-after read
    and retry-after-ms not. Four runs of four retries: the synthetic check above finds the family in 99 %."""
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    script = ProbeScript.model_validate({"phases": [
        {"name": "backoff", "status": 429, "fail": "all", "cap": 8, "repeat": 4},
        {"name": "retry-after-ms", "status": 429, "fail": 1, "retry_after": 3, "retry_after_ms": 1300}]})
    rep = probe(_script(tmp_path, ROUTER) + ["4"], script, timeout=120, scenario=None)
    fit = rep.policy.backoff
    seen = (fit, [[round(w, 3) for _, w in waits(r)] for r in rep.run.phases["backoff"].runs])
    assert rep.policy.get("max_attempts") == 5
    assert (fit.kind, fit.jitter, fit.multiplier) == ("exponential", "additive", 2.0), seen
    assert abs(fit.base - 0.5) <= 0.05 and abs(fit.additive - 0.75) <= 0.15, seen
    assert rep.policy.get("hint_header") == "retry-after"  # waited 3 s (+ jitter), not 1.3 s
    assert "\"jitter\": {\"additive\": " in rep.yaml


def test_tenacity_cap_measured(tmp_path):
    """tenacity's wait_exponential(multiplier=0.25, max=1) for 7 attempts waits 0.25, 0.5, 1, 1, 1, 1 s
    (wait.py: multiplier * 2**(attempt - 1), then min(max, ...)): the probe sees the cap where the waits
    stop growing, fits 0.25 s x 2^n without jitter below it, and flags the missing jitter."""
    text = _tenacity_app("wait_exponential(multiplier=0.25, max=1)", attempts=7)
    script = ProbeScript.model_validate({"phases": [{"name": "backoff", "status": 429, "fail": "all", "cap": 8}]})
    rep = probe(_script(tmp_path, text), script, timeout=120, scenario=None)
    fit = rep.policy.backoff
    seen = (fit, [[round(w, 3) for _, w in waits(r)] for r in rep.run.phases["backoff"].runs])
    assert rep.policy.get("max_attempts") == 7
    assert fit.cap_seen and abs(fit.cap - 1.0) <= 0.1, seen
    assert (fit.jitter, fit.multiplier) == ("none", 2.0) and abs(fit.base - 0.25) <= 0.025, seen
    assert "cap = where the waits stopped growing" in rep.yaml
    assert "no-jitter" in [f.code for f in rep.scorecard.findings]


def test_backoff_fit_recovers_known_curves():
    """Synthetic waits drawn from known policies (an independent generator): parameters come back."""
    rng = np.random.default_rng(3)
    none = fit_backoff([(n, 0.25 * 3 ** n) for n in range(4)])
    assert (none.jitter, none.multiplier, round(none.base, 6)) == ("none", 3.0, 0.25)
    full = fit_backoff([(n, 2 ** n * rng.random()) for _ in range(20) for n in range(5)])
    assert full.jitter == "full" and full.multiplier == 2.0 and abs(full.base - 1) < 0.1
    mult = fit_backoff([(n, 0.5 * 2 ** n * (1 - 0.25 * rng.random())) for _ in range(20) for n in range(3)])
    assert mult.jitter == "multiplicative" and abs(mult.lo - 0.75) < 0.05 and abs(mult.base - 0.5) < 0.025


def test_backoff_fit_tells_additive_from_multiplicative():
    """Independent generators of LiteLLM's curve (0.5 * 2^n + U(0, 0.75), utils.calculate_retry_after) and
    openai-python's (0.5 * 2^n * U(0.75, 1]), 40 synthetic probes each: LiteLLM's (4 runs of 4 retries) come out
    additive, multiplier 2, base within 10 % and jitter width within 20 %; openai-python's (3 runs of 2 retries)
    never additive. Over 2400 such probes (30 seeds) 1.5 % missed, so 36 of 40 is far from chance failure."""
    rng = np.random.default_rng(5)
    right = 0
    for _ in range(40):
        add = fit_backoff([(n, 0.5 * 2 ** n + 0.75 * rng.random()) for _ in range(4) for n in range(4)])
        right += (add.jitter, add.multiplier) == ("additive", 2.0) and abs(add.base - 0.5) <= 0.05 \
            and abs(add.additive - 0.75) <= 0.15
        mult = fit_backoff([(n, 0.5 * 2 ** n * (1 - 0.25 * rng.random())) for _ in range(3) for n in range(2)])
        right += mult.jitter in ("multiplicative", "none")  # "none": all six within 10 % of each other (~5 %)
    assert right >= 76, right


def test_backoff_fit_measures_a_cap_it_reached():
    """Waits that stop growing are a cap: openai-python's min(0.5 * 2^n, 8) * U(0.75, 1] and LiteLLM's
    min(0.5 * 2^n, 8) + U(0, 0.75) over 7 retries (2 runs), 10 probes each (3 % missed over 60 probes); a
    multiplicative curve without a cap is never capped."""
    rng = np.random.default_rng(9)
    right = 0
    for _ in range(10):
        mult = fit_backoff([(n, min(0.5 * 2 ** n, 8) * (1 - 0.25 * rng.random())) for _ in range(2) for n in range(7)])
        add = fit_backoff([(n, min(0.5 * 2 ** n, 8) + 0.75 * rng.random()) for _ in range(2) for n in range(7)])
        for fit, family in ((mult, "multiplicative"), (add, "additive")):
            right += fit.cap_seen and abs(fit.cap - 8) <= 0.8 and fit.jitter == family \
                and abs(fit.base - 0.5) <= 0.05 and fit.multiplier == 2.0
        steady = fit_backoff([(n, 0.5 * 2 ** n * (1 - 0.25 * rng.random())) for _ in range(2) for n in range(7)])
        assert not steady.cap_seen and "capped" not in steady.describe()
    assert right >= 17, right


@pytest.mark.parametrize("cmd, says", [
    (["llmsim-no-such-command-xyz"], "command not found"),
    ([sys.executable, "-c", "pass"], "never called the endpoint"),
    ([sys.executable, "-c", "import time; time.sleep(60)"], "still running after"),
])
def test_bad_commands_fail_clearly(cmd, says):
    with pytest.raises(InputError, match=says):
        probe(cmd, SHORT, timeout=3, scenario=None)
    assert _no_server_left()


def _fixed_loop(url: str, tries: int = 4) -> None:
    """A plain httpx loop: retry any error after a fixed 1 s (no jitter), 400s included."""
    import time

    with httpx.Client() as client:
        for _ in range(tries):
            r = client.post(url + "/v1/chat/completions",
                            json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
            if r.status_code == 200:
                return
            time.sleep(1.0)


def test_plugin_flags_fixed_retries_of_400(llmsim_probe):  # noqa: F811  (the fixture, imported above)
    llmsim_probe.fault(name="backoff", status=429, fail="all")
    _fixed_loop(llmsim_probe.url)
    llmsim_probe.fault(name="400", status=400, fail=1)
    _fixed_loop(llmsim_probe.url)
    fit = llmsim_probe.policy.backoff
    assert llmsim_probe.policy.get("max_attempts") == 4
    # the loop sleeps 1.0 s; a loaded machine only ever lengthens a sleep, so the bound above is loose
    assert fit.kind == "constant" and fit.jitter == "none" and 0.95 <= fit.base <= 1.6, (fit, llmsim_probe.attempts)
    assert {"retries-400", "no-jitter"} <= set(llmsim_probe.findings)
    assert len(llmsim_probe.attempts) == 6


@pytest.mark.slow
def test_nested_retries_flagged(tmp_path):
    """tenacity (3 tries) around openai-python (max_retries 2): 9 attempts, the SDK counter restarts."""
    text = textwrap.dedent("""
        import openai
        from tenacity import retry, stop_after_attempt, wait_fixed
        c = openai.OpenAI()
        @retry(stop=stop_after_attempt(3), wait=wait_fixed(0.2), reraise=True)
        def call():
            c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
        try:
            call()
        except Exception:
            pass
    """)
    script = ProbeScript.model_validate({"phases": [{"name": "backoff", "status": 429, "fail": "all", "cap": 20}]})
    rep = probe(_script(tmp_path, text), script, timeout=120, scenario=None)
    assert rep.policy.get("max_attempts") == 9
    assert "nested-retries" in [f.code for f in rep.scorecard.findings]


@pytest.mark.slow
def test_plugin_in_a_fresh_project(tmp_path):
    """A fresh project: a virtualenv where llmsim (this checkout) is pip-installed, and a test file that only
    names the fixture. pytest finds it through the pytest11 entry point the install registered (no -p, no
    import, no PYTHONPATH); the venv sees the system's packages (llmsim's dependencies) but its own llmsim."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True,
                   timeout=120)
    python = str(venv / "bin" / "python")
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
                          "--no-build-isolation", "--no-index", "-e", str(root)], capture_output=True, text=True,
                         timeout=300)
    assert pip.returncode == 0, pip.stderr[-2000:]
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_app.py").write_text(textwrap.dedent("""
        import os
        import httpx
        import llmsim

        def test_app(llmsim_probe):
            assert llmsim.__file__.startswith(os.environ["EXPECT_LLMSIM"])  # the venv's install of this checkout
            llmsim_probe.fault(name="400", status=400, fail=1)
            for _ in range(2):
                if httpx.post(llmsim_probe.url + "/v1/chat/completions", json={"model": "m", "max_tokens": 5,
                              "messages": [{"role": "user", "content": "x"}]}).status_code == 200:
                    break
            assert len(llmsim_probe.attempts) == 2
            assert llmsim_probe.findings == ["retries-400"]
    """))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["EXPECT_LLMSIM"] = str(root / "llmsim")
    res = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "test_app.py"],
                         cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    assert "1 passed" in res.stdout


def test_stream_faults_in_both_wire_formats(llmsim_probe):  # noqa: F811  (the fixture, imported above)
    """A cut, an error event and a stall mid-stream reach openai-python and anthropic as the errors they raise
    for them; the endpoint bills the tokens sent before the fault; a stalled stream is a timeout."""
    import anthropic
    import openai

    oa = openai.OpenAI(base_url=llmsim_probe.url + "/v1", api_key="x", timeout=1.0, max_retries=0)
    an = anthropic.Anthropic(base_url=llmsim_probe.url, api_key="x", timeout=1.0, max_retries=0)
    msgs = [{"role": "user", "content": "hi"}]
    raised = []
    for kind in ("cut", "error", "stall"):
        llmsim_probe.fault(name=f"openai-{kind}", stream=kind, after_tokens=3, stall=30,
                           status=529 if kind == "error" else None)
        with pytest.raises(openai.APIError) as e:
            for _ in oa.chat.completions.create(model="m", messages=msgs, max_tokens=10, stream=True):
                pass
        raised.append(type(e.value).__name__)
        llmsim_probe.fault(name=f"anthropic-{kind}", stream=kind, after_tokens=3, stall=30,
                           status=529 if kind == "error" else None)
        with pytest.raises(Exception) as e:  # anthropic's stream helper lets httpx's transport errors through
            with an.messages.stream(model="m", max_tokens=10, messages=msgs) as s:
                "".join(s.text_stream)
        raised.append(type(e.value).__name__)
    assert raised[2:4] == ["APIError", "APIStatusError"]  # the error events, as each SDK reports them
    assert raised[0] == "APIConnectionError" and raised[4] == "APITimeoutError"
    att = llmsim_probe.attempts
    assert list(att["outcome"]) == ["server_error"] * 4 + ["timeout"] * 2
    assert list(att["output_tokens"]) == [3] * 6 and att["stream"].all()
    assert not any(llmsim_probe.policy.retried.values())  # neither SDK retries a broken stream


@pytest.mark.parametrize("args, says", [
    (["probe", "--quick", "--", "llmsim-no-such-command-xyz"], "command not found"),
    (["probe", "--script", "/nonexistent/probe.yaml", "--", "true"], "--script"),
    (["probe", "--quick"], "give the command"),
])
def test_cli_bad_input_is_one_line(args, says):
    from typer.testing import CliRunner

    from llmsim.cli import app

    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    text = res.output.strip()
    assert says in text and len(text.splitlines()) == 1 and "Traceback" not in text


def _probed_yaml(tmp_path):
    """A client YAML as `llmsim probe --out` writes it, from an inferred policy built by hand."""
    from llmsim.bridges.probe.probe_client_yaml import client_yaml
    from llmsim.bridges.probe.probe_infer import ProbePolicy

    p = ProbePolicy(backoff=fit_backoff([(n, 0.5 * 2 ** n + 0.3 * (n % 2)) for n in range(4)] * 2))
    p.add("max_attempts", 5, "5 attempts")
    p.add("hint_header", "retry-after", "waited 3 s")
    p.retried.update({429: True, 529: True, 500: False})
    f = tmp_path / "probed.yaml"
    f.write_text(client_yaml(p, ["python", "app.py"]))
    return f, p


def test_run_and_compare_take_the_probed_yaml(tmp_path):
    """`llmsim run tuesday --set client=probed.yaml` and `llmsim compare tuesday --client probed=FILE` load the
    file's client (the same Client the probe's data validates to); later --set paths go into it."""
    from typer.testing import CliRunner

    import llmsim
    from llmsim.bridges.probe.probe_client_yaml import client_dict
    from llmsim.cli import app
    from llmsim.cli.app import parse_sets
    from llmsim.config.client import Client

    f, p = _probed_yaml(tmp_path)
    sc = llmsim.load_scenario("tuesday", parse_sets([f"client={f}", "client.deadline=30s"]))
    assert sc.client.retry == Client.model_validate(client_dict(p)).retry and sc.client.deadline == 30
    assert sc.client.retry.max_attempts == 5 and sc.client.retry.hint_header == "retry-after"
    for args in (["run", "tuesday", "--set", f"client={f}", "--dry-run"],
                 ["compare", "tuesday", "--client", f"probed={f}", "--client", "sdk=openai-sdk", "--dry-run"]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0 and "within the limits" in res.output, res.output


@pytest.mark.parametrize("value, says", [("missing.yaml", "no such client file"),
                                         ("not-a-preset", "no client preset named 'not-a-preset'"),
                                         ("bad.yaml", "bad.yaml: client.retry.max_attempts")])
def test_set_client_file_bad_input_is_one_line(tmp_path, monkeypatch, value, says):
    from typer.testing import CliRunner

    from llmsim.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("retry: {max_attempts: 0}\n")
    res = CliRunner().invoke(app, ["run", "tuesday", "--set", f"client={value}", "--dry-run"])
    text = res.output.strip()
    assert res.exit_code == 2 and says in text and len(text.splitlines()) == 1, text


@pytest.mark.parametrize("phase, says", [({}, "give a status, a delay or a stream fault"),
                                         ({"stream": "cut", "delay": 1}, "a stream fault takes no delay"),
                                         ({"delay": 1, "should_retry": True}, "should_retry goes with a status")])
def test_bad_script_names_the_phase(phase, says):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=says):
        ProbeScript.model_validate({"phases": [{"name": "x", **phase}]})


def _deadline_loop(url: str, deadline: float = 1.5, tries: int = 6) -> None:
    """Retry everything after 0.2 s, at most ``tries`` attempts and no new attempt after ``deadline`` s."""
    import time

    with httpx.Client(timeout=30) as client:
        t0 = time.monotonic()
        for _ in range(tries):
            r = client.post(url + "/v1/chat/completions",
                            json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
            if r.status_code == 200 or time.monotonic() - t0 > deadline:
                return
            time.sleep(0.2)


def test_deadline_and_ignored_should_retry_inferred(llmsim_probe):  # noqa: F811  (the fixture, imported above)
    """A loop with a 1.5 s overall deadline and 6 tries: 6 attempts when refusals are quick, 2 when each takes
    1 s (the first ends before 1.5 s, the second after), so a deadline of about 2.2 s (up to 3 s on a loaded
    machine); it retries a 429 that says x-should-retry: false, so it does not respect the header. Its YAML
    stops after the delay."""
    llmsim_probe.fault(name="backoff", status=429, fail="all")
    _deadline_loop(llmsim_probe.url)
    llmsim_probe.fault(name="deadline", status=429, delay=1.0, fail="all")
    _deadline_loop(llmsim_probe.url)
    llmsim_probe.fault(name="should-retry-false", status=429, fail=1, should_retry=False)
    _deadline_loop(llmsim_probe.url)
    rep = llmsim_probe.report()
    p = rep.policy
    assert p.get("max_attempts") == 6
    assert 2.0 <= p.get("deadline") <= 3.0 and p.get("deadline_cuts_attempt") is False, p.values["deadline"]
    assert p.values["deadline"].evidence.count("429@") == 2
    assert p.get("respect_should_retry") is False
    assert "stop_after_delay: " in rep.yaml and "respect_should_retry: false" in rep.yaml
    assert "no-deadline" not in llmsim_probe.findings


def test_calls_and_concurrency_grouped(llmsim_probe):  # noqa: F811  (the fixture, imported above)
    """Two different calls at once, each refused once (after 0.3 s) and retried 0.3 s later, then a third: three
    logical calls and two attempts in flight at once."""
    import time

    def call(text: str) -> None:
        for _ in range(3):
            r = httpx.post(llmsim_probe.url + "/v1/chat/completions", timeout=30,
                           json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": text}]})
            if r.status_code == 200:
                return
            time.sleep(0.3)

    llmsim_probe.fault(name="refused", status=429, delay=0.3, fail=2)  # both first attempts: 0.3 s, then 429
    threads = [threading.Thread(target=call, args=(t,)) for t in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    call("c")
    p = llmsim_probe.report().policy
    assert p.get("calls_per_run") == 3 and p.get("concurrency") == 2
    assert len(llmsim_probe.attempts) == 5


def test_openai_should_retry_and_no_deadline(tmp_path):
    """openai-python obeys x-should-retry both ways (_base_client._should_retry) and has no overall deadline
    (3 attempts of a slow 429, 1 s each, all made); the phases run beside each other on their own lanes."""
    script = ProbeScript.model_validate({"phases": [
        {"name": "backoff", "status": 429, "fail": "all", "cap": 8},
        {"name": "should-retry-false", "status": 429, "fail": 1, "should_retry": False},
        {"name": "should-retry-true", "status": 400, "fail": 1, "should_retry": True},
        {"name": "400", "status": 400, "fail": 1},
        {"name": "deadline", "status": 429, "delay": 1.0, "fail": "all"}]})
    rep = probe(_script(tmp_path, OPENAI), script, timeout=120, scenario=None)
    p = rep.policy
    assert p.get("max_attempts") == 3 and p.retried[400] is False
    assert p.get("respect_should_retry") is True, p.values.get("respect_should_retry")
    assert "deadline" in p.values and p.get("deadline") is None
    assert "respect_should_retry: true" in rep.yaml
    assert all(len(r) for pr in rep.run.phases.values() for r in pr.runs)


@pytest.mark.slow
def test_fleet_of_probed_openai_matches_the_preset(tmp_path):
    """The inferred openai-python client and the openai-sdk preset, simulated on tuesday with paired
    replications: no paired t-test of amplification, p95 or wasted spend rejects equality at 5 % family-wise
    (Bonferroni: p >= 0.05 / 3 each; the fitted base and jitter differ from the preset's by sampling error, which
    a 95 % interval per metric caught in one run of two)."""
    import llmsim
    from llmsim.bridges.probe.probe_client_yaml import client_dict

    script = ProbeScript.model_validate({"phases": [
        {"name": "backoff", "status": 429, "fail": "all", "repeat": 2},
        {"name": "retry-after-ms", "status": 429, "fail": 1, "retry_after": 3, "retry_after_ms": 1300},
        {"name": "529", "status": 529, "fail": 1}, {"name": "500", "status": 500, "fail": 1}]})
    rep = probe(_script(tmp_path, OPENAI), script, timeout=120, scenario=None)
    cmp = llmsim.compare(llmsim.load_scenario("tuesday"), clients={"sdk": "openai-sdk",
                         "probed": client_dict(rep.policy)}, replications=4, workers=1, progress=None)
    d = cmp.differences().set_index("metric")
    for m in ("attempts_per_request", "latency_p95", "wasted_cost"):  # paired t-tests, Bonferroni over three
        p = d.loc[m, "p_value"]
        assert p != p or p >= 0.05 / 3, (m, d.loc[m, "diff"], d.loc[m, "ci"], p)  # NaN: no difference at all
