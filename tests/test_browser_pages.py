"""Leaders' pages in headless Debian Chromium: the Compare choropleth is drawn in a visible
frame from the app's own host; screenshots of Compare, Progress and the ward page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

MIN_FRAME_HEIGHT = 300
N_WARDS = 126


@pytest.fixture(scope="module")
def sample_app(tmp_path_factory, sample_store_url):
    """An app server over the committed 5,000-row sample (a leader's real view)."""
    from _browser import require_browser_stack, running_app

    require_browser_stack()
    with running_app(tmp_path_factory.mktemp("sample_app"), {"GEO_DATABASE_URL": sample_store_url}) as server:
        yield server


@pytest.fixture
def sample_page(browser, sample_app):
    from _browser import new_recorded_page
    from _signin import PASSWORD, ensure_account

    name = ensure_account(sample_app.env["GEO_DATABASE_URL"], "viewer")
    rec = new_recorded_page(browser, sample_app.host, credentials=(name, PASSWORD))
    yield rec
    rec.page.context.close()


def _errors(rec) -> list[str]:
    """Console errors but Streamlit's own probe of a page path as its base URL: opening
    /compare first asks /compare/_stcore/health and host-config (404), then the root."""
    return [e for e in rec.asset_errors() if "/_stcore/" not in e]


def _visible_map(rec, min_paths: int = N_WARDS):
    frame = rec.map_frame(min_paths=min_paths)
    assert frame.locator("path.leaflet-interactive").count() >= min_paths
    # a map whose scripts failed can keep its paths in the DOM in a 0 px frame
    assert rec.map_iframe_box()["height"] >= MIN_FRAME_HEIGHT
    assert frame.locator(".leaflet-container").first.bounding_box()["height"] >= MIN_FRAME_HEIGHT
    return frame


def test_compare_on_an_empty_store_still_draws_the_wards(recorded_page):
    rec = recorded_page
    rec.goto("/compare")
    rec.page.get_by_text("So sánh các phường, xã").first.wait_for()
    _visible_map(rec)
    rec.screenshot("compare_page_empty_store")
    assert rec.foreign_requests() == []
    assert _errors(rec) == []


def test_compare_draws_the_choropleth(sample_page):
    rec = sample_page
    rec.goto("/compare?metric=pct_cleared")
    rec.page.get_by_text("So sánh các phường, xã").first.wait_for()
    frame = _visible_map(rec)
    # the wards are filled with the metric's colours and a legend names the metric
    filled = frame.locator("path.leaflet-interactive[fill-opacity='0.75']")
    assert filled.count() >= N_WARDS
    legend = frame.locator(".geo-legend")
    legend.wait_for(state="visible")
    assert "% đã xử lý" in legend.inner_text()
    # the sample gives the wards different values: more than one class colour is drawn
    fills = {p.get_attribute("fill") for p in filled.all()}
    assert len(fills) >= 3
    rec.page.get_by_text("Bảng xếp hạng").first.wait_for()
    rec.page.get_by_text("Ma trận phường × tuần").first.wait_for()
    rec.screenshot("compare_page_vi")
    assert rec.foreign_requests() == []
    assert _errors(rec) == []


def test_progress_and_ward_pages_render(sample_page):
    rec = sample_page
    rec.goto("/progress?lang=en")
    rec.page.get_by_text("Before / after").first.wait_for()
    _visible_map(rec)  # the before/after change map
    rec.screenshot("progress_page_en")

    rec.goto("/ward?ward=00070")
    rec.page.get_by_text("Phường Hoàn Kiếm").first.wait_for()
    rec.page.get_by_text("Tải báo cáo PDF").first.wait_for()
    _visible_map(rec, min_paths=1)  # the ward's outline
    rec.screenshot("ward_page_hoan_kiem")
    assert rec.foreign_requests() == []
    assert _errors(rec) == []
