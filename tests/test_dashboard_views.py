"""The dashboard and the report where decisions are made (issue 30), in headless
Chromium: on a phone, with the score ranges in sight, every map the data holds, the
missing figures in words, the keyboard, a link that reopens a view, and English."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyogrio
import pytest

from tests.browser import BROWSER_ARGS, CHROMIUM
from zicht.boundaries.codes import LAYER_NAMES
from zicht.engine.outputs.dashboard import read_dashboard_data
from zicht.engine.outputs.language import LOW_POPULATION, class_breaks

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def _layer(demo_out, level="buurt"):
    return pyogrio.read_dataframe(
        demo_out / "zicht.gpkg", layer=LAYER_NAMES[level], read_geometry=False
    )


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield browser
        browser.close()


class Page:
    """A page in a viewport, with the console errors it raised."""

    def __init__(self, browser, url: str, viewport: dict[str, int], ready: bool = True):
        self.page = browser.new_page(viewport=viewport, accept_downloads=True)
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        if ready:
            self.page.wait_for_selector("body[data-ready='1']", timeout=20_000)

    def close(self):
        assert self.errors == []
        self.page.close()


@pytest.fixture(scope="module")
def desktop(browser, demo_out):
    page = Page(browser, (demo_out / "dashboard.html").as_uri(), DESKTOP)
    yield page.page
    page.close()


def _hover(page, code):
    page.click("#zoomreset")
    x, y = page.evaluate(f"window.zicht.screenPoint({code!r})")
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y)
    page.wait_for_timeout(50)
    return page.inner_text("#tooltip .value")


def test_on_a_phone_the_map_comes_first_and_nothing_scrolls_sideways(browser, demo_out):
    phone = Page(browser, (demo_out / "dashboard.html").as_uri(), PHONE)
    page = phone.page
    box = page.locator("#map").bounding_box()
    assert box["width"] >= 300 and box["height"] >= 300
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    table = page.locator("#tablebox").bounding_box()
    assert table["y"] >= box["y"] + box["height"]  # the list is a sheet under the map
    # the legend starts folded, so that it covers no more than a corner of the map
    assert page.evaluate("!document.getElementById('legendbox').open")
    page.evaluate("window.zicht.setTheme('vastgoed')")
    page.evaluate(f"window.zicht.select({_layer(demo_out)['code'].iloc[0]!r})")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)  # the profile's tables stay inside too
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet
    page.wait_for_timeout(100)
    assert page.locator("#map").bounding_box()["width"] >= 400
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    phone.close()


def test_the_report_reads_on_a_phone(browser, demo_out):
    report = Page(browser, (demo_out / "report.html").as_uri(), PHONE, ready=False)
    page = report.page
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    widest = page.evaluate(
        "Math.max(...[...document.querySelectorAll('table')].map(t => t.scrollWidth))"
    )
    assert widest <= PHONE["width"]
    page.emulate_media(media="print")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    report.close()


def test_the_print_stylesheet_drops_the_controls(desktop):
    desktop.emulate_media(media="print")
    try:
        hidden = desktop.evaluate(
            "['zoom', 'sheets', 'filter'].map(id => getComputedStyle("
            "document.getElementById(id).closest('#zoom, #sheets, .bar')).display)"
        )
        assert hidden == ["none"] * 3
        overflow = "getComputedStyle(document.getElementById('tablewrap')).overflowY"
        assert desktop.evaluate(overflow) == "visible"  # the whole list on paper
    finally:
        desktop.emulate_media(media="screen")


def test_the_table_and_the_csv_show_each_score_with_its_range(desktop, demo_out):
    layer = _layer(demo_out).set_index("code")
    desktop.select_option("#level", "buurt")
    desktop.evaluate("window.zicht.setTheme('vastgoed')")
    desktop.evaluate("window.zicht.setLayer('risk_vastgoed')")
    rows = desktop.locator("#table tbody tr")
    assert rows.nth(0).locator(".rangebar").count() == 1
    for k in range(5):
        code = rows.nth(k).locator("td").nth(1).inner_text()
        low, high = layer.loc[code, ["risk_low_vastgoed", "risk_high_vastgoed"]]
        text = rows.nth(k).locator(".rangetext").inner_text()
        # the page rounds halves away from zero (Intl.NumberFormat), Python's format to even
        assert text == f"{np.floor(low + 0.5):.0f}–{np.floor(high + 0.5):.0f}", (code, text)
    with desktop.expect_download() as download:
        desktop.click("#csv")
    table = pd.read_csv(download.value.path(), sep=";", decimal=",", encoding="utf-8-sig")
    assert list(table.columns[:4]) == ["Naam", "Code", "Wijk", "Gemeente"]
    assert {"Risicoscore vastgoed, ondergrens", "Risicoscore vastgoed, bovengrens"} <= set(
        table.columns
    )
    assert {"Hoger door", "Lager door"} <= set(table.columns)
    mine = table.set_index("Code")
    known = layer["risk_low_vastgoed"].notna()
    # a column with "geen score: ..." beside numbers is read as text
    low = mine["Risicoscore vastgoed, ondergrens"].astype(str).str.replace(",", ".")
    low = pd.to_numeric(low, errors="coerce")
    assert np.allclose(low.loc[layer.index[known]], layer.loc[known, "risk_low_vastgoed"])
    wijken = _layer(demo_out, "wijk").set_index("code")["naam"]
    first = layer.index[0]
    assert mine.loc[first, "Wijk"] == wijken[layer.loc[first, "wijkcode"]]


def test_wide_ranges_are_marked_and_explained(desktop, demo_out):
    layer = _layer(demo_out)
    desktop.evaluate("window.zicht.setTheme('vastgoed')")
    desktop.evaluate("window.zicht.setLayer('risk_vastgoed')")
    width = layer["risk_high_vastgoed"] - layer["risk_low_vastgoed"]
    assert (width > 40).any()
    assert "onzekere score: bandbreedte meer dan 40 punten" in desktop.inner_text("#legendbody")
    # a theme whose ranges are all narrow has no such line
    narrow = layer["risk_high_drugs"] - layer["risk_low_drugs"]
    desktop.evaluate("window.zicht.setTheme('drugs')")
    desktop.evaluate("window.zicht.setLayer('risk_drugs')")
    assert ("onzekere score" in desktop.inner_text("#legendbody")) == bool((narrow > 40).any())


def test_the_trend_map_can_be_chosen_with_its_own_legend(desktop, demo_out):
    layer = _layer(demo_out)
    desktop.select_option("#level", "buurt")
    for theme in ("vastgoed", "none"):
        desktop.evaluate(f"window.zicht.setTheme({theme!r})")
        options = desktop.eval_on_selector_all("#layer option", "o => o.map(x => x.value)")
        assert "trend_misdrijven" in options
    desktop.select_option("#layer", "trend_misdrijven")
    assert "Ontwikkeling van hotspots" in desktop.inner_text("#maptitle")
    legend = desktop.inner_text("#legendbody")
    assert "geregistreerde misdrijven" in legend and "sporadische coldspot" in legend
    assert "0-20" not in legend  # not the score's classes
    code = layer.loc[layer["trend_misdrijven"] == "sporadic cold", "code"].iloc[0]
    assert "sporadische coldspot" in _hover(desktop, code)


def test_a_yearly_figure_has_a_year_choice(desktop):
    desktop.evaluate("window.zicht.setTheme('none')")
    desktop.select_option("#layer", "misdrijven_2025")
    assert desktop.is_visible("#yearbox")
    years = desktop.eval_on_selector_all("#year option", "o => o.map(x => x.textContent)")
    assert years == ["2021", "2022", "2023", "2024", "2025"]
    desktop.select_option("#year", "misdrijven_2022")
    assert desktop.evaluate("window.zicht.state.layer") == "misdrijven_2022"
    assert "2022" in desktop.inner_text("#maptitle")
    desktop.select_option("#layer", "inwoners")
    assert not desktop.is_visible("#yearbox")


def test_missing_figures_say_why_and_withheld_is_not_missing(desktop, demo_out):
    layer = _layer(demo_out)
    desktop.select_option("#level", "buurt")
    desktop.evaluate("window.zicht.setTheme('drugs')")
    desktop.evaluate("window.zicht.setLayer('drugsincidenten')")
    missing = layer["drugsincidenten"].isna()
    ruled = layer[missing & layer["suppression"].str.contains("gebiedsregel personen", na=False)]
    withheld = layer[missing & (layer["suppression"] == "onderdrukt")]
    assert len(ruled) and len(withheld)
    big = ruled.sort_values("oppervlakte_land").iloc[-1]
    text = _hover(desktop, big.code)
    assert text == "te weinig inwoners om cijfers te tonen"
    big = withheld.sort_values("oppervlakte_land").iloc[-1]
    assert _hover(desktop, big.code) == "cijfer afgeschermd"
    legend = desktop.inner_text("#legendbody")
    assert "te weinig inwoners om cijfers te tonen" in legend and "cijfer afgeschermd" in legend
    # a figure that is not sensitive and not there is missing, not withheld
    desktop.evaluate("window.zicht.setTheme('none')")
    desktop.evaluate("window.zicht.setLayer('woz_waarde')")
    none = layer[layer["woz_waarde"].isna()].sort_values("oppervlakte_land")
    assert len(none)
    assert _hover(desktop, none.iloc[-1].code) == "geen cijfer bekend"


def test_rates_of_almost_empty_areas_are_marked_and_out_of_the_classes(desktop, demo_out):
    layer = _layer(demo_out)
    small = layer["inwoners"] < LOW_POPULATION
    rate = layer["misdrijven_per_1000"]
    worst = layer.loc[rate.idxmax()]
    assert worst["inwoners"] < LOW_POPULATION  # the absurd rate: 5 inhabitants
    data = read_dashboard_data(demo_out / "dashboard.html")
    classes = data["levels"]["buurt"]["legends"]["misdrijven_per_1000"]["classes"]
    assert classes[-1][1] == pytest.approx(rate[~small].max())
    assert class_breaks(rate)[-1] == pytest.approx(rate.max())  # control: all of them
    desktop.evaluate("window.zicht.setTheme('none')")
    desktop.evaluate("window.zicht.setLayer('misdrijven_per_1000')")
    assert "minder dan 50 inwoners" in _hover(desktop, worst.code)
    assert "minder dan 50 inwoners" in desktop.inner_text("#legendbody")


def test_the_keyboard_reaches_and_uses_the_map_and_the_list(desktop):
    desktop.evaluate("window.zicht.setTheme('drugs')")
    desktop.evaluate("window.zicht.setLayer('risk_drugs')")
    desktop.click("#zoomreset")
    desktop.focus("#map")
    desktop.keyboard.press("ArrowRight")
    first = desktop.evaluate("window.zicht.state.focus")
    desktop.keyboard.press("ArrowRight")
    second = desktop.evaluate("window.zicht.state.focus")
    assert first >= 0 and second >= 0 and second != first
    desktop.keyboard.press("Enter")
    code = desktop.evaluate("window.zicht.state.selected")
    assert code and code in desktop.inner_text("#profile .sub")
    assert desktop.evaluate("window.zicht.state.focus") == second
    assert desktop.inner_text("#mapstatus")
    # the focused row of the list stands out: an outline with contrast of 3:1 or more
    row = desktop.locator("#table tbody tr").nth(2)
    row.focus()
    style = row.evaluate(
        "r => { const s = getComputedStyle(r); return [s.outlineStyle, s.outlineWidth,"
        " s.outlineColor, s.backgroundColor]; }"
    )
    assert style[0] != "none" and float(style[1].rstrip("px")) >= 2
    assert _contrast(style[2], style[3]) >= 3 and _contrast(style[2], "rgb(255, 255, 255)") >= 3
    desktop.keyboard.press("ArrowDown")
    assert desktop.evaluate("document.activeElement.dataset.index") != row.get_attribute(
        "data-index"
    )


def _contrast(a: str, b: str) -> float:
    """WCAG contrast of two CSS ``rgb(...)`` colours."""

    def luminance(colour: str) -> float:
        r, g, b = (int(v) / 255 for v in re.findall(r"\d+", colour)[:3])
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_compared_areas_and_the_view_come_back_from_a_link(browser, desktop, demo_out):
    layer = _layer(demo_out)
    a, b = layer["code"].iloc[0], layer["code"].iloc[1]
    desktop.select_option("#level", "buurt")
    desktop.evaluate("window.zicht.setTheme('vastgoed')")
    desktop.evaluate("window.zicht.setLayer('risk_vastgoed')")
    desktop.evaluate(f"window.zicht.select({a!r})")
    desktop.click("#compareadd")
    desktop.evaluate(f"window.zicht.select({b!r})")
    desktop.click("#compareadd")
    heads = desktop.locator("#comparebody thead th a")
    assert [heads.nth(k).inner_text() for k in range(heads.count())] == list(layer["naam"].iloc[:2])
    assert desktop.locator("#comparebody .rangebar").count() >= 2
    url = desktop.url
    assert "vergelijk=" in url and "kaart=risk_vastgoed" in url
    again = Page(browser, url, DESKTOP)
    state = again.page.evaluate("window.zicht.state")
    assert state["selected"] == b and state["compare"] == [a, b]
    assert state["layer"] == "risk_vastgoed"
    assert again.page.locator("#comparebody thead th a").count() == 2
    again.close()
    desktop.click("#compareclear")


def test_english_is_english_to_the_footer(desktop):
    desktop.click("#lang")
    try:
        footer = desktop.inner_text("#footer")
        assert footer.startswith("Note: the themes") and "created" in footer
        assert "Source:" in footer and not re.search(r"\b(Bron|gemaakt|synthetische)\b", footer)
        words = desktop.inner_text("#legendbox") + desktop.inner_text("#maphelp")
        assert not re.search(r"\b(geen|cijfer|onderdrukt|inwoners|Legenda)\b", words), words
    finally:
        desktop.click("#lang")


def test_the_report_gives_ranges_in_numbers_and_a_trend_map(demo_out):
    page = (demo_out / "report.html").read_text(encoding="utf-8")
    ranges = re.findall(r"<td data-label='Bandbreedte'>(.*?)</td>", page)
    assert len(ranges) >= 10
    form = r"\d+(,\d)?-\d+(,\d)?(; rang \d+-\d+)?(, geschat)?"
    assert all(re.fullmatch(form, r) for r in ranges), ranges
    trends = page.split("<section id='trends'>")[1].split("</section>")[0]
    assert "geregistreerde misdrijven" in trends and "sporadische coldspot" in trends
    assert "UTC" not in page and "Vastgoed, Drugs" in page and " en Branches" in page


def test_the_run_says_which_file_to_open(demo_session, demo_out):
    _, lines = demo_session
    assert lines[-1].endswith(f"open {demo_out / 'dashboard.html'} in a browser")


def _scored_grid(tmp_path):
    """A dashboard of 6 square buurten with a score, its range, and the rank range
    columns a run may add (``rank_low_``/``rank_high_``): the page shows what it has."""
    from datetime import datetime

    from tests.conftest import grid_buurten
    from zicht.engine.outputs.dashboard import DashboardInputs, build_dashboard

    codes = [f"BU09990{k:03d}" for k in range(6)]
    grid = grid_buurten(codes).rename(columns={"buurtcode": "code", "buurtnaam": "naam"})
    grid["inwoners"] = [1000.0, 20.0, 800.0, 900.0, 1200.0, 700.0]
    grid["risk_x"] = [90.0, 10.0, 50.0, 70.0, 30.0, None]
    grid["risk_low_x"] = [60.0, 0.0, 45.0, 65.0, 10.0, None]
    grid["risk_high_x"] = [99.0, 40.0, 55.0, 75.0, 50.0, None]
    grid["rank_x"] = [1.0, 5.0, 3.0, 2.0, 4.0, None]
    grid["rank_low_x"] = [1.0, 3.0, 2.0, 1.0, 3.0, None]
    grid["rank_high_x"] = [2.0, 5.0, 4.0, 3.0, 5.0, None]
    grid["suppression"] = [None, None, None, None, None, "gebiedsregel personen"]
    indicators = pd.DataFrame(
        {
            "id": ["inwoners"],
            "theme": ["none"],
            "kind": ["count"],
            "label_nl": ["Inwoners"],
            "label_en": ["Inhabitants"],
            "unit": ["personen"],
            "sensitive": [0],
            "unit_type": ["person"],
            "denominator": [None],
            "synthetic": [0],
        }
    )
    html = build_dashboard(
        DashboardInputs(
            title="Proef",
            attribution="Bron: proef",
            created=datetime(2026, 1, 2, 3, 4),
            layers={"buurt": grid},
            indicators=indicators,
            themes={"x": "Thema X"},
        )
    )
    path = tmp_path / "dashboard.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_rank_ranges_show_where_the_run_has_them(browser, tmp_path):
    page = Page(browser, _scored_grid(tmp_path).as_uri(), DESKTOP)
    rows = page.page.locator("#table tbody tr")
    assert rows.count() == 6
    first = rows.nth(0).inner_text()
    assert "90,0" in first and "60–99" in first and "1 (1–2)" in first
    assert "geen score: te weinig inwoners" in rows.nth(5).inner_text()
    page.page.evaluate("window.zicht.select('BU09990001')")
    profile = page.page.inner_text("#profile")
    assert "Rang 5 (3–5) / 6" in profile and "0–40" in profile
    csv = page.page.evaluate("window.zicht.csv()")
    header = csv.splitlines()[0].lstrip("\ufeff").split(";")
    assert header[-2:] == ["rang best mogelijk", "rang slechtst mogelijk"]
    page.close()
