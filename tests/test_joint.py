"""disclosure/joint.py: the complement program over a whole linked table at once.

Two small tables whose best pattern is known by hand: an area x SBI table where
protecting one dimension at a time needs twice the complements of the joint program,
and a one-way table where the old last resort (withhold the parent) costs the
gemeente total while the cheapest cover costs a wijk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zicht.disclosure import DisclosureParams, LinkedCells, Relations
from zicht.disclosure.complements import Pattern
from zicht.disclosure.group import GroupCells
from zicht.disclosure.knowledge import protected
from zicht.disclosure.programs import attacker_bounds_exact
from zicht.disclosure.propagation import attacker_bounds
from zicht.disclosure.rules import FREQUENCY, SECONDARY
from zicht.disclosure.search import protect_group
from zicht.disclosure.secondary import suppress_complements

PARAMS = DisclosureParams()
# companies per wijk (rows) and SBI section (columns); W1 x A and W2 x B hold too few
LEAVES = {"W1": [4, 20, 10], "W2": [20, 3, 10], "W3": [10, 10, 30]}
SECTIONS = ["A", "B", "C"]
PRIMARY = {("W1", "A"), ("W2", "B")}


def _cell(level: str, code: str, parent: str | None, sbi: str, value: float) -> dict:
    node_parent = None if sbi == "totaal" else "totaal"
    return dict(
        indicator="vestigingen",
        level=level,
        code=code,
        parent=parent,
        sbi=sbi,
        sbi_parent=node_parent,
        sbi_depth=0 if sbi == "totaal" else 1,
        never=False,
        value=float(value),
        units=float(value),
        kind="count",
        reason=FREQUENCY if (code, sbi) in PRIMARY else "",
        upper=3.0 if (code, sbi) in PRIMARY else 0.0,
        lower=3.0 if (code, sbi) in PRIMARY else 0.0,
    )


def area_by_sbi() -> pd.DataFrame:
    """A gemeente of three wijken x three SBI sections, with every total."""
    rows = []
    for wijk, values in LEAVES.items():
        rows += [_cell("wijk", wijk, "GM", s, v) for s, v in zip(SECTIONS, values)]
        rows.append(_cell("wijk", wijk, "GM", "totaal", sum(values)))
    columns = np.array(list(LEAVES.values())).sum(axis=0)
    rows += [_cell("gemeente", "GM", None, s, v) for s, v in zip(SECTIONS, columns)]
    rows.append(_cell("gemeente", "GM", None, "totaal", columns.sum()))
    return pd.DataFrame(rows)


def _names(frame: pd.DataFrame, mask: np.ndarray) -> set[tuple[str, str]]:
    return set(zip(frame["code"][mask], frame["sbi"][mask]))


def _exposed(frame: pd.DataFrame, withheld: np.ndarray) -> int:
    """Primary cells the exact programs pin narrower than their protection, from the
    other cells published exactly."""
    linked = LinkedCells(frame, Relations())
    shown = np.where(withheld, np.nan, frame["value"].to_numpy(float))
    knowledge = linked.knowledge(shown, 0.0, True, PARAMS.min_units)
    low, high = attacker_bounds(knowledge)
    primary = np.flatnonzero(frame["reason"].to_numpy() == FREQUENCY)
    low, high = attacker_bounds_exact(knowledge, primary, low, high)
    v, lo, up = (frame[c].to_numpy(float)[primary] for c in ("value", "lower", "upper"))
    return int((~protected(v, lo, up, low[primary], high[primary])).sum())


def test_both_hierarchies_at_once_need_half_the_complements_of_one_at_a_time():
    frame = area_by_sbi()
    cells = frame.copy()
    protect_group(cells, np.arange(len(cells)), Relations(), PARAMS)
    joint = (cells["reason"] == SECONDARY).to_numpy()
    # the known optimum: the rectangle that closes both primary cells' rows and columns
    assert _names(frame, joint) == {("W1", "B"), ("W2", "A")}
    assert _exposed(frame, joint | (cells["reason"] == FREQUENCY).to_numpy()) == 0
    # control: the subtables of one hierarchy, then the other (the modular method)
    # take the cheapest cell of each row and column apart: twice as many
    group = GroupCells.of(frame, LinkedCells(frame, Relations()), PARAMS)
    pattern = Pattern(group, keep=False)
    suppressed, need = pattern.suppressed, pattern.need
    for _ in range(3):
        for parent, depth in (
            (group.linked.parent, group.depth),
            (group.linked.sbi_parent, group.sbi_depth),
        ):
            assert parent is not None and depth is not None
            suppressed, need = suppress_complements(group.value, parent, depth, suppressed, need)
    modular = suppressed & ~group.primary
    assert _names(frame, modular) == {("W3", "A"), ("W3", "B"), ("W1", "C"), ("W2", "C")}
    assert modular.sum() == 2 * joint.sum()


def one_way() -> tuple[pd.DataFrame, GroupCells]:
    """A gemeente of three wijken of two buurten each; the wijk W1 is withheld."""
    buurten = {"W1": [30, 40], "W2": [60, 70], "W3": [20, 30]}
    rows = []
    for wijk, values in buurten.items():
        for b, v in enumerate(values):
            rows.append(dict(level="buurt", code=f"{wijk}B{b}", parent=wijk, value=v))
        rows.append(dict(level="wijk", code=wijk, parent="GM", value=sum(values)))
    rows.append(dict(level="gemeente", code="GM", parent=None, value=250))
    frame = pd.DataFrame(rows).assign(indicator="x", kind="count", sbi="totaal")
    frame["units"] = frame["value"].astype(float)
    frame["value"] = frame["value"].astype(float)
    frame["reason"] = np.where(frame["code"] == "W1", FREQUENCY, "")
    frame["upper"] = frame["lower"] = np.where(frame["code"] == "W1", 8.0, 0.0)
    return frame, GroupCells.of(frame, LinkedCells(frame, Relations()), PARAMS)


def test_the_cheapest_cover_replaces_withholding_the_parent():
    frame, group = one_way()
    w1 = int(np.flatnonzero(frame["code"] == "W1")[0])
    gemeente = int(np.flatnonzero(frame["code"] == "GM")[0])
    covered = Pattern(group, keep=False)
    covered.widen(np.array([w1]))
    # the cheapest wijk beside W1 (W3, 50), and a buurt of each to keep both free
    assert _names(frame, covered.suppressed & ~group.primary) == {
        ("W1B0", "totaal"),
        ("W3", "totaal"),
        ("W3B0", "totaal"),
    }
    assert _exposed(frame, covered.suppressed) == 0
    # control: the old last resort withholds the gemeente total (250) and W1's buurten
    parent = Pattern(group, keep=False)
    parent._widen_one(w1)
    assert parent.suppressed[gemeente]
    withheld_value = group.value[parent.suppressed & ~group.primary].sum()
    assert withheld_value > group.value[covered.suppressed & ~group.primary].sum()


def test_the_cover_of_a_cell_withholds_only_in_its_own_gemeente():
    from zicht.disclosure.joint import joint_complements

    frame, _ = one_way()
    other = frame.assign(
        code="X" + frame["code"],
        parent=np.where(frame["parent"].isna(), None, "X" + frame["parent"]),
    )
    both = pd.concat([frame, other], ignore_index=True)
    group = GroupCells.of(both, LinkedCells(both, Relations()), PARAMS)
    w1 = int(np.flatnonzero(both["code"] == "W1")[0])
    pattern = Pattern(group, keep=False)
    assert pattern.cover(np.array([w1]))
    added = pattern.suppressed & ~group.primary
    assert _names(both, added) == {("W1B0", "totaal"), ("W3", "totaal"), ("W3B0", "totaal")}
    # control: the same program over every block protects the other gemeente's W1 too
    need = np.where(group.primary, group.upper, 0.0)
    whole = joint_complements(group, group.primary.copy(), need).suppressed & ~group.primary
    assert {code for code, _ in _names(both, whole)} & {"XW3", "XW1B0", "XW2", "XW2B0"}


def test_a_kept_solution_spares_its_gemeente_and_a_changed_table_is_built_again(monkeypatch):
    # the joint program's memo: a gemeente whose last solution the pattern still
    # satisfies (with the free rests that solution withheld) is not solved again; a
    # group of the same cells with other values does not get the structure built for
    # the first
    import zicht.disclosure.joint as joint

    frame = area_by_sbi()
    frame["never"] = frame["sbi"] == "C"  # a rest of the SBI tree: withheld, at no cost
    linked = LinkedCells(frame, Relations())
    group = GroupCells.of(frame, linked, PARAMS)
    memo = joint.JointMemo()
    need = np.where(group.primary, group.upper, 0.0)
    structure = memo.structure_of(group)
    start = group.primary | group.never
    first = joint.joint_complements(group, start.copy(), need, structure=structure)
    assert (first.suppressed & ~start).any() and first.free.any()  # rests as partners
    solved = []
    real = joint.milp
    monkeypatch.setattr(joint, "milp", lambda *a, **k: solved.append(1) or real(*a, **k))
    again = joint.joint_complements(
        group, first.suppressed, need, structure=structure, free=first.free
    )
    assert np.array_equal(again.suppressed, first.suppressed) and solved == []
    # control: with the rests taken at 0 the gemeente looks broken and is solved again
    joint.joint_complements(group, first.suppressed, need, structure=structure)
    assert solved == [1]
    assert memo.structure_of(group) is structure
    doubled = GroupCells.of(frame.assign(value=2 * frame["value"]), linked, PARAMS)
    assert memo.structure_of(doubled) is not structure
