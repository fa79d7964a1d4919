"""``report.html``: one self-contained page for policy teams, in the run's language.

Maps are inline SVG drawn from the published layers (no tiles, fonts, scripts or
images from elsewhere: the page makes no request to any other host), so it works
offline and inside a municipality's network. Everything shown comes from the
published (disclosure-controlled) layers and tables. The page is a Jinja2 template
(``templates/report.html.j2``, autoescaped); this module prepares what it shows.
Its texts are Dutch, and :func:`~engine.outputs.language.say` gives their English.
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
from markupsafe import Markup

from zicht.engine.outputs.branches import location_quotient, whole_run
from zicht.engine.outputs.language import (
    LEVEL_NAMES,
    LOW_POPULATION,
    and_join,
    class_breaks,
    class_decimals,
    class_label,
    class_legend,
    local_time,
    low_population,
    number,
    percent,
    say,
)
from zicht.engine.outputs.report_trends import trend_maps
from zicht.engine.outputs.styles import INDICATOR_COLOURS, LQ_CLASSES
from zicht.engine.outputs.svg import area_map
from zicht.models.explain import driver_sentence

QUINTILE_COLOURS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"]
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


@dataclass(frozen=True, kw_only=True)
class ModelDetail:
    """A supervised theme model, for the report: what it predicts, its five most
    important features (label, mean absolute contribution) and its calibration
    (per fifth of the predictions: mean predicted, mean of the *published* observed
    values, how many were published, how many areas)."""

    target: str
    importance: list[tuple[str, float]]
    calibration: pd.DataFrame


@dataclass(frozen=True, kw_only=True)
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
    language: str = "nl"
    branches: pd.DataFrame | None = None  # the published ``branches`` table
    risk_branches: list[tuple[str, str]] = field(default_factory=list)  # (sbi, reason)
    # the indicators of companies in risk branches and of all companies, if any
    risk_share: tuple[str, str] | None = None
    # trend id -> (label nl, label en): the ``trend_<id>`` columns' emerging hot spots
    trends: dict[str, tuple[str, str]] = field(default_factory=dict)

    def say(self, text: str, **values: object) -> str:
        """A Dutch text of the report in the run's language."""
        return say(text, self.language, **values)


def build_report(inputs: ReportInputs) -> str:
    """The report as one HTML string."""
    synthetic = set(inputs.indicators.loc[inputs.indicators["synthetic"] == 1, "theme"])
    themes = [
        view
        for theme in inputs.themes
        if (view := _theme_view(theme, inputs, theme in synthetic)) is not None
    ]
    return _template().render(
        _=inputs.say,
        language=inputs.language,
        title=inputs.title,
        created=local_time(inputs.created),
        buurten=len(inputs.layers.get("buurt", [])),
        wijken=len(inputs.layers.get("wijk", [])),
        synthetic_themes=and_join(
            [name for t, name in inputs.themes.items() if t in synthetic], inputs.language
        ),
        themes=themes,
        indicator_maps=_indicator_maps(inputs),
        trend_maps=trend_maps(inputs.layers, inputs.trends, inputs.language),
        low_population=LOW_POPULATION,
        branches=_branche_view(inputs),
        legend=list(zip(QUINTILE_COLOURS, QUINTILE_LABELS)),
        hot=HOT,
        cold=COLD,
        d=_disclosure_view(inputs),
        attribution=inputs.attribution or inputs.say("Bron: CBS."),
    )


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("zicht.engine.outputs", "templates"),
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
            "svg": _risk_map(layer, theme, inputs),
            "level": inputs.say(LEVEL_NAMES[level]),
            "shown": percent(layer[risk].notna().sum(), len(layer)),
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
            "range": _range_text(d, theme, inputs),
            "hotspot": class_label("hotspot", d[f"hotspot_{theme}"], inputs.language) or "-",
            "why": driver_sentence(d[f"drivers_{theme}"], inputs.language),
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
        "combines": list(listed["label_en" if inputs.language == "en" else "label_nl"]),
        "how": _how_view(inputs, theme),
        "maps": maps,
        "top_level": inputs.say(LEVEL_NAMES[best].lower()),
        "top": rows,
        "model_text": _model_text(model, inputs) if len(model) else "",
        "detail": _detail_view(detail, inputs.language) if detail else None,
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
        # the rates of almost empty areas are drawn but kept out of the class breaks
        small = low_population(layer, inputs.indicators).get(row.id, np.zeros(len(layer), bool))
        breaks = class_breaks(values.where(~small))
        if not breaks:
            continue
        digits = class_decimals(values)
        language = inputs.language
        fills, titles = [], []
        for area, value, few in zip(layer["naam"].astype(str), values, small):
            if pd.isna(value):
                fills.append("url(#hatch)")
                titles.append(inputs.say("{area}: onderdrukt of geen cijfer", area=area))
                continue
            fills.append(INDICATOR_COLOURS[int(np.searchsorted(breaks[1:-1], value, "right"))])
            titles.append(f"{area}: {number(value, digits, language)}")
            if few:
                titles[-1] += inputs.say(" (minder dan {n} inwoners)", n=LOW_POPULATION)
        label = str(row.label_en if language == "en" else row.label_nl)
        svg = area_map(
            layer, fills, [None] * len(layer), titles, inputs.say("kaart {name}", name=label)
        )
        views.append(
            {
                "name": label,
                "level": inputs.say(LEVEL_NAMES[level]),
                "svg": svg,
                "legend": list(zip(INDICATOR_COLOURS, class_legend(breaks, digits, language))),
                "shown": percent(values.notna().sum(), len(values)),
                "few": bool((small & values.notna().to_numpy()).any()),
            }
        )
    return views


def _branche_view(inputs: ReportInputs) -> dict[str, Any] | None:
    """The risk branches of each area against the whole run: per risk branche the areas
    where it is most over-represented (location quotient), and a map of the highest
    quotient of any risk branche per area. Withheld figures show as withheld."""
    table = inputs.branches
    if table is None or not inputs.risk_branches:
        return None
    level = "wijk" if (table["niveau"] == "wijk").any() else "gemeente"
    part = table[table["niveau"] == level]
    rows = []
    for sbi, reason in inputs.risk_branches:
        mine = part[part["sbi"] == sbi]
        if not len(mine):
            continue
        high = mine[mine["lq_totaal"] >= 1.25].sort_values("lq_totaal", ascending=False)
        named = [
            f"{r.naam} ({number(r.lq_totaal, 2, inputs.language)})"
            for r in high.head(5).itertuples(index=False)
        ]
        rows.append(
            {
                "sbi": sbi,
                "name": str(mine["sbi_naam"].iloc[0]),
                "reason": reason,
                "high": ", ".join(named) or "-",
                "withheld": percent(_withheld(mine, inputs).sum(), len(mine)),
            }
        )
    layer = inputs.layers.get(level)
    if layer is None or len(layer) > MAX_MAP_AREAS:
        return {"rows": rows, "svg": None, "level": inputs.say(LEVEL_NAMES[level])}
    best = _combined_quotient(inputs, level)
    fills, titles = [], []
    for area, lq in zip(layer["naam"].astype(str), best):
        if np.isnan(lq):
            fills.append("url(#hatch)")
            titles.append(inputs.say("{area}: onderdrukt of geen cijfer", area=area))
        else:
            colour = next(c for lo, hi, c in LQ_CLASSES if lo <= lq < hi)
            fills.append(colour)
            titles.append(f"{area}: {number(lq, 2, inputs.language)}")
    if np.isnan(best).all():
        return {"rows": rows, "svg": None, "level": inputs.say(LEVEL_NAMES[level])}
    svg = area_map(layer, fills, [None] * len(layer), titles, inputs.say("kaart risicobranches"))
    legend = [
        (c, f"{number(lo, 2, inputs.language)} - {number(hi, 2, inputs.language)}")
        for lo, hi, c in LQ_CLASSES[:-1]
    ] + [(LQ_CLASSES[-1][2], inputs.say("2 of meer"))]
    return {"rows": rows, "svg": svg, "legend": legend, "level": inputs.say(LEVEL_NAMES[level])}


def _withheld(rows: pd.DataFrame, inputs: ReportInputs) -> pd.Series:
    """Which branche rows have their company count withheld (a quotient that is
    undefined, 0 of 0, is not withheld); without a known count, any withheld figure."""
    companies = inputs.risk_share[1] if inputs.risk_share else None
    if companies in rows:
        return rows[companies].isna()
    return rows["suppression"].notna()


def _combined_quotient(inputs: ReportInputs, level: str) -> np.ndarray:
    """Per area of ``level``: the location quotient of all risk branches together (the
    published share of companies in risk branches against that of all top-level
    areas), NaN where a figure is withheld; all NaN without such an indicator."""
    layer = inputs.layers[level]
    if inputs.risk_share is None:
        return np.full(len(layer), np.nan)
    risk, companies = inputs.risk_share
    top = inputs.layers[next(lv for lv in ("gemeente", "wijk", "buurt") if lv in inputs.layers)]
    values = [pd.to_numeric(f[c], errors="coerce") for f in (layer, top) for c in (risk, companies)]
    whole = [whole_run(v) for v in values[2:]]
    return location_quotient(
        values[0],
        values[1],
        pd.Series(whole[0], index=layer.index),
        pd.Series(whole[1], index=layer.index),
    ).to_numpy()


def _range_text(row: dict[str, Any], theme: str, inputs: ReportInputs) -> str:
    """``48-75, geschat`` beside a score: its range (with a decimal where the whole
    numbers meet), and whether an input was estimated."""
    low, high = row.get(f"risk_low_{theme}"), row.get(f"risk_high_{theme}")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    digits = 0 if round(low) != round(high) else 1
    text = f"{number(low, digits, inputs.language)}-{number(high, digits, inputs.language)}"
    first, last = row.get(f"rank_low_{theme}"), row.get(f"rank_high_{theme}")
    if first is not None and last is not None and pd.notna(first) and first != last:
        ranks = inputs.say("rang {first}-{last}", first=int(first), last=int(last))
        text = f"{text}; {ranks}"
    if row.get(f"estimated_{theme}") == 1:
        text += f", {inputs.say('geschat')}"
    return text


def _stability_text(row: Any, inputs: ReportInputs) -> str:
    """How much a score's top 10% depends on the choices made (composites), and the
    skill of the model it comes from."""
    text = ""
    if str(row.methode).startswith("model") and pd.notna(row.modelkwaliteit):
        text += inputs.say(
            " Modelkwaliteit: rangcorrelatie {skill} in ruimtelijke kruisvalidatie.",
            skill=number(row.modelkwaliteit, 2, inputs.language),
        )
    if pd.notna(row.top10_gewichten):
        text += inputs.say(
            " Van de hoogste 10% blijft {weights} daar bij andere gewichten, {method} bij een "
            "andere standaardisatie en minstens {left} als één indicator wegvalt.",
            weights=percent(round(100 * row.top10_gewichten), 100),
            method=percent(round(100 * row.top10_normalisatie), 100),
            left=percent(round(100 * row.top10_weglaten), 100)
            if pd.notna(row.top10_weglaten)
            else "-",
        )
    return text


def _how_view(inputs: ReportInputs, theme: str) -> list[dict[str, str]]:
    """Per level: how the theme's score is made and how many areas have one."""
    scores = inputs.scores
    if scores is None:
        return []
    rows = []
    for row in scores[scores["thema"] == theme].itertuples(index=False):
        counts = inputs.say(
            "{published} van de {areas} gebieden hebben een score uit gepubliceerde cijfers "
            "alleen, {estimated} een score met een geschat cijfer, {none} geen score",
            published=row.met_score - row.waarvan_geschat,
            areas=row.gebieden,
            estimated=row.waarvan_geschat,
            none=row.zonder_score,
        )
        if row.gebiedsregel:
            counts += inputs.say(" ({ruled} door de gebiedsregel)", ruled=row.gebiedsregel)
        rows.append(
            {
                "level": inputs.say(LEVEL_NAMES[row.niveau]),
                "text": row.score,
                "counts": counts + "." + _stability_text(row, inputs),
            }
        )
    return rows


def _model_text(model: pd.DataFrame, inputs: ReportInputs) -> str:
    m = model.set_index("validation")
    spatial, random_ = m.loc["spatial CV"], m.loc["random CV"]

    def r2(row: pd.Series) -> str:
        return f"{max(row['r2'], 0):.0%}"

    text = inputs.say(
        "Getoetst op wijken die het model niet kende, volgt de volgorde van de voorspellingen "
        "die van de werkelijkheid met een rangcorrelatie van {spearman} (1 is perfect, 0 is "
        "willekeurig); het model verklaart {r2} van de verschillen tussen buurten.",
        spearman=number(spatial["spearman"], 2, inputs.language),
        r2=r2(spatial),
    )
    if "baseline: population only" in m.index:
        base = m.loc["baseline: population only"]
        better = (
            " Dat is beter dan een voorspelling op alleen het aantal inwoners ({r2})."
            if spatial["r2"] > base["r2"]
            else " Dat is niet beter dan een voorspelling op alleen het aantal inwoners ({r2})."
        )
        text += inputs.say(better, r2=r2(base))
    if random_["r2"] > spatial["r2"] + 0.05:
        text += inputs.say(
            " Met een willekeurige verdeling van de toets zou het model beter lijken ({r2}), "
            "omdat buren op elkaar lijken; het eerlijke cijfer is het eerste.",
            r2=r2(random_),
        )
    if "used" in m.columns and not m["used"].astype(bool).any():
        text += inputs.say(
            " Dat is te zwak: de score van dit thema is daarom de samengestelde index, niet "
            "dit model (drempel models.min_skill)."
        )
    return text


def _detail_view(detail: ModelDetail, language: str) -> dict[str, Any]:
    calibration = detail.calibration
    share = calibration["published"].sum() / max(calibration["areas"].sum(), 1)
    view: dict[str, Any] = {
        "factors": [label for label, _ in detail.importance],
        "target": detail.target,
        "share": percent(calibration["published"].sum(), calibration["areas"].sum()),
        "calibration": None,
    }
    if share >= MIN_PUBLISHED_FOR_CALIBRATION:
        # Below it, means over the published counts only are selected on the outcome
        # (the small counts are the withheld ones), and means over all counts could be
        # differenced against the published ones: neither can be shown honestly.
        view["calibration"] = [
            {
                "group": int(group),
                "predicted": number(row.predicted, 2, language),
                "observed": "-" if pd.isna(row.observed) else number(row.observed, 2, language),
                "published": int(row.published),
                "areas": int(row.areas),
            }
            for group, row in calibration.iterrows()
        ]
    return view


def _disclosure_view(inputs: ReportInputs) -> dict[str, Any]:
    counts, params, language = inputs.cells_by_outcome, inputs.parameters, inputs.language
    total = sum(counts.values())
    published = counts.get("published", 0)
    rows = [
        {
            "reason": inputs.say(RULE_TEXT[rule]) if rule in RULE_TEXT else rule,
            "cells": number(n, 0, language),
            "share": percent(n, total),
        }
        for rule, n in sorted(counts.items(), key=lambda kv: -kv[1])
        if rule != "published" and n
    ]
    areas = sum(
        int(layer["suppressed"].sum()) for layer in inputs.layers.values() if "suppressed" in layer
    )
    return {
        "min_units": params["min_units"],
        "min_inhabitants": params["min_inhabitants"],
        "count_base": params["count_base"],
        "cells": number(total, 0, language),
        "published": number(published, 0, language),
        "published_share": percent(published, total),
        "area_rule_areas": areas,
        "rows": rows,
    }


def _risk_map(layer: gpd.GeoDataFrame, theme: str, inputs: ReportInputs) -> Markup:
    """A level's risk score in five classes, hotspots outlined dark and coldspots blue
    (drawn last, so that no neighbour's fill covers them)."""
    risk = pd.to_numeric(layer[f"risk_{theme}"], errors="coerce").to_numpy()
    hotspot = layer[f"hotspot_{theme}"].astype(object).to_numpy()
    fills, strokes, titles = [], [], []
    for area, r, h in zip(layer["naam"].astype(str), risk, hotspot):
        kind = h.split(" ")[0] if isinstance(h, str) else ""
        fills.append("url(#hatch)" if np.isnan(r) else QUINTILE_COLOURS[min(int(r // 20), 4)])
        strokes.append({"hot": HOT, "cold": COLD}.get(kind))
        title = (
            inputs.say("{area}: geen score (onderdrukt of ontbrekend)", area=area)
            if np.isnan(r)
            else inputs.say("{area}: score {score}", area=area, score=f"{r:.0f}")
        )
        if kind and not np.isnan(r):
            title += f", {class_label('hotspot', h, inputs.language)}"
        titles.append(title)
    label = inputs.say("kaart {name}", name=inputs.themes[theme])
    return area_map(layer, fills, strokes, titles, label)
