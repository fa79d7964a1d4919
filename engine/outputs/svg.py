"""Inline SVG maps of a level's areas for the report: each area's fill, outline and
hover title, simplified to about a pixel; RD New (EPSG:28992) metres, y up, drawn to
page coordinates. Every text put in is escaped."""

from __future__ import annotations

import hashlib
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
    height, paths = _outline(np.asarray(layer.geometry.values), width)
    plain: list[str] = []
    outlined: list[str] = []
    for d, fill, stroke, title in zip(paths, fills, strokes, titles):
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


# the outlines of the last few layers drawn: a report draws each level's areas for
# every theme, indicator and trend map, and only the fills differ
_OUTLINES: dict[tuple[bytes, int], tuple[int, list[str]]] = {}
_KEPT_OUTLINES = 8


def _outline(geoms: np.ndarray, width: int) -> tuple[int, list[str]]:
    """The map's height and each area's path (simplified to about a pixel) for a
    ``width`` pixels wide map, computed once per set of geometries."""
    # WKB is self-delimiting; "-" (never a WKB's first byte) stands for a missing shape
    wkb = b"".join(b"-" if w is None else w for w in shapely.to_wkb(geoms))
    key = (hashlib.sha256(wkb).digest(), width)
    if key not in _OUTLINES:
        xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
        scale = width / max(xmax - xmin, 1)
        height = int((ymax - ymin) * scale) + 1
        tolerance = 1.5 / scale  # about one and a half pixel
        simplified = shapely.simplify(geoms, tolerance, preserve_topology=True)
        paths = [_path(geom, xmin, ymax, scale) for geom in simplified]
        while len(_OUTLINES) >= _KEPT_OUTLINES:
            del _OUTLINES[next(iter(_OUTLINES))]
        _OUTLINES[key] = (height, paths)
    return _OUTLINES[key]


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
