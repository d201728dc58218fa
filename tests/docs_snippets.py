"""Extract the runnable snippets of the Markdown docs (used by tests/test_docs.py).

>>> [s.text for s in parse("x.md", "Run it:\\n\\n    llmsim run   # go\\n    llmsim presets\\n")]
['llmsim run   # go\\nllmsim presets']
>>> parse("x.md", "<!-- docs-test: skip: a synopsis -->\\n\\n    llmsim serve SCENARIO\\n")[0].skip
'a synopsis'
>>> s = parse("x.md", "<!-- docs-test: full: 09:00 .* 2\\\\ds -->\\n\\n    llmsim run\\n")[0]
>>> s.expect, s.uncapped
('09:00 .* 2\\\\ds', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")), "notebooks/README.md"]
SHELL_FENCES = {"console", "sh", "bash", "shell"}
MARKER = re.compile(r"<!--\s*docs-test:\s*(skip|expect|slow|full):\s*(.*?)\s*-->")
COMMAND = re.compile(r"^(llmsim|python)\b")


@dataclass(frozen=True)
class Snippet:
    page: str
    line: int
    kind: str  # "shell" (the block's commands, one per line, run in order) or "python"
    text: str
    skip: Optional[str] = None
    expect: Optional[str] = None
    slow: Optional[str] = None  # run only with `-m slow`, for this reason
    uncapped: bool = False  # run at the documented horizon (no LLMSIM_HORIZON_CAP): its figures are checked

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def snippets() -> list[Snippet]:
    """Every snippet of every documentation page, in page order."""
    out: list[Snippet] = []
    for page in PAGES:
        out += parse(page, (ROOT / page).read_text(encoding="utf-8"))
    return out


def _blocks(lines: list[str]):
    """(first line number, kind, block lines, marker) for the indented and fenced blocks of a page."""
    i, marker, prev_blank = 0, None, True
    while i < len(lines):
        ln = lines[i]
        m = MARKER.search(ln)
        if m:
            marker = m.groups()
        elif ln.startswith("```"):
            lang = ln[3:].strip().lower()
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            kind = "python" if lang == "python" else "shell" if lang in SHELL_FENCES else None
            if kind:
                yield i + 2, kind, lines[i + 1:j], marker
            marker, i, prev_blank = None, j + 1, False
            continue
        elif ln.startswith("    ") and prev_blank and ln.strip():
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                j += 1
            yield i + 1, "shell", [x[4:] for x in lines[i:j]], marker
            marker, i, prev_blank = None, j, True
            continue
        elif ln.strip() and not ln.lstrip().startswith("<!--"):
            marker = None
        prev_blank = not ln.strip()
        i += 1


def parse(page: str, text: str) -> list[Snippet]:
    """The snippets of one page: shell commands one by one (continuation lines joined), Python blocks whole."""
    out: list[Snippet] = []
    for first, kind, block, marker in _blocks(text.splitlines()):
        skip = marker[1] if marker and marker[0] == "skip" else None
        expect = marker[1] if marker and marker[0] in ("expect", "full") else None
        slow = marker[1] if marker and marker[0] == "slow" else None
        uncapped = bool(marker and marker[0] == "full")
        if kind == "python":
            out.append(Snippet(page, first, kind, "\n".join(_python_lines(block)), skip, expect, slow, uncapped))
            continue
        commands = _commands(block)
        if commands:
            out.append(Snippet(page, first, kind, "\n".join(commands), skip, expect, slow, uncapped))
    return out


def _python_lines(block: list[str]) -> list[str]:
    """A Python block as code: a doctest-style one (``>>>`` prompts) keeps only its input lines.

    >>> _python_lines([">>> x = 1", ">>> x", "1"])
    ['x = 1', 'x']
    """
    if not any(ln.startswith(">>>") for ln in block):
        return block
    return [ln[4:] for ln in block if ln.startswith((">>> ", "... ")) or ln in (">>>", "...")]


def _commands(block: list[str]) -> list[str]:
    """The commands of a shell block ("$ " prompts dropped, continuation lines joined), in order."""
    lines = [ln[2:] if ln.startswith("$ ") else ln for ln in block]
    out, k = [], 0
    while k < len(lines):
        cmd = lines[k].rstrip()
        while cmd.endswith("\\") and k + 1 < len(lines):
            k += 1
            cmd = cmd[:-1] + " " + lines[k].strip()
        k += 1
        if COMMAND.match(cmd.strip()) or re.match(r"^[A-Z_]+=\S+ ", cmd.strip()):
            out.append(cmd.strip())
    return out


def python_program(blocks: list[Snippet]) -> str:
    """One program running the blocks in order in one namespace; a failure names the block's page and line."""
    parts = ["ns = {'__name__': '__main__'}"]
    for b in blocks:
        parts.append(f"exec(compile({b.text!r}, {b.where!r}, 'exec'), ns)")
    return "\n".join(parts)
