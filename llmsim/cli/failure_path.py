"""The one error path of every ``llmsim`` command: whatever goes wrong ends in one line on stderr.

- bad input or environment (an ``InputError``, a file that cannot be read or written, bytes that are not
  text, a bad option value, an unknown command): ``error: <where>: <why>``, exit code 2;
- anything unexpected: ``error: unexpected <Type>: <message> (rerun with --debug for the traceback)``,
  exit code 1; with ``--debug`` (anywhere on the command line, or ``LLMSIM_DEBUG=1``) the traceback is
  shown instead.

>>> one_line("a\\n  b   c")
'a b c'
>>> describe_os_error(PermissionError(13, "Permission denied", "/x/y"))
'/x/y: Permission denied'
>>> describe_os_error(OSError(28, "No space left on device"))
'No space left on device'
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer._click import exceptions as click_exc  # typer vendors click; its exception types live here
from typer.core import TyperGroup

from llmsim.core.errors import InputError

__all__ = ["GuardedGroup", "one_line", "describe_os_error", "DEBUG_FLAG"]

DEBUG_FLAG = "--debug"
_HINT = f"(rerun with {DEBUG_FLAG} for the traceback)"


def one_line(text: str) -> str:
    """``text`` with every run of white space (newlines included) made one space."""
    return " ".join(str(text).split())


def describe_os_error(exc: OSError) -> str:
    """``FILE: reason`` for an OSError (the reason alone when it names no file)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


def _decode_error(exc: UnicodeDecodeError) -> str:
    return (f"not {exc.encoding} text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save the file as UTF-8")


def _emit(message: str) -> None:
    typer.echo(f"error: {one_line(message)}", err=True)


def _usage_line(exc: click_exc.UsageError) -> str:
    path = exc.ctx.command_path if exc.ctx is not None else "llmsim"
    return f"{path}: {exc.format_message()} (see '{path} --help')"


class GuardedGroup(TyperGroup):
    """The top-level command group: runs the command in click's non-standalone mode and turns every
    exception into one line and an exit code (see the module docstring)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        args = list(sys.argv[1:] if args is None else args)
        debug = os.environ.get("LLMSIM_DEBUG", "") not in ("", "0")
        if DEBUG_FLAG in args[: args.index("--") if "--" in args else len(args)]:
            args.remove(DEBUG_FLAG)
            debug = True
        code = self._guarded(args, prog_name, complete_var, debug, **extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _guarded(self, args: list[str], prog_name: str | None, complete_var: str | None, debug: bool,
                 **extra: Any) -> int:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exc.NoArgsIsHelpError as exc:  # bare `llmsim` or `llmsim trace`: the help
            typer.echo(exc.format_message(), err=True)
            return exc.exit_code
        except click_exc.UsageError as exc:
            _emit(_usage_line(exc))
            return exc.exit_code
        except click_exc.ClickException as exc:
            _emit(exc.format_message())
            return exc.exit_code
        except typer.Abort:
            _emit("aborted")
            return 1
        except Exception as exc:  # noqa: BLE001 - the point: nothing escapes as a traceback
            return _fault(exc, debug)
        return rv if isinstance(rv, int) else 0


def _fault(exc: Exception, debug: bool) -> int:
    """One line for ``exc`` and the exit code: 2 for input and environment faults, 1 otherwise."""
    if isinstance(exc, OSError) and exc.errno == errno.EPIPE:  # `llmsim ... | head`: quiet
        return 1
    if debug:
        raise exc
    if isinstance(exc, InputError):
        _emit(str(exc))
        return 2
    if isinstance(exc, UnicodeDecodeError):
        _emit(_decode_error(exc))
        return 2
    if isinstance(exc, OSError):
        _emit(describe_os_error(exc))
        return 2
    if isinstance(exc, MemoryError):
        _emit("out of memory: the work is too large for this machine (see --dry-run for an estimate)")
        return 1
    _emit(f"unexpected {type(exc).__name__}: {exc} {_HINT}")
    return 1
