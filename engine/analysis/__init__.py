"""Risk scores, hotspots and trends per theme and level: wiring of models/ and spatial/.

Everything here is computed from what the run publishes and what an outsider can
derive from it (:mod:`engine.estimates`): published values, and for withheld cells
an estimate and an interval. Per level with at least ``spatial.min_areas`` areas:

- ``risk_<theme>``: 0-100, the area's percentile within the region; from the
  supervised model's out-of-fold prediction where the theme names a target whose
  spatial-CV rank correlation reaches ``models.min_skill`` (on coarser levels the
  exposure-weighted mean of its finest areas' predictions), else from the composite
  index of the theme's risk indicators on every level. Counts
  enter as rates against their exposure, shrunk towards the overall rate
  (empirical Bayes), so a score ranks risk, not size;
- ``risk_low_<theme>``/``risk_high_<theme>``: the score's 90% interval: a seeded
  parametric bootstrap of its inputs' sampling noise (``models.draws``), widened to
  the area's percentile when its inputs run over what an outsider knows of them (the
  intervals of estimated and rounded inputs, every other area at its point score);
  ``estimated_<theme>``: 1 where an input was estimated;
- ``rank_<theme>`` (1 = highest risk) and its 90% interval ``rank_low_<theme>`` (the
  best) to ``rank_high_<theme>``; ``skill_<theme>``: the spatial-CV rank correlation
  of the model the score comes from; ``drivers_<theme>`` (top 3 signed
  contributions, in words, "geschat" where estimated) and ``coverage_<theme>``
  (share of indicator weight available);
- ``hotspot_<theme>`` (Gi* class) and ``lisa_<theme>`` (LISA cluster) of the risk;
- ``trend_<id>`` (emerging hot spot category) on the finest level for each trend.

Areas under an area rule get none of these and stay out of every fit, reference
rate and weight. Global Moran's I of every indicator and risk score goes into a table.

The package: :mod:`~engine.analysis.level` (one level, its weights, classes, trends and
Moran's I), :mod:`~engine.analysis.scores` (a theme's score),
:mod:`~engine.analysis.modelled` (a model theme), :mod:`~engine.analysis.uncertainty`
(bootstrap and sensitivity), :mod:`~engine.analysis.descriptions` (how a score is
made, in words) and :mod:`~engine.analysis.results` (what they produce).
"""

from zicht.engine.analysis.level import (
    analyse_level,
    autocorrelation_rows,
    level_weights,
)
from zicht.engine.analysis.results import LevelAnalysis, ScoreInputs
from zicht.engine.analysis.scores import score_inputs

__all__ = [
    "LevelAnalysis",
    "ScoreInputs",
    "analyse_level",
    "autocorrelation_rows",
    "level_weights",
    "score_inputs",
]
