"""The SBI 2008 hierarchy (Standaard Bedrijfsindeling, CBS) as data, and the roll-up
of a record's SBI code of any depth to the nodes of the tree.

The tree (``engine/data/sbi2008.csv``) has the total (``totaal``), the 21 sections
(``A``-``U``), the divisions (two digits) and the groups and classes a risk profile
needs (``45.1`` car trade, ``96.02`` hairdressing and beauty, ...). A record's code
(``"9602"``, ``"96.02"``, ``"96021"``) belongs to the deepest node whose digits it
starts with, and to every node above it.

A division with groups or classes of its own is not the sum of them: most of its
codes are in no listed group. Its records outside them form its *rest* (``"96~"``):
a cell that disclosure control protects like any other but that is never published.
Sections are the sums of their divisions and the total the sum of its sections, so
they have no rest.

>>> tree = SbiTree.default()
>>> tree.parent["96.02"], tree.parent["96"], tree.parent["S"]
('96', 'S', 'totaal')
>>> tree.leaves(pd.Series(["9602", "96.09", "4120"])).tolist()
['96.02', '96~', '41']
>>> tree.path("96~")
['96~', '96', 'S', 'totaal']
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from zicht.disclosure.linked import TOTAL  # an area's own cell is the total of the tree
from zicht.engine.data import SBI_TREE
from zicht.errors import MicrodataError

REST = "~"  # suffix of a node's rest: its records in none of its listed children
SBI_FILE = SBI_TREE
SBI_LEVELS = ("totaal", "sectie", "afdeling", "groep", "klasse")


@dataclass(frozen=True)
class SbiTree:
    """The nodes of the SBI tree: ``parent`` (code -> parent code, the total -> None),
    ``level`` (totaal, sectie, afdeling, groep, klasse, or the level of the node a rest
    belongs to) and the names per language."""

    parent: dict[str, str | None]
    level: dict[str, str]
    names: dict[str, dict[str, str]]  # language -> code -> name

    @classmethod
    def default(cls) -> SbiTree:
        """The tree shipped with zicht (:data:`SBI_FILE`)."""
        return _default_tree()

    @classmethod
    def read(cls, path: Path) -> SbiTree:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        parent: dict[str, str | None] = {}
        for code, up in zip(table["code"], table["ouder"]):
            parent[code] = up or None
        level = dict(zip(table["code"], table["niveau"]))
        names = {
            "nl": dict(zip(table["code"], table["naam_nl"])),
            "en": dict(zip(table["code"], table["naam_en"])),
        }
        # a rest under every node whose children are not all of it (divisions and
        # groups with listed children)
        for code in list(parent):
            kids = [c for c, p in parent.items() if p == code]
            if kids and level[code] in ("afdeling", "groep"):
                rest = code + REST
                parent[rest] = code
                level[rest] = level[kids[0]]
                names["nl"][rest] = f"{names['nl'][code]}, overig"
                names["en"][rest] = f"{names['en'][code]}, other"
        return cls(parent, level, names)

    @property
    def nodes(self) -> list[str]:
        """Every node, each after its parent (the total first)."""
        return sorted(self.parent, key=lambda c: (len(self.path(c)), c))

    def depth(self, code: str) -> int:
        return len(self.path(code)) - 1

    def path(self, code: str) -> list[str]:
        """The node and its ancestors, up to the total."""
        out = [code]
        while (up := self.parent[out[-1]]) is not None:
            out.append(up)
        return out

    def within(self, code: str, nodes: tuple[str, ...] | set[str]) -> bool:
        """Whether node ``code`` is one of ``nodes`` or lies below one of them."""
        return any(n in nodes for n in self.path(code))

    def is_rest(self, code: str) -> bool:
        return code.endswith(REST)

    def children(self, code: str) -> list[str]:
        return [c for c, p in self.parent.items() if p == code]

    def name(self, code: str, language: str = "nl") -> str:
        return self.names[language][code]

    def leaves(self, codes: pd.Series, where: str = "records") -> pd.Series:
        """The deepest node (a listed child, or a rest) of every code; an error naming
        the first code that is not SBI 2008. Missing codes stay missing."""
        digits = codes.astype("string").str.replace(r"[.\s]", "", regex=True)
        by_digits = {
            c.replace(".", ""): c
            for c, lv in self.level.items()
            if lv in ("afdeling", "groep", "klasse") and not self.is_rest(c)
        }
        unique = pd.unique(digits.dropna())
        found: dict[str, str] = {}
        for value in unique:
            node = next(
                (by_digits[value[:k]] for k in range(len(value), 1, -1) if value[:k] in by_digits),
                None,
            )
            if node is None or not value.isdigit():
                hint = difflib.get_close_matches(str(value), list(by_digits), n=1)
                raise MicrodataError(
                    f"{where}: {value!r} is not an SBI 2008 code (two digits or more, in a "
                    "division used in the Netherlands)"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                )
            found[value] = node + REST if node + REST in self.parent else node
        return digits.map(found).astype(object).where(digits.notna(), None)

    def down_to(self, depth: str) -> SbiTree:
        """The tree down to ``depth`` (``sectie``, ``afdeling`` or ``klasse``: all)."""
        keep = SBI_LEVELS[: SBI_LEVELS.index(depth) + 1]
        if depth == "klasse":
            return self
        nodes = [c for c, lv in self.level.items() if lv in keep and not self.is_rest(c)]
        return SbiTree(
            {c: self.parent[c] for c in nodes},
            {c: self.level[c] for c in nodes},
            {lang: {c: names[c] for c in nodes} for lang, names in self.names.items()},
        )

    def lift(self, leaves: pd.Series) -> pd.Series:
        """Leaves of a fuller tree as nodes of this one: each its nearest ancestor here."""
        full = SbiTree.default()
        found = {
            leaf: next(n for n in full.path(leaf) if n in self.parent)
            for leaf in pd.unique(leaves.dropna())
        }
        return leaves.map(found).astype(object).where(leaves.notna(), None)

    def ancestors_table(self) -> pd.DataFrame:
        """One row per (leaf, node on its path): what each leaf adds up into."""
        rows = [(leaf, node) for leaf in self.parent for node in self.path(leaf)]
        return pd.DataFrame(rows, columns=["leaf", "node"])

    def validate_risk(self, nodes: list[str], where: str) -> None:
        """Risk branches must be nodes of the tree and none may contain another (their
        sum is then a published relation an attacker can use exactly)."""
        for node in nodes:
            if node not in self.parent or self.is_rest(node) or node == TOTAL:
                hint = difflib.get_close_matches(node, [c for c in self.parent if REST not in c])
                raise ValueError(
                    f"{where}: {node!r} is not a node of the SBI tree"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                )
        for node in nodes:
            inside = [a for a in self.path(node)[1:] if a in nodes]
            if inside:
                raise ValueError(f"{where}: {node!r} lies within {inside[0]!r}; list one of them")


@functools.cache
def _default_tree() -> SbiTree:
    return SbiTree.read(SBI_FILE)


def roll_up_codes(leaves: np.ndarray, tree: SbiTree) -> tuple[np.ndarray, np.ndarray]:
    """For records with leaf nodes ``leaves`` (object array, None for no code): the
    record index and node of every (record, node on its path) pair."""
    table = tree.ancestors_table()
    known = pd.Series(leaves).notna().to_numpy()
    record = np.flatnonzero(known)
    frame = pd.DataFrame({"record": record, "leaf": leaves[known]}).merge(table, on="leaf")
    return frame["record"].to_numpy(), frame["node"].to_numpy(dtype=object)


def in_nodes(leaves: pd.Series, nodes: tuple[str, ...]) -> np.ndarray:
    """Whether each record's leaf (of the full tree) lies in one of ``nodes``."""
    tree = SbiTree.default()
    inside = {leaf: tree.within(leaf, nodes) for leaf in pd.unique(leaves.dropna())}
    return leaves.map(inside).fillna(False).to_numpy(dtype=bool)
