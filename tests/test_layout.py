"""The package's shape stays what the README's "How it works" says: small rooms, a pure core.

Every module under ~400 lines, every class under ~250, every function under 80; the core (rules,
planner, iCalendar writing and reading) imports no backend, no mail, no engine, no daemon and no
network library, so it can be run and tested with the clock and the calendar as plain inputs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "daemon" / "boundaryd"
MODULE_LINES, CLASS_LINES, FUNCTION_LINES = 400, 260, 80

#: what the pure core may import from the package: itself, the error types, and the words it renders
CORE_MAY_IMPORT = ("boundaryd.core", "boundaryd.errors", "boundaryd.presentation")
#: third-party and standard modules that mean I/O; none of them belongs in the core
IO_MODULES = ("socket", "smtplib", "http", "urllib", "requests", "caldav", "googleapiclient", "sqlite3", "subprocess")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_rooms_are_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MODULE_LINES, f"{path.name}: {text.count(chr(10))} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            size = node.end_lineno - node.lineno + 1
            limit = CLASS_LINES if isinstance(node, ast.ClassDef) else FUNCTION_LINES
            assert size <= limit, f"{path.name}:{node.lineno} {node.name} is {size} lines (limit {limit})"


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.relative_to(PACKAGE).as_posix()
)
def test_the_core_is_pure(path: Path) -> None:
    for name in _imports(path):
        if name.startswith("boundaryd"):
            assert name.startswith(CORE_MAY_IMPORT), f"{path.name} imports {name}"
        assert name.split(".")[0] not in IO_MODULES, f"{path.name} imports {name}"


def test_backends_and_the_engine_compose_no_sentences_of_the_plan() -> None:
    """Backends never import the planner or the words; the executor never imports the planner."""
    for path in (PACKAGE / "calendars").glob("*.py"):
        found = _imports(path)
        assert "boundaryd.core.planner" not in found and "boundaryd.presentation.words" not in found, path.name
    assert "boundaryd.core.planner" not in _imports(PACKAGE / "engine" / "executor.py")
