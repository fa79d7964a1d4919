"""The offline dashboard: what it embeds, its geometry, the audit, and the page itself
in headless Chromium (Debian's chromium, as the report test uses)."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Polygon

from tests.browser import BROWSER_ARGS, CHROMIUM
from zicht.boundaries.codes import LAYER_NAMES
from zicht.engine.cli import main
from zicht.engine.outputs.dashboard import (
    DATA_ID,
    _json_value,
    encode_geometry,
    json_values,
    read_dashboard_data,
)
from zicht.engine.outputs.manifest import sha256_of
from zicht.engine.outputs.verify import audit_directory


@pytest.fixture(scope="module")
def data(demo_out):
    return read_dashboard_data(demo_out / "dashboard.html")


def _layer(demo_out, level):
    return pyogrio.read_dataframe(
        demo_out / "zicht.gpkg", layer=LAYER_NAMES[level], read_geometry=False
    )


def test_dashboard_embeds_exactly_the_published_layers(demo_out, data):
    assert set(data["levels"]) == {"buurt", "wijk", "gemeente"}
    for level, embedded in data["levels"].items():
        layer = _layer(demo_out, level)
        assert list(embedded["columns"]) == list(layer.columns)
        for name in layer.columns:
            mine = pd.Series(embedded["columns"][name], dtype=object)
            published = layer[name]
            assert (mine.isna().to_numpy() == published.isna().to_numpy()).all(), name
            known = published.notna().to_numpy()
            if pd.api.types.is_numeric_dtype(published):
                assert np.allclose(mine[known].astype(float), published[known].astype(float))
            else:
                assert (mine[known].astype(str) == published[known].astype(str)).all()
        assert len(embedded["geometry"]) == len(embedded["points"]) == len(layer)
    assert (demo_out / "dashboard.html").stat().st_size < 3_000_000


def test_no_withheld_value_is_in_the_dashboard(demo_out, demo_run):
    """The true values of withheld cells appear nowhere in the page's data."""
    cells = demo_run.protection.cells
    withheld = cells[(cells["reason"] != "") & cells["sensitive"] & cells["value"].notna()]
    data = read_dashboard_data(demo_out / "dashboard.html")
    assert len(withheld) > 100
    for row in withheld.itertuples(index=False):
        columns = data["levels"][row.level]["columns"]
        position = columns["code"].index(row.code)
        assert columns[row.indicator][position] is None, (row.indicator, row.code)


def test_dashboard_is_self_contained(demo_out):
    page = (demo_out / "dashboard.html").read_text(encoding="utf-8")
    assert "<link" not in page and "<img" not in page and "<iframe" not in page
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert "default-src 'none'" in page  # the browser refuses any request the page would make
    assert page.count(f'id="{DATA_ID}"') == 1


def test_geometry_keeps_neighbours_together():
    """Two neighbours with a wiggly shared edge, and two squares on top of them that
    meet all four in a point: after simplifying and quantising, the decoded polygons
    neither overlap nor leave gaps, and the wiggle is gone."""
    import geopandas as gpd

    wiggle = [(100, 40), (103, 50), (99, 60), (101.5, 80), (100, 100)]
    left = Polygon([(0, 0), (100, 0), *wiggle, (0, 100)])
    right = Polygon([(100, 0), (200, 0), (200, 100), *reversed(wiggle)])
    tops = [Polygon([(x, 100), (x + 100, 100), (x + 100, 200), (x, 200)]) for x in (0, 100)]
    shapes = [left, right, *tops]
    encoded, origin = encode_geometry(gpd.GeoSeries(shapes), tolerance=10.0, quantum=1.0)
    decoded = [_decode(feature, origin, 1.0) for feature in encoded]
    union = shapely.union_all(decoded)
    assert union.area == pytest.approx(40_000, rel=1e-3)
    assert sum(p.area for p in decoded) == pytest.approx(union.area, rel=1e-9)  # no overlap
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gaps
    assert len(decoded[0].exterior.coords) < len(left.exterior.coords)


def _rings_one_by_one(shape, origin, quantum):
    """A shape's polygons encoded ring by ring, as the page's encoding was written
    first (the reference for the vectorised :func:`encode_geometry`)."""
    out = []
    for polygon in getattr(shape, "geoms", [shape]):
        if polygon.geom_type != "Polygon":
            continue
        rings = []
        for ring in [polygon.exterior, *polygon.interiors]:
            xy = np.asarray(ring.coords)[:-1, :2]
            grid = np.round((xy - origin) / quantum).astype(np.int64)
            grid = grid[np.r_[True, np.any(grid[1:] != grid[:-1], axis=1)]]
            if len(grid) >= 3:
                rings.append(np.vstack([grid[:1], np.diff(grid, axis=0)]).ravel().tolist())
        out.append(rings)
    return out


def test_the_encoded_geometry_is_that_of_each_ring_on_its_own():
    """The demo's buurten, a polygon with a hole, one with a ring that collapses on
    the grid, a multipolygon and a collection with a line: encoded at once as ring by
    ring; the control: another quantum gives other rings."""
    import geopandas as gpd

    from zicht.engine.data import DEMO_BOUNDARIES

    areas = gpd.read_file(DEMO_BOUNDARIES).geometry.head(200)
    holed = shapely.box(0, 0, 100, 100).difference(shapely.box(40, 40, 60, 60))
    tiny = shapely.Polygon([(200, 0), (200.4, 0), (200.4, 0.4)])
    multi = shapely.MultiPolygon([shapely.box(300, 0, 310, 10), shapely.box(320, 0, 330, 10)])
    mixed = shapely.GeometryCollection(
        [shapely.box(400, 0, 410, 10), shapely.LineString([(0, 0), (1, 1)])]
    )
    for shapes in (areas, gpd.GeoSeries([holed, tiny, multi, mixed], crs=areas.crs)):
        try:
            simple = shapely.coverage_simplify(shapes.to_numpy(), 8.0, simplify_boundary=True)
        except TypeError:  # a line: each simplified on its own, as the page does
            simple = shapely.simplify(shapes.to_numpy(), 8.0, preserve_topology=True)
        for quantum in (2.0, 5.0):
            encoded, origin = encode_geometry(shapes, tolerance=8.0, quantum=quantum)
            assert encoded == [_rings_one_by_one(s, origin, quantum) for s in simple]
    coarse, origin = encode_geometry(areas, tolerance=8.0, quantum=50.0)
    simple = shapely.coverage_simplify(areas.to_numpy(), 8.0, simplify_boundary=True)
    assert coarse != [_rings_one_by_one(s, origin, 2.0) for s in simple]


def test_json_values_are_those_of_each_value_on_its_own():
    """Floats with NaN, integers, booleans, nullable integers, text with missing
    values and mixed objects: a column at once as value by value."""
    frame = pd.DataFrame(
        {
            "float": [1.5, np.nan, -0.0, 2.0],
            "float32": np.array([0.1, np.nan, 3.0, 1e-8], dtype=np.float32),
            "int": [1, 2, 3, 4],
            "bool": [True, False, True, True],
            "nullable": pd.array([1, None, 3, 4], dtype="Int64"),
            "text": pd.Series(["a", None, "b; c", "a"], dtype="str"),
            "mixed": pd.Series(["x", 1, np.nan, 2.5], dtype=object),
        }
    )
    for name in frame:
        found = json_values(frame[name])
        assert found == [_json_value(v) for v in frame[name].tolist()]
        assert [type(v) for v in found] == [type(_json_value(v)) for v in frame[name].tolist()]
    assert json_values(frame["bool"]) == [1, 0, 1, 1]


def _decode(feature, origin, quantum):
    polygons = []
    for rings in feature:
        coords = [np.cumsum(np.asarray(r).reshape(-1, 2), axis=0) * quantum + origin for r in rings]
        polygons.append(Polygon(coords[0], coords[1:]))
    return shapely.union_all(polygons)


def test_audit_fails_on_a_withheld_value_in_the_dashboard(demo_out, demo_run, tmp_path, capsys):
    copy = tmp_path / "out"
    shutil.copytree(demo_out, copy)
    cells = demo_run.protection.cells
    withheld = cells[(cells["reason"] != "") & (cells["level"] == "buurt") & cells["sensitive"]]
    row = withheld[withheld["value"] >= 1000].iloc[0]
    page = copy / "dashboard.html"
    text = page.read_text(encoding="utf-8")
    start = text.index(f'id="{DATA_ID}">') + len(f'id="{DATA_ID}">')
    end = text.index("</script>", start)
    data = json.loads(text[start:end])
    columns = data["levels"]["buurt"]["columns"]
    columns[row.indicator][columns["code"].index(row.code)] = float(row.value)
    page.write_text(text[:start] + json.dumps(data) + text[end:], encoding="utf-8")
    # the manifest is rewritten too, so that the dashboard check alone must catch it
    manifest = json.loads((copy / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["name"] == "dashboard.html":
            entry["sha256"] = sha256_of(page)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    report = audit_directory(copy)
    assert any(
        f"dashboard.html (buurt) {row.indicator} differs" in p and row.code in p
        for p in report.problems
    ), report.problems
    assert main(["--quiet", "audit", str(copy)]) == 3
    printed = capsys.readouterr().out
    assert row.code in printed and str(int(row.value)) not in printed  # never a value


def test_zicht_view_prints_the_path_without_a_browser(demo_out, monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(name, raising=False)
    assert main(["view", str(demo_out)]) == 0
    assert str(demo_out / "dashboard.html") in capsys.readouterr().out
    assert main(["view", str(demo_out / "nowhere")]) == 2


@pytest.fixture(scope="module")
def page(demo_out, tmp_path_factory):
    """The demo's dashboard in headless Chromium: (page, console errors, requests)."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
        errors, requests = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((demo_out / "dashboard.html").as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        yield page, errors, requests
        browser.close()


def _shot(page, name, tmp_path_factory):
    folder = tmp_path_factory.getbasetemp() / "dashboard-screenshots"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    assert path.stat().st_size > 10_000
    return path


def _hover(page, code):
    page.click("#zoomreset")  # the whole map: the area is on the screen
    x, y = page.evaluate(f"window.zicht.screenPoint({code!r})")
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y)
    page.wait_for_timeout(50)
    return page.inner_text("#tooltip")


def test_dashboard_draws_switches_and_stays_offline(page, demo_out, tmp_path_factory):
    page, errors, requests = page
    assert page.evaluate("window.zichtFirstMap") < 3000
    draws = page.evaluate("window.zicht.state.draws")
    page.evaluate("window.zicht.setTheme('drugs')")
    page.wait_for_function(f"window.zicht.state.draws > {draws}")
    assert "drugs" in page.inner_text("#maptitle").lower()
    draws = page.evaluate("window.zicht.state.draws")
    page.select_option("#level", "wijk")
    page.wait_for_function(f"window.zicht.state.draws > {draws}")
    assert "Wijken" in page.inner_text("#maptitle")
    rows = page.locator("#table tbody tr").count()
    assert rows == len(_layer(demo_out, "wijk"))
    _shot(page, "wijken-drugs", tmp_path_factory)
    page.select_option("#level", "buurt")
    page.click("#lang")
    assert page.inner_text("label:has(#level) span") == "Level"
    page.click("#lang")
    assert errors == []
    assert [r for r in requests if not r.startswith("file://")] == []


def test_hover_click_profile_and_comparison(page, demo_out, tmp_path_factory):
    page, errors, _ = page
    layer = _layer(demo_out, "buurt")
    page.evaluate("window.zicht.setTheme('drugs')")
    page.evaluate("window.zicht.setLayer('drugsincidenten_per_1000')")
    shown = layer[layer["drugsincidenten_per_1000"].notna()].sort_values("oppervlakte_land")
    row = shown.iloc[-1]  # a large buurt, easy to hit
    text = _hover(page, row.code)
    assert row.naam in text and row.code in text
    value = (
        f"{row.drugsincidenten_per_1000:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    )
    assert value.rstrip("0").rstrip(",") in text
    x, y = page.evaluate(f"window.zicht.screenPoint({row.code!r})")
    page.mouse.click(x, y)
    assert page.inner_text("#profile h2") == row.naam
    profile = page.inner_text("#profile")
    assert "Vergelijkbare buurten" in profile and "Waar het afwijkt" in profile
    assert page.locator("#profile a[data-code]").count() == 5
    # the map and the table are linked
    selected = page.locator("#table tbody tr.selected")
    assert selected.count() == 1 and row.code in selected.inner_text()
    _shot(page, "profile", tmp_path_factory)
    other = page.locator("#table tbody tr").nth(3)
    code = other.locator("td").nth(1).inner_text()
    other.click()
    assert page.evaluate("window.zicht.state.selected") == code
    assert code in page.inner_text("#profile .sub")
    assert errors == []


def test_a_suppressed_buurt_says_why_and_shows_no_number(page, demo_out, tmp_path_factory):
    page, errors, _ = page
    layer = _layer(demo_out, "buurt")
    ruled = layer[(layer["suppressed"] == 1) & layer["drugsincidenten"].isna()]
    assert len(ruled)
    row = ruled.sort_values("oppervlakte_land").iloc[-1]
    page.evaluate("window.zicht.setTheme('drugs')")
    page.evaluate("window.zicht.setLayer('drugsincidenten')")
    _hover(page, row.code)
    value = page.inner_text("#tooltip .value")
    assert value == "te weinig inwoners om cijfers te tonen" and not re.search(r"\d", value)
    page.evaluate("window.zicht.setLayer('risk_drugs')")
    _hover(page, row.code)
    value = page.inner_text("#tooltip .value")
    assert "geen score" in value and not re.search(r"\d", value)
    _shot(page, "suppressed", tmp_path_factory)
    assert errors == []


def test_table_filters_sorts_and_downloads_the_view(page, demo_out):
    page, errors, _ = page
    page.select_option("#level", "buurt")
    page.evaluate("window.zicht.setTheme('drugs')")
    page.evaluate("window.zicht.setLayer('risk_drugs')")
    page.fill("#filter", "BU0363A")
    rows = page.locator("#table tbody tr")
    codes = [rows.nth(k).locator("td").nth(1).inner_text() for k in range(rows.count())]
    assert codes and all(c.startswith("BU0363A") for c in codes)
    with page.expect_download() as download:
        page.click("#csv")
    lines = open(download.value.path(), encoding="utf-8-sig").read().strip().split("\n")
    assert len(lines) == len(codes) + 1 and lines[0].startswith("Naam;Code;")
    layer = _layer(demo_out, "buurt").set_index("code")
    scores = [layer.loc[c, "risk_drugs"] for c in codes]
    known = [s for s in scores if not pd.isna(s)]
    assert known == sorted(known, reverse=True)  # the map layer, highest first
    page.fill("#filter", "")
    assert errors == []
