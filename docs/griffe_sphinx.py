"""A griffe extension for the API reference: docstrings written for Sphinx read well.

The numpydoc "Examples" section shows ``>>>`` lines as code, but a module docstring
that gives its example in the running text (as ``spatial/rates.py`` does) would render
them as a Markdown quote: every run of ``>>>`` lines with their output is fenced as
``pycon`` before the docstring is parsed, wherever it stands. Sphinx roles
(``:func:`name```, ``:mod:`~zicht.x```) become plain code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

# :func:`name`, :class:`~pkg.Name`, :py:meth:`...`: the name, as code
SPHINX_ROLE = re.compile(r":(?:py:)?(?:func|mod|class|meth|data|attr|exc|obj):`~?([^`]+)`")


def fence_doctests(text: str) -> str:
    """``text`` with each block of ``>>>`` lines and their output (up to a blank line)
    inside a ``pycon`` fence at the block's indentation; existing fences are kept."""
    out: list[str] = []
    block: list[str] = []
    indent = ""
    in_fence = False

    def close() -> None:
        if block:
            out.extend([f"{indent}```pycon", *block, f"{indent}```"])
            block.clear()

    for line in text.splitlines():
        stripped = line.lstrip()
        fence = stripped.startswith("```")
        if block and stripped and not fence:
            block.append(line)
            continue
        close()
        if fence:
            in_fence = not in_fence
        elif not in_fence and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            block.append(line)
            continue
        out.append(line)
    close()
    return "\n".join(out)


class SphinxDocstrings(griffe.Extension):
    """Fence the doctest examples and unwrap the Sphinx roles of every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            text = SPHINX_ROLE.sub(r"`\1`", obj.docstring.value)
            obj.docstring.value = fence_doctests(text) if ">>>" in text else text
