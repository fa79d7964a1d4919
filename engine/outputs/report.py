"""``report.html``: one self-contained page in Dutch for policy teams.

Maps are inline SVG drawn from the published layers (no tiles, fonts, scripts or
images from elsewhere: the page makes no request to any other host), so it works
offline and inside a municipality's network. Everything shown comes from the
published (disclosure-controlled) layers and tables. The page is a Jinja2 template
(``templates/report.html.j2``, autoescaped); this module prepares what it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from markupsafe import Markup, escape

from engine.outputs.language import class_breaks, dutch_number
from models.explain import driver_sentence

QUINTILE_COLOURS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"]
# an indicator's own map: blue, so that it is never read as a risk score
INDICATOR_COLOURS = ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"]
QUINTILE_LABELS = ["0-20", "20-40", "40-60", "60-80", "80-100"]
# outlines that stand out on every fill, the darkest red included
HOT, COLD = "#111111", "#2c7fb8"
RULE_TEXT = {
    "area": "te weinig inwoners of huishoudens in het gebied",
    "area_companies": "te weinig bedrijven in de buurt (bedrijfsgegevens)",
    "frequency": "te weinig personen, adressen of bedrijven in de cel",
    "dominance": "één of twee bijdragers bepalen het totaal",
    "p%": "de grootste bijdrage is te goed te schatten (p%-regel)",
    "secondary": "aanvullend onderdrukt, zodat niets terug te rekenen is",
    "derived": "afgeleid van een onderdrukt getal",
}
MAX_MAP_AREAS = 4000  # more polygons than this cannot be read on a page-wide map
# calibration is shown only where this share of the actual values is published
MIN_PUBLISHED_FOR_CALIBRATION = 0.8
LEVEL_NAMES = {"buurt": "Buurten", "wijk": "Wijken", "gemeente": "Gemeenten"}


@dataclass(frozen=True)
class ModelDetail:
    """A supervised theme model, for the report: what it predicts, its five most
    important features (label, mean absolute contribution) and its calibration
    (per fifth of the predictions: mean predicted, mean of the *published* observed
    values, how many were published, how many areas)."""

    target: str
    importance: list[tuple[str, float]]
    calibration: pd.DataFrame


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows; all of it published (disclosure-controlled)."""

    title: str
    attribution: str
    created: datetime
    layers: dict[str, gpd.GeoDataFrame]
    indicators: pd.DataFrame  # the ``indicators`` table
    models: pd.DataFrame  # the ``models`` table
    cells_by_outcome: dict[str, int]  # sensitive cells per outcome (published or a rule)
    parameters: dict[str, Any]  # the disclosure rule parameters
    details: dict[str, ModelDetail] = field(default_factory=dict)
    scores: pd.DataFrame | None = None  # the ``scores`` table: how each score is made
    themes: dict[str, str] = field(default_factory=dict)  # theme id -> name, in order


def build_report(inputs: ReportInputs) -> str:
    """The report as one HTML string."""
    synthetic = set(inputs.indicators.loc[inputs.indicators["synthetic"] == 1, "theme"])
    themes = [
        view
        for theme in inputs.themes
        if (view := _theme_view(theme, inputs, theme in synthetic)) is not None
    ]
    return _template().render(
        title=inputs.title,
        created=f"{inputs.created:%d-%m-%Y %H:%M}",
        buurten=len(inputs.layers.get("buurt", [])),
        wijken=len(inputs.layers.get("wijk", [])),
        synthetic_themes=[name for t, name in inputs.themes.items() if t in synthetic],
        themes=themes,
        indicator_maps=_indicator_maps(inputs),
        legend=list(zip(QUINTILE_COLOURS, QUINTILE_LABELS)),
        hot=HOT,
        cold=COLD,
        d=_disclosure_view(inputs),
        attribution=inputs.attribution or "Bron: CBS.",
    )


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("engine.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("report.html.j2")


def _theme_view(theme: str, inputs: ReportInputs, synthetic: bool) -> dict[str, Any] | None:
    risk = f"risk_{theme}"
    scored = {
        lv: layer
        for lv, layer in inputs.layers.items()
        if risk in layer and layer[risk].notna().any()
    }
    if not scored:
        return None
    indicators = inputs.indicators
    listed = indicators[(indicators["theme"] == theme) & (indicators["direction"] != "none")]
    maps = [
        {
            "svg": _risk_map(layer, theme, inputs.themes[theme]),
            "level": LEVEL_NAMES[level],
            "shown": f"{layer[risk].notna().mean():.0%}",
        }
        for level, layer in scored.items()
        if len(layer) <= MAX_MAP_AREAS
    ]
    # the finest level whose map is nearly as complete as the most complete one
    share = {lv: scored[lv][risk].notna().mean() for lv in scored}
    best = next(
        lv for lv in ("buurt", "wijk", "gemeente") if share.get(lv, 0) >= 0.8 * max(share.values())
    )
    layer = scored[best]
    top = layer.dropna(subset=[f"rank_{theme}"]).sort_values(f"rank_{theme}").head(10)
    rows = [
        {
            "rank": int(d[f"rank_{theme}"]),
            "name": d["naam"],
            "code": d["code"],
            "score": f"{d[risk]:.0f}",
            "range": _range_text(d, theme),
            "hotspot": hotspot_nl(d[f"hotspot_{theme}"]),
            "why": driver_sentence(d[f"drivers_{theme}"]),
        }
        for d in (row._asdict() for row in top.itertuples(index=False))
    ]
    models = inputs.models
    model = models[models["theme"] == theme] if len(models) else models
    detail = inputs.details.get(theme)
    return {
        "id": theme,
        "name": inputs.themes[theme],
        "synthetic": synthetic,
        "combines": list(listed["label_nl"]),
        "how": _how_view(inputs.scores, theme),
        "maps": maps,
        "top_level": LEVEL_NAMES[best].lower(),
        "top": rows,
        "model_text": _model_text(model) if len(model) else "",
        "detail": _detail_view(detail) if detail else None,
    }


def _indicator_maps(inputs: ReportInputs) -> list[dict[str, Any]]:
    """The maps of indicators with ``map = true``: on the finest level that has them,
    in five classes of the published values (fifths of the areas)."""
    table = inputs.indicators
    chosen = table[table["map"] == 1] if "map" in table else table.iloc[:0]
    views = []
    for row in chosen.itertuples(index=False):
        level = next((lv for lv in inputs.layers if row.id in inputs.layers[lv]), None)
        if level is None or len(inputs.layers[level]) > MAX_MAP_AREAS:
            continue
        layer = inputs.layers[level]
        values = pd.to_numeric(layer[row.id], errors="coerce")
        breaks = class_breaks(values)
        if not breaks:
            continue
        digits = 0 if values.dropna().abs().max() >= 100 else 2
        fills, titles = [], []
        for area, value in zip(layer["naam"].astype(str), values):
            if pd.isna(value):
                fills.append("url(#hatch)")
                titles.append(f"{area}: onderdrukt of geen cijfer")
            else:
                fills.append(INDICATOR_COLOURS[int(np.searchsorted(breaks[1:-1], value, "right"))])
                titles.append(f"{area}: {dutch_number(value, digits)}")
        label = str(row.label_nl)
        views.append(
            {
                "name": label,
                "level": LEVEL_NAMES[level],
                "svg": _svg(layer, fills, [None] * len(layer), titles, f"kaart {label}"),
                "legend": [
                    (colour, f"{dutch_number(lo, digits)} - {dutch_number(hi, digits)}")
                    for colour, lo, hi in zip(INDICATOR_COLOURS, breaks[:-1], breaks[1:])
                ],
                "shown": f"{values.notna().mean():.0%}",
            }
        )
    return views


def _range_text(row: dict[str, Any], theme: str) -> str:
    """``48-75, geschat`` beside a score: its range, and whether an input was estimated."""
    low, high = row.get(f"risk_low_{theme}"), row.get(f"risk_high_{theme}")
    if low is None or high is None or pd.isna(low):
        return ""
    text = f"{low:.0f}-{high:.0f}" if round(low) != round(high) else ""
    if row.get(f"estimated_{theme}") == 1:
        text = f"{text}, geschat" if text else "geschat"
    return text


def _how_view(scores: pd.DataFrame | None, theme: str) -> list[dict[str, str]]:
    """Per level: how the theme's score is made and how many areas have one."""
    if scores is None:
        return []
    rows = []
    for row in scores[scores["thema"] == theme].itertuples(index=False):
        published = row.met_score - row.waarvan_geschat
        rows.append(
            {
                "level": LEVEL_NAMES[row.niveau],
                "text": row.score,
                "counts": (
                    f"{published} van de {row.gebieden} gebieden hebben een score uit "
                    f"gepubliceerde cijfers alleen, {row.waarvan_geschat} een score met een "
                    f"geschat cijfer, {row.zonder_score} geen score"
                    + (f" ({row.gebiedsregel} door de gebiedsregel)" if row.gebiedsregel else "")
                    + "."
                ),
            }
        )
    return rows


def _model_text(model: pd.DataFrame) -> str:
    m = model.set_index("validation")
    spatial, random_ = m.loc["spatial CV"], m.loc["random CV"]
    text = (
        f"Getoetst op wijken die het model niet kende, volgt de volgorde van de "
        f"voorspellingen die van de werkelijkheid met een rangcorrelatie van "
        f"{spatial['spearman']:.2f} (1 is perfect, 0 is willekeurig); het model verklaart "
        f"{max(spatial['r2'], 0):.0%} van de verschillen tussen buurten."
    )
    if "baseline: population only" in m.index:
        base = m.loc["baseline: population only"]
        better = "beter dan" if spatial["r2"] > base["r2"] else "niet beter dan"
        text += (
            f" Dat is {better} een voorspelling op alleen het aantal inwoners "
            f"({max(base['r2'], 0):.0%})."
        )
    if random_["r2"] > spatial["r2"] + 0.05:
        text += (
            " Met een willekeurige verdeling van de toets zou het model beter lijken "
            f"({max(random_['r2'], 0):.0%}), omdat buren op elkaar lijken; het eerlijke "
            "cijfer is het eerste."
        )
    return text


def _detail_view(detail: ModelDetail) -> dict[str, Any]:
    calibration = detail.calibration
    share = calibration["published"].sum() / max(calibration["areas"].sum(), 1)
    view: dict[str, Any] = {
        "factors": [label for label, _ in detail.importance],
        "target": detail.target,
        "share": f"{share:.0%}",
        "calibration": None,
    }
    if share >= MIN_PUBLISHED_FOR_CALIBRATION:
        # Below it, means over the published counts only are selected on the outcome
        # (the small counts are the withheld ones), and means over all counts could be
        # differenced against the published ones: neither can be shown honestly.
        view["calibration"] = [
            {
                "group": int(group),
                "predicted": f"{row.predicted:.2f}",
                "observed": "-" if pd.isna(row.observed) else f"{row.observed:.2f}",
                "published": int(row.published),
                "areas": int(row.areas),
            }
            for group, row in calibration.iterrows()
        ]
    return view


def _disclosure_view(inputs: ReportInputs) -> dict[str, Any]:
    counts, params = inputs.cells_by_outcome, inputs.parameters
    total = sum(counts.values()) or 1
    published = counts.get("published", 0)
    rows = [
        {"reason": RULE_TEXT.get(rule, rule), "cells": f"{n:,}", "share": f"{n / total:.0%}"}
        for rule, n in sorted(counts.items(), key=lambda kv: -kv[1])
        if rule != "published"
    ]
    areas = sum(
        int(layer["suppressed"].sum()) for layer in inputs.layers.values() if "suppressed" in layer
    )
    return {
        "min_units": params["min_units"],
        "min_inhabitants": params["min_inhabitants"],
        "count_base": params["count_base"],
        "published": f"{published:,}",
        "withheld": f"{total - published:,}",
        "published_share": f"{published / total:.0%}",
        "area_rule_areas": areas,
        "rows": rows,
    }


def _risk_map(layer: gpd.GeoDataFrame, theme: str, name: str) -> Markup:
    """A level's risk score in five classes, hotspots outlined dark and coldspots blue
    (drawn last, so that no neighbour's fill covers them)."""
    risk = pd.to_numeric(layer[f"risk_{theme}"], errors="coerce").to_numpy()
    hotspot = layer[f"hotspot_{theme}"].astype(object).to_numpy()
    fills, strokes, titles = [], [], []
    for area, r, h in zip(layer["naam"].astype(str), risk, hotspot):
        kind = h.split(" ")[0] if isinstance(h, str) else ""
        fills.append("url(#hatch)" if np.isnan(r) else QUINTILE_COLOURS[min(int(r // 20), 4)])
        strokes.append({"hot": HOT, "cold": COLD}.get(kind))
        titles.append(
            f"{area}: geen score (onderdrukt of ontbrekend)"
            if np.isnan(r)
            else f"{area}: score {r:.0f}" + (f", {hotspot_nl(h)}" if kind else "")
        )
    return _svg(layer, fills, strokes, titles, f"kaart {name}")


def _svg(
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


def hotspot_nl(value: object) -> str:
    """'hot 95%' -> 'hotspot (95%)', 'not significant' -> 'niet significant'."""
    if not isinstance(value, str):
        return "-"
    kind, _, confidence = value.partition(" ")
    if kind in ("hot", "cold"):
        return f"{kind}spot ({confidence})"
    return "niet significant" if value == "not significant" else value


def _e(value: object) -> str:
    return str(escape(str(value)))
