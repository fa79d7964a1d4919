"""The layout the codebase keeps: roles per folder, short functions, one-way imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("boundaries", "engine", "spatial", "models", "disclosure")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def test_engine_top_level_has_at_most_ten_modules():
    assert len(list((ROOT / "engine").glob("*.py"))) <= 10


def test_no_function_in_engine_is_longer_than_sixty_lines():
    long = []
    for path in _modules("engine"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.end_lineno - node.lineno + 1 > 60:
                    long.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert not long


def test_imports_run_one_way():
    for package in PACKAGES:
        for path in _modules(package):
            imported = _imports(path)
            assert "engine.cli" not in imported or path.name == "cli.py", path
            if package == "disclosure":
                assert not any(
                    i.split(".")[0] in ("models", "spatial", "engine") for i in imported
                ), path
            if package in ("boundaries", "spatial", "models", "disclosure"):
                assert not any(i.split(".")[0] == "engine" for i in imported), path
