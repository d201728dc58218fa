"""CLI start-up: ``llmsim --help`` imports no command module, ``llmsim CMD`` only CMD's, and the
table the help is answered from matches what the command modules register."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer.main
from typer.testing import CliRunner

from llmsim.cli import COMMANDS, app, help_app

ROOT = Path(__file__).resolve().parents[1]


def test_help_table_matches_the_registered_commands():
    group = typer.main.get_command(app)  # every command module loaded
    names = list(group.list_commands(None))
    assert names == list(COMMANDS)
    for name in names:
        assert group.get_command(None, name).get_short_help_str(limit=300) == COMMANDS[name][1], name


def test_help_from_the_table_reads_as_the_full_app():
    runner = CliRunner()
    full = runner.invoke(app, ["--help"], terminal_width=100)
    quick = runner.invoke(help_app(), ["--help"], terminal_width=100)
    assert full.exit_code == quick.exit_code == 0
    assert quick.output == full.output


def _modules_after(*args: str) -> set[str]:
    """The modules imported by ``llmsim ARGS`` (a fresh interpreter, through ``main``)."""
    code = ("import sys; from llmsim.cli import main; sys.argv = ['llmsim', *sys.argv[1:]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    return set(r.stderr.rsplit("MODULES ", 1)[1].split())


def test_help_imports_no_command_module_nor_heavy_library():
    mods = _modules_after("--help")
    assert not {"pandas", "numpy", "pydantic", "simpy", "llmsim.config", "llmsim.cli.run_cmds"} & mods


def test_validate_imports_only_its_command_module():
    mods = _modules_after("validate", str(ROOT / "llmsim" / "scenarios" / "tuesday.yaml"))
    assert "llmsim.cli.run_cmds" in mods and "llmsim.config" in mods
    assert not {"pandas", "simpy", "llmsim.cli.experiment_cmds", "llmsim.cli.trace_cmds"} & mods
