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

This module is the registry of generators (:data:`GENERATORS`) and :func:`generate`;
the generators are in :mod:`zicht.engine.sources.generators`: ``context`` (what they
share), ``themes`` (people and addresses) and ``companies`` (KvK registrations).

Examples
--------
>>> import numpy as np
>>> from zicht.boundaries import read_boundaries
>>> from zicht.engine.data import DEMO_BOUNDARIES
>>> areas = read_boundaries(DEMO_BOUNDARIES).areas.iloc[:50]
>>> drivers = Drivers.from_columns(areas, inhabitants=np.full(50, 1000.0))
>>> data = generate("hennepkwekerijen", areas, drivers, seed=1)
>>> data.records.columns.tolist()
['adres_id', 'x', 'y', 'datum']
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd

from zicht.engine.sources.generators.companies import company_registrations
from zicht.engine.sources.generators.context import Context, Drivers, SyntheticData
from zicht.engine.sources.generators.themes import (
    cannabis_sites,
    drug_convictions,
    drug_incidents,
    fiu_reports,
    kadaster_sales,
)

__all__ = ["GENERATORS", "Context", "Drivers", "SyntheticData", "generate"]

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
