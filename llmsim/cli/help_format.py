"""How ``--help`` reads: flags without a type, repeatable options by their element, arguments in capitals,
and an example under every command (``EXAMPLES``, shown as the command's epilog).

Typer 0.2x prints every option's Python type (``<bool>`` for a flag, ``<list[str]>`` for a repeatable
option) and required arguments in braces; these small overrides of its display methods make the help
read like other command-line tools'. ``install()`` applies them once, before any help is built.

>>> install()
>>> import typer.core as tc
>>> tc.TyperArgument._usage_display_name.__name__
'_usage_name'
"""

from __future__ import annotations

import typer.core as typer_core

__all__ = ["EXAMPLES", "install", "example_epilog"]

#: command path -> one or two example lines (what a newcomer types first)
EXAMPLES = {
    "run": ["llmsim run", "llmsim run tuesday --set client=openai-sdk --report tuesday.html"],
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
    "serve": ["llmsim serve tuesday --record attempts.parquet"],
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
    _installed = True
