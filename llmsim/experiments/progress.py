"""Progress of an experiment: a rich bar (runs done, elapsed, ETA) in terminals and notebooks, a callback,
or nothing.

>>> seen = []
>>> p = Progress(lambda done, total: seen.append((done, total)), total=2)
>>> p.advance(); p.advance(); p.close()
>>> seen
[(1, 2), (2, 2)]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Union

__all__ = ["Progress", "ProgressSpec", "interactive"]

#: True / False, "auto" (a bar when in a terminal or a notebook), or a callable(done, total).
ProgressSpec = Union[bool, str, Callable[[int, int], Any], None]


def interactive() -> bool:
    """True in a Jupyter kernel or when stderr is a terminal."""
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Counts finished runs of ``total`` and shows them as ``spec`` asks."""

    def __init__(self, spec: ProgressSpec, total: int, done: int = 0, description: str = "runs"):
        self.total, self.done = total, done
        self._callback = spec if callable(spec) else None
        self._bar = None
        show = interactive() if spec == "auto" else spec is True
        if show and self._callback is None:
            self._bar = _rich_bar()
            self._bar.start()
            self._task = self._bar.add_task(description, total=total, completed=done)

    def add_total(self, n: int) -> None:
        self.total += n
        if self._bar is not None:
            self._bar.update(self._task, total=self.total)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
        if self._callback is not None:
            self._callback(self.done, self.total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _rich_bar():
    """A rich progress bar on stderr: description, bar, done/total, elapsed, ETA."""
    from rich import progress as rp  # deferred: rich loads only when a bar is shown (import llmsim stays light)
    from rich.console import Console  # deferred: as above

    return rp.Progress(rp.TextColumn("{task.description}"), rp.BarColumn(), rp.MofNCompleteColumn(),
                       rp.TimeElapsedColumn(), rp.TextColumn("eta"), rp.TimeRemainingColumn(),
                       console=Console(stderr=True), transient=False)
