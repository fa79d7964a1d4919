"""The audit's reading of the branches table: its published cells, with the
unpublished rest of every SBI node, as cells of the linked table
(:mod:`engine.outputs.verify`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zicht.engine.outputs.branches import parent_codes
from zicht.engine.sbi import REST, TOTAL, SbiTree


def branche_cells(
    group: list[str], branches: pd.DataFrame, layers: dict[str, pd.DataFrame]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The published branche cells of a group's indicators (every node but the area's
    own), with the unpublished rest of every node whose listed children are not all of
    it: cells, published values (NaN: withheld) and which are rests."""
    tree = SbiTree.default()
    rows = branches[branches["sbi"] != TOTAL]
    nodes = set(rows["sbi"])
    with_rest = sorted(
        n for n in nodes if n + REST in tree.parent and any(c in nodes for c in tree.children(n))
    )
    areas = rows.drop_duplicates(["niveau", "code"])[["niveau", "code"]]
    layer_areas = pd.concat([layer.set_index("code") for layer in layers.values()])
    rests = areas.merge(pd.DataFrame({"sbi": [n + REST for n in with_rest]}), how="cross")
    frames, shown, is_rest = [], [], []
    for indicator in [i for i in group if i in branches.columns]:
        for part, hidden in ((rows, False), (rests, True)):
            frames.append(
                pd.DataFrame(
                    {
                        "indicator": indicator,
                        "level": part["niveau"].to_numpy(),
                        "code": part["code"].to_numpy(),
                        "parent": parent_codes(part, layer_areas).to_numpy(),
                        "sbi": part["sbi"].to_numpy(),
                        "sbi_parent": part["sbi"].map(tree.parent).to_numpy(),
                    }
                )
            )
            values = np.full(len(part), np.nan)
            if not hidden:
                values = pd.to_numeric(part[indicator], errors="coerce").to_numpy(dtype=float)
            shown.append(values)
            is_rest.append(np.full(len(part), hidden))
    return pd.concat(frames, ignore_index=True), np.concatenate(shown), np.concatenate(is_rest)


def check_own_cells(
    group: list[str], branches: pd.DataFrame, layers: dict[str, pd.DataFrame], problems: list[str]
) -> None:
    """An area's own row in the branches table must say what its layer says (else a
    problem, by code, in ``problems``)."""
    own = branches[branches["sbi"] == TOTAL]
    for indicator in [i for i in group if i in branches.columns]:
        for level, part in own.groupby("niveau"):
            layer = layers.get(str(level))
            if layer is None or indicator not in layer:
                continue
            there = pd.to_numeric(layer.set_index("code")[indicator], errors="coerce")
            here = pd.to_numeric(part.set_index("code")[indicator], errors="coerce")
            there = there.reindex(here.index)
            differ = ~((here == there) | (here.isna() & there.isna()))
            for code in here.index[differ.to_numpy()]:
                problems.append(f"branches: {indicator} of {code} differs from its {level} layer")
