"""``llmsim report DIR``: the offline HTML report of a run saved with ``llmsim run --out DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from llmsim.cli.app import app, err, fail, out
from llmsim.core.atomic import check_writable
from llmsim.core.errors import InputError


@app.command()
def report(
    folder: Path = typer.Argument(..., help="Folder written by `llmsim run --out DIR` (or Result.save)."),
    out_file: Optional[Path] = typer.Option(None, "--out", "-o", help="HTML file to write (default: DIR/report.html)."),
) -> None:
    """Write one self-contained HTML report (scenario, summary, charts) that opens offline."""
    if not folder.exists():
        fail(f"no such folder: {folder}")
    if not folder.is_dir():
        fail(f"{folder} is not a folder: give the folder written by `llmsim run --out DIR`")
    if not (folder / "result.json").is_file():
        fail(f"{folder} holds no saved run (no result.json): write one with `llmsim run --out {folder}`")
    try:
        check_writable(out_file or folder / "report.html", "--out")
    except InputError as exc:
        fail(str(exc))
    from llmsim.viz.report import write_report  # deferred: CLI start-up (altair)

    try:
        with err.status("drawing charts...", spinner="dots"):
            path = write_report(folder, out_file)
    except (OSError, ValueError, KeyError) as exc:
        fail(f"cannot write the report of {folder}: {exc}")
    out.print(f"wrote {path}")
