"""TraceError: one line naming the file, the row (and line) and the column of a bad trace.

>>> str(TraceError("calls.csv", "not a number ('abc')", row=12, column="ContextTokens", line=13))
"calls.csv: row 12 (line 13), column 'ContextTokens': not a number ('abc')"
>>> str(TraceError("t.csv", "the file is empty"))
't.csv: the file is empty'
"""

from __future__ import annotations

from llmsim.core.errors import ScenarioError

__all__ = ["TraceError"]


class TraceError(ScenarioError):
    """Bad trace input. ``row`` is the 1-based data row (record), ``line`` the 1-based line in a text file."""

    def __init__(self, file: str, reason: str, row: int | None = None, column: str | None = None,
                 line: int | None = None):
        self.file = str(file)
        self.row = row
        self.column = column
        self.line = line
        where = []
        if row is not None:
            where.append(f"row {row}" + (f" (line {line})" if line is not None and line != row else ""))
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(", ".join(where), reason, source=self.file)
