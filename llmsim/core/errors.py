"""The one error type users see for bad input, and its kinds: each names where and why, in one line.

>>> str(InputError("--seed", "must be >= 0"))
'--seed: must be >= 0'
>>> str(ScenarioError("workload.arrivals.rate", "must be > 0", source="s.yaml"))
's.yaml: workload.arrivals.rate: must be > 0'
>>> str(TraceError("calls.csv", "not a number ('abc')", row=12, column="ContextTokens", line=13))
"calls.csv: row 12 (line 13), column 'ContextTokens': not a number ('abc')"
>>> str(TraceError("t.csv", "the file is empty"))
't.csv: the file is empty'
>>> isinstance(TraceError("t.csv", "x"), InputError) and not isinstance(TraceError("t.csv", "x"), ScenarioError)
True
"""

from __future__ import annotations

__all__ = ["InputError", "ScenarioError", "TraceError"]


class InputError(ValueError):
    """Bad input of any kind (a value, an option, a file): ``path`` says where (a dotted field path,
    an option name, a row; may be empty), ``reason`` the why, ``source`` the file or origin if any."""

    def __init__(self, path: str, reason: str, source: str | None = None, more: int = 0):
        self.path = path
        self.reason = reason
        self.source = source
        self.more = more
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.source, self.path) if p]
        head = ": ".join(parts + [self.reason])
        if self.more:
            head += f" (and {self.more} more problem{'s' if self.more > 1 else ''})"
        return head


class ScenarioError(InputError):
    """Bad scenario input: ``path`` is the dotted field path of the scenario (or client) config."""


class TraceError(InputError):
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
