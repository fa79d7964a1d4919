"""``report.html``: one self-contained page in Dutch for policy teams.

Maps are inline SVG drawn from the published layers (no tiles, fonts, scripts or
images from elsewhere: the page makes no request to any other host), so it works
offline and inside a municipality's network. Everything shown comes from the
published (disclosure-controlled) layers and tables.
"""

from __future__ import annotations

import html
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from engine.config import THEMES, Config
from engine.lists import THEME_NAMES
from models.explain import driver_sentence

QUINTILE_COLOURS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"]
HOT, COLD = "#b2182b", "#2166ac"
RULE_TEXT = {
    "area": "te weinig inwoners of huishoudens in het gebied",
    "frequency": "te weinig personen, adressen of bedrijven in de cel",
    "dominance": "één of twee bijdragers bepalen het totaal",
    "p%": "de grootste bijdrage is te goed te schatten (p%-regel)",
    "secondary": "aanvullend onderdrukt, zodat niets terug te rekenen is",
    "derived": "afgeleid van een onderdrukt getal",
}


def build_report(layers: dict[str, gpd.GeoDataFrame], indicators: pd.DataFrame,
                 models: pd.DataFrame, config: Config, disclosure: dict,
                 created: datetime, details: dict[str, dict] | None = None) -> str:
    """The report as one HTML string; ``details`` adds model calibration and importance."""
    details = details or {}
    synthetic = set(indicators.loc[indicators["synthetic"] == 1, "theme"])
    parts = [_head(config.name), "<main>",
             f"<h1>Risicobeeld ondermijning: {_e(config.name)}</h1>",
             f"<p class='meta'>Gemaakt op {created:%d-%m-%Y %H:%M} UTC met zicht. "
             f"Gebieden: {len(layers.get('buurt', []))} buurten, "
             f"{len(layers.get('wijk', []))} wijken.</p>"]
    if synthetic:
        parts.append("<p class='synthetic'><strong>Let op: synthetische gegevens.</strong> De "
                     "thema's " + ", ".join(_e(THEME_NAMES[t]) for t in THEMES if t in synthetic)
                     + " zijn berekend op gegenereerde, niet-echte microdata. Ze laten zien hoe "
                     "de analyse werkt, niet hoe het werkelijk is.</p>")
    parts.append("<section class='caution'><h2>Hoe lees je dit?</h2><p>Een hoge risicoscore "
                 "of een hotspot is een <strong>patroon in de gegevens, geen bewijs</strong> "
                 "van criminaliteit of ondermijning in een buurt, en zegt niets over de mensen "
                 "die er wonen. Gebruik het om vragen te stellen en samen met partners te "
                 "duiden, niet om conclusies te trekken.</p><p>De risicoscore (0-100) is de "
                 "plaats van een gebied ten opzichte van de andere gebieden: 90 betekent dat 90% "
                 "van de gebieden lager scoort. Een hotspot is een groep aangrenzende gebieden "
                 "met samen een opvallend hoge score; de zekerheid (90, 95 of 99%) is "
                 "gecorrigeerd voor het toetsen van veel gebieden tegelijk.</p></section>")
    for theme in THEMES:
        section = _theme_section(theme, layers, indicators, models, theme in synthetic,
                                 details.get(theme))
        if section:
            parts.append(section)
    parts.append(_disclosure_section(layers, disclosure))
    parts.append(f"<section><h2>Bronnen</h2><p>{_e(config.attribution or 'Bron: CBS.')}</p>"
                 "</section></main></body></html>")
    return "\n".join(parts)


def _head(title: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Risicobeeld: {_e(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }}
main {{ max-width: 1100px; margin: 0 auto; padding: 1.5rem; }}
h1 {{ font-size: 1.7rem; }} h2 {{ border-bottom: 2px solid #ddd; padding-bottom: .2rem; }}
.meta {{ color: #666; }}
.synthetic {{ background: #fff3cd; border-left: 6px solid #e0a800; padding: .8rem; }}
.caution {{ background: #eef4fb; padding: .2rem 1rem 1rem; border-radius: 4px; }}
.maps {{ display: flex; flex-wrap: wrap; gap: 1rem; }}
figure {{ margin: 0; flex: 1 1 480px; }} figcaption {{ font-size: .9rem; color: #444; }}
svg {{ width: 100%; height: auto; background: white; border: 1px solid #ddd; }}
table {{ border-collapse: collapse; width: 100%; font-size: .9rem; margin: .5rem 0 1rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3rem .4rem; text-align: left;
         vertical-align: top; }}
.legend span {{ display: inline-block; margin-right: .8rem; font-size: .85rem; }}
.legend i {{ display: inline-block; width: 14px; height: 14px; margin-right: 4px;
            vertical-align: middle; border: 1px solid #999; }}
.badge {{ background: #e0a800; color: #222; border-radius: 3px; padding: 0 .3rem;
          font-size: .75rem; }}
</style></head><body>"""


MAX_MAP_AREAS = 4000  # more polygons than this cannot be read on a page-wide map


def _theme_section(theme: str, layers: dict[str, gpd.GeoDataFrame], indicators: pd.DataFrame,
                   models: pd.DataFrame, synthetic: bool, detail: dict | None) -> str:
    scored = {lv: layer for lv, layer in layers.items()
              if f"risk_{theme}" in layer and layer[f"risk_{theme}"].notna().any()}
    if not scored:
        return ""
    badge = " <span class='badge'>synthetisch</span>" if synthetic else ""
    out = [f"<section id='{theme}'><h2>{_e(THEME_NAMES[theme])}{badge}</h2>"]
    listed = indicators[(indicators["theme"] == theme) & (indicators["direction"] != "none")]
    out.append("<p>De score combineert: " + "; ".join(_e(x) for x in listed["label_nl"]) + ".</p>")
    maps = []
    for level, layer in scored.items():
        if len(layer) > MAX_MAP_AREAS:
            continue
        shown = layer[f"risk_{theme}"].notna().mean()
        maps.append(f"<figure>{_svg_map(layer, theme)}<figcaption>{_level_name(level)}: "
                    f"risicoscore en hotspots ({shown:.0%} van de gebieden heeft een "
                    "gepubliceerde score).</figcaption></figure>")
    out.append("<div class='maps'>" + "".join(maps) + "</div>" + _legend())
    best = max(scored, key=lambda lv: scored[lv][f"risk_{theme}"].notna().mean())
    layer = scored[best]
    top = layer.dropna(subset=[f"rank_{theme}"]).sort_values(f"rank_{theme}").head(10)
    out.append(f"<h3>Top 10 {_level_name(best).lower()}</h3><table><tr><th>#</th><th>Gebied</th>"
               "<th>Score</th><th>Hotspot</th><th>Waarom hoog?</th></tr>")
    for row in top.itertuples(index=False):
        d = row._asdict()
        out.append(f"<tr><td>{int(d[f'rank_{theme}'])}</td><td>{_e(d['naam'])} "
                   f"<small>({_e(d['code'])})</small></td><td>{d[f'risk_{theme}']:.0f}</td>"
                   f"<td>{_e(hotspot_nl(d[f'hotspot_{theme}']))}</td>"
                   f"<td>{_e(driver_sentence(d[f'drivers_{theme}']))}</td></tr>")
    out.append("</table>")
    model = models[models["theme"] == theme] if len(models) else models
    if len(model):
        out.append(_model_text(model))
    if detail:
        out.append(_model_detail(detail))
    withheld = int(layer[f"risk_{theme}"].isna().sum())
    if withheld:
        out.append(f"<p>{withheld} van de {len(layer)} {_level_name(best).lower()} hebben geen "
                   "score: hun gegevens zijn (deels) onderdrukt of ontbreken.</p>")
    out.append("</section>")
    return "\n".join(out)


def _model_text(model: pd.DataFrame) -> str:
    m = model.set_index("validation")
    spatial, random_ = m.loc["spatial CV"], m.loc["random CV"]
    text = (f"<p><strong>Kwaliteit van het voorspelmodel.</strong> Getoetst op wijken die het "
            f"model niet kende, volgt de volgorde van de voorspellingen die van de werkelijkheid "
            f"met een rangcorrelatie van {spatial['spearman']:.2f} (1 is perfect, 0 is "
            f"willekeurig); het model verklaart {max(spatial['r2'], 0):.0%} van de verschillen "
            f"tussen buurten.")
    if "baseline: population only" in m.index:
        base = m.loc["baseline: population only"]
        better = "beter dan" if spatial["r2"] > base["r2"] else "niet beter dan"
        text += (f" Dat is {better} een voorspelling op alleen het aantal inwoners "
                 f"({max(base['r2'], 0):.0%}).")
    if random_["r2"] > spatial["r2"] + 0.05:
        text += (" Met een willekeurige verdeling van de toets zou het model beter lijken "
                 f"({max(random_['r2'], 0):.0%}), omdat buren op elkaar lijken; het eerlijke "
                 "cijfer is het eerste.")
    return text + "</p>"


MIN_PUBLISHED_FOR_CALIBRATION = 0.8


def _model_detail(detail: dict) -> str:
    factors = "; ".join(f"{_e(label)}" for label, _ in detail["importance"])
    calibration = detail["calibration"]
    share = calibration["published"].sum() / max(calibration["areas"].sum(), 1)
    if share < MIN_PUBLISHED_FOR_CALIBRATION:
        # Means over the published counts only are selected on the outcome (the small
        # counts are the withheld ones), and means over all counts could be differenced
        # against the published ones: neither can be shown honestly.
        return (f"<p>Het model leunt het meest op: {factors}.</p><p>Een vergelijking van "
                f"voorspelde en werkelijke aantallen ({_e(detail['target'])}) per groep buurten "
                f"wordt niet getoond: maar {share:.0%} van de buurten heeft een gepubliceerd "
                "aantal, de rest is onderdrukt, en een gemiddelde over alleen de "
                "gepubliceerde buurten zou een vertekend beeld geven.</p>")
    rows = "".join(
        f"<tr><td>{int(group)}</td><td>{row.predicted:.2f}</td><td>"
        f"{'-' if pd.isna(row.observed) else f'{row.observed:.2f}'}</td>"
        f"<td>{int(row.published)} van {int(row.areas)}</td></tr>"
        for group, row in detail["calibration"].iterrows())
    return (f"<p>Het model leunt het meest op: {factors}.</p><p>Klopt het niveau? Per vijfde "
            f"van de buurten, van laagste naar hoogste voorspelling, de gemiddelde voorspelling "
            f"en het gemiddelde werkelijke aantal ({_e(detail['target'])}). Alleen gepubliceerde "
            "aantallen tellen mee, zodat niets onderdrukts terug te rekenen is.</p>"
            "<table><tr><th>Vijfde</th><th>Voorspeld</th><th>Werkelijk</th>"
            f"<th>Buurten met gepubliceerd aantal</th></tr>{rows}</table>")


def _disclosure_section(layers: dict[str, gpd.GeoDataFrame], disclosure: dict) -> str:
    counts = disclosure.get("cells_by_outcome", {})
    params = disclosure.get("parameters", {})
    total = sum(counts.values()) or 1
    rows = "".join(f"<tr><td>{_e(RULE_TEXT.get(rule, rule))}</td><td>{n:,}</td>"
                   f"<td>{n / total:.0%}</td></tr>"
                   for rule, n in sorted(counts.items(), key=lambda kv: -kv[1])
                   if rule != "published")
    areas = sum(int(layer["suppressed"].sum()) for layer in layers.values()
                if "suppressed" in layer)
    return (f"<section><h2>Wat is onderdrukt, en waarom</h2><p>Cijfers die iets over een "
            f"persoon, adres of bedrijf kunnen verraden, zijn niet gepubliceerd. Een cijfer "
            f"wordt onderdrukt als minder dan {params.get('min_units', '?')} personen, adressen "
            f"of bedrijven eraan bijdragen, als één of twee bijdragers het bepalen, of als het "
            f"gebied minder dan {params.get('min_inhabitants', '?')} inwoners heeft. Andere "
            f"cijfers zijn aanvullend onderdrukt, zodat niets terug te rekenen is uit totalen; "
            f"een controle die rekent als een aanvaller bevestigt dat. Aantallen zijn afgerond "
            f"op {params.get('count_base', 5)}-tallen.</p><p>Van de "
            f"{counts.get('published', 0):,} + {total - counts.get('published', 0):,} gevoelige "
            f"cellen is {counts.get('published', 0) / total:.0%} gepubliceerd; {areas} gebieden "
            f"hebben te weinig inwoners voor persoonsgegevens.</p>"
            f"<table><tr><th>Reden</th><th>Cellen</th><th>Aandeel</th></tr>{rows}</table>"
            "</section>")


def _svg_map(layer: gpd.GeoDataFrame, theme: str, width: int = 520) -> str:
    geoms = layer.geometry.values
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    scale = width / max(xmax - xmin, 1)
    height = int((ymax - ymin) * scale) + 1
    tolerance = 1.5 / scale  # about one and a half pixel
    simplified = shapely.simplify(geoms, tolerance, preserve_topology=True)
    risk = pd.to_numeric(layer[f"risk_{theme}"], errors="coerce").to_numpy()
    hotspot = layer[f"hotspot_{theme}"].astype(object).to_numpy()
    names = layer["naam"].astype(str).to_numpy()
    paths = []
    for geom, r, h, name in zip(simplified, risk, hotspot, names):
        d = _path(geom, xmin, ymax, scale)
        if not d:
            continue
        if np.isnan(r):
            fill, title = "url(#hatch)", f"{name}: geen score (onderdrukt of ontbrekend)"
        else:
            fill = QUINTILE_COLOURS[min(int(r // 20), 4)]
            title = f"{name}: score {r:.0f}" + (f", {hotspot_nl(h)}" if isinstance(h, str) else "")
        stroke = (HOT if isinstance(h, str) and h.startswith("hot")
                  else COLD if isinstance(h, str) and h.startswith("cold") else "#888")
        weight = "1.6" if stroke != "#888" else "0.3"
        paths.append(f"<path d='{d}' fill='{fill}' stroke='{stroke}' stroke-width='{weight}'>"
                     f"<title>{_e(title)}</title></path>")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' "
            f"role='img' aria-label='kaart {THEME_NAMES[theme]}'><defs><pattern id='hatch' "
            "width='6' height='6' patternUnits='userSpaceOnUse' patternTransform='rotate(45)'>"
            "<rect width='6' height='6' fill='#eee'/><line x1='0' y1='0' x2='0' y2='6' "
            "stroke='#aaa' stroke-width='2'/></pattern></defs>" + "".join(paths) + "</svg>")


def _path(geom, xmin: float, ymax: float, scale: float) -> str:
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


def _legend() -> str:
    labels = ["0-20", "20-40", "40-60", "60-80", "80-100"]
    items = "".join(f"<span><i style='background:{c}'></i>{lab}</span>"
                    for c, lab in zip(QUINTILE_COLOURS, labels))
    return (f"<p class='legend'>{items}<span><i style='background:#eee'></i>geen score"
            f"</span><span><i style='border:2px solid {HOT}'></i>hotspot</span>"
            f"<span><i style='border:2px solid {COLD}'></i>coldspot</span></p>")


def hotspot_nl(value: object) -> str:
    """'hot 95%' -> 'hotspot (95%)', 'not significant' -> 'niet significant'."""
    if not isinstance(value, str):
        return "-"
    kind, _, confidence = value.partition(" ")
    if kind in ("hot", "cold"):
        return f"{kind}spot ({confidence})"
    return "niet significant" if value == "not significant" else value


def _level_name(level: str) -> str:
    return {"buurt": "Buurten", "wijk": "Wijken", "gemeente": "Gemeenten"}[level]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
