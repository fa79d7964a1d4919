"""Seeded generator of realistic SYNTHETIC unit-level records for the four themes.

FIU reports, convictions, Kadaster sales, police drug registrations and Chamber of
Commerce (KvK) registrations are confidential. To show and test the engine on
realistic microdata, this module places synthetic records inside real buurt polygons,
driven by real kerncijfers: sales where the housing stock is, companies where the
address density is high, reports where people live. Each theme has a few planted
risk clusters (buurten near a cluster centre get more risky records), so that
hotspot analysis and risk models have something true to find.

Nothing produced here describes real people, addresses or companies; every figure
derived from it is marked synthetic in the output.

Rates are rough national orders of magnitude (about 25 house sales per 1,000
households a year, 7 suspicious transaction reports per 1,000 inhabitants, 0.15
dismantled cannabis sites per 1,000 inhabitants); ``scale`` multiplies them all, and
``years`` sets the period (ending 2024) the records cover. KvK registrations are
establishments started in the period.

Examples
--------
>>> import numpy as np
>>> from boundaries import read_boundaries
>>> from engine.data import DEMO_BOUNDARIES
>>> areas = read_boundaries(DEMO_BOUNDARIES).areas.iloc[:50]
>>> drivers = Drivers.from_columns(areas, inhabitants=np.full(50, 1000.0))
>>> data = generate("hennepkwekerijen", areas, drivers, seed=1)
>>> data.records.columns.tolist()
['adres_id', 'x', 'y', 'datum']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

# SBI 2008 codes (Standaard Bedrijfsindeling) with a Dutch label; the first group are
# the sectors the RIEC and the Zicht op Ondermijning dashboard treat as risk-prone.
RISK_SBI = {
    "4511": "Handel in personenauto's",
    "4520": "Autoreparatie en -wasstraten",
    "7711": "Verhuur van personenauto's",
    "5610": "Restaurants en snackbars",
    "5630": "Cafes en shishalounges",
    "9602": "Kappers en schoonheidsverzorging (nagelstudio's)",
    "9604": "Sauna's en massagesalons",
    "4778": "Belwinkels en overige winkels (contant)",
    "4910": "Koeriers en taxibedrijven",
}
OTHER_SBI = {
    "6201": "Ontwikkelen van software",
    "6920": "Accountancy en administratie",
    "4120": "Bouw van gebouwen",
    "8622": "Medische specialistische praktijken",
    "7022": "Organisatie-adviesbureaus",
    "4791": "Detailhandel via internet",
    "8559": "Overig onderwijs",
    "9001": "Beoefening van podiumkunst",
    "4321": "Elektrotechnische bouwinstallatie",
    "8690": "Paramedische praktijken",
}
REPORTERS = np.array(
    [
        "Bank A",
        "Bank B",
        "Bank C",
        "Betaaldienstverlener",
        "Geldtransactiekantoor",
        "Notaris",
        "Autohandelaar",
        "Casino",
        "Overige",
    ]
)
REPORTER_SHARE = np.array([0.38, 0.22, 0.10, 0.12, 0.07, 0.03, 0.03, 0.02, 0.03])


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


class _Sampler:
    """Uniform random points inside polygons, from an exact triangulation."""

    def __init__(self, geoms: np.ndarray):
        triangles = shapely.constrained_delaunay_triangles(geoms)
        parts = [shapely.get_parts(t) for t in triangles]
        self.owner = np.repeat(np.arange(len(geoms)), [len(p) for p in parts])
        flat = np.concatenate(parts) if parts else np.empty(0, dtype=object)
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
        self.sampler = _Sampler(areas.geometry.values)
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


def _ids(prefix: str, numbers: np.ndarray) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), 8))


def _pool_draw(
    rng: np.random.Generator, n: int, pool_size: int, concentration: float
) -> np.ndarray:
    """``n`` draws from a pool where a few members are drawn very often (Zipf-like)."""
    pool_size = max(pool_size, 1)
    weights = 1.0 / np.arange(1, pool_size + 1) ** concentration
    return rng.choice(pool_size, size=n, p=weights / weights.sum())


def kadaster_sales(ctx: Context) -> SyntheticData:
    """Dwelling sales in 2024 (vastgoed): buyer type, price against WOZ, quick resales."""
    rng = ctx.rng("kadaster")
    risk, planted = ctx.risk("vastgoed")
    n_per_area = ctx.counts(ctx.drivers.households * 0.025, rng)
    x, y, area = ctx.sampler.points(n_per_area, rng)
    n = len(area)
    r = risk[area]
    p_company = np.clip(0.05 * r, 0, 0.5)
    p_foundation = np.clip(0.012 * r, 0, 0.15)
    u = rng.random(n)
    buyer_type = np.where(
        u < p_company, "bedrijf", np.where(u < p_company + p_foundation, "stichting", "particulier")
    )
    # Companies come from a small pool in which a few buy many dwellings.
    legal = buyer_type != "particulier"
    buyer = _ids("P", rng.permutation(n) + 1).astype(object)
    company_draw = _pool_draw(rng, int(legal.sum()), max(int(legal.sum() // 3), 1), 1.1)
    buyer[legal] = _ids("R", company_draw + 1)
    woz = ctx.drivers.woz[area] * 1000 * rng.lognormal(0.0, 0.25, n)
    price = woz * rng.lognormal(0.08, 0.10, n)
    odd = rng.random(n) < np.clip(0.02 * r, 0, 0.3)
    price[odd] *= rng.choice([0.55, 1.7], size=int(odd.sum()))
    records = pd.DataFrame(
        {
            "transactie_id": _ids("K", np.arange(1, n + 1)),
            "koper_id": buyer.astype(str),
            "kopertype": buyer_type,
            "x": x,
            "y": y,
            "datum": ctx.dates(n, rng),
            "woz_waarde": woz.round(-3),
            "koopsom": price.round(-3),
            "prijs_wijkt_af_van_woz": np.abs(price / woz - 1) > 0.3,
            "doorverkocht_binnen_1_jaar": rng.random(n) < np.clip(0.015 * r, 0, 0.4),
        }
    )
    return SyntheticData(
        "kadaster_verkopen",
        "vastgoed",
        records,
        "koper_id",
        "koopsom",
        planted,
        pd.Series(risk, index=ctx.codes),
    )


def drug_incidents(ctx: Context) -> SyntheticData:
    """Police registrations of drug offences (drugs): suspects recur, hubs in clusters."""
    rng = ctx.rng("drugsincidenten")
    risk, planted = ctx.risk("drugs")
    expected = (ctx.drivers.inhabitants * 0.0012 + ctx.drivers.addresses * 0.0004) * risk**1.3
    x, y, area = ctx.sampler.points(ctx.counts(expected, rng), rng)
    n = len(area)
    suspects = _pool_draw(rng, n, max(int(n * 0.7), 1), 0.6)
    records = pd.DataFrame(
        {
            "incident_id": _ids("D", np.arange(1, n + 1)),
            "verdachte_id": _ids("V", suspects + 1),
            "x": x,
            "y": y,
            "datum": ctx.dates(n, rng),
            "soort": rng.choice(["handel", "bezit", "productie"], size=n, p=[0.45, 0.45, 0.10]),
        }
    )
    return SyntheticData(
        "drugsincidenten",
        "drugs",
        records,
        "verdachte_id",
        None,
        planted,
        pd.Series(risk, index=ctx.codes),
    )


def cannabis_sites(ctx: Context) -> SyntheticData:
    """Dismantled cannabis plantations (drugs): rare, one address each."""
    rng = ctx.rng("hennep")
    risk, planted = ctx.risk("drugs")
    x, y, area = ctx.sampler.points(ctx.counts(ctx.drivers.households * 0.0003 * risk, rng), rng)
    n = len(area)
    records = pd.DataFrame(
        {"adres_id": _ids("A", rng.permutation(n) + 1), "x": x, "y": y, "datum": ctx.dates(n, rng)}
    )
    return SyntheticData(
        "hennepkwekerijen",
        "drugs",
        records,
        "adres_id",
        None,
        planted,
        pd.Series(risk, index=ctx.codes),
        unit_type="address",
    )


def drug_convictions(ctx: Context) -> SyntheticData:
    """Persons convicted for drug offences, by buurt of residence (a code, no point)."""
    rng = ctx.rng("veroordelingen")
    risk, planted = ctx.risk("drugs")
    counts = ctx.counts(ctx.drivers.inhabitants * 0.0006 * risk, rng)
    area = np.repeat(np.arange(len(counts)), counts)
    n = len(area)
    records = pd.DataFrame(
        {
            "vonnis_id": _ids("O", np.arange(1, n + 1)),
            "persoon_id": _ids("V", rng.permutation(n) + 1),
            "buurtcode": ctx.codes[area].astype(str),
            "datum": ctx.dates(n, rng),
        }
    )
    return SyntheticData(
        "drugsveroordelingen",
        "drugs",
        records,
        "persoon_id",
        None,
        planted,
        pd.Series(risk, index=ctx.codes),
    )


def fiu_reports(ctx: Context) -> SyntheticData:
    """Suspicious transaction reports (transacties): heavy-tailed amounts, repeat
    subjects, a few dominant reporting institutions, and subjects that dominate a buurt."""
    rng = ctx.rng("fiu")
    risk, planted = ctx.risk("transacties")
    expected = (ctx.drivers.inhabitants * 0.006 + ctx.drivers.addresses * 0.002) * risk
    counts = ctx.counts(expected, rng)
    x, y, area = ctx.sampler.points(counts, rng)
    n = len(area)
    # Subjects: per buurt a pool in which some subjects are reported again and again.
    order = np.argsort(area, kind="stable")
    local = np.empty(n, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    for i in np.flatnonzero(counts):
        k = counts[i]
        local[order[starts[i] : starts[i] + k]] = _pool_draw(rng, k, max(k // 2, 1), 0.9)
    subject_number = starts[area] + local + 1
    subject_type = np.where(rng.random(n) < 0.3 + 0.05 * risk[area], "rechtspersoon", "persoon")
    amount = rng.lognormal(np.log(8_000), 1.3, n)
    tail = rng.random(n) < 0.01 * risk[area]
    amount[tail] *= np.minimum(rng.pareto(1.5, int(tail.sum())) * 10 + 5, 200)
    records = pd.DataFrame(
        {
            "melding_id": _ids("F", np.arange(1, n + 1)),
            "subject_id": _ids("S", subject_number),
            "subjecttype": subject_type,
            "melder": rng.choice(REPORTERS, size=n, p=REPORTER_SHARE),
            "x": x,
            "y": y,
            "datum": ctx.dates(n, rng),
            "bedrag": amount.round(0),
        }
    )
    # A few records could not be geocoded (a foreign address or a P.O. box) and lie
    # outside every buurt; real exports have these, and they must be reported, not lost.
    lost = rng.random(n) < 0.002
    records.loc[lost, ["x", "y"]] = np.nan
    return SyntheticData(
        "fiu_meldingen",
        "transacties",
        records,
        "subject_id",
        "bedrag",
        planted,
        pd.Series(risk, index=ctx.codes),
    )


def company_registrations(ctx: Context) -> SyntheticData:
    """KvK registrations of establishments started in the period (branches): SBI sector,
    short-lived companies, and addresses that host many registrations."""
    rng = ctx.rng("kvk")
    risk, planted = ctx.risk("branches")
    counts = ctx.counts(ctx.drivers.addresses * 0.01 * np.sqrt(risk), rng)
    x, y, area = ctx.sampler.points(counts, rng)
    n = len(area)
    r = risk[area]
    risky = rng.random(n) < np.clip(0.15 * r, 0, 0.7)
    risk_codes, other_codes = np.array(list(RISK_SBI)), np.array(list(OTHER_SBI))
    sbi = np.where(risky, rng.choice(risk_codes, n), rng.choice(other_codes, n))
    start = ctx.dates(n, rng)
    p_short = np.clip(np.where(risky, 0.09, 0.04) * r, 0, 0.8)
    short = rng.random(n) < p_short
    end = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    end[short] = start[short] + rng.integers(30, 365, int(short.sum())).astype("timedelta64[D]")
    address = _ids("A", np.arange(1, n + 1)).astype(object)
    # Letterbox addresses: in risky buurten, many companies registered at one address.
    hub = rng.random(n) < np.clip(0.03 * (r - 1), 0, 0.5)
    hub_areas = area[hub]
    hub_address = np.array([f"H{a:06d}" for a in hub_areas], dtype=object)
    address[hub] = hub_address
    first_of_area: dict[int, int] = {}
    for i in np.flatnonzero(hub):
        first_of_area.setdefault(int(area[i]), int(i))
    lead = np.array([first_of_area[a] for a in hub_areas], dtype=np.int64)
    x[hub], y[hub] = x[lead], y[lead]
    per_address = pd.Series(address).map(pd.Series(address).value_counts()).to_numpy()
    records = pd.DataFrame(
        {
            "kvk_nummer": _ids("", rng.permutation(n) + 10_000_000),
            "sbi": sbi,
            "sbi_omschrijving": pd.Series(sbi).map({**RISK_SBI, **OTHER_SBI}).to_numpy(),
            "risicobranche": risky,
            "adres_id": address.astype(str),
            "inschrijvingen_op_adres": per_address,
            "veel_inschrijvingen_op_adres": per_address >= 10,
            "x": x,
            "y": y,
            "startdatum": start,
            "einddatum": end,
            "binnen_1_jaar_opgeheven": short,
        }
    )
    return SyntheticData(
        "kvk_vestigingen",
        "branches",
        records,
        "kvk_nummer",
        None,
        planted,
        pd.Series(risk, index=ctx.codes),
        unit_type="company",
    )


GENERATORS: dict[str, Callable[[Context], SyntheticData]] = {
    "kadaster_verkopen": kadaster_sales,
    "drugsincidenten": drug_incidents,
    "hennepkwekerijen": cannabis_sites,
    "drugsveroordelingen": drug_convictions,
    "fiu_meldingen": fiu_reports,
    "kvk_vestigingen": company_registrations,
}


def generate(
    name: str,
    areas: gpd.GeoDataFrame,
    drivers: Drivers,
    seed: int,
    scale: float = 1.0,
    context: Context | None = None,
    years: int = 1,
) -> SyntheticData:
    """Generate the records of one generator (see :data:`GENERATORS`) inside ``areas``.

    ``areas`` is indexed by buurt code in RD New. The same ``seed`` always gives the same
    records; pass a shared ``context`` to generate several sources without rebuilding
    the triangulation.
    """
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; generators are {list(GENERATORS)}")
    ctx = context or Context(areas, drivers, seed, scale, years)
    return GENERATORS[name](ctx)
