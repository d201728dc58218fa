"""Docs that run: every shell command and Python snippet in README.md, docs/*.md and notebooks/README.md
is executed here, on a fresh working folder, and fails the suite when it fails or prints a traceback.

What counts as a snippet (extracted by ``docs_snippets.py``): the lines of an indented (4 spaces) or a
fenced ``console``/``sh``/``bash`` block that start with ``llmsim`` or ``python``, and every fenced
``python`` block (the Python blocks of one page run in order in one interpreter, as a reader would run
them). A marker comment on the line before a block changes how it is run:

    <!-- docs-test: skip: REASON -->     not run (a synopsis with placeholders, a server, an install)
    <!-- docs-test: expect: REGEX -->    its output must match REGEX as well
    <!-- docs-test: slow: REASON -->     run only with `python -m pytest -m slow` (benchmarks, real clients)

Commands run with ``LLMSIM_HORIZON_CAP`` set (the documented switch that shortens every scenario's
horizon, see docs/experiments.md) so the whole set stays fast; they run in a temporary folder where
``traces/``, ``docs/`` and ``notebooks/`` of the repository are visible, so outputs never land in the
repository.
"""

from __future__ import annotations

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


def _env() -> dict:
    env = dict(os.environ, LLMSIM_HORIZON_CAP=CAP, COLUMNS="100", PYTHONPATH=str(ROOT), NO_COLOR="1")
    env.pop("PYTEST_XDIST_WORKER", None)
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
    proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", snippet.text], cwd=_workdir(tmp_path), env=_env(),
                          capture_output=True, text=True, timeout=TIMEOUT_S)
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
