"""Generate the API reference and the changelog page at build time (mkdocs-gen-files).

One page per module of the ``zicht`` package, found by walking the package (its
stage folders are reached through the links in ``zicht/``), so the reference follows
every module that is added, split or renamed without a list to keep up to date. The
navigation of the section is written to ``reference/SUMMARY.md`` for
mkdocs-literate-nav. CHANGELOG.md at the top of the repository becomes
``changelog.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "zicht"


def module_names(root: Path, package: str) -> list[tuple[str, ...]]:
    """Dotted names (as tuples) of the package and its modules and subpackages, sorted.

    ``os.walk`` with ``followlinks`` reads ``zicht/engine`` and the other links as
    the subpackages they install as; folders without ``__init__.py`` (data,
    templates) and ``__main__`` are left out.
    """
    names = []
    for folder, dirs, files in os.walk(root / package, followlinks=True):
        here = Path(folder)
        if "__init__.py" not in files:
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        parts = here.relative_to(root).parts
        names.append(parts)
        names += [
            (*parts, f[:-3])
            for f in sorted(files)
            if f.endswith(".py") and f not in ("__init__.py", "__main__.py")
        ]
    return sorted(names)


OVERVIEW = """# API reference

Generated from the numpydoc docstrings of the `zicht` package, one page per module.
The public API is what `zicht` itself exports (`zicht.run`, `zicht.load_config`,
`zicht.protect`, `zicht.attack`, ...); each stage is a subpackage that can be used on
its own: `zicht.boundaries`, `zicht.engine`, `zicht.disclosure`, `zicht.spatial`,
`zicht.models`. Every error zicht raises on purpose is a `zicht.errors.ZichtError`.
[Where a change belongs](../layout.md) says what each module is responsible for.
"""


def write_reference() -> None:
    nav = mkdocs_gen_files.Nav()
    with mkdocs_gen_files.open("reference/index.md", "w") as out:
        out.write(OVERVIEW)
    for parts in module_names(ROOT, PACKAGE):
        page = Path("reference", *parts, "index.md")
        nav[parts] = page.relative_to("reference").as_posix()
        with mkdocs_gen_files.open(page, "w") as out:
            out.write(f"# `{'.'.join(parts)}`\n\n::: {'.'.join(parts)}\n")
    with mkdocs_gen_files.open("reference/SUMMARY.md", "w") as out:
        out.write("* [Overview](index.md)\n")
        out.writelines(nav.build_literate_nav())


def write_changelog() -> None:
    with mkdocs_gen_files.open("changelog.md", "w") as out:
        out.write((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))


write_reference()
write_changelog()
