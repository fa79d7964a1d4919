"""The own-area layers: a set of own areas (unions of buurten) as published.

Their figures come from the protected master (:class:`~zicht.disclosure.Protection`),
where every own area's cell is a row of the linked table, the sum of its buurten; a
layer lists each own area's buurten (``buurten``), so that an outsider knows what the
disclosure control assumed it knows, and ``zicht audit`` can check it. Only own areas
wholly inside what a run publishes are published: a partial sum is never put under an
own area's code and name.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from zicht.boundaries import Boundaries
from zicht.boundaries.codes import LAYER_NAMES
from zicht.boundaries.own_areas import OwnAreas, own_areas
from zicht.disclosure import Protection
from zicht.disclosure.linked import OWN_LEVEL
from zicht.engine.config import Config
from zicht.engine.outputs.fields import typed_fields
from zicht.errors import BoundaryError

log = logging.getLogger("zicht")

OWN_LAYER_PREFIX = "eigen_"  # the layer of the set ``id`` is ``eigen_<id>``
OWN_NIVEAU = "eigen"  # the ``niveau`` of an own area
OWN_COLUMNS = ["code", "naam", "niveau", "indeling", "soort", "buurten"]


def own_layer_name(set_id: str) -> str:
    """The GeoPackage layer of a set of own areas."""
    return OWN_LAYER_PREFIX + set_id


def read_own_layers(gpkg: Path, names: set[str]) -> dict[str, pd.DataFrame]:
    """The own-area layers among the layers ``names`` of a published GeoPackage, per
    level (``eigen:<id>``), without geometry: what ``zicht audit`` reads."""
    return {
        OWN_LEVEL + name.removeprefix(OWN_LAYER_PREFIX): pyogrio.read_dataframe(
            gpkg, layer=name, read_geometry=False
        )
        for name in sorted(names)
        if name.startswith(OWN_LAYER_PREFIX)
    }


def own_area_layers(
    own_areas: Sequence[OwnAreas],
    protection: Protection,
    buurten: gpd.GeoDataFrame,
    published_buurten: pd.Index,
    kinds: dict[str, str],
    language: str = "nl",
) -> dict[str, gpd.GeoDataFrame]:
    """One layer per set of own areas, by layer name: the own areas wholly made of
    ``published_buurten``, their polygons (``buurten`` dissolved, EPSG:28992) and
    every indicator as ``protection`` publishes it (NULL where withheld);
    ``kinds``: indicator id -> kind, in config order; ``indeling`` is the set's
    label in ``language``."""
    c = protection.cells
    layers = {}
    for own in own_areas:
        kept, partial = own.within(published_buurten)
        if partial:
            log.info(
                "own areas %r: %d only partly selected, not published: %s",
                own.id,
                len(partial),
                ", ".join(partial[:20]),
            )
        mine = c[c["level"] == OWN_LEVEL + own.id]
        published = mine.pivot(index="code", columns="indicator", values="published")
        frame = pd.DataFrame(
            {
                "code": kept.codes.to_numpy(dtype=object),
                "naam": kept.names.to_numpy(dtype=object),
                "niveau": OWN_NIVEAU,
                "indeling": own.label(language),
                "soort": kept.kinds.to_numpy(dtype=object),
                "buurten": kept.members().to_numpy(dtype=object),
            }
        )
        order = [i for i in kinds if i in published.columns]
        values = published.reindex(index=kept.codes, columns=order).to_numpy(dtype=float)
        frame[order] = pd.DataFrame(values, columns=order)
        geometry = kept.geometry(buurten).to_numpy()
        layer = gpd.GeoDataFrame(frame, geometry=geometry, crs=buurten.crs)
        layers[own_layer_name(own.id)] = typed_fields(layer, kinds)
    return layers


def read_own_areas(config: Config, master: Boundaries) -> tuple[OwnAreas, ...]:
    """The sets of own areas (``[[own_areas]]``) over the master's buurten."""
    if config.own_areas and master.finest != "buurt":
        raise BoundaryError(
            f"{config.boundaries.path}: [[own_areas]] are unions of buurten, but the run "
            f"computes on {LAYER_NAMES[master.finest]}; give a boundary file with buurten"
        )
    sets = [own_areas(o.id, o.file, master.areas, o.label_nl, o.label_en) for o in config.own_areas]
    return tuple(sets)


def selected_own_layers(
    master: Boundaries,
    published: Boundaries,
    protection: Protection,
    config: Config,
) -> dict[str, gpd.GeoDataFrame]:
    """The layers of the own areas wholly inside what the run publishes (``published``,
    a cut of the protected ``master``), from the master's decisions."""
    if not master.own_areas:
        return {}
    finest, areas = published.finest, master.areas
    within = areas.index.to_series() if finest == master.finest else areas[f"{finest}code"]
    buurten = areas.index[within.isin(published.levels[finest].index).to_numpy()]
    kinds = {d.id: d.kind for d in config.indicators}
    own = master.own_areas
    return own_area_layers(own, protection, master.areas, buurten, kinds, config.language)
