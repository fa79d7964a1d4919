"""The layout the codebase keeps: roles per folder, short functions and modules, one
import package, one-way imports."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("boundaries", "engine", "spatial", "models", "disclosure")
# the source: the stage folders and the package root; zicht/'s links to the stage
# folders are skipped, so each file is read once
SOURCE = (*STAGES, "zicht")
# code that imports the package without being part of it
USERS = ("tests", "benchmarks")
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 500
# a doctest line that imports a stage by its folder name instead of through zicht
DOCTEST_IMPORT = re.compile(rf"^\s*>>> (?:from|import) ({'|'.join(STAGES)})\b", re.MULTILINE)


def _linked(path: Path) -> bool:
    """Whether ``path`` lies under a symbolic link inside the repository."""
    relative = path.relative_to(ROOT)
    return any(
        (ROOT / Path(*relative.parts[: i + 1])).is_symlink() for i in range(len(relative.parts))
    )


def _modules(*folders: str) -> list[Path]:
    return [
        path
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        if not _linked(path)
    ]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _raw_imports(path: Path) -> set[str]:
    """The modules ``path`` imports, as written."""
    names = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def _imports(path: Path) -> set[str]:
    """The stage modules ``path`` imports, named without the package prefix ``zicht.``."""
    return {name.removeprefix("zicht.") for name in _raw_imports(path)}


def _installed_packages() -> tuple[set[str], dict[str, str]]:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    return set(setuptools["packages"]), dict(setuptools["package-dir"])


def test_the_source_is_every_python_file_once():
    modules = _modules(*SOURCE)
    assert len(modules) == len({path.resolve() for path in modules})
    assert ROOT / "zicht" / "errors.py" in modules
    assert ROOT / "disclosure" / "protect.py" in modules
    assert not any("zicht/engine" in str(path.relative_to(ROOT)) for path in modules)


def test_engine_top_level_has_at_most_ten_modules():
    assert len(list((ROOT / "engine").glob("*.py"))) <= 10


def test_no_function_is_longer_than_sixty_lines():
    long = []
    for path in _modules(*SOURCE):
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.name} ({lines} lines)")
    assert not long


def test_no_module_is_longer_than_five_hundred_lines():
    long = []
    for path in _modules(*SOURCE):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            long.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert not long


def test_every_package_folder_is_installed_under_zicht():
    packages, folders = _installed_packages()
    assert {folders[f"zicht.{stage}"] for stage in STAGES} == set(STAGES)
    on_disk = {"zicht"}
    for stage in STAGES:
        for init in (ROOT / stage).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / stage).parts
            on_disk.add(".".join(("zicht", stage, *parts)))
    assert on_disk - packages == set(), "folders with an __init__.py missing in pyproject"
    assert packages - on_disk == set(), "packages in pyproject without a folder"


def test_imports_go_through_the_zicht_package():
    wrong = []
    for path in _modules(*SOURCE, *USERS):
        for name in _raw_imports(path):
            if name.split(".")[0] in STAGES:
                wrong.append(f"{path.relative_to(ROOT)}: import {name}")
        for match in DOCTEST_IMPORT.finditer(path.read_text(encoding="utf-8")):
            wrong.append(f"{path.relative_to(ROOT)}: doctest imports {match.group(1)}")
    assert not wrong


def test_imports_run_one_way():
    for package in STAGES:
        for path in _modules(package):
            imported = _imports(path)
            assert "engine.cli" not in imported or path.name == "cli.py", path
            if package == "disclosure":
                assert not any(
                    i.split(".")[0] in ("models", "spatial", "engine") for i in imported
                ), path
            if package in ("boundaries", "spatial", "models", "disclosure"):
                assert not any(i.split(".")[0] == "engine" for i in imported), path


def test_the_config_does_not_import_the_sources():
    # the sources read the config; the other way round would be a loop between them
    for path in _modules("engine/config"):
        assert not any(i.startswith("engine.sources") for i in _imports(path)), path
