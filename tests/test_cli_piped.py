"""Output through a pipe (a file, a CI log): the main commands and their help print plain text, with no
colour or style codes, no box-drawing characters, no line wider than 80 columns, no cut cell ("…") and no
progress bar. Each command runs in a child process whose stdout and stderr are pipes, as in ``llmsim
run | less`` or a CI job, with no COLUMNS set (rich then assumes 80 columns)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LLMSIM = [sys.executable, "-c", "from llmsim.cli import main; main()"]  # this checkout's llmsim

COMMANDS = {
    "run": ["run", "tuesday"],
    "run --at": ["run", "tuesday", "--at", "09:00", "--horizon", "20m"],
    "compare": ["compare", "tuesday", "-c", "naive", "-c", "sdk=openai-sdk", "-r", "2", "-w", "1"],
    "sweep": ["sweep", "tuesday", "--grid", "client.retry.max_attempts=1,3", "-w", "1"],
    "tune": ["tune", "tuesday", "--param", "client.retry.max_attempts=1:4", "--budget", "8", "-w", "1"],
    "presets": ["presets"],
    "providers": ["providers"],
    "trace inspect": ["trace", "inspect", "traces/sample-otel.json"],
    "help": ["-h"],
    "run help": ["run", "-h"],
    "replay help": ["trace", "replay", "-h"],
    "trace replay": ["trace", "replay", "traces/sample.csv", "--scenario", "tuesday", "--at", "08:30",
                     "-c", "a=no-retry", "-c", "b=naive"],
}


def _piped(args: list[str], cap: str = "5m") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
    env.update(PYTHONPATH=str(ROOT), LLMSIM_HORIZON_CAP=cap, TERM="xterm-256color")  # a colour terminal type,
    # yet not a terminal: only the pipe decides
    return subprocess.run([*LLMSIM, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _box_drawing(text: str) -> set[str]:
    """Box-drawing and block characters (U+2500-U+259F: table rules, progress bars)."""
    return {ch for ch in text if 0x2500 <= ord(ch) <= 0x259F}


@pytest.mark.parametrize("name", COMMANDS)
def test_piped_output_is_plain(name):
    proc = _piped(COMMANDS[name])
    assert proc.returncode == 0, proc.stderr
    for stream, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
        assert "\x1b[" not in text, f"{name}: ANSI codes on {stream}"
        assert not _box_drawing(text), f"{name}: box drawing on {stream}: {_box_drawing(text)}"
        assert "…" not in text, f"{name}: a cut cell on {stream}"
        wide = [ln for ln in text.splitlines() if len(ln.rstrip()) > 80]
        assert not wide, f"{name}: lines wider than 80 columns on {stream}: {wide[:3]}"
    assert "eta" not in proc.stderr  # no progress bar (the bar's columns end in 'eta')
    assert proc.stdout.strip(), f"{name}: printed nothing"


def test_a_table_through_a_pipe_keeps_every_number():
    """The hourly table of ``tuesday`` through a pipe: every cell whole, 100.0% included (rich cut it to
    '100.…' at 80 columns before)."""
    out = _piped(["run", "tuesday"], cap="2h").stdout  # two hours: the hourly table
    rows = [ln for ln in out.splitlines() if "00:00 |" in ln]
    assert rows and "100.0%" in rows[0], out
