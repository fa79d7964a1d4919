"""What the analysis of a level produces, and what a score is computed from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from libpysal.graph import Graph

from zicht.models.supervised import ModelResult
from zicht.models.uncertainty import NoisyInput


@dataclass(kw_only=True)
class LevelAnalysis:
    """Everything computed on one level: new columns and what the report needs."""

    columns: pd.DataFrame
    graph: Graph | None = None
    models: dict[str, ModelResult] = field(default_factory=dict)
    islands: list[str] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)  # theme -> how it is made
    # theme -> the spatial-CV rank correlation of its model, used or not (min_skill)
    skill: dict[str, float] = field(default_factory=dict)
    rejected: dict[str, ModelResult] = field(default_factory=dict)  # below min_skill
    # theme -> share of the top 10% kept under other weights, normalisation, ...
    sensitivity: dict[str, dict[str, object]] = field(default_factory=dict)
    expected: dict[str, ModelScores] = field(default_factory=dict)  # finest level only
    model_of: dict[str, str] = field(default_factory=dict)  # theme -> the model scoring it


@dataclass(kw_only=True)
class ModelScores:
    """A model theme's scores on the finest level, which coarser levels aggregate:
    per area ``rate``, ``low``, ``high`` (the model's expected rate and the ends of its
    withheld inputs, per 1,000 of the exposure), ``exposure`` and the codes of the
    coarser areas it lies in (``wijkcode``, ...); the signed ``contributions``; and
    the bootstrap ``draws`` of the rate (draws x areas, None without draws)."""

    frame: pd.DataFrame
    contributions: pd.DataFrame
    draws: np.ndarray | None


@dataclass(kw_only=True)
class ScoreInputs:
    """A score's inputs per area (rows) and indicator (columns): the value used, the
    ends of what an outsider knows of it, and whether it was estimated."""

    point: pd.DataFrame
    low: pd.DataFrame
    high: pd.DataFrame
    estimated: pd.DataFrame
    noisy: list[NoisyInput] = field(default_factory=list)  # per column: what a draw varies
