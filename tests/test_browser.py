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
    rec.screenshot("map_page_en_hoan_kiem")
    assert rec.foreign_requests() == []
    assert rec.asset_errors() == []
