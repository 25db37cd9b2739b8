"""End to end in headless Debian Chromium: the app draws a visible map from its own host."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

MIN_FRAME_HEIGHT = 300


def test_map_page_draws_wards_offline_from_own_host(recorded_page):
    rec = recorded_page
    rec.goto("/")
    rec.page.get_by_text("Bản đồ vi phạm trật tự đô thị").first.wait_for()
    frame = rec.map_frame(min_paths=126)

    assert frame.locator("path.leaflet-interactive").count() >= 126
    # a map whose scripts failed can keep its paths in the DOM in a 0 px frame
    assert rec.map_iframe_box()["height"] >= MIN_FRAME_HEIGHT
    assert frame.locator(".leaflet-container").first.bounding_box()["height"] >= MIN_FRAME_HEIGHT
    # tiles are aborted (no network): the map says so and still draws the wards
    note = frame.locator(".geo-tiles-offline")
    note.wait_for(state="visible")
    assert "ngoại tuyến" in note.inner_text()
    assert "OpenStreetMap" in frame.locator(".leaflet-control-attribution").inner_text()
    rec.screenshot("map_page_vi")

    assert rec.foreign_requests() == []
    assert any("/app/static/vendor/leaflet-1.9.3/leaflet.js" in url for url in rec.requests)
    assert rec.asset_errors() == []


def test_query_params_restore_an_english_ward_view(recorded_page):
    rec = recorded_page
    rec.goto("/?lang=en&ward=00070")
    rec.page.get_by_text("Urban-order violations map").first.wait_for()
    frame = rec.map_frame(min_paths=126)
    # the selected ward is outlined (weight 3) and the view zooms to it
    thick = frame.locator("path.leaflet-interactive[stroke-width='3']")
    assert thick.count() == 1
    assert rec.map_iframe_box()["height"] >= MIN_FRAME_HEIGHT
    assert "Phường Hoàn Kiếm" in rec.page.locator("section[data-testid='stSidebar']").inner_text()
    # clicking the ward opens its summary beside the map
    thick.first.click()
    rec.page.get_by_text("Ward code: 00070").first.wait_for()
    rec.screenshot("map_page_en_hoan_kiem")
    assert rec.foreign_requests() == []
    assert rec.asset_errors() == []


@pytest.fixture(scope="module")
def seeded_app(tmp_path_factory, wards):
    """A second app server whose store holds the known Hàng Mã / Láng incidents."""
    from tests._browser import require_browser_stack, running_app
    from tests._incidents import make_store

    require_browser_stack()
    tmp = tmp_path_factory.mktemp("seeded")
    store = make_store(tmp / "seeded.sqlite", wards)
    with running_app(tmp, {"GEO_DATABASE_URL": store.url}) as server:
        yield server


@pytest.fixture
def seeded_page(browser, seeded_app):
    from tests._browser import new_recorded_page
    from tests._signin import PASSWORD, ensure_account

    name = ensure_account(seeded_app.env["GEO_DATABASE_URL"], "admin")
    rec = new_recorded_page(browser, seeded_app.host, credentials=(name, PASSWORD))
    dialogs: list[str] = []
    rec.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    rec.dialogs = dialogs  # type: ignore[attr-defined]
    yield rec
    rec.page.context.close()


def test_markers_cluster_escape_and_open_details(seeded_page):
    rec = seeded_page
    rec.goto("/?ward=00070")
    frame = rec.map_frame(min_paths=126)
    assert rec.map_iframe_box()["height"] >= MIN_FRAME_HEIGHT
    # the two Hàng Mã incidents, 25 m apart, start as one cluster of 2
    cluster = frame.locator(".marker-cluster").first
    cluster.wait_for(state="visible")
    assert cluster.inner_text().strip() == "2"
    rec.screenshot("map_markers_clustered")
    cluster.click()
    rec.settle(frame)
    reported = frame.locator("path.leaflet-interactive[fill='#d7301f']")
    cleared = frame.locator("path.leaflet-interactive[fill='#1a9850']")
    reported.first.wait_for(state="visible")
    cleared.first.wait_for(state="visible")
    assert frame.locator("path.leaflet-interactive").count() >= 128

    # a field team's "<script>" address shows as text, never runs
    cleared.first.hover()
    tooltip = frame.locator(".leaflet-tooltip").last
    tooltip.wait_for(state="visible")
    assert "<script>alert('x')</script>" in tooltip.inner_text()

    reported.first.click()
    rec.page.get_by_text("12 Hàng Mã").first.wait_for()
    panel = rec.page.locator("[data-testid='stMainBlockContainer']").inner_text()
    assert "#1" in panel and "Mới phát hiện" in panel
    rec.screenshot("map_marker_details")
    assert rec.dialogs == []  # type: ignore[attr-defined]
    assert rec.foreign_requests() == []
    assert rec.asset_errors() == []
