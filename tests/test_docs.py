"""Docs that run: every shell command and Python snippet in README.md, docs/*.md and notebooks/README.md
is executed here, on a fresh working folder, and fails the suite when it fails or prints a traceback.

What counts as a snippet (extracted by ``docs_snippets.py``): the lines of an indented (4 spaces) or a
fenced ``console``/``sh``/``bash`` block that start with ``llmsim`` or ``python``, and every fenced
``python`` block (the Python blocks of one page run in order in one interpreter, as a reader would run
them). A marker comment on the line before a block changes how it is run:

    <!-- docs-test: skip: REASON -->     not run (a synopsis with placeholders, a server, an install)
    <!-- docs-test: expect: REGEX -->    its output must match REGEX as well
    <!-- docs-test: full: REGEX -->      run at the documented horizon (no cap): its output must match REGEX
    <!-- docs-test: slow: REASON -->     run only with `python -m pytest -m slow` (benchmarks, real clients)

Commands run with ``LLMSIM_HORIZON_CAP`` set (the documented switch that shortens every scenario's
horizon, see docs/experiments.md) so the whole set stays fast, except the few marked ``full``, whose
figures the text states (a few seconds each); stdout is a pipe, so tables are drawn in ASCII
(``| 09:00 | ...``), which is what an ``expect`` regex matches. The README's headline figures are
checked against the output of the commands it names (``test_readme_headline_figures``). They run in
a temporary folder where ``traces/``, ``docs/`` and ``notebooks/`` of the repository are visible, so
outputs never land in the repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from docs_snippets import ROOT, Snippet, python_program, snippets  # noqa: E402

CAP = "5m"
TIMEOUT_S = 600  # a hang guard only, far above any snippet's time


def _workdir(tmp_path: Path) -> Path:
    for name in ("traces", "docs", "notebooks", "benchmarks", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def _env(capped: bool = True) -> dict:
    env = dict(os.environ, LLMSIM_HORIZON_CAP=CAP, COLUMNS="100", PYTHONPATH=str(ROOT), NO_COLOR="1")
    env.pop("PYTEST_XDIST_WORKER", None)
    if not capped:
        env.pop("LLMSIM_HORIZON_CAP")
    return env


def _check(snippet: Snippet, proc: subprocess.CompletedProcess) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{snippet.where}: exit {proc.returncode}\n{snippet.text}\n{out[-3000:]}"
    assert "Traceback (most recent call last)" not in out, f"{snippet.where}: traceback\n{out[-3000:]}"
    if snippet.expect:
        assert re.search(snippet.expect, out), f"{snippet.where}: output misses {snippet.expect!r}\n{out[-3000:]}"


SHELL = [pytest.param(s, id=s.where, marks=[pytest.mark.slow] if s.slow else [])
         for s in snippets() if s.kind == "shell" and not s.skip]
PAGES = sorted({s.page for s in snippets() if s.kind == "python" and not s.skip})


@pytest.mark.skipif(shutil.which("llmsim") is None, reason="llmsim is installed by `pip install -e .`")
@pytest.mark.parametrize("snippet", SHELL)
def test_documented_command_runs(snippet, tmp_path):
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", snippet.text], cwd=_workdir(tmp_path),
                          env=_env(capped=not snippet.uncapped), capture_output=True, text=True, timeout=TIMEOUT_S)
    _check(snippet, proc)


@pytest.mark.parametrize("page", PAGES)
def test_documented_python_runs(page, tmp_path):
    blocks = [s for s in snippets() if s.kind == "python" and s.page == page and not s.skip]
    proc = subprocess.run([sys.executable, "-c", python_program(blocks)], cwd=_workdir(tmp_path), env=_env(),
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    _check(Snippet(page, blocks[0].line, "python", "(the page's Python blocks, in order)"), proc)
    for b in blocks:
        _check(b, proc)


def test_every_skip_says_why():
    for s in snippets():
        if s.skip is not None:
            assert len(s.skip.strip()) > 8, f"{s.where}: a skipped snippet needs its reason"


def test_no_doc_points_outside_the_repository():
    for s in snippets():
        assert "../" not in s.text, f"{s.where}: refers to a path outside the repository"


def _llmsim(*args: str) -> str:
    proc = subprocess.run(["llmsim", *args], env=_env(capped=False), capture_output=True, text=True,
                          timeout=TIMEOUT_S, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _cells(out: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first`` (ASCII tables: stdout is a pipe)."""
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in\n{out}")


def _seconds(text: str) -> float:
    return float(text[:-2]) / 1000 if text.endswith("ms") else float(text[:-1])


def _about(value: float, stated: float) -> bool:
    """'about X': X is the value to two significant digits."""
    return float(f"{value:.2g}") == stated


@pytest.mark.skipif(shutil.which("llmsim") is None, reason="llmsim is installed by `pip install -e .`")
def test_readme_headline_figures():
    """The figures the README opens with are what the commands it names print, at the full horizon."""
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    m = re.search(r"`llmsim run` \(`tuesday`\) prints a p95 of about (\d+) ms for the 2 AM hour and about (\d+) s "
                  r"for the 9 AM hour", text)
    assert m, "the README no longer states the tuesday figures this test checks"
    hourly = _llmsim("run")
    p95 = _cells(hourly, "from").index("p95")
    assert _about(_seconds(_cells(hourly, "02:00")[p95]), float(m.group(1)) / 1000)
    assert _about(_seconds(_cells(hourly, "09:00")[p95]), float(m.group(2)))
    m = re.search(r"`llmsim run runaway-agents` prints \$([\d,]+) for the week with the loop, of which \$([\d,]+) "
                  r"is the loop's \(`runaway_cost`\): \$(\d+) of spend without it", text)
    assert m, "the README no longer states the runaway-agents figures this test checks"
    with_loop, loop, without = (float(g.replace(",", "")) for g in m.groups())
    spend = json.loads(_llmsim("run", "runaway-agents", "--json"))["spend"]
    assert round(spend["cost_total"]) == with_loop and round(spend["runaway_cost"]) == loop
    assert round(spend["cost_total"] - spend["runaway_cost"]) == without
