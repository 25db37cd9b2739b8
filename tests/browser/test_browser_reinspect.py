"""The re-inspection page on a phone-sized screen (390×844) in headless Chromium: an
officer signs in, opens Tái kiểm tra, and records a check with one tap."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.store import batches, open_store
from geo.store import places as stored_places
from tests._store_data import NO_UPDATES, batch, incidents

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
HOAN_KIEM = "00070"


@pytest.fixture(scope="module")
def phone_app(tmp_path_factory):
    from tests._browser import require_browser_stack, running_app

    require_browser_stack()
    tmp = tmp_path_factory.mktemp("reinspect_app")
    url = f"sqlite:///{tmp / 'store.sqlite'}"
    store = open_store(url)
    ten_days = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=10)
    rows = [{"ward_code": HOAN_KIEM, "lat": 21.0340, "lon": 105.8500, "address": "12 Hàng Mã",
             "status": "cleared", "reported_at": ten_days - pd.Timedelta(days=1),
             "cleared_at": ten_days}]  # fmt: skip
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="field")
    store.close()
    with running_app(tmp, {"GEO_DATABASE_URL": url}) as server:
        yield server, url


def test_a_file_is_built_when_its_button_is_pressed(browser, phone_app, tmp_path):
    """In the running app a download button's file is made on the press (a callable the
    server calls then): it arrives, named for the ward and day, and holds what
    ``services.export_due_list`` writes; nothing was exported before the press."""
    from geo import services
    from geo.auth import User
    from geo.store import queries
    from tests._browser import RecordedPage
    from tests._signin import PASSWORD, ensure_account

    def exports() -> int:
        store = open_store(url)
        log = queries.audit_log(store)
        store.close()
        return int(((log["action"] == "export") & (log["object_type"] == "reinspect")).sum())

    server, url = phone_app
    name = ensure_account(url, "officer", (HOAN_KIEM,))
    context = browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True)
    context.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
    rec = RecordedPage(context.new_page(), server.host, credentials=(name, PASSWORD))
    try:
        rec.goto("/reinspect")
        button = rec.page.get_by_role("button", name="GPX")
        button.wait_for(timeout=90_000)
        assert exports() == 0
        with rec.page.expect_download() as info:
            button.click()
        download = info.value
        on = pd.Timestamp.now(tz="Asia/Ho_Chi_Minh").date()
        assert download.suggested_filename == f"tai_kiem_tra_{HOAN_KIEM}_{on}.gpx"
        got = download.path().read_bytes()
    finally:
        context.close()
    assert exports() == 1
    store = open_store(url)
    officer = User(name, frozenset({"officer"}), frozenset({HOAN_KIEM}))
    want, rows = services.export_due_list(store, officer, on=on, fmt="gpx", out=tmp_path / "w.gpx", ward=HOAN_KIEM)
    store.close()
    assert rows == 1 and got == want.read_bytes()


def test_an_officer_records_a_check_on_a_phone(browser, phone_app):
    from tests._browser import RecordedPage
    from tests._signin import PASSWORD, ensure_account

    server, url = phone_app
    name = ensure_account(url, "officer", (HOAN_KIEM,))
    context = browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True, has_touch=True)
    context.route("https://tile.openstreetmap.org/**", lambda route: route.abort())
    rec = RecordedPage(context.new_page(), server.host, credentials=(name, PASSWORD))
    rec.page.on("request", lambda req: rec.requests.append(req.url))
    try:
        rec.goto("/reinspect")
        button = rec.page.get_by_role("button", name="Còn thông thoáng")
        button.wait_for(timeout=90_000)
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] >= 30  # a thumb-sized target
        button.tap()
        rec.page.get_by_text("Đã ghi: điểm 1 còn thông thoáng.").wait_for(timeout=60_000)
        rec.page.get_by_text("Không có điểm nào cần tái kiểm tra").wait_for(timeout=60_000)
        rec.screenshot("reinspect_phone")
        width = rec.page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # nothing forces sideways scrolling
        assert rec.foreign_requests() == []
    finally:
        context.close()
    store = open_store(url)
    checks = stored_places.inspections_frame(store)
    store.close()
    assert checks[["place_id", "result", "actor"]].values.tolist() == [[1, "clear", name]]
