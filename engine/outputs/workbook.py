"""``hotspots.xlsx``: the ranked hotspot lists as an Excel workbook, one sheet per theme.

A module of its own, importing little (pandas, XlsxWriter and the language helpers):
a national run writes the workbook in a second process while it writes the other
files (:func:`~engine.outputs.writers.write_outputs`), and that process imports only
this.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from zicht.engine.outputs.language import say

if TYPE_CHECKING:
    from xlsxwriter.worksheet import Worksheet

_NUMBER_FORMATS = {
    "rang": "0",
    "risico": "0.0",
    "risico_laag": "0.0",
    "risico_hoog": "0.0",
    "rang_van": "0",
    "rang_tot": "0",
    "modelkwaliteit": "0.00",
}


_NOTES = (
    "Een hoge score of een hotspot is een patroon in de gegevens, geen bewijs van criminaliteit.",
    "Lege cellen zijn onderdrukt om personen, adressen en bedrijven te beschermen; de kolom "
    "'Afgeschermde cijfers' zegt waarom.",
    "Thema's met 'Synthetische gegevens = ja' zijn gebaseerd op gegenereerde, niet-echte "
    "microdata.",
    "Score laag en Score hoog: de score van het gebied als zijn geschatte en afgeronde cijfers "
    "over alles lopen wat uit de publicatie volgt, alle andere gebieden gelijk. Geschat = ja: "
    "de score gebruikt een schatting van een onderdrukt cijfer, gemaakt uit gepubliceerde "
    "cijfers alleen.",
)


def write_xlsx(
    table: pd.DataFrame,
    path: Path,
    headers: dict[str, str],
    notes: list[str],
    language: str = "nl",
    branches: pd.DataFrame | None = None,
    branche_headers: dict[str, str] | None = None,
) -> None:
    """One sheet per theme with a frozen header row, a filter on every column and
    number formats, plus a sheet with cautions and ``notes`` (how each theme's score is
    made and how many areas have one, the sources). Every text is written as a text
    cell, never as a formula or link, whatever it starts with.

    Written with XlsxWriter in constant-memory mode, row by row: national lists have
    over a hundred thousand rows, and openpyxl took 16 s per 100,000 of them.
    """
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    bold = workbook.add_format({"bold": True})
    formats = {c: workbook.add_format({"num_format": f}) for c, f in _NUMBER_FORMATS.items()}
    widths = {"naam": 28, "wijk": 24, "gemeente": 16, "drijvers": 60, "onderdrukking": 40}
    for theme, part in table.groupby("thema", sort=False):
        sheet = workbook.add_worksheet(str(theme)[:31])
        part = part.drop(columns="thema")
        for k, column in enumerate(part.columns):
            # a column's format applies to every cell of it written without one
            sheet.set_column(k, k, widths.get(column, 14), formats.get(column))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, len(part), len(part.columns) - 1)
        sheet.write_row(0, 0, [headers[c] for c in part.columns], bold)
        _write_rows(sheet, part)
    if branches is not None:
        # its own name: a theme's sheet may already be called "Branches"
        sheet = workbook.add_worksheet(say("Brancheanalyse", language))
        names = branche_headers or {}
        sheet.freeze_panes(1, 3)
        sheet.autofilter(0, 0, len(branches), len(branches.columns) - 1)
        sheet.write_row(0, 0, [names.get(c, c) for c in branches.columns], bold)
        for k, column in enumerate(branches.columns):
            sheet.set_column(k, k, 40 if column == "sbi_naam" else 14)
        _write_rows(sheet, branches)
    title = say("Toelichting", language)
    sheet = workbook.add_worksheet(title)
    sheet.write(0, 0, title, bold)
    for r, line in enumerate((*(say(n, language) for n in _NOTES), *notes), start=1):
        sheet.write(r, 0, line)
    workbook.close()


def _write_rows(sheet: Worksheet, frame: pd.DataFrame) -> None:
    """Every row of ``frame`` below the header row: a text as a text cell, a number as
    a number cell, an empty cell not at all (a blank cell without a format of its own
    is not stored), anything else as ``write`` takes it. With the workbook's
    ``strings_to_formulas`` and ``strings_to_urls`` off, that is what ``write_row``
    writes, without its asking each cell's type anew (a tenth faster on the national
    list; the rest is XlsxWriter's own XML)."""
    columns = [frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in frame]
    text, number = sheet.write_string, sheet.write_number
    for r, row in enumerate(zip(*columns, strict=True), start=1):
        for k, value in enumerate(row):
            kind = value.__class__
            if kind is str:
                if value:
                    text(r, k, value)
            elif kind is float or kind is int:
                number(r, k, value)
            elif value is not None:
                sheet.write(r, k, value)
