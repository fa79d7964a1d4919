"""What every synthetic generator shares: the real drivers per area, the records it
returns, a sampler of points inside the buurt polygons and the planted risk surface.

Nothing here describes real people, addresses or companies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


@dataclass
class Drivers:
    """Real figures per area that drive the generators, aligned with the areas.

    Unknown values (CBS leaves small buurten empty) count as zero: such buurten have
    few inhabitants, so few records.
    """

    inhabitants: np.ndarray
    households: np.ndarray
    woz: np.ndarray  # average WOZ value, x 1,000 euro
    addresses: np.ndarray  # rough number of addresses (address density x land area)

    @classmethod
    def from_columns(
        cls,
        areas: gpd.GeoDataFrame,
        inhabitants: np.ndarray | None = None,
        households: np.ndarray | None = None,
        woz: np.ndarray | None = None,
        address_density: np.ndarray | None = None,
        land_area_ha: np.ndarray | None = None,
    ) -> Drivers:
        n = len(areas)

        def clean(values: np.ndarray | None, default: float) -> np.ndarray:
            if values is None:
                return np.full(n, default, dtype=float)
            arr = np.asarray(values, dtype=float)
            return np.where(np.isfinite(arr) & (arr >= 0), arr, 0.0)

        inhabitants_ = clean(inhabitants, 0.0)
        households_ = clean(households, np.nan) if households is not None else inhabitants_ / 2.1
        woz_ = np.asarray(woz, dtype=float) if woz is not None else np.full(n, np.nan)
        woz_ = np.where(
            np.isfinite(woz_) & (woz_ > 0),
            woz_,
            np.nanmedian(woz_) if np.isfinite(woz_).any() else 300.0,
        )
        if address_density is not None and land_area_ha is not None:
            # Omgevingsadressendichtheid is addresses per km2 around an address; times the
            # land area it is a fair proxy for the number of addresses, businesses included.
            addresses = clean(address_density, 0.0) * clean(land_area_ha, 0.0) / 100.0
            addresses = np.maximum(addresses, households_)
        else:
            addresses = households_ * 1.15
        return cls(inhabitants_, households_, woz_, addresses)


@dataclass
class SyntheticData:
    """Records of one generator, and the truth behind them (for tests and benchmarks)."""

    name: str
    theme: str
    records: pd.DataFrame
    unit: str
    amount: str | None
    planted: list[str] = field(default_factory=list)  # codes of planted cluster centres
    risk: pd.Series | None = None  # the risk multiplier per area that was used
    unit_type: str = "person"  # what a unit is: person, address or company
    sbi: str | None = None  # the column with each record's SBI code, if any
    group: str | None = None  # the column with each unit's enterprise group, if any


class PointSampler:
    """Uniform random points inside polygons, from an exact triangulation."""

    def __init__(self, geoms: np.ndarray):
        triangles = shapely.constrained_delaunay_triangles(geoms)
        # every polygon's triangles in one call, each with its polygon's index
        flat, self.owner = shapely.get_parts(triangles, return_index=True)
        self.corners = shapely.get_coordinates(flat).reshape(-1, 4, 2)[:, :3, :]
        self.area = shapely.area(flat)
        # first triangle of each polygon and the cumulative area within it, for sampling
        self.start = np.searchsorted(self.owner, np.arange(len(geoms)))
        self.cumulative = np.cumsum(self.area)

    def points(
        self, counts: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``counts[i]`` points in polygon i: returns x, y and the polygon index."""
        counts = np.asarray(counts, dtype=np.int64)
        owner = np.repeat(np.arange(len(counts)), counts)
        first = self.start[owner]
        last = np.append(self.start[1:], len(self.area))[owner]
        base = np.where(first > 0, self.cumulative[np.maximum(first - 1, 0)], 0.0)
        total = self.cumulative[last - 1] - base
        target = base + rng.random(len(owner)) * total
        tri = np.clip(np.searchsorted(self.cumulative, target, side="right"), first, last - 1)
        a, b, c = (self.corners[tri, k, :] for k in range(3))
        u, v = rng.random(len(owner)), rng.random(len(owner))
        flip = u + v > 1
        u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
        xy = a + u[:, None] * (b - a) + v[:, None] * (c - a)
        return xy[:, 0], xy[:, 1], owner


class Context:
    """Areas, drivers, a point sampler and the planted risk surface of each theme."""

    def __init__(
        self,
        areas: gpd.GeoDataFrame,
        drivers: Drivers,
        seed: int,
        scale: float = 1.0,
        years: int = 1,
    ):
        self.areas = areas
        self.years = years
        self.codes = areas.index.to_numpy()
        self.drivers = drivers
        self.seed = seed
        self.scale = scale
        self.sampler = PointSampler(areas.geometry.values)
        centroids = shapely.centroid(areas.geometry.values)
        self.cx, self.cy = shapely.get_x(centroids), shapely.get_y(centroids)
        self._risk: dict[str, tuple[np.ndarray, list[str]]] = {}

    def rng(self, name: str) -> np.random.Generator:
        """An independent stream per generator, so adding one leaves the others unchanged."""
        key = [self.seed] + [ord(ch) for ch in name]
        return np.random.default_rng(key)

    def risk(self, theme: str) -> tuple[np.ndarray, list[str]]:
        """Risk multiplier per area (1 = baseline, up to about 5 at a cluster centre)."""
        if theme not in self._risk:
            rng = self.rng("clusters-" + theme)
            n = len(self.codes)
            n_clusters = int(np.clip(round(n / 150), 2, 60))
            weight = self.drivers.inhabitants + self.drivers.addresses
            weight = weight / weight.sum() if weight.sum() > 0 else np.full(n, 1 / n)
            centres = rng.choice(n, size=min(n_clusters, n), replace=False, p=weight)
            # cluster radius: about two typical buurt widths
            radius = 2.0 * np.sqrt(np.median(shapely.area(self.areas.geometry.values)))
            surface = np.ones(n)
            for c in centres:
                d2 = (self.cx - self.cx[c]) ** 2 + (self.cy - self.cy[c]) ** 2
                surface += rng.uniform(2.5, 4.0) * np.exp(-d2 / (2 * radius**2))
            self._risk[theme] = (surface, [str(self.codes[c]) for c in centres])
        return self._risk[theme]

    def counts(self, expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Poisson counts for ``expected`` records a year, over the whole period."""
        return rng.poisson(np.maximum(expected, 0) * self.scale * self.years)

    def dates(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Dates spread over the period, which ends on 31 December 2024."""
        first = np.datetime64(f"{2025 - self.years}-01-01")
        days = int((np.datetime64("2025-01-01") - first).astype(int))
        return first + rng.integers(0, days, n).astype("timedelta64[D]")


def numbered_ids(prefix: str, numbers: np.ndarray) -> np.ndarray:
    """Identifiers ``prefix`` + the number in 8 digits (``K00000001``)."""
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), 8))


def pool_draw(rng: np.random.Generator, n: int, pool_size: int, concentration: float) -> np.ndarray:
    """``n`` draws from a pool where a few members are drawn very often (Zipf-like)."""
    pool_size = max(pool_size, 1)
    weights = 1.0 / np.arange(1, pool_size + 1) ** concentration
    return rng.choice(pool_size, size=n, p=weights / weights.sum())
