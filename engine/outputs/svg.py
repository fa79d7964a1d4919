"""Inline SVG maps of a level's areas for the report: each area's fill, outline and
hover title, simplified to about a pixel; RD New (EPSG:28992) metres, y up, drawn to
page coordinates. Every text put in is escaped."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from markupsafe import Markup, escape


def area_map(
    layer: gpd.GeoDataFrame,
    fills: list[str],
    strokes: list[str | None],
    titles: list[str],
    label: str,
    width: int = 520,
) -> Markup:
    """A level's areas as inline SVG (RD New, y up, to page coordinates): each area's
    fill, outline (None: a thin grey line) and hover title."""
    geoms = layer.geometry.values
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    scale = width / max(xmax - xmin, 1)
    height = int((ymax - ymin) * scale) + 1
    tolerance = 1.5 / scale  # about one and a half pixel
    simplified = shapely.simplify(geoms, tolerance, preserve_topology=True)
    plain: list[str] = []
    outlined: list[str] = []
    for geom, fill, stroke, title in zip(simplified, fills, strokes, titles):
        d = _path(geom, xmin, ymax, scale)
        if not d:
            continue
        line = f"stroke='{stroke or '#888'}' stroke-width='{'2' if stroke else '0.3'}'"
        path = f"<path d='{d}' fill='{fill}' {line}><title>{_e(title)}</title></path>"
        (outlined if stroke else plain).append(path)
    svg = (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
        f"role='img' aria-label='{_e(label)}'><defs><pattern id='hatch' "
        "width='6' height='6' patternUnits='userSpaceOnUse' patternTransform='rotate(45)'>"
        "<rect width='6' height='6' fill='#eee'/><line x1='0' y1='0' x2='0' y2='6' "
        "stroke='#aaa' stroke-width='2'/></pattern></defs>" + "".join(plain + outlined) + "</svg>"
    )
    return Markup(svg)  # every text in it was escaped above


def _path(geom: Any, xmin: float, ymax: float, scale: float) -> str:
    rings = []
    for polygon in shapely.get_parts(geom):
        for ring in [polygon.exterior, *polygon.interiors]:
            coords = np.asarray(ring.coords)
            if len(coords) < 4:
                continue
            xs = np.round((coords[:, 0] - xmin) * scale, 1)
            ys = np.round((ymax - coords[:, 1]) * scale, 1)
            rings.append("M" + "L".join(f"{x:g} {y:g}" for x, y in zip(xs, ys)) + "Z")
    return "".join(rings)


def _e(value: object) -> str:
    return str(escape(str(value)))
