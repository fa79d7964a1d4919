"""What disclosure control did, as the ``run`` table and the report record it (counts
and rule parameters only, never a value), and the steward's private list of reasons."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from zicht.disclosure import DisclosureParams, Protection


def outcome_counts(protection: Protection) -> dict[str, int]:
    """Sensitive cells per outcome: ``published`` or the rule that withheld them."""
    return _outcomes(protection.cells[protection.cells["sensitive"]])


def _outcomes(cells: pd.DataFrame) -> dict[str, int]:
    counts = cells["reason"].replace("", "published").value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def rule_parameters(params: DisclosureParams) -> dict[str, Any]:
    """The rules as the ``run`` table records them (and the estimates read them)."""
    return {f.name: getattr(params, f.name) for f in fields(params)}


@dataclass(frozen=True, kw_only=True)
class DisclosureRecord:
    """What disclosure control did, for the ``run`` table and the report: every rule's
    parameters and how many sensitive cells each outcome has. Counts only, no values."""

    parameters: dict[str, int | float]
    cells_by_outcome: dict[str, int]
    audit_rounds: int
    audit_failures: int
    by_level: dict[str, dict[str, int]]  # level -> outcome -> sensitive cells
    companies: str | None = None  # the indicator that decides the company area rule

    @classmethod
    def of(cls, protection: Protection, companies: str | None = None) -> DisclosureRecord:
        params = protection.params
        c = protection.cells[protection.cells["sensitive"]]
        by_level = {str(level): _outcomes(part) for level, part in c.groupby("level", sort=False)}
        return cls(
            parameters=rule_parameters(params),
            cells_by_outcome=outcome_counts(protection),
            audit_rounds=protection.rounds,
            audit_failures=len(protection.failures),
            by_level=by_level,
            companies=companies,
        )

    @property
    def sensitive_cells(self) -> int:
        return sum(self.cells_by_outcome.values())

    def to_json(self) -> str:
        """The record as the ``run`` table stores it (``zicht audit`` reads it back)."""
        p = self.parameters
        return json.dumps(
            {
                "parameters": p,
                "rounding": f"sensitive counts rounded to multiples of {p['count_base']}, sums to "
                f"multiples of {p['sum_base']:g} (conventional rounding, not "
                "controlled: published buurten need not add up to wijken)",
                "secondary": "MILP per subtable (HiGHS), minimising log-value cost",
                "audit": "an attacker who knows the rules: the publication rules, every "
                "level, the relations between indicators and the area rules; exact bounds "
                f"(propagation, HiGHS where needed); {self.audit_failures} failures",
                "companies": self.companies,
                "sensitive_cells": self.sensitive_cells,
                "cells_by_outcome": self.cells_by_outcome,
                "cells_by_level": self.by_level,
                "audit_rounds": self.audit_rounds,
            },
            default=float,
        )


def write_private_reasons(protection: Protection, path: Path) -> None:
    """Write the rule of every withheld cell to ``path`` (CSV), for the data steward's
    audit trail. Never part of the published output: an attacker who knows a cell's
    rule learns its range. Written to a temporary file first, then moved into place."""
    c = protection.cells
    rows = c.loc[c["reason"] != "", ["indicator", "level", "code", "reason"]]
    tmp = path.with_name(f".{path.name}.tmp")
    rows.to_csv(tmp, index=False, sep=";")
    os.replace(tmp, path)
