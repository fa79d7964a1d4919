"""Ranked hotspot lists for police analysts: ``hotspots.csv``, ``hotspots.xlsx``, terminal.

One row per area and theme (buurten and wijken), ranked by risk within each theme
and level, with Dutch column headers. The CSV opens correctly in a Dutch Excel by
double-click: ``;`` as separator, ``,`` as decimal mark, UTF-8 with a byte order
mark. Every value comes from the published layers, so whatever disclosure control
withheld is empty here too.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from engine.config import Config
from engine.publish import WITHHELD_TEXT
from engine.themes import theme_output_columns

COLUMNS = {
    "thema": "Thema",
    "niveau": "Niveau",
    "rang": "Rang",
    "code": "Code",
    "naam": "Naam",
    "wijk": "Wijk",
    "gemeente": "Gemeente",
    "risico": "Risicoscore (0-100)",
    "risico_laag": "Score laag",
    "risico_hoog": "Score hoog",
    "geschat": "Geschat",
    "scoretype": "Score op basis van",
    "hotspot": "Hotspot (Gi*)",
    "lisa": "Cluster (LISA)",
    "trend": "Trend misdrijven",
    "drijvers": "Belangrijkste factoren",
    "onderdrukking": "Onderdrukt (reden)",
    "synthetisch": "Synthetische gegevens",
    "thema_code": "Themacode",
}


def hotspot_table(
    layers: dict[str, gpd.GeoDataFrame],
    config: Config,
    synthetic_themes: set[str],
    score_types: dict[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """The ranked list: per theme and level, areas with a score by rank, then the rest.
    ``score_types`` names per (level, theme) what the score is ("samengestelde index",
    "model ...")."""
    score_types = score_types or {}
    rows = []
    names = {}
    for level in ("wijk", "gemeente"):
        if level in layers:
            names.update(dict(zip(layers[level]["code"], layers[level]["naam"])))
    trend = next((f"trend_{t.id}" for t in config.trends), None)
    for theme in config.scored_themes:
        for level in ("buurt", "wijk", "gemeente"):
            layer = layers.get(level)
            if layer is None or f"risk_{theme}" not in layer:
                continue
            frame = pd.DataFrame(
                {
                    "thema": config.theme_name(theme),
                    "niveau": level,
                    "rang": layer[f"rank_{theme}"],
                    "code": layer["code"],
                    "naam": layer["naam"],
                    "wijk": layer["wijkcode"].map(names) if level == "buurt" else layer["naam"],
                    "gemeente": layer["gemeentecode"].map(names),
                    "risico": pd.to_numeric(layer[f"risk_{theme}"], errors="coerce"),
                    "risico_laag": pd.to_numeric(layer.get(f"risk_low_{theme}"), errors="coerce"),
                    "risico_hoog": pd.to_numeric(layer.get(f"risk_high_{theme}"), errors="coerce"),
                    "geschat": layer.get(f"estimated_{theme}", pd.Series(dtype=float)).map(
                        {1: "ja", 0: "nee"}
                    ),
                    "scoretype": score_types.get((level, theme)),
                    "hotspot": layer[f"hotspot_{theme}"],
                    "lisa": layer[f"lisa_{theme}"],
                    "trend": layer[trend] if trend and trend in layer else None,
                    "drijvers": layer[f"drivers_{theme}"],
                    "onderdrukking": _theme_suppression(layer, _theme_columns(config, theme)),
                    "synthetisch": "ja" if theme in synthetic_themes else "nee",
                    "thema_code": theme,
                }
            )
            rows.append(frame.sort_values(["rang", "code"], na_position="last"))
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(COLUMNS))
    table["rang"] = table["rang"].astype("Int64")
    return table


def _theme_columns(config: Config, theme: str) -> set[str]:
    """The columns a theme's row is about: its indicators (with their parts) and outputs."""
    columns = set(theme_output_columns(theme))
    for d in config.indicators:
        if d.theme == theme:
            columns |= {d.id, *d.references.values()}
    return columns


def _theme_suppression(layer: pd.DataFrame, columns: set[str]) -> list[str | None]:
    """Per area, what is withheld of one theme, in the words of the public
    ``suppression`` column: the area rules, or "onderdrukt" where a figure of the theme
    is withheld. Never the rule of a single cell."""
    texts = layer["suppression"] if "suppression" in layer else pd.Series(None, index=layer.index)
    mine = layer[[c for c in columns if c in layer]]
    withheld = mine.isna().any(axis=1)
    out = []
    for text, hidden in zip(texts, withheld):
        rules = [p for p in str(text).split("; ") if p != WITHHELD_TEXT] if text else []
        out.append("; ".join(rules) or (WITHHELD_TEXT if hidden and text else None))
    return out


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """Dutch Excel CSV: ``;`` separator, decimal comma, UTF-8 with BOM."""
    table.rename(columns=COLUMNS).to_csv(
        path, sep=";", decimal=",", index=False, encoding="utf-8-sig", float_format="%.1f"
    )


def write_xlsx(
    table: pd.DataFrame, path: Path, attribution: str, explanations: list[str] | None = None
) -> None:
    """One sheet per theme with a frozen header row, plus a sheet with sources, cautions
    and ``explanations`` (how each theme's score is made, how many areas have one).

    Written in openpyxl's write-only mode, row by row: national lists have over a
    hundred thousand rows.
    """
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    widths = (8, 6, 12, 28, 24, 16, 10, 8, 8, 8, 20, 16, 16, 18, 60, 40, 10)
    for theme, part in table.groupby("thema", sort=False):
        sheet = workbook.create_sheet(str(theme)[:31])
        sheet.freeze_panes = "A2"
        for letter, width in zip("ABCDEFGHIJKLMNOPQ", widths):
            sheet.column_dimensions[letter].width = width
        part = part.drop(columns="thema")
        sheet.append([COLUMNS[c] for c in part.columns])
        for row in part.astype(object).where(part.notna(), None).itertuples(index=False):
            sheet.append(list(row))
    notes = workbook.create_sheet("Toelichting")
    notes.append(["Toelichting"])
    for line in (
        "Een hoge score of een hotspot is een patroon in de gegevens, geen bewijs van "
        "criminaliteit.",
        "Lege cellen zijn onderdrukt om personen, adressen en bedrijven te beschermen; "
        "de kolom 'Onderdrukt (reden)' zegt waarom.",
        "Thema's met 'Synthetische gegevens = ja' zijn gebaseerd op gegenereerde, "
        "niet-echte microdata.",
        "Score laag en Score hoog: de score van het gebied als zijn geschatte en afgeronde "
        "cijfers over alles lopen wat uit de publicatie volgt, alle andere gebieden gelijk. "
        "Geschat = ja: de score gebruikt een schatting van een onderdrukt cijfer, gemaakt "
        "uit gepubliceerde cijfers alleen.",
        *(explanations or []),
        attribution,
    ):
        notes.append([line])
    workbook.save(path)


def format_for_terminal(table: pd.DataFrame, theme: str, top: int, level: str = "buurt") -> str:
    """The top ``top`` areas of one theme as a plain text table."""
    chosen = (table["thema_code"] == theme) | (table["thema"].str.lower() == theme.lower())
    name = str(table.loc[chosen, "thema"].iloc[0]) if chosen.any() else theme
    part = table[chosen & (table["niveau"] == level)].dropna(subset=["rang"])
    part = part.head(top)
    if part.empty:
        return f"Geen gepubliceerde scores voor thema {name} op niveau {level}."
    lines = [
        f"{name} ({level}), top {len(part)}:",
        f"{'rang':>4}  {'code':<11} {'naam':<28} {'score':>5} {'bandbreedte':<12} "
        f"{'hotspot':<15} {'lisa':<15} factoren",
    ]
    for row in part.itertuples(index=False):
        band = "-"
        if pd.notna(row.risico_laag) and row.risico_hoog - row.risico_laag >= 0.5:
            band = f"{row.risico_laag:.0f}-{row.risico_hoog:.0f}"
        lines.append(
            f"{int(row.rang):>4}  {row.code:<11} {str(row.naam)[:28]:<28} "
            f"{row.risico:>5.1f} {band:<12} {str(row.hotspot or '-'):<15} "
            f"{str(row.lisa or '-'):<15} {row.drijvers or '-'}"
        )
    if (part["synthetisch"] == "ja").any():
        lines.append("Let op: dit thema is berekend op synthetische (gegenereerde) microdata.")
    return "\n".join(lines)
