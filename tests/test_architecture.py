"""The house rules of llmsim/ (docs/architecture.md), checked so that a wrong-way import or a relapse
fails CI: the layers contract (import-linter, configured in pyproject.toml), unique module names,
a stated reason on every deferred import, no SimPy private attributes, no batch tags or references to
files outside the repository, no duplicated blocks, and ruff (complexity included) clean."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "llmsim"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the llmsim package found under ``root`` with the project's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(config_filename=sys.argv[1]))"
    return subprocess.run([sys.executable, "-c", code, str(ROOT / "pyproject.toml")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_layers_contract_holds():
    r = _lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


def test_layers_contract_catches_a_wrong_way_import(tmp_path):
    """The contract is not vacuous: the core importing the report breaks it."""
    shutil.copytree(PACKAGE, tmp_path / "llmsim", ignore=shutil.ignore_patterns("__pycache__"))
    units = tmp_path / "llmsim" / "core" / "units.py"
    units.write_text(units.read_text() + "\nimport llmsim.viz.report  # noqa\n")
    r = _lint_imports(tmp_path)
    assert r.returncode != 0 and "BROKEN" in r.stdout, r.stdout + r.stderr
    assert "llmsim.core.units -> llmsim.viz.report" in r.stdout


def test_module_names_are_unique():
    names = defaultdict(list)
    for f in SOURCES:
        if f.name not in ("__init__.py", "__main__.py"):
            names[f.stem].append(str(f.relative_to(ROOT)))
    assert {n: p for n, p in names.items() if len(p) > 1} == {}


def _function_imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    yield sub


def test_deferred_imports_say_why():
    """Imports inside functions serve start-up time or optional dependencies, and say so."""
    bad = []
    for f in SOURCES:
        lines = f.read_text().splitlines()
        for node in _function_imports(ast.parse("\n".join(lines))):
            if "# deferred:" not in lines[node.lineno - 1]:
                bad.append(f"{f.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert bad == []


#: attributes SimPy keeps to itself; layers schedule through llmsim.engine.clock instead
SIMPY_PRIVATE = {"_now", "_value", "_ok", "_defused", "_queue", "_eid", "_target", "_generator", "_active_proc"}


def test_no_simpy_private_attributes():
    bad = []
    for f in SOURCES:
        for node in ast.walk(ast.parse(f.read_text())):
            if not isinstance(node, ast.Attribute):
                continue
            own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if node.attr in SIMPY_PRIVATE and not own:
                bad.append(f"{f.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
    assert bad == []


def test_no_batch_tags_or_outside_references():
    pattern = re.compile(r"\[agents\]|DESIGN\.md|\.\./shared")
    bad = [f"{f.relative_to(ROOT)}:{i}: {line.strip()}" for f in SOURCES
           for i, line in enumerate(f.read_text().splitlines(), 1) if pattern.search(line)]
    assert bad == []


_TRIVIAL = re.compile(r"^(\)|\]|\}|\)\:|\),|\],|\},|else:|try:|return|pass|continue|break|\"\"\"|)$")


def _code_lines(f: Path) -> list[tuple[int, str]]:
    out = []
    for i, line in enumerate(f.read_text().splitlines(), 1):
        s = line.strip()
        if s and not s.startswith(("#", "import ", "from ", "@")) and not _TRIVIAL.match(s):
            out.append((i, s))
    return out


def test_no_block_of_six_lines_is_duplicated():
    """The same six consecutive code lines (blank lines, comments, imports and lone brackets aside)
    never stand in two places of llmsim/: one piece of code serves where the logic is the same."""
    seen: dict[tuple[str, ...], str] = {}
    dups = []
    for f in SOURCES:
        lines = _code_lines(f)
        for k in range(len(lines) - 5):
            block = tuple(s for _, s in lines[k:k + 6])
            where = f"{f.relative_to(ROOT)}:{lines[k][0]}"
            if block in seen and not seen[block].startswith(where.split(":")[0] + ":" + str(lines[k][0])):
                dups.append(f"{seen[block]} ~ {where}")
            seen.setdefault(block, where)
    assert dups == []


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is in the test extra")
def test_ruff_is_clean_complexity_included():
    """pyproject.toml selects C901 (mccabe, default limit 10) with the style rules."""
    r = subprocess.run(["ruff", "check", "--no-cache", "llmsim", "tests", "benchmarks"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
