"""Figures of one boundary edition moved to the areas of another: areal interpolation,
area-weighted or weighted by a count the target areas have (target density).

The overlay (the area every source area shares with every target area) is tobler's
(PySAL). The allocation is tobler's rule for extensive variables,
``v_t = sum_s v_s * a_st / sum_k a_sk``, with three changes tobler does not make:

- **target density**: with a weight per target area (inhabitants, addresses of the
  new year), the pieces of a source area are weighted by ``a_st * x_t / area_t``
  rather than by their area alone (Schroeder's target density weighting), so people
  go where the new year's people live within the old area;
- **partly covered sources**: a source area that lies less than :data:`FULL_COVER`
  inside the targets (at the edge of a selection, or of another gemeente) gives only
  the share of its area that lies inside, so a sliver never takes a whole buurt's
  figure; one that lies (nearly) wholly inside gives all of it, so totals are kept;
- **missing figures**: tobler counts a missing value as 0; here a target whose area
  lies for more than :data:`MAX_MISSING` in source areas without the figure, or that
  the sources cover for less than :data:`MIN_COVER`, gets no estimate; and the latter
  no share of any source either (new land), the other targets get it.

Means and shares move as their numerator (value x denominator) and denominator, each
an extensive variable, and are divided again on the target areas.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from zicht.boundaries.geometry import RD_NEW

FULL_COVER = 0.98  # a source this much inside the targets gives all its figure: the
# rest are slivers where two editions draw the same line differently
MAX_MISSING = 0.05  # more of a target's area than this in sources without the figure:
# no estimate (a missing figure is not a zero)
MIN_COVER = 0.5  # a target less covered by the sources than this gets no estimate


@dataclass(frozen=True)
class Allocation:
    """How the figures of source areas go to target areas.

    ``weights[s, t]`` is the share of source ``s``'s figure that target ``t`` gets
    (a row sums to 1 for a source wholly inside the targets, else to the share of
    its area inside); ``overlap[s, t]`` the area they share in m² (EPSG:28992).
    """

    sources: pd.Index
    targets: pd.Index
    weights: sparse.csr_matrix
    overlap: sparse.csr_matrix
    source_cover: np.ndarray  # share of each source's area inside the targets
    target_cover: np.ndarray  # share of each target's area covered by sources
    density_weighted: np.ndarray  # per source: weighted by the target density

    @property
    def partly_covered(self) -> pd.Index:
        """The sources that lie partly outside the targets (given in part)."""
        touched = self.source_cover > 0
        return self.sources[touched & (self.source_cover < FULL_COVER)]

    @property
    def uncovered(self) -> pd.Index:
        """The targets the sources cover for less than :data:`MIN_COVER`."""
        return self.targets[self.target_cover < MIN_COVER]


def overlap_table(sources: gpd.GeoSeries, targets: gpd.GeoSeries) -> sparse.csr_matrix:
    """The area (m²) each source polygon shares with each target polygon, sources x
    targets, by tobler's overlay (both in EPSG:28992)."""
    from tobler.area_weighted import _area_tables_binning  # tobler imports slowly

    table = _area_tables_binning(
        gpd.GeoDataFrame(geometry=sources.reset_index(drop=True), crs=RD_NEW),
        gpd.GeoDataFrame(geometry=targets.reset_index(drop=True), crs=RD_NEW),
        "auto",
    )
    return sparse.csr_matrix(table, dtype=float)


def allocation(
    sources: gpd.GeoSeries, targets: gpd.GeoSeries, density: pd.Series | None = None
) -> Allocation:
    """The allocation of ``sources`` (indexed by code) to ``targets``: by area, or with
    ``density`` (a count per target code, e.g. the new year's inhabitants) by target
    density. A source falls back to area weights where its pieces hold none of the
    count, or where targets without the count hold more than :data:`MAX_MISSING` of
    it."""
    overlap = overlap_table(sources, targets)
    inside = np.asarray(overlap.sum(axis=1)).ravel()
    source_area = sources.area.to_numpy()
    source_cover = np.divide(inside, source_area, out=np.zeros_like(inside), where=source_area > 0)
    target_area = targets.area.to_numpy()
    covered = np.asarray(overlap.sum(axis=0)).ravel()
    target_cover = np.divide(
        covered, target_area, out=np.zeros_like(covered), where=target_area > 0
    )
    # a target the sources barely cover gets no estimate, and no share: a source's
    # figure goes to the targets that get one (new land had none of it)
    kept = sparse.csr_matrix(overlap @ sparse.diags((target_cover >= MIN_COVER).astype(float)))
    kept_inside = np.asarray(kept.sum(axis=1)).ravel()
    pieces, by_density = _weighted_pieces(kept, kept_inside, target_area, density, targets.index)
    total = np.asarray(pieces.sum(axis=1)).ravel()
    given = np.where(source_cover >= FULL_COVER, 1.0, source_cover)
    scale = np.divide(given, total, out=np.zeros_like(total), where=total > 0)
    return Allocation(
        sources=sources.index,
        targets=targets.index,
        weights=sparse.csr_matrix(sparse.diags(scale) @ pieces),
        overlap=overlap,
        source_cover=np.clip(source_cover, 0.0, 1.0),
        target_cover=np.clip(target_cover, 0.0, 1.0),
        density_weighted=by_density,
    )


def _weighted_pieces(
    overlap: sparse.csr_matrix,
    inside: np.ndarray,
    target_area: np.ndarray,
    density: pd.Series | None,
    targets: pd.Index,
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Each piece's weight within its source: its area, or its area x the target's
    count per m²; and per source whether the density was used."""
    if density is None:
        return overlap, np.zeros(overlap.shape[0], dtype=bool)
    counts = density.reindex(targets).to_numpy(dtype=float)
    unknown = np.isnan(counts)
    per_m2 = np.divide(
        np.nan_to_num(counts), target_area, out=np.zeros_like(target_area), where=target_area > 0
    )
    by_density = sparse.csr_matrix(overlap @ sparse.diags(per_m2))
    held = np.asarray(by_density.sum(axis=1)).ravel()
    unknown_share = np.divide(
        overlap @ unknown.astype(float), inside, out=np.zeros_like(inside), where=inside > 0
    )
    use = (held > 0) & (unknown_share <= MAX_MISSING)
    keep = sparse.diags(use.astype(float))
    fall_back = sparse.diags((~use).astype(float))
    return sparse.csr_matrix(keep @ by_density + fall_back @ overlap), use


def move_counts(allocation: Allocation, values: pd.DataFrame) -> pd.DataFrame:
    """Counts and sums (extensive variables, columns of ``values`` indexed by source
    code) on the target areas. A target gets NaN where its area lies for more than
    :data:`MAX_MISSING` in sources without the figure (or without a row in
    ``values``), or where the sources cover it for less than :data:`MIN_COVER`."""
    frame = values.reindex(allocation.sources).astype(float)
    known = frame.notna().to_numpy()
    moved = allocation.weights.T @ np.nan_to_num(frame.to_numpy())
    overlap_t = allocation.overlap.T
    covered = np.asarray(overlap_t.sum(axis=1)).ravel()[:, None]
    missing = overlap_t @ (~known).astype(float)
    missing_share = np.divide(missing, covered, out=np.ones_like(missing), where=covered > 0)
    withheld = (missing_share > MAX_MISSING) | (allocation.target_cover < MIN_COVER)[:, None]
    return pd.DataFrame(
        np.where(withheld, np.nan, moved), index=allocation.targets, columns=frame.columns
    )


def move_means(
    allocation: Allocation, values: pd.Series, denominators: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """A mean or share (``values``) with its denominator on the target areas: the
    numerator (value x denominator) and the denominator moved as counts, divided
    again. Returns (values, denominators) on the targets."""
    numerator = values * denominators
    both = pd.DataFrame({"numerator": numerator, "denominator": denominators.where(values.notna())})
    moved = move_counts(allocation, both)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = moved["numerator"] / moved["denominator"]
    return value.where(moved["denominator"] > 0).rename(values.name), moved["denominator"]
