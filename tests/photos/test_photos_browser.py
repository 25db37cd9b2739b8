"""Headless Chromium opens an incident with before/after photos (issue 13, "Done when").

A real app server on a real SQLite store and media folder; the photos are attached
through the services beforehand. The details panel must show both images (decoded by
the browser: ``naturalWidth`` > 0), the flags in plain Vietnamese, and load nothing
from any other host.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from geo.auth import User
from geo.photos import MediaStore, PhotoSource
from geo.services import photos as photo_services
from tests._photos import make_photo, point_at

pytestmark = pytest.mark.browser

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
#: Incident #1 of tests._incidents.KNOWN: reported at 12 Hàng Mã, 2025-07-02 00:30 Hà Nội.
SPOT = (21.0365, 105.8490)
REPORTED = datetime(2025, 7, 2, 0, 30, tzinfo=HANOI)


def _photo(seed: int, east_m: float, taken: datetime) -> bytes:
    lat, lon = point_at(*SPOT, east_m=east_m)
    return make_photo("jpeg", size=(160, 120), seed=seed, noise=False, lat=lat, lon=lon,
                      taken=taken.strftime("%Y:%m:%d %H:%M:%S"), offset="+07:00")  # fmt: skip


@pytest.fixture(scope="module")
def photo_app(tmp_path_factory, wards):
    from tests._browser import require_browser_stack, running_app
    from tests._incidents import make_store

    require_browser_stack()
    tmp = tmp_path_factory.mktemp("photos_app")
    media = MediaStore(tmp / "media")
    store = make_store(tmp / "photos.sqlite", wards)
    admin = User("seed", frozenset({"admin"}))
    photo_services.add_photos(store, admin, 1, [PhotoSource.from_bytes("truoc.jpg", _photo(1, 5, REPORTED))],
                              role="before", media=media)  # fmt: skip
    photo_services.add_photos(store, admin, 1, [
        PhotoSource.from_bytes("sau.jpg", _photo(2, 120, REPORTED + timedelta(days=1)))
    ], role="after", media=media)  # fmt: skip
    store.close()
    env = {"GEO_DATABASE_URL": store.url, "GEO_MEDIA_DIR": str(media.root)}
    with running_app(tmp, env) as server:
        yield server


def test_details_panel_shows_before_and_after_with_flags(browser, photo_app):
    from tests._browser import new_recorded_page
    from tests._signin import PASSWORD, ensure_account

    name = ensure_account(photo_app.env["GEO_DATABASE_URL"], "admin")
    rec = new_recorded_page(browser, photo_app.host, credentials=(name, PASSWORD))
    try:
        rec.goto("/?ward=00070")
        frame = rec.map_frame(min_paths=126)
        cluster = frame.locator(".marker-cluster").first
        cluster.wait_for(state="visible")
        cluster.click()
        rec.settle(frame)
        reported = frame.locator("path.leaflet-interactive[fill='#d7301f']")
        reported.first.wait_for(state="visible")
        reported.first.click()
        page = rec.page
        page.get_by_text("Ảnh bằng chứng").first.wait_for(timeout=60_000)
        images = page.locator("[data-testid='stMainBlockContainer'] [data-testid='stImage'] img")
        images.nth(1).wait_for(state="visible", timeout=60_000)
        assert images.count() == 2
        for i in range(2):
            assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") > 0
        panel = page.locator("[data-testid='stMainBlockContainer']").inner_text()
        assert "Trước xử lý" in panel and "Sau xử lý" in panel
        assert "chụp xa vị trí vi phạm" in panel  # the after photo, 120 m away: photo_far
        assert "cách vị trí vi phạm 120 m" in panel and "cách vị trí vi phạm 5 m" in panel
        assert "không có cảnh báo" in panel  # the before photo raised none
        rec.screenshot("photos_details_panel")
        assert rec.foreign_requests() == []
    finally:
        rec.page.context.close()
