"""Atomic file writes: readers see the old file or the new one, never half of it.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "out" / "a.txt"
>>> atomic_write_text(p, "hello"); p.read_text()
'hello'
>>> check_writable(p.parent / "new" / "folder", "--out")  # creates nothing, raises nothing
>>> try:
...     check_writable(p / "x.txt", "--out")
... except InputError as exc:
...     print(exc.path, "is a file, not a folder" in exc.reason)
--out True
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from llmsim.core.errors import InputError

__all__ = ["atomic_write", "atomic_write_text", "check_writable"]


def check_writable(path: str | Path, what: str, folder: bool = False) -> None:
    """Raise an InputError naming ``what`` (an option) unless ``path`` can be written: its nearest
    existing ancestor is a folder we can create a file in. Checked before any work starts, and leaves
    nothing behind (a probe file is created and removed; missing folders are not created).
    ``folder=True``: ``path`` itself is to be a folder (an existing file there is an error)."""
    target = Path(path)
    if target.exists() and target.is_dir() != folder:
        kind = "a folder, not a file" if target.is_dir() else "a file, not a folder"
        raise InputError(what, f"{target} is {kind}")
    probe_dir = target if folder and target.is_dir() else target.parent
    while not probe_dir.exists() and probe_dir != probe_dir.parent:
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise InputError(what, f"{probe_dir} is a file, not a folder: cannot write {target}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".llmsim-probe.", dir=probe_dir)
    except OSError as exc:
        raise InputError(what, f"cannot write in {probe_dir}: {exc.strerror or exc}") from None
    os.close(fd)
    os.remove(tmp)


def atomic_write(path: str | Path, write: Callable[[str], object]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place (mode 0644).

    On any error (Ctrl-C included) the temporary file is removed and ``path`` is left as it was."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
