"""Help that teaches: -h and --version, an example under every command, flags without a type, arguments in
capitals, every option's default said (shown by typer, or in its help when it has no value), output paths
as -o/--out everywhere (old spellings hidden but accepted); `trace replay --at` meets the scenario at that
time of day."""

from __future__ import annotations

import json
import re

import pytest
import typer.main
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


def _options():
    """(command path, click option) for every option of every command, sub-commands included."""
    found = []

    def walk(cmd, path):
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(None):
                walk(cmd.get_command(None, name), [*path, name])
            return
        found.extend((" ".join(path), p) for p in cmd.params if p.param_type_name == "option")

    walk(typer.main.get_command(app), [])
    return found


#: options that name a file or folder to write: absent means nothing is written, which needs no default
OUTPUTS = {"--out", "--report", "--record"}
#: an output path that is not yet -o/--out: probe's command module belongs to the probe work (issue 18)


def test_every_option_without_a_value_says_its_default():
    """typer shows ``[default: X]`` for options with a value; an option whose default is None (``-r``,
    ``--scheduler``, ``--provider``...) must say in its help what happens when it is not given."""
    missing = [(cmd, p.opts) for cmd, p in _options()
               if p.default is None and not p.is_flag and not p.hidden and not p.multiple
               and not OUTPUTS & set(p.opts) and "default" not in (p.help or "").lower()]
    assert not missing, missing


def test_replications_default_is_shown_for_sweep_and_compare():
    for name in ("sweep", "compare"):
        r = runner.invoke(app, [name, "-h"], env={"COLUMNS": "200"})
        assert "Default: auto for compare, 1 for sweep" in r.output, name


def test_every_output_path_is_dash_o_out():
    outs = [(cmd, p) for cmd, p in _options() if "--out" in p.opts]
    assert {cmd for cmd, _ in outs} >= {"run", "report", "sweep", "compare", "tune", "stability", "import litellm",
                                        "trace convert", "trace fit"}
    for cmd, p in outs:
        assert "-o" in p.opts, cmd
    visible = {o for _, p in _options() if not p.hidden for o in p.opts}
    assert not {"--output", "--html"} & visible  # one spelling per meaning: --out, --report


def test_old_spelling_html_still_works(tmp_path):
    page = tmp_path / "t.html"
    r = runner.invoke(app, ["trace", "inspect", "traces/sample-otel.json", "--html", str(page)])
    assert r.exit_code == 0, r.output
    assert page.read_text().lstrip().lower().startswith("<!doctype html")
    assert "--html" not in runner.invoke(app, ["trace", "inspect", "-h"], env={"COLUMNS": "200"}).output


def test_run_takes_dash_o(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMSIM_HORIZON_CAP", "2m")
    r = runner.invoke(app, ["run", "tuesday", "-o", str(tmp_path / "r"), "--set", "warmup=10s"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r" / "result.json").is_file()
