"""The documentation stays true to the code: the layout page, the README's quick start and
the configuration page. (That every page in the site's navigation exists, and that the
API reference builds from the docstrings, is checked by ``mkdocs build --strict`` in CI.)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = ROOT / "docs" / "layout.md"
CONFIGURATION = ROOT / "docs" / "guide" / "configuration.md"
SCHEMA = ROOT / "engine" / "data" / "zicht-config.schema.json"
# the stage folders and the package root: the real folders, not the links in zicht/
SOURCE = ("boundaries", "engine", "spatial", "models", "disclosure", "zicht")
# `engine/cli.py`, `engine/outputs/`: a module or a folder of the source, in backticks
NAMED = re.compile(r"`((?:" + "|".join(SOURCE) + r")/(?:[\w/.]*?(?:\.py|/))?)`")
# the README's quick start, as .ci/run runs it: install and run the demo, install and test
DEMO_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/zicht demo --out demo-out"
)
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' "
    "&& .venv/bin/python -m pytest -n 2 --dist loadgroup"
)


def source_modules() -> set[str]:
    """Every module (``engine/cli.py``) and package folder (``engine/outputs/``) of the
    source, as paths from the repository root; ``__init__.py`` files are named by their
    folder. Links (``zicht/engine``) are not followed: their targets are listed once."""
    found = set()
    for top in SOURCE:
        for folder, dirs, files in os.walk(ROOT / top):
            here = Path(folder)
            dirs[:] = [d for d in dirs if not (here / d).is_symlink() and d != "__pycache__"]
            if "__init__.py" not in files:
                continue
            relative = here.relative_to(ROOT).as_posix()
            found.add(relative + "/")
            found |= {f"{relative}/{f}" for f in files if f.endswith(".py") and f != "__init__.py"}
    return found


def named_on_layout_page() -> set[str]:
    return set(NAMED.findall(LAYOUT.read_text(encoding="utf-8")))


def test_every_module_of_the_source_is_named_on_the_layout_page():
    missing = sorted(source_modules() - named_on_layout_page())
    assert not missing, (
        "docs/layout.md does not name these modules or packages; add a line with the "
        "responsibility of each: " + ", ".join(missing)
    )


def _exists(path: str) -> bool:
    return (ROOT / path).is_dir() if path.endswith("/") else (ROOT / path).is_file()


def test_every_module_named_on_the_layout_page_exists():
    stale = sorted(path for path in named_on_layout_page() if not _exists(path))
    assert not stale, (
        "docs/layout.md names modules or folders that do not exist (renamed or removed?): "
        + ", ".join(stale)
    )


def test_the_layout_check_finds_what_it_looks_for():
    # the test above would pass on a page that names nothing: make sure the pattern and
    # the walk see the modules that have always been there
    modules = source_modules()
    assert {"engine/cli.py", "engine/outputs/", "zicht/errors.py", "spatial/hotspots.py"} <= modules
    assert not any(m.startswith("zicht/engine") for m in modules)  # the link is not walked
    assert NAMED.findall("`engine/`, `engine/cli.py`, `engine/outputs/`, not engine/x.py") == [
        "engine/",
        "engine/cli.py",
        "engine/outputs/",
    ]


def _first_code_block(text: str) -> list[str]:
    block = re.search(r"```\w*\n(.*?)```", text, re.DOTALL)
    assert block, "README.md has no code block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_starts_with_the_two_quick_start_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    top = readme.splitlines()[:12]
    assert top[0] == "# zicht"
    assert _first_code_block("\n".join(top) + "\n") == [DEMO_COMMAND, TEST_COMMAND], (
        "the README's first lines must give the two quick-start commands that .ci/run "
        "runs: installing and running the demo, and installing and running the tests"
    )


def test_ci_runs_the_demo_the_tests_and_builds_the_docs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for step in ("demo --out", "-m pytest", "mkdocs build --strict"):
        assert step in ci, f".ci/run does not run {step!r}"


def _schema_keys() -> dict[str, set[str]]:
    """Per section of the config's JSON Schema, its keys."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    keys = {"(top)": set(schema["properties"])}
    for name, definition in schema["$defs"].items():
        keys[name] = set(definition.get("properties", {}))
    return keys


def _keys_in_inline_code(markdown: str) -> set[str]:
    """The names in the page's inline code: `min_match`, `[boundaries.quality]` (both
    parts), `[[models.targets]]`; fenced examples do not count."""
    prose = re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)
    names = set()
    for span in re.findall(r"`([^`]+)`", prose):
        key = re.fullmatch(r"\[*([a-z_]+(?:\.[a-z_]+)*)\]*", span)
        if key:
            names |= set(key.group(1).split("."))
    return names


def test_the_configuration_page_names_every_key_of_the_schema():
    named = _keys_in_inline_code(CONFIGURATION.read_text(encoding="utf-8"))
    missing = {
        section: sorted(keys - named) for section, keys in _schema_keys().items() if keys - named
    }
    assert not missing, f"docs/guide/configuration.md does not describe these keys: {missing}"
