"""What a new run must respect of what is already out (tau-Argus's a-priori file).

:class:`Released` joins a ledger's cells to the new run's table: a cell already
released (the same identity, :mod:`engine.releases.identity`) keeps its status
(withheld stays withheld, published stays published at the same value), and released
cells the run does not compute (last edition's window, its first year) join the linked
table with their status frozen and their relations to the new cells (a window is the
sum of its years), so that the new cells are protected jointly with what is already
out. The protection loop only adds complements among the run's own cells.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from zicht.disclosure import Relations
from zicht.disclosure.linked import text_column
from zicht.disclosure.protect import FROZEN, FROZEN_PUBLISHED
from zicht.disclosure.rules import CELL_FIELDS, DERIVED
from zicht.engine.config import Config, IndicatorSpec, MicrodataIndicator, TableIndicator
from zicht.engine.publish import indicator_relations
from zicht.engine.releases.identity import KEY, identity
from zicht.engine.releases.ledger import MANIFEST, TABLES, Ledger, Release
from zicht.engine.sbi import TOTAL
from zicht.engine.sources.branches import BRANCHE_FIELDS
from zicht.errors import DisclosureError


def check_rules(ledger: Ledger, release: Release, config: Config) -> None:
    """Raise unless ``release`` was protected under the rules of ``config``: a figure
    already out is published again as it was, and rounded and protected the same way."""
    rules = asdict(config.disclosure.params)
    differ = [k for k, v in rules.items() if release.rules.get(k) != v]
    if differ:
        raise DisclosureError(
            f"{ledger.path / MANIFEST}: release {release.number} was protected with other "
            f"rules ([disclosure] {', '.join(differ)}); a run that publishes its figures or "
            "is protected jointly with them needs the same rules"
        )


@dataclass(frozen=True)
class Released:
    """The sensitive counts and sums a ledger holds, each cell once (the release that
    first published or withheld it), with its ``identity``, ``release`` and status."""

    cells: pd.DataFrame
    ledger: Ledger

    @classmethod
    def of(cls, ledger: Ledger, config: Config) -> Released:
        """What ``ledger`` says is out; its releases must have been protected under
        the rules of ``config`` (the same rounding, thresholds and protection)."""
        frames = []
        for release in ledger.releases:
            check_rules(ledger, release, config)
            for table in TABLES:
                frame = ledger.table(release, table)
                if frame.empty:
                    continue
                additive = frame["kind"].isin(["count", "sum"]) & frame["sensitive"]
                frame = frame[additive.to_numpy() & (frame["reason"] != DERIVED).to_numpy()].copy()
                identities = {k: v["identity"] for k, v in release.indicators.items()}
                frame["identity"] = frame["indicator"].map(identities)
                frame["release"] = release.number
                frame["sbi"] = text_column(frame, "sbi", TOTAL)
                frames.append(frame)
        empty = pd.DataFrame(columns=[*CELL_FIELDS, "reason", "identity", "release", "sbi"])
        cells = pd.concat(frames, ignore_index=True) if frames else empty
        return cls(cells.drop_duplicates(KEY, keep="first").reset_index(drop=True), ledger)

    def joined(
        self, table: pd.DataFrame, config: Config, definitions: dict[str, dict[str, Any]]
    ) -> tuple[pd.DataFrame, Relations, set[str]]:
        """The run's cell table with the ledger joined: :data:`FROZEN` set on cells
        already released, and the released cells it does not compute added (their
        indicator named ``id@release``) where relations link them to its own; the
        relations among all of them; the ids of the added indicators."""
        identities = {k: v["identity"] for k, v in definitions.items()}
        table = table.copy()
        table[FROZEN] = self._statuses(table, identities)
        extra, relations, ids = self._extra(table, config, set(identities.values()))
        if len(extra):
            if "sbi" in extra and "sbi" not in table:
                table["sbi"], table["sbi_parent"], table["sbi_depth"] = TOTAL, None, 0
                table["never"] = False
            extra = extra.reindex(columns=table.columns)
            table = pd.concat([table, extra], ignore_index=True)
            for column, fill in (("sbi", TOTAL), ("sbi_depth", 0), ("never", False)):
                if column in table:
                    table[column] = table[column].where(table[column].notna(), fill)
            table["never"] = table["never"].astype(bool) if "never" in table else False
        return table, relations, ids

    def _statuses(self, table: pd.DataFrame, identities: dict[str, str]) -> np.ndarray:
        """Per row of ``table``: '' (new), :data:`FROZEN_PUBLISHED`, or the reason the
        ledger withheld it for. A released cell whose true value has changed means a
        revised source: refused (see the guide, "Releases and the ledger")."""
        keys = pd.DataFrame(
            {
                "identity": table["indicator"].map(identities).to_numpy(),
                "level": table["level"].to_numpy(),
                "code": table["code"].to_numpy(),
                "sbi": text_column(table, "sbi", TOTAL),
            }
        )
        mine = table["sensitive"].to_numpy(dtype=bool) & table["kind"].isin(["count", "sum"])
        known = self.cells.set_index(KEY)
        found = known.reindex(pd.MultiIndex.from_frame(keys))
        hit = found["release"].notna().to_numpy() & mine.to_numpy()
        new, old = table["value"].to_numpy(float), found["value"].to_numpy(float)
        same = np.isclose(new, old, rtol=0, atol=1e-9) | (np.isnan(new) & np.isnan(old))
        revised = hit & ~same
        if revised.any():
            what = table.loc[revised, "indicator"].value_counts()
            releases = sorted({int(r) for r in found["release"].to_numpy()[revised]})
            raise DisclosureError(
                f"{self.ledger.path}: the source was revised: "
                + ", ".join(f"{n} cell(s) of {i}" for i, n in what.items())
                + f" differ from what release(s) {releases} recorded; a release cannot "
                "publish a figure other than the one already out, nor protect it with "
                "the old one's pattern (see the guide, 'Releases and the ledger')"
            )
        reason = found["reason"].fillna("").to_numpy(dtype=object)
        status = np.where(reason == "", FROZEN_PUBLISHED, reason)
        return np.where(hit, status, "").astype(object)

    def _extra(
        self, table: pd.DataFrame, config: Config, computed: set[str]
    ) -> tuple[pd.DataFrame, Relations, set[str]]:
        """Released cells of indicators the run does not compute, linked to its own."""
        others = self.cells[~self.cells["identity"].isin(computed)].copy()
        others["indicator"] = others["indicator"] + "@" + others["release"].astype(str)
        specs = self._specs(others, config)
        plus = config.model_copy(update={"indicators": (*config.indicators, *specs.values())})
        broken = [i for i, d in self._definitions(others).items() if d["branches"]]
        if broken and config.branches is not None:
            more = (*config.branches.indicators, *broken)
            plus = plus.model_copy(
                update={"branches": config.branches.model_copy(update={"indicators": more})}
            )
        relations = indicator_relations(plus)
        own = [i for i in dict.fromkeys(table.loc[table["sensitive"], "indicator"])]
        linked: set[str] = set()
        for group in relations.groups(own + list(specs)):
            if set(group) & set(own):
                linked |= set(group) - set(own)
        others = others[others["indicator"].isin(linked)]
        others[FROZEN] = np.where(others["reason"] == "", FROZEN_PUBLISHED, others["reason"])
        columns = CELL_FIELDS + [c for c in BRANCHE_FIELDS if c in others] + [FROZEN]
        return others[columns].reset_index(drop=True), relations, linked

    def _definitions(self, others: pd.DataFrame) -> dict[str, dict[str, Any]]:
        """The definition of each added indicator (``id@release``)."""
        out = {}
        for release in self.ledger.releases:
            for indicator_id, definition in release.indicators.items():
                out[f"{indicator_id}@{release.number}"] = definition
        return {i: out[i] for i in dict.fromkeys(others["indicator"])}

    def _specs(self, others: pd.DataFrame, config: Config) -> dict[str, IndicatorSpec]:
        """The added indicators as specs, for the relations between indicators."""
        own = {identity(d, config): d.id for d in config.indicators}
        specs: dict[str, IndicatorSpec] = {}
        for indicator_id, definition in self._definitions(others).items():
            source = json.loads(definition["identity"])
            release = indicator_id.rsplit("@", 1)[1]
            subset_of = definition.get("subset_of")
            if subset_of is not None:
                theirs = self._identity_of(subset_of, int(release))
                subset_of = own.get(theirs or "", f"{subset_of}@{release}")
            common = {"id": indicator_id, "kind": definition["kind"], "subset_of": subset_of}
            common |= {"label_nl": indicator_id, "label_en": indicator_id}
            if "microdata" in source:
                sbi = tuple(source["sbi"]) if source["sbi"] is not None else None
                specs[indicator_id] = MicrodataIndicator.model_construct(
                    **common,
                    microdata=source["microdata"],
                    measure=source["measure"],
                    where=source["where"],
                    sbi=sbi,
                )
            elif "table" in source:
                specs[indicator_id] = TableIndicator.model_construct(
                    **common, table=source["table"], column=source["column"]
                )
        return specs

    def _identity_of(self, indicator_id: str, release: int) -> str | None:
        definition = self.ledger.releases[release - 1].indicators.get(indicator_id)
        return definition["identity"] if definition else None
