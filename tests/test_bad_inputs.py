"""Bad input of every kind, through the command line: one line on stderr, the right exit code, no
traceback, nothing written, and no work started. Plus a fuzz of scenario dicts: every mutation of a
valid scenario is either refused in one line or runs within its work estimate.

Kinds: bytes that are not text, bad option values and unknown commands, output paths that cannot be
written, broken trace files (compressed, truncated, ragged, corrupt pages), values accepted silently
before (all-zero weights, -r 0), absurd scales (refused up front with the estimate), and an unexpected
exception (one line and a hint, exit 1; the traceback with --debug).
"""

from __future__ import annotations

import copy
import gzip
import json
import math
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import llmsim.simulator
from llmsim.cli import app
from llmsim.config.loading import MAX_SCENARIO_BYTES, load_scenario
from llmsim.config.work_estimate import attempts_per_request, estimate_work
from llmsim.core.errors import InputError
from llmsim.traces.samples import sample_path

from conftest import tiny_scenario

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line(r, needle: str = "", code: int = 2) -> str:
    """Exit ``code``, exactly one non-empty line on stderr starting with "error:" (containing ``needle``),
    and no traceback anywhere."""
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.exit_code == code, (r.exit_code, r.output)
    assert "Traceback" not in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def no_simulation(monkeypatch):
    """Any simulation started fails the test: the error must come before the work."""
    def refuse(*a, **k):
        raise AssertionError("a simulation started before the bad input was reported")

    monkeypatch.setattr(llmsim.simulator, "simulate", refuse)


@pytest.fixture
def scenario_file(tmp_path) -> Path:
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(tiny_scenario()))
    return p


# -- bytes that are not text -------------------------------------------------------------------------
def test_non_utf8_scenario_names_byte_and_line(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_bytes(b"name: ok\ndescription: caf\xe9\n")
    for cmd in (["run", p], ["validate", p], ["sweep", p, "--grid", "client.timeout=1s"]):
        line = assert_one_line(invoke(*cmd), "not UTF-8")
        assert "line 2" in line and "0xe9" in line


def test_non_utf8_jsonl_trace(tmp_path):
    src = Path(sample_path("litellm")).read_bytes().split(b"\n")
    p = tmp_path / "t.jsonl"
    p.write_bytes(b"\n".join(src[:3] + [src[3].replace(b'"', b'"\xe9', 1)] + src[4:]))
    assert_one_line(invoke("trace", "inspect", p), "not UTF-8")


def test_utf16_csv_reported(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(Path(sample_path("csv")).read_text().encode("utf-16"))
    assert_one_line(invoke("trace", "inspect", p), "UTF-16")


# -- option values and commands ------------------------------------------------------------------------
@pytest.mark.parametrize("args, needle", [
    (["run", "--seed", "-1"], "--seed"),
    (["run", "--seed", "abc"], "--seed"),
    (["sweep", "tuesday", "--grid", "client.timeout=1s", "--seed", "-1"], "--seed"),
    (["sweep", "tuesday", "--grid", "client.timeout=1s", "-r", "0"], "--replications"),
    (["compare", "tuesday", "-c", "openai-sdk", "-c", "naive", "-r", "0"], "--replications"),
    (["trace", "replay", "traces/sample.csv", "--seed", "-5"], "--seed"),
    (["serve", "--seed", "-1"], "--seed"),
    (["run", "--bogus"], "--bogus"),
    (["nope"], "No such command"),
    (["trace", "nope"], "No such command"),
])
def test_bad_option_values_and_commands_one_line(args, needle, no_simulation):
    assert_one_line(invoke(*args), needle)


def test_strict_litellm_import_is_one_line():
    assert_one_line(invoke("import", "litellm", "tests/fixtures/litellm_router.yaml", "--strict"), "unknown key")


def test_litellm_infinite_number_one_line(tmp_path):
    p = tmp_path / "ll.yaml"
    p.write_text("model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, rpm: 100}\n"
                 "    model_info: {max_input_tokens: .inf}\n")
    assert_one_line(invoke("import", "litellm", p), "max_input_tokens")


# -- outputs that cannot be written: refused before any work, nothing written ------------------------
@pytest.mark.parametrize("make_args", [
    lambda b: ["run", "--out", b / "res"],
    lambda b: ["run", "--report", b / "r.html"],
    lambda b: ["sweep", "tuesday", "--grid", "client.timeout=1s", "--out", b / "sw"],
    lambda b: ["compare", "tuesday", "-c", "openai-sdk", "-c", "naive", "--report", b / "c.html"],
    lambda b: ["trace", "convert", "traces/sample.csv", "-o", b / "t.parquet"],
    lambda b: ["trace", "fit", "traces/sample.csv", "-o", b / "fit.yaml"],
    lambda b: ["import", "litellm", "tests/fixtures/litellm_router.yaml", "--out", b / "s.yaml"],
    lambda b: ["serve", "--port", "0", "--record", b / "rec.parquet"],
], ids=["run-out", "run-report", "sweep-out", "compare-report", "convert", "fit", "import", "serve-record"])
def test_unwritable_output_refused_before_work(tmp_path, make_args, no_simulation):
    blocker = tmp_path / "a-file"  # a path below a regular file cannot be created, whoever runs the tests
    blocker.write_text("x")
    before = sorted(tmp_path.rglob("*"))
    assert_one_line(invoke(*make_args(blocker)), "is a file, not a folder")
    assert sorted(tmp_path.rglob("*")) == before


def test_read_only_folder_refused(tmp_path, no_simulation):
    """A folder the process may not write in (skipped when running as root, which may write anywhere)."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        probe = ro / "probe"
        try:
            probe.write_text("x")
            probe.unlink()
            pytest.skip("running as a user who may write in a read-only folder (root)")
        except PermissionError:
            pass
        assert_one_line(invoke("run", "--out", ro / "res"), "cannot write in")
    finally:
        ro.chmod(0o700)


# -- broken traces -------------------------------------------------------------------------------------
def _csv_lines() -> list[bytes]:
    return Path(sample_path("csv")).read_bytes().split(b"\n")


def test_gzip_and_zstd_traces_read_like_plain(tmp_path):
    from llmsim.traces.load import load_trace

    plain = load_trace(sample_path("csv"))
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(Path(sample_path("csv")).read_bytes()))
    zst = tmp_path / "t.jsonl.zst"
    with pa.CompressedOutputStream(str(zst), "zstd") as f:
        f.write(Path(sample_path("litellm")).read_bytes())
    assert load_trace(gz).drop(columns=[]).equals(plain)
    assert len(load_trace(zst)) == len(load_trace(sample_path("litellm")))


@pytest.mark.parametrize("name, make, needle", [
    ("trunc.csv.gz", lambda: gzip.compress(b"\n".join(_csv_lines()))[:-40], "truncated gzip"),
    ("ragged.csv", lambda: b"\n".join(_csv_lines()[:5] + [_csv_lines()[5] + b",extra"] + _csv_lines()[6:]),
     "line 6"),
    ("cr-header.csv", lambda: _csv_lines()[0][:20] + b"\r" + _csv_lines()[0][20:] + b"\n"
     + b"\n".join(_csv_lines()[1:]), "format"),
    ("empty.csv", lambda: b"", "empty"),
])
def test_broken_trace_one_line(tmp_path, name, make, needle):
    p = tmp_path / name
    p.write_bytes(make())
    assert_one_line(invoke("trace", "inspect", p), needle)
    assert_one_line(invoke("trace", "convert", p, "-o", tmp_path / "out.parquet"))
    assert not (tmp_path / "out.parquet").exists()


def test_parquet_with_corrupt_pages(tmp_path):
    data = bytearray(Path(sample_path("parquet")).read_bytes())
    for i in range(100, min(len(data) - 2000, 3000)):  # the footer stays valid, the pages do not
        data[i] ^= 0x5A
    p = tmp_path / "bad.parquet"
    p.write_bytes(bytes(data))
    assert_one_line(invoke("trace", "inspect", p), "corrupt Parquet")


# -- accepted silently before ----------------------------------------------------------------------------
def test_all_zero_route_weights_rejected():
    sc = tiny_scenario()
    sc["providers"].append({**sc["providers"][0], "name": "q"})
    sc["client"] = {"route": {"strategy": "weighted", "order": ["p", "q"], "weights": [0, 0]}}
    with pytest.raises(InputError, match="weights"):
        load_scenario(sc)


# -- absurd scales: refused up front, with the estimate --------------------------------------------------
@pytest.mark.parametrize("sets", [["workload.arrivals.rate=1e12/s"], ["horizon=36500d"]])
def test_absurd_scenario_refused_with_estimate(sets, no_simulation):
    args = [a for s in sets for a in ("--set", s)]
    line = assert_one_line(invoke("run", *args), "refused")
    assert "requests" in line and "memory" in line and "--force" in line
    r = invoke("run", *args, "--dry-run")
    assert r.exit_code == 0 and "needs --force" in r.stdout


def test_dry_run_estimate_matches_a_run(scenario_file):
    """The estimate of requests is what a run makes (Poisson: within 5 standard deviations)."""
    sc = load_scenario(scenario_file)
    est = estimate_work(sc)
    res = llmsim.simulator.simulate(sc)
    assert abs(len(res.requests) - est.requests) < 5 * math.sqrt(est.requests)
    assert len(res.attempts) <= len(res.requests) * attempts_per_request(sc)  # the bound holds per request


def test_oversized_scenario_file_refused_before_parsing(tmp_path, no_simulation):
    p = tmp_path / "huge.yaml"
    p.write_text("name: x\n" + "# padding\n" * (MAX_SCENARIO_BYTES // 10 + 1))
    assert_one_line(invoke("validate", p), "limit")


# -- the unexpected: one line and a hint; the traceback on request ----------------------------------------
def test_unexpected_error_one_line_with_debug_hint(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(llmsim.simulator, "simulate", boom)
    line = assert_one_line(invoke("run", "--set", "horizon=10m", "--set", "warmup=1m"), "--debug", code=1)
    assert "RuntimeError" in line and "something nobody foresaw" in line
    r = invoke("--debug", "run", "--set", "horizon=10m", "--set", "warmup=1m")
    assert isinstance(r.exception, RuntimeError)  # re-raised: the runner (or Python) shows the traceback


# -- fuzz: mutations of a valid scenario ------------------------------------------------------------------
_BAD_VALUES = st.sampled_from([-1, 0, 1e12, -1e-9, "abc", "", None, [], {}, [1, "x"], {"x": 1}, True,
                               float("nan"), float("inf"), "1e12/s", "100y", "-5s", "0/s", 10**30, "∞"])


def _paths(d, prefix=()):
    """Every path (tuple of keys/indexes) into the nested dict/list ``d``."""
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else ()
    for k, v in items:
        yield prefix + (k,)
        yield from _paths(v, prefix + (k,))


def _rich_scenario() -> dict:
    sc = tiny_scenario()
    sc["client"] = {"timeout": "20s", "retry": {"max_attempts": 3, "backoff": {"base": "200ms", "max": "5s"}},
                    "circuit_breaker": {"failure_rate": 0.5, "window": "30s", "cooldown": "10s"}}
    sc["providers"][0]["rate_limits"] = {"rpm": 600}
    return sc


_BASE = _rich_scenario()
_ALL_PATHS = list(_paths(_BASE))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_ALL_PATHS), _BAD_VALUES), min_size=1, max_size=3))
def test_fuzz_scenario_mutations_fail_in_one_line_or_run_within_estimate(mutations):
    d = copy.deepcopy(_BASE)
    for path, value in mutations:
        target = d
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed the path
            continue
    try:
        sc = load_scenario(d)
    except InputError as exc:
        assert "\n" not in str(exc) and str(exc).strip()
        return
    est = estimate_work(sc)
    if est.refusal() is not None or est.requests > 20_000:
        return  # refused up front (or too long for a unit test): never started
    res = llmsim.simulator.simulate(sc)
    assert len(res.requests) <= 2 * est.requests + 50  # Poisson around the estimate: far below this bound
    assert len(res.attempts) <= len(res.requests) * attempts_per_request(sc)
    json.dumps(res.summary(), default=float)


def test_estimate_refuses_before_any_memory_is_used():
    """The estimate reads the config only: an absurd scenario is assessed without building anything."""
    sc = load_scenario(tiny_scenario(horizon="36500d", workload={**tiny_scenario()["workload"],
                                                                  "arrivals": {"rate": "1e12/s"}}))
    est = estimate_work(sc)
    assert est.requests == pytest.approx(1e12 * 36500 * 86400)
    assert est.refusal().startswith("expected")


def test_packaged_scenarios_are_within_the_limits():
    from llmsim.config.loading import packaged_scenarios

    for name in packaged_scenarios():
        assert estimate_work(load_scenario(name)).refusal() is None, name



def test_yaml_alias_bomb_refused_before_validation(tmp_path, no_simulation):
    """A few hundred bytes of nested anchors standing for 10^8 values: refused from the node count."""
    s = "&a0 [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"
    for i in range(1, 8):
        s = f"&a{i} [{s}, " + ", ".join([f"*a{i - 1}"] * 9) + "]"
    p = tmp_path / "bomb.yaml"
    p.write_text("name: x\nhorizon: 1h\nworkload: {arrivals: {schedule: " + s + "}}\n"
                 "providers: [{name: p, capacity: {slots: 1}}]\n")
    assert_one_line(invoke("run", p), "YAML aliases expand to 111,111,130 values")


def test_deeply_nested_yaml_one_line(tmp_path):
    p = tmp_path / "deep.yaml"
    p.write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert_one_line(invoke("validate", p), "nested too deeply")
