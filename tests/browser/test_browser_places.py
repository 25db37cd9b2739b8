"""The map's place layer (issue 12) in headless Chromium: off by default; once switched on,
every place of the chosen ward is drawn as a circle filled with its state's colour, and a
click opens the place's popup with its timeline (the rule worked by hand)."""

from __future__ import annotations

import pytest

from geo.crs import LOCAL_TZ
from tests._sustain_world import CHECK_NOTES, HOAN_KIEM, SPOTS, day, seed, timeline_by_rule

pytestmark = pytest.mark.browser

#: Hoàn Kiếm's places of the world by the rule: A, B, C cleared last; E never cleared.
EXPECTED_FILLS = sorted(["#1a9850", "#1a9850", "#1a9850", "#d7301f"])
#: The popup's words for each kind of event (Vietnamese, the app's first language).
KIND_WORDS = {"report": "Phát hiện", "recurrence": "Tái phạm", "clear": "Xử lý xong",
              "check_clear": "Tái kiểm tra: còn thông thoáng", "check_violation": "Tái kiểm tra: tái vi phạm"}  # fmt: skip


@pytest.fixture(scope="module")
def places_app(tmp_path_factory):
    from tests._browser import require_browser_stack, running_app

    require_browser_stack()
    tmp = tmp_path_factory.mktemp("places_app")
    url = f"sqlite:///{tmp / 'store.sqlite'}"
    ids = seed(url)
    with running_app(tmp, {"GEO_DATABASE_URL": url}) as server:
        yield server, url, ids


def test_the_place_layer_draws_when_switched_on(browser, places_app):
    from tests._browser import new_recorded_page
    from tests._signin import PASSWORD, ensure_account

    server, url, ids = places_app
    name = ensure_account(url, "viewer")
    rec = new_recorded_page(browser, server.host, credentials=(name, PASSWORD))
    try:
        rec.goto(f"/?ward={HOAN_KIEM}")
        frame = rec.map_frame()
        assert frame.locator("path.geo-place").count() == 0  # off by default
        rec.page.locator(".st-key-m_places label").first.click()
        n_places = sum(1 for _, _, ward in SPOTS.values() if ward == HOAN_KIEM)
        rec.page.wait_for_function(
            """n => [...document.querySelectorAll("iframe[title*='streamlit_folium']")].some(
                   f => f.contentDocument && f.contentDocument.querySelectorAll('path.geo-place').length === n)""",
            arg=n_places, timeout=90_000,
        )  # fmt: skip
        frame = rec.map_frame()
        paths = frame.locator("path.geo-place")
        fills = sorted(paths.nth(i).get_attribute("fill") for i in range(paths.count()))
        assert fills == EXPECTED_FILLS
        assert frame.locator("path.geo-place-open").count() == 1
        box = paths.first.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0  # drawn, not only in the DOM
        assert rec.map_iframe_box()["height"] > 300
        rec.screenshot("map_place_layer")

        # open place A's popup: its timeline, in time order, as the rule gives it
        popup = frame.locator(".leaflet-popup-content .geo-place-popup")
        for i in range(paths.count()):
            paths.nth(i).dispatch_event("click")
            # the one popup open (the one before has closed)
            frame.wait_for_function("document.querySelectorAll('.geo-place-popup').length === 1", timeout=30_000)
            popup.wait_for(state="visible", timeout=30_000)
            if f"Điểm {ids['A']}<" in popup.inner_html():
                break
        else:
            raise AssertionError("no popup of place A")
        items = popup.locator("ol.geo-timeline li")
        expected = [
            (kind, f"{day(d).tz_convert(LOCAL_TZ):%d/%m/%Y} · {KIND_WORDS[kind]}" + (f" — {note}" if note else ""))
            for d, kind, note in timeline_by_rule("A")
        ]  # fmt: skip
        got = [(items.nth(i).get_attribute("data-kind"), items.nth(i).inner_text()) for i in range(items.count())]
        assert got == expected
        assert "Diễn biến" in popup.inner_text() and "điểm A" in popup.inner_text()
        # the note is user input: its markup shows as text and never runs
        assert CHECK_NOTES[("A", 63)] in popup.inner_text()
        assert popup.locator("img").count() == 0
        assert frame.evaluate("document.title") != "pwned"
        assert popup.bounding_box()["height"] > 0
        rec.screenshot("map_place_popup")
        assert rec.foreign_requests() == []
        assert rec.asset_errors() == []
    finally:
        rec.page.context.close()
