"""Themes and the columns each theme adds to a layer: one place for their names.

The default themes are the four of the national dashboard Zicht op Ondermijning.
"""

from __future__ import annotations

THEMES = ("vastgoed", "drugs", "transacties", "branches")
THEME_NAMES = {
    "vastgoed": "Vastgoed",
    "drugs": "Drugs",
    "transacties": "Verdachte transacties",
    "branches": "Branches",
}
# per theme, the layer columns ``<name>_<theme>`` the analysis adds
THEME_OUTPUTS = (
    "risk",
    "risk_low",
    "risk_high",
    "estimated",
    "rank",
    "drivers",
    "hotspot",
    "lisa",
    "coverage",
)
# the columns every layer starts with, before the indicators
BASE_COLUMNS = ["code", "naam", "niveau", "wijkcode", "gemeentecode"]


def theme_output_columns(theme: str) -> list[str]:
    """The analysis columns of one theme: ``risk_<theme>``, ``rank_<theme>``, ..."""
    return [f"{name}_{theme}" for name in THEME_OUTPUTS]
