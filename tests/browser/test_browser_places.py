"""The map's place layer (issue 12) in headless Chromium: off by default; once switched on,
every place of the chosen ward is drawn as a circle filled with its state's colour."""

from __future__ import annotations

import pytest

from tests._sustain_world import HOAN_KIEM, SPOTS, seed

pytestmark = pytest.mark.browser

#: Hoàn Kiếm's places of the world by the rule: A, B, C cleared last; E never cleared.
EXPECTED_FILLS = sorted(["#1a9850", "#1a9850", "#1a9850", "#d7301f"])


@pytest.fixture(scope="module")
def places_app(tmp_path_factory):
    from tests._browser import require_browser_stack, running_app

    require_browser_stack()
    tmp = tmp_path_factory.mktemp("places_app")
    url = f"sqlite:///{tmp / 'store.sqlite'}"
    seed(url)
    with running_app(tmp, {"GEO_DATABASE_URL": url}) as server:
        yield server, url


def test_the_place_layer_draws_when_switched_on(browser, places_app):
    from tests._browser import new_recorded_page
    from tests._signin import PASSWORD, ensure_account

    server, url = places_app
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
        assert rec.foreign_requests() == []
        assert rec.asset_errors() == []
    finally:
        rec.page.context.close()
