"""The moderation page and the public lookup page in headless Chromium, on an app server
of their own: the resident's hostile text stays text (no script runs, no foreign
request), the map of the report is drawn in a visible frame, accepting works, and the
resident then looks the report up without signing in."""

from __future__ import annotations

import pytest

from geo.store import open_store
from geo.store import reports as stored
from tests._open311 import HOAN_KIEM, IN_HOAN_KIEM

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)> <script>alert(2)</script> **đậm**"
MIN_FRAME_HEIGHT = 300


@pytest.fixture(scope="module")
def reports_app(tmp_path_factory):
    from tests._browser import require_browser_stack, running_app

    require_browser_stack()
    with running_app(tmp_path_factory.mktemp("reports_app")) as server:
        yield server


def _pending_report(url: str) -> str:
    store = open_store(url)
    try:
        key = stored.add_api_key(store, "browser test", actor="test")
        key_id = stored.active_key(store, key)[0]  # type: ignore[index]
        return stored.receive(store, stored.NewReport(
            service_code="sidewalk", lat=IN_HOAN_KIEM[0], lon=IN_HOAN_KIEM[1], ward_code=HOAN_KIEM,
            address="Số 5 Lò Sứ", description=HOSTILE, media_url=None, api_key_id=key_id,
            contact={"email": "bi.mat@example.vn"},
        ), actor="apikey:test").token
    finally:
        store.close()


def test_moderate_in_chromium_then_look_up_without_signing_in(browser, reports_app):
    from tests._browser import new_recorded_page
    from tests._signin import PASSWORD, ensure_account

    url = reports_app.env["GEO_DATABASE_URL"]
    name = ensure_account(url, "officer", (HOAN_KIEM,))
    token = _pending_report(url)
    dialogs: list[str] = []

    rec = new_recorded_page(browser, reports_app.host, credentials=(name, PASSWORD))
    rec.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        rec.goto("/reports")
        rec.page.get_by_text(HOSTILE).first.wait_for()
        rec.map_frame(min_paths=2)  # the 30 m circle and the report's marker
        assert rec.map_iframe_box()["height"] >= MIN_FRAME_HEIGHT
        assert "bi.mat@example.vn" not in rec.page.content()
        rec.page.get_by_role("button", name="Tiếp nhận thành sự việc mới").click()
        rec.page.get_by_text("Đã tiếp nhận phản ánh").first.wait_for()
        rec.screenshot("open311_reports_page")
        assert rec.foreign_requests() == []
    finally:
        rec.page.context.close()

    visitor = new_recorded_page(browser, reports_app.host)  # not signed in
    visitor.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        visitor.goto(f"/lookup?q={token}")
        visitor.page.get_by_text("Tra cứu phản ánh").first.wait_for()
        visitor.page.get_by_text("Phường Hoàn Kiếm").first.wait_for()
        visitor.page.get_by_text("Đang xử lý").first.wait_for()
        visitor.screenshot("open311_lookup_page")
        assert visitor.foreign_requests() == []
    finally:
        visitor.page.context.close()
    assert dialogs == []  # no injected script ran
