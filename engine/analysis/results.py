"""What the analysis of a level produces, and what a score is computed from."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from libpysal.graph import Graph

from zicht.models.supervised import ModelResult


@dataclass(kw_only=True)
class LevelAnalysis:
    """Everything computed on one level: new columns and what the report needs."""

    columns: pd.DataFrame
    graph: Graph | None = None
    models: dict[str, ModelResult] = field(default_factory=dict)
    islands: list[str] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)  # theme -> how it is made


@dataclass(kw_only=True)
class ScoreInputs:
    """A score's inputs per area (rows) and indicator (columns): the value used, the
    ends of what an outsider knows of it, and whether it was estimated."""

    point: pd.DataFrame
    low: pd.DataFrame
    high: pd.DataFrame
    estimated: pd.DataFrame
