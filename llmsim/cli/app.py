"""The typer application and helpers shared by every ``llmsim`` subcommand module.

``app`` loads its command modules on first use (``LazyTyper``): a run of ``llmsim CMD`` imports only
CMD's module (``llmsim.cli.main``), so the other commands' libraries stay unloaded.
"""

from __future__ import annotations

import importlib

import typer
from rich.console import Console

from llmsim.cli.failure_path import GuardedGroup
from llmsim.cli.fitted_console import FittingConsole
from llmsim.cli.help_format import example_epilog
from llmsim.cli.help_format import install as install_help_format
from llmsim.core.errors import InputError

__all__ = ["app", "out", "err", "fail", "parse_sets", "LazyTyper"]


class LazyTyper(typer.Typer):
    """A ``typer.Typer`` whose commands are registered by importing ``modules``, at the first look at
    its commands (building the CLI, a test's ``CliRunner``), or only some of them (``load``)."""

    def __init__(self, *args, modules: tuple[str, ...] = (), **kwargs):
        self._modules = modules
        self._loaded = False
        self.partial = False  # True while ``main`` runs one command with only its module loaded
        super().__init__(*args, **kwargs)

    def load(self, *modules: str) -> None:
        """Import these command modules (they register their commands)."""
        for m in modules:
            importlib.import_module(m)
        self._examples()

    def _examples(self) -> None:
        """An example under every command's help, sub-commands (``trace replay``) included."""
        for command in self._commands:
            add_example(command)
        for group in self._groups:
            for command in group.typer_instance.registered_commands:
                add_example(command)

    def _ensure(self) -> None:
        if self.partial:
            return
        if not self._loaded:
            self._loaded = True
            self.load(*self._modules)  # gives the examples too
        else:
            self._examples()  # a module imported directly since the last look
        # listed in the order of ``modules``, whichever was imported first (sorted at every look: a module
        # imported directly registers its commands after the others were loaded and sorted)
        rank = {m: i for i, m in enumerate(self._modules)}
        self._commands.sort(key=lambda c: rank.get(c.callback.__module__, len(rank)))
        self._groups.sort(key=lambda g: rank.get(_module_of(g), len(rank)))

    @property
    def registered_commands(self) -> list:
        self._ensure()
        return self._commands

    @registered_commands.setter
    def registered_commands(self, value: list) -> None:
        self._commands = value

    @property
    def registered_groups(self) -> list:
        self._ensure()
        return self._groups

    @registered_groups.setter
    def registered_groups(self, value: list) -> None:
        self._groups = value


def _module_of(group) -> str:
    """The module that registered a sub-app (``add_typer``): its first command's."""
    return group.typer_instance.registered_commands[0].callback.__module__


#: the modules that register the commands, in the order ``llmsim --help`` lists them
COMMAND_MODULES = ("llmsim.cli.experiment_cmds", "llmsim.cli.fidelity_cmd", "llmsim.cli.import_cmd",
                   "llmsim.cli.probe_cmd", "llmsim.cli.report_cmd", "llmsim.cli.run_cmds", "llmsim.cli.serve_cmd",
                   "llmsim.cli.stability_cmd", "llmsim.cli.trace_cmds", "llmsim.cli.providers_cmd")


def add_example(command) -> None:
    """Give a registered command (a typer CommandInfo) its example epilog, once."""
    name = command.name or command.callback.__name__.replace("_", "-")
    if command.epilog is None:
        command.epilog = example_epilog(name)


install_help_format()
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
app = LazyTyper(cls=GuardedGroup, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                modules=COMMAND_MODULES, context_settings=HELP_OPTIONS,
                help="Simulate LLM API traffic and compare client policies (retries, breakers, failover) "
                     "before you deploy them. Any error is one line (exit 2 for bad input); add --debug "
                     "anywhere for the traceback of an unexpected one.")
out = FittingConsole()
err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from llmsim.core.version import __version__  # deferred: only when asked

        typer.echo(f"llmsim {__version__}")
        raise typer.Exit()


@app.callback()
def _group(version: bool = typer.Option(False, "--version", "-V", callback=_print_version, is_eager=True,
                                        help="Print the llmsim version and exit.")) -> None:
    """(keeps ``llmsim`` a group of commands when only one command is loaded)"""


def fail(message: str) -> None:
    """Print one clear line to stderr and exit with code 2 (bad input)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def parse_sets(sets: list[str]) -> dict:
    """``path=value`` pairs; values are read as YAML (5 -> int, 30s -> str, [a, b] -> list)."""
    from llmsim.config.loading import read_yaml  # deferred: start-up time of the CLI (pydantic, numpy)

    overrides = {}
    for item in sets:
        if "=" not in item:
            raise InputError("", f"--set expects PATH=VALUE, got {item!r}")
        path, value = item.split("=", 1)
        overrides[path.strip()] = read_yaml(value, f"--set {path.strip()}")
    return overrides
