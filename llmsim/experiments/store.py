"""The output folder of an experiment: a manifest, one small JSON file per finished run (written at once,
atomically), and the final tables. ``resume`` reads back the finished runs of the same experiment.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp()) / "sw"
>>> st = RunStore(d, {"kind": "sweep", "points": 1})
>>> st.prepare(resume=False)
>>> st.write({"point": 0, "replication": 0, "seed": 1, "metrics": {"x": 1.5}, "error": None})
>>> st.finished()[(0, 0)]["metrics"]
{'x': 1.5}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from llmsim.core.atomic import atomic_write, atomic_write_text  # noqa: F401  (atomic_write_text: used by callers)
from llmsim.core.errors import InputError

__all__ = ["RunStore", "atomic_write_text", "atomic_write_parquet", "MANIFEST", "canonical"]

MANIFEST = "experiment.json"


def canonical(obj: Any) -> Any:
    """``obj`` as it reads back from JSON (tuples become lists, keys strings), for comparisons."""
    return json.loads(json.dumps(obj, sort_keys=True, default=str))


def atomic_write_parquet(path: Path, df: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))


def atomic_write_csv(path: Path, df: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: df.to_csv(tmp, index=False))


class RunStore:
    """Persists the runs of one experiment under ``root`` (or nowhere when ``root`` is None)."""

    def __init__(self, root: str | Path | None, manifest: dict):
        self.root = Path(root) if root is not None else None
        self.manifest = canonical(manifest)

    @property
    def runs_dir(self) -> Path:
        assert self.root is not None
        return self.root / "runs"

    def check(self, resume: bool) -> None:
        """Refuse an output folder holding another experiment, or any experiment when not resuming."""
        if self.root is None:
            if resume:
                raise InputError("resume", "there is nothing to resume without an output folder (out=...)")
            return
        if self.root.exists() and not self.root.is_dir():
            raise InputError("out", f"{self.root} exists and is not a folder")
        path = self.root / MANIFEST
        if not path.is_file():
            if self.root.is_dir() and any(self.root.iterdir()) and not resume:
                raise InputError("out", f"{self.root} is not empty; choose another folder")
            return
        if not resume:
            raise InputError("out", f"{self.root} already holds an experiment; use --resume (resume=True) "
                                       "to continue it, or choose another folder")
        self._check_same(path)

    def _check_same(self, path: Path) -> None:
        """Refuse to resume when the manifest at ``path`` describes another experiment."""
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError("out", f"cannot read {path}: {exc}") from None
        if old != self.manifest:
            diff = sorted(k for k in set(old) | set(self.manifest) if old.get(k) != self.manifest.get(k))
            raise InputError("out", f"{self.root} holds a different experiment (differs in: {', '.join(diff)}); "
                                       "resume needs the same scenario, parameters, replications and seed")

    def prepare(self, resume: bool) -> None:
        """Check the folder, then create it and write the manifest."""
        self.check(resume)
        if self.root is None:
            return
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.root / MANIFEST, json.dumps(self.manifest, indent=1, sort_keys=True))

    @staticmethod
    def run_name(point: int, replication: int) -> str:
        return f"p{point:06d}-r{replication:04d}.json"

    def write(self, record: dict) -> None:
        if self.root is None:
            return
        atomic_write_text(self.runs_dir / self.run_name(record["point"], record["replication"]),
                          json.dumps(record, sort_keys=True))

    def finished(self) -> dict[tuple[int, int], dict]:
        """(point, replication) -> record of every run already written."""
        if self.root is None or not self.runs_dir.is_dir():
            return {}
        out = {}
        for f in sorted(self.runs_dir.glob("p*-r*.json")):
            try:
                rec = json.loads(f.read_text(encoding="utf-8"))
            except ValueError:
                continue  # cannot happen with atomic writes; a foreign file is ignored, the run redone
            out[(int(rec["point"]), int(rec["replication"]))] = rec
        return out
