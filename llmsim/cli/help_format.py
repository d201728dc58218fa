"""How ``--help`` reads: flags without a type, repeatable options by their element, arguments in capitals,
an example under every command (``EXAMPLES``, shown as the command's epilog), and panels drawn in ASCII
when the output is not a terminal (a pipe, a file, a CI log).

Typer 0.2x prints every option's Python type (``<bool>`` for a flag, ``<list[str]>`` for a repeatable
option) and required arguments in braces; these small overrides of its display methods make the help
read like other command-line tools'. ``install()`` applies them once, before any help is built.

>>> install()
>>> import typer.core as tc
>>> tc.TyperArgument._usage_display_name.__name__
'_usage_name'
"""

from __future__ import annotations

import sys

import typer.core as typer_core

__all__ = ["EXAMPLES", "install", "example_epilog"]

#: command path -> one or two example lines (what a newcomer types first)
EXAMPLES = {
    "run": ["llmsim run", "llmsim run tuesday --at 08:30 --set client=openai-sdk --report tuesday.html"],
    "schema": ["llmsim schema > llmsim.schema.json"],
    "validate": ["llmsim validate docs/examples/my-scenario.yaml tuesday"],
    "presets": ["llmsim presets"],
    "version": ["llmsim version"],
    "sweep": ["llmsim sweep tuesday --grid client.retry.max_attempts=1,3,5 -r 5 --out runs/retries"],
    "compare": ["llmsim compare tuesday -c naive -c sdk=openai-sdk -c budget=aws-standard --report cmp.html"],
    "tune": ["llmsim tune tuesday --param client.retry.max_attempts=1:6 --slo 'success_rate>=99%' --budget 60"],
    "stability": ["llmsim stability tuesday -c naive -c sdk=openai-sdk --loads 2,4 --durations 30 --report map.html"],
    "fidelity": ["llmsim fidelity --workload openai --check"],
    "probe": ["llmsim probe --quick --out probed.yaml -- python docs/examples/my_client.py"],
    "report": ["llmsim report runs/tuesday -o tuesday.html"],
    "serve": ["llmsim serve tuesday --record attempts.parquet", "llmsim serve tuesday --at 08:30 --speed 10"],
    "providers": ["llmsim providers", "llmsim providers sonnet"],
    "litellm": ["llmsim import litellm docs/examples/litellm-config.yaml --out router.yaml"],
    "inspect": ["llmsim trace inspect traces/sample-otel.json --report trace.html"],
    "convert": ["llmsim trace convert traces/sample.csv --out sample.parquet"],
    "replay": ["llmsim trace replay traces/sample.csv --scenario tuesday --at 08:30 -c a=no-retry -c b=naive"],
    "fit": ["llmsim trace fit traces/public/AzureLLMInferenceTrace_conv_2023.csv -o fitted.yaml"],
}


def example_epilog(name: str) -> str | None:
    """The epilog that shows a command's examples (None when it has none)."""
    lines = EXAMPLES.get(name)
    if not lines:
        return None
    return "Example:\n\n" + "\n\n".join(f"  $ {ln}" for ln in lines)


def _display_type(self, ctx):
    """A flag shows no type; a repeatable option shows its element's (``<str>``, repeat the option)."""
    if getattr(self, "is_flag", False) and not getattr(self, "count", False):
        return None
    original = _ORIGINAL_ARGUMENT_TYPE if isinstance(self, typer_core.TyperArgument) else _ORIGINAL_DISPLAY_TYPE
    text = original(self, ctx)
    return text.replace("<list[", "<").replace("]>", ">") if text else text


def _usage_name(self) -> str:
    """SCENARIO for a required argument, [SCENARIO] for an optional one."""
    name = (self.metavar or self.name or "").upper()
    name = name if self.required else f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


def _plain_when_piped(original):
    """``format_help`` that first makes typer's help panels ASCII when stdout is not a terminal."""

    def format_help(self, ctx, formatter):
        _ascii_panels_when_piped()
        return original(self, ctx, formatter)

    return format_help


def _ascii_panels_when_piped() -> None:
    from rich import box  # deferred: only when help is shown (CLI start-up)
    from rich.panel import Panel  # deferred: as above
    from typer import rich_utils  # deferred: as above

    if getattr(rich_utils.Panel, "_llmsim", False):
        return

    def panel(*args, **kwargs):
        if not sys.stdout.isatty():
            kwargs.setdefault("box", box.ASCII)
        return Panel(*args, **kwargs)

    panel._llmsim = True
    rich_utils.Panel = panel


_ORIGINAL_DISPLAY_TYPE = typer_core.TyperOption.display_type_rich
_ORIGINAL_ARGUMENT_TYPE = typer_core.TyperArgument.display_type_rich
_installed = False


def install() -> None:
    """Apply the display overrides (idempotent)."""
    global _installed
    if _installed:
        return
    typer_core.TyperOption.display_type_rich = _display_type
    typer_core.TyperArgument.display_type_rich = _display_type
    typer_core.TyperArgument._usage_display_name = _usage_name
    typer_core.TyperCommand.format_help = _plain_when_piped(typer_core.TyperCommand.format_help)
    typer_core.TyperGroup.format_help = _plain_when_piped(typer_core.TyperGroup.format_help)
    _installed = True
