"""Benchmark: the dashboard of the national buurt set, its size and its first map.

Runs the national pipeline (../shared/data/nl_buurten_2015.gpkg, 12,229 buurten, the
demo's themes on about a million synthetic records; see ``benchmarks.national``),
then opens ``dashboard.html`` in headless Chromium (Debian's ``chromium``, through
playwright) five times and reports the time from navigation to the first map drawn
(the page records it as ``window.zichtFirstMap``), and the file's size. The embedded
demo's dashboard is measured the same way.

Goals (issue 16): the national file under 15 MB, its first map within 3 s; the demo
under 3 MB.

    python -m benchmarks.dashboard
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import national_config, require_national_data

ROUNDS = 5


def first_map_ms(page_path: Path) -> list[float]:
    """Milliseconds from navigation to the first map, per fresh page."""
    from playwright.sync_api import sync_playwright

    from tests.browser import BROWSER_ARGS, CHROMIUM

    if CHROMIUM is None:
        raise SystemExit("this benchmark needs Debian's chromium (apt install chromium)")
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        for _ in range(ROUNDS):
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            errors: list[str] = []
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(page_path.as_uri())
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            if errors:
                raise SystemExit(f"the page failed: {errors[0]}")
            times.append(float(page.evaluate("window.zichtFirstMap")))
            page.close()
        browser.close()
    return times


def report(name: str, page_path: Path) -> None:
    times = first_map_ms(page_path)
    print(
        f"{name:<9} dashboard.html {page_path.stat().st_size / 1e6:5.1f} MB, first map "
        f"{statistics.median(times) / 1000:.2f} s (median of {ROUNDS}; "
        f"{min(times) / 1000:.2f}-{max(times) / 1000:.2f} s)"
    )


def main() -> None:
    require_national_data()
    from zicht.engine import load_config, run
    from zicht.engine.data import DEMO_CONFIG

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        demo = run(load_config(DEMO_CONFIG), Path(tmp) / "demo")
        report("demo", demo.out_dir / "dashboard.html")
        national = run(national_config(scale=1.75), Path(tmp) / "national")
        print(f"(both runs: {time.perf_counter() - start:.0f} s)")
        report("national", national.out_dir / "dashboard.html")
    print("goals: demo < 3 MB; national < 15 MB, first map < 3 s")


if __name__ == "__main__":
    main()
