"""The report's maps of emerging hot spots: per ``trend_<id>`` column of the finest
level, each area in the colour of its trend class (as the QGIS style and the dashboard
draw it), hatched where the area has no trend, with a legend of the classes that
occur. Everything shown comes from the published layer."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from zicht.engine.outputs.language import LEVEL_NAMES, class_label, say
from zicht.engine.outputs.styles import trend_colours
from zicht.engine.outputs.svg import area_map

MAX_MAP_AREAS = 4000  # as the report's other maps


def trend_maps(
    layers: dict[str, gpd.GeoDataFrame], trends: dict[str, tuple[str, str]], language: str
) -> list[dict[str, Any]]:
    """Per trend with a published column: its name, level, SVG map and legend
    (colour, label) of the classes that occur."""
    views = []
    colours = trend_colours()
    for trend, (label_nl, label_en) in trends.items():
        column = f"trend_{trend}"
        found = [lv for lv in ("buurt", "wijk", "gemeente") if column in layers.get(lv, {})]
        level = found[0] if found else None
        if level is None or len(layers[level]) > MAX_MAP_AREAS:
            continue
        layer = layers[level]
        name = label_en if language == "en" else label_nl
        fills, titles = [], []
        for area, code in zip(layer["naam"].astype(str), layer[column]):
            if pd.isna(code):
                fills.append("url(#hatch)")
                titles.append(say("{area}: geen trend (te weinig cijfers)", language, area=area))
            else:
                fills.append(colours.get(str(code), "#cccccc"))
                titles.append(f"{area}: {class_label('trend', code, language)}")
        present = set(layer[column].dropna().astype(str))
        views.append(
            {
                "name": name,
                "level": say(LEVEL_NAMES[level], language),
                "svg": area_map(
                    layer,
                    fills,
                    [None] * len(layer),
                    titles,
                    say("kaart {name}", language, name=name),
                ),
                "legend": [
                    (colour, class_label("trend", code, language))
                    for code, colour in colours.items()
                    if code in present
                ],
            }
        )
    return views
