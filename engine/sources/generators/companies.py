"""Synthetic Chamber of Commerce (KvK) registrations for the branches theme: SBI codes
by the kind of area, enterprise groups, turnover with a heavy tail, short-lived
companies, letterbox addresses and one planted sector cluster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from zicht.engine.sources.generators.context import Context, SyntheticData, numbered_ids, pool_draw

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
    "6420": ("Financiële holdings", (2.0, 2.0, 1.0, 1.5)),
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
    number = numbered_ids("", rng.permutation(n) + 10_000_000)
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
    address = numbered_ids("A", np.arange(1, len(area) + 1)).astype(object)
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
            "kvk_nummer": numbered_ids("", np.arange(n) + 90_000_000),
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
    groups[member] = numbered_ids("G", pool_draw(rng, int(member.sum()), pool, 1.1) + 1)
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
