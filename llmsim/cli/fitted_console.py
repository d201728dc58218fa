"""The console the commands print to: tables that fit its width, plain when it is not a terminal.

A table wider than the console is drawn without its outer edge, then without cell padding, before rich
would have to cut its cells ("100.…"); a title longer than the table goes on its own line above it
instead of wrapping inside the table's width. When the output is not a terminal (a pipe, a file, a
CI log) tables are drawn in ASCII and rich writes no colour or style codes.

>>> import io
>>> from rich.table import Table
>>> c = FittingConsole(file=io.StringIO(), width=40)
>>> t = Table("metric", "value", title="a title much longer than this table")
>>> t.add_row("success_rate", "100.0%")
>>> c.print(t)
>>> print(c.file.getvalue().rstrip())
a title much longer than this table
+-----------------------+
| metric       | value  |
|--------------+--------|
| success_rate | 100.0% |
+-----------------------+
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

__all__ = ["FittingConsole"]


class FittingConsole(Console):
    """A rich Console whose ``print`` fits tables to its width (see the module's docstring)."""

    def print(self, *objects, **kwargs) -> None:
        for obj in objects:
            if isinstance(obj, Table):
                self._fit(obj)
        super().print(*objects, **kwargs)

    def _fit(self, table: Table) -> None:
        if not self.is_terminal:
            table.box = box.ASCII
        for squeeze in (_no_edge, _no_padding):
            if self._width_of(table) <= self.width:
                break
            squeeze(table)
        title = table.title
        if isinstance(title, str) and len(title) > self._width_of(table):
            table.title = None
            super().print(title, highlight=False)

    def _width_of(self, table: Table) -> int:
        """The width the table takes when nothing in it wraps."""
        return Measurement.get(self, self.options.update(width=10_000), table).maximum


def _no_edge(table: Table) -> None:
    table.show_edge = False


def _no_padding(table: Table) -> None:
    table.padding = (0, 0)
