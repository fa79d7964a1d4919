"""Themes and the columns each theme adds to a layer: one place for their names.

A run declares its themes (``[[themes]]``); without, it has the four of the national
dashboard Zicht op Ondermijning (:data:`DEFAULT_THEMES`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Theme:
    """A theme: its id (in column names such as ``risk_<id>``), its name and what it
    covers, in Dutch and English."""

    id: str
    name_nl: str
    name_en: str
    description_nl: str = ""
    description_en: str = ""

    def name(self, language: str = "nl") -> str:
        return self.name_en if language == "en" else self.name_nl

    def description(self, language: str = "nl") -> str:
        return self.description_en if language == "en" else self.description_nl


DEFAULT_THEMES = (
    Theme(
        "vastgoed",
        "Vastgoed",
        "Real estate",
        "Misbruik van vastgoed: verkopen aan rechtspersonen, snelle doorverkopen, "
        "prijsafwijkingen.",
        "Misuse of real estate: sales to legal persons, quick resales, price deviations.",
    ),
    Theme(
        "drugs",
        "Drugs",
        "Drugs",
        "Drugsincidenten en hennepkwekerijen.",
        "Drug incidents and cannabis farms.",
    ),
    Theme(
        "transacties",
        "Verdachte transacties",
        "Suspicious transactions",
        "Ongebruikelijke transacties die de FIU verdacht verklaarde.",
        "Unusual transactions the FIU declared suspicious.",
    ),
    Theme(
        "branches",
        "Branches",
        "Sectors",
        "Vestigingen in risicobranches, op drukke adressen en kortlevende vestigingen.",
        "Establishments in risk sectors, at busy addresses and short-lived ones.",
    ),
)
THEMES = tuple(t.id for t in DEFAULT_THEMES)  # the default themes' ids
THEME_NAMES = {t.id: t.name_nl for t in DEFAULT_THEMES}
# per theme, the layer columns ``<name>_<theme>`` the analysis adds
THEME_OUTPUTS = (
    "risk",
    "risk_low",
    "risk_high",
    "estimated",
    "rank",
    "rank_low",
    "rank_high",
    "skill",
    "drivers",
    "hotspot",
    "gi_z",
    "gi_p",
    "lisa",
    "coverage",
)
# the columns every layer starts with, before the indicators
BASE_COLUMNS = ["code", "naam", "niveau", "wijkcode", "gemeentecode"]


def theme_output_columns(theme: str) -> list[str]:
    """The analysis columns of one theme: ``risk_<theme>``, ``rank_<theme>``, ..."""
    return [f"{name}_{theme}" for name in THEME_OUTPUTS]
