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

# SBI 2008 codes (Standaard Bedrijfsindeling) of synthetic companies, with a Dutch
# label and a weight per kind of area (city centre, residential, industrial estate,
# village): the sector mix differs between them. The first table are sectors the RIEC
# and the Zicht op Ondermijning dashboard treat as risk-prone; all lie in the demo's
# risk branches (``[[branches.risk]]``), none of the others does.
AREA_KINDS = ("centrum", "woonwijk", "bedrijventerrein", "dorp")
RISK_SBI = {
    "4511": ("Handel in personenauto's", (0.6, 1.0, 3.0, 1.5)),
    "4778": ("Winkels in overige artikelen (belwinkels, souvenirs)", (2.0, 1.0, 0.5, 0.5)),
    "4932": ("Taxivervoer", (2.0, 2.5, 1.0, 0.5)),
    "5510": ("Hotels", (2.0, 0.3, 0.2, 0.8)),
    "5520": ("Vakantieverblijven", (0.3, 0.3, 0.2, 1.5)),
    "5610": ("Restaurants en snackbars", (4.0, 1.5, 0.5, 1.0)),
    "5630": ("Cafes en shishalounges", (3.0, 0.8, 0.2, 0.6)),
    "6420": ("Financiele holdings", (2.0, 2.0, 1.0, 1.5)),
    "6619": ("Overige financiele dienstverlening (geldwisselkantoren)", (0.5, 0.5, 0.3, 0.3)),
    "6622": ("Assurantietussenpersonen", (0.8, 1.0, 0.5, 1.0)),
    "6810": ("Handel in eigen onroerend goed", (1.0, 1.0, 0.5, 0.8)),
    "6820": ("Verhuur van onroerend goed", (2.0, 2.0, 1.0, 1.5)),
    "6831": ("Bemiddeling bij handel en verhuur van onroerend goed", (1.0, 0.8, 0.3, 0.5)),
    "7711": ("Verhuur van personenauto's", (0.3, 0.3, 1.0, 0.3)),
    "8211": ("Combinatiekantoren (postadressen)", (1.5, 0.3, 0.5, 0.1)),
    "9200": ("Loterijen en kansspelen", (0.3, 0.1, 0.1, 0.05)),
    "9602": ("Kappers en schoonheidsverzorging (nagelstudio's)", (2.5, 3.0, 0.5, 1.5)),
    "9604": ("Sauna's en massagesalons", (0.8, 0.5, 0.2, 0.2)),
}
OTHER_SBI = {
    "0111": ("Teelt van granen en peulvruchten", (0.05, 0.2, 0.5, 6.0)),
    "0150": ("Gemengd landbouwbedrijf", (0.0, 0.1, 0.2, 3.0)),
    "1071": ("Broodbakkerijen", (0.5, 0.5, 1.0, 1.0)),
    "2562": ("Algemene metaalbewerking", (0.1, 0.3, 4.0, 1.0)),
    "3312": ("Reparatie van machines", (0.1, 0.2, 2.0, 0.5)),
    "4120": ("Bouw van gebouwen", (1.0, 3.0, 4.0, 4.0)),
    "4221": ("Grond-, water- en wegenbouw", (0.2, 0.5, 2.0, 1.0)),
    "4321": ("Elektrotechnische bouwinstallatie", (1.0, 2.5, 3.0, 3.0)),
    "4332": ("Timmerwerk", (0.8, 2.0, 2.0, 3.0)),
    "4334": ("Schilders en glaszetters", (0.8, 2.5, 1.5, 2.5)),
    "4520": ("Autoreparatie", (0.3, 1.0, 3.0, 1.5)),
    "4619": ("Handelsbemiddeling", (1.0, 1.5, 2.0, 1.0)),
    "4690": ("Groothandel in een algemeen assortiment", (0.8, 1.0, 4.0, 1.0)),
    "4711": ("Supermarkten", (0.5, 0.5, 0.3, 0.4)),
    "4791": ("Detailhandel via internet", (2.0, 3.0, 1.5, 2.0)),
    "4941": ("Goederenvervoer over de weg", (0.3, 1.0, 4.0, 2.0)),
    "5229": ("Expediteurs en cargadoors", (0.2, 0.3, 2.0, 0.3)),
    "5320": ("Koeriers", (1.2, 1.5, 2.0, 1.0)),
    "6201": ("Ontwikkelen van software", (4.0, 2.0, 1.0, 1.0)),
    "6920": ("Accountancy en administratie", (2.0, 2.0, 1.0, 1.0)),
    "7022": ("Organisatie-adviesbureaus", (5.0, 3.0, 1.5, 2.0)),
    "7111": ("Architecten", (2.0, 1.0, 0.5, 0.5)),
    "7311": ("Reclamebureaus", (3.0, 1.5, 0.5, 0.5)),
    "7410": ("Industrieel ontwerp en vormgeving", (3.0, 1.5, 0.5, 0.5)),
    "7712": ("Verhuur van vrachtwagens", (0.1, 0.1, 1.0, 0.2)),
    "8121": ("Schoonmaakbedrijven", (1.0, 1.5, 1.5, 1.0)),
    "8130": ("Hoveniers", (0.3, 1.5, 1.0, 3.0)),
    "8299": ("Overige zakelijke dienstverlening", (1.0, 1.0, 1.0, 0.5)),
    "8559": ("Overig onderwijs", (2.0, 2.0, 0.5, 1.0)),
    "8690": ("Paramedische praktijken", (1.5, 2.0, 0.3, 1.0)),
    "8810": ("Maatschappelijke dienstverlening", (1.0, 2.0, 0.3, 1.0)),
    "9001": ("Beoefening van podiumkunst", (4.0, 1.5, 0.2, 0.5)),
    "9003": ("Schrijven en overige scheppende kunst", (3.0, 1.5, 0.2, 1.0)),
    "9313": ("Fitnesscentra", (1.0, 0.8, 0.5, 0.3)),
    "9609": ("Overige persoonlijke dienstverlening", (0.8, 1.0, 0.3, 0.5)),
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
    sbi: str | None = None  # the column with each record's SBI code, if any
    group: str | None = None  # the column with each unit's enterprise group, if any


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
    """KvK registrations of establishments started in the period (branches): SBI code
    (the mix depends on the kind of area), enterprise group, yearly turnover with a
    heavy tail, short-lived companies, and addresses that host many registrations.

    One planted sector cluster: many short-lived beauty salons at three addresses in
    the buurt at the centre of the first risk cluster (its code is ``planted[0]``)."""
    rng = ctx.rng("kvk")
    risk, planted = ctx.risk("branches")
    counts = ctx.counts(ctx.drivers.addresses * 0.01 * np.sqrt(risk), rng)
    x, y, area = ctx.sampler.points(counts, rng)
    n = len(area)
    r = risk[area]
    risky = rng.random(n) < np.clip(0.15 * r, 0, 0.7)
    # the sector is drawn below from its own stream; these draws keep the fields that
    # follow as they were before sectors depended on the kind of area
    rng.choice(9, n), rng.choice(10, n)
    start = ctx.dates(n, rng)
    p_short = np.clip(np.where(risky, 0.09, 0.04) * r, 0, 0.8)
    short = rng.random(n) < p_short
    end = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    end[short] = start[short] + rng.integers(30, 365, int(short.sum())).astype("timedelta64[D]")
    address = _letterbox_addresses(rng, area, r, x, y)
    number = _ids("", rng.permutation(n) + 10_000_000)
    sectors = ctx.rng("kvk-sectoren")
    records = pd.DataFrame(
        {
            "kvk_nummer": number,
            "sbi": _sector_codes(ctx, area, risky, sectors),
            "risicobranche": risky,
            "adres_id": address.astype(str),
            "x": x,
            "y": y,
            "startdatum": start,
            "einddatum": end,
            "binnen_1_jaar_opgeheven": short,
        }
    )
    records = pd.concat([records, _beauty_cluster(ctx, planted[0], sectors)], ignore_index=True)
    records["concern_id"] = _enterprise_groups(records["kvk_nummer"].to_numpy(), sectors)
    records["omzet"] = _turnover(records["sbi"].to_numpy(), records["concern_id"], sectors)
    records["startjaar"] = pd.DatetimeIndex(records["startdatum"]).year
    per_address = records["adres_id"].map(records["adres_id"].value_counts()).to_numpy()
    records["inschrijvingen_op_adres"] = per_address
    records["veel_inschrijvingen_op_adres"] = per_address >= 10
    described = {code: label for code, (label, _) in {**RISK_SBI, **OTHER_SBI}.items()}
    records.insert(2, "sbi_omschrijving", records["sbi"].map(described))
    return SyntheticData(
        "kvk_vestigingen",
        "branches",
        records,
        "kvk_nummer",
        "omzet",
        planted,
        pd.Series(risk, index=ctx.codes),
        unit_type="company",
        sbi="sbi",
        group="concern_id",
    )


def _letterbox_addresses(
    rng: np.random.Generator, area: np.ndarray, r: np.ndarray, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """An address per company; in risky buurten many share one (a letterbox address,
    placed where the first of them is: ``x`` and ``y`` are changed in place)."""
    address = _ids("A", np.arange(1, len(area) + 1)).astype(object)
    hub = rng.random(len(area)) < np.clip(0.03 * (r - 1), 0, 0.5)
    hub_areas = area[hub]
    address[hub] = np.array([f"H{a:06d}" for a in hub_areas], dtype=object)
    first_of_area: dict[int, int] = {}
    for i in np.flatnonzero(hub):
        first_of_area.setdefault(int(area[i]), int(i))
    lead = np.array([first_of_area[a] for a in hub_areas], dtype=np.int64)
    x[hub], y[hub] = x[lead], y[lead]
    return address


def area_kinds(ctx: Context) -> np.ndarray:
    """Each area's kind (index into :data:`AREA_KINDS`): a city centre (40 or more
    addresses per hectare), an industrial estate (fewer than a third of its addresses
    are households), a village (under 5 addresses per hectare) or residential."""
    d = ctx.drivers
    hectares = np.maximum(shapely.area(ctx.areas.geometry.values) / 10_000, 0.01)
    density = d.addresses / hectares
    kind = np.full(len(density), 1)
    kind[density < 5] = 3
    kind[d.households < d.addresses / 3] = 2
    kind[density >= 40] = 0
    return kind


def _sector_codes(
    ctx: Context, area: np.ndarray, risky: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A 4-digit SBI code per company: risk-prone or other, by the kind of its area."""
    kind = area_kinds(ctx)[area]
    out = np.empty(len(area), dtype=object)
    for table, mask in ((RISK_SBI, risky), (OTHER_SBI, ~risky)):
        codes = np.array(list(table))
        weights = np.array([w for _, w in table.values()])  # codes x kinds
        for k in range(len(AREA_KINDS)):
            rows = np.flatnonzero(mask & (kind == k))
            p = weights[:, k] / weights[:, k].sum()
            out[rows] = rng.choice(codes, size=len(rows), p=p)
    return out


def _beauty_cluster(ctx: Context, centre: str, rng: np.random.Generator) -> pd.DataFrame:
    """The planted cluster: 30 beauty salons registered at three addresses in one
    buurt, most of them closed again within a year."""
    n = 30
    position = int(np.flatnonzero(ctx.codes == centre)[0])
    x, y, _ = ctx.sampler.points(np.bincount([position] * 3, minlength=len(ctx.codes)), rng)
    which = rng.integers(0, 3, n)
    start = ctx.dates(n, rng)
    short = rng.random(n) < 0.8
    end = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    end[short] = start[short] + rng.integers(30, 365, int(short.sum())).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "kvk_nummer": _ids("", np.arange(n) + 90_000_000),
            "sbi": "9602",
            "risicobranche": True,
            "adres_id": np.array([f"C{position:06d}{k}" for k in range(3)])[which],
            "x": x[which],
            "y": y[which],
            "startdatum": start,
            "einddatum": end,
            "binnen_1_jaar_opgeheven": short,
        }
    )


def _enterprise_groups(numbers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The enterprise group of every establishment: most are on their own (the group is
    their own KvK number), one in eight belongs to a chain of related companies, a few
    of which are large."""
    groups = numbers.astype(object).copy()
    member = rng.random(len(numbers)) < 0.125
    pool = max(int(member.sum()) // 4, 1)
    groups[member] = _ids("G", _pool_draw(rng, int(member.sum()), pool, 1.1) + 1)
    return groups


def _turnover(sbi: np.ndarray, groups: pd.Series, rng: np.random.Generator) -> np.ndarray:
    """Yearly turnover in euros: lognormal around a sector median, members of a chain
    larger, and a heavy (Pareto) tail in which one company outweighs a whole area."""
    cash = np.isin(sbi, ["5610", "5630", "9602", "9604", "4778", "4932", "9200"])
    median = np.where(cash, 120_000.0, 250_000.0)
    chain = groups.duplicated(keep=False).to_numpy()
    amount = rng.lognormal(np.log(median), 1.1) * np.where(chain, 3.0, 1.0)
    tail = rng.random(len(sbi)) < 0.02
    amount[tail] *= 10 + rng.pareto(1.2, int(tail.sum())) * 20
    return amount.round(-3)


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
