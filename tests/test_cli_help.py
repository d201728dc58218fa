"""Help that teaches: -h and --version, an example under every command, flags without a type, arguments in
capitals; `trace replay --at` meets the scenario at that time of day."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from llmsim.cli import COMMANDS, app
from llmsim.cli.help_format import EXAMPLES
from llmsim.core.version import __version__

runner = CliRunner()
SUB = {"import": ["import", "litellm"], "trace": ["trace", "replay"]}


def test_dash_h_and_version():
    assert runner.invoke(app, ["-h"]).exit_code == 0
    for flag in ("--version", "-V"):
        r = runner.invoke(app, [flag])
        assert r.exit_code == 0 and r.output.strip() == f"llmsim {__version__}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_help_has_an_example_and_plain_flags(name):
    r = runner.invoke(app, [*SUB.get(name, [name]), "-h"], env={"COLUMNS": "120"})
    assert r.exit_code == 0, r.output
    assert "Example:" in r.output and "$ llmsim " in r.output
    assert "<bool>" not in r.output and "list[" not in r.output
    assert not re.search(r"Usage: .*\{", r.output)  # arguments read SCENARIO / [SCENARIO]


def test_every_example_names_a_command():
    for name, lines in EXAMPLES.items():
        for line in lines:
            assert line.startswith("llmsim "), (name, line)


def test_replay_at_the_morning_peak_tells_policies_apart():
    args = ["trace", "replay", "traces/sample.csv", "--scenario", "tuesday", "-c", "a=no-retry", "-c", "b=naive",
            "--json"]
    night = json.loads(runner.invoke(app, args).output)["policies"]
    peak = json.loads(runner.invoke(app, [*args, "--at", "08:30"]).output)["policies"]
    assert night["a"]["success_rate"] == night["b"]["success_rate"] == 1.0  # midnight: nothing fails
    assert peak["a"]["success_rate"] < 1.0 and peak["b"]["attempts_per_request"] > peak["a"]["attempts_per_request"]
    bad = runner.invoke(app, [*args, "--at", "25:00"])
    assert bad.exit_code == 2 and "--at" in bad.output
