"""A field team uploads a ZIP bundle (a table and its photos) in headless Chromium: the
checks are shown first, then the store button stores the batch with its photos and the
page accounts for every photo (issue 13)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from geo.store import open_store
from tests._browser import new_recorded_page, require_browser_stack, running_app
from tests._photos import make_photo, zip_bytes
from tests._signin import PASSWORD, ensure_account

pytestmark = pytest.mark.browser

TABLE = (
    "mã,loại vi phạm,vĩ độ,kinh độ,ngày phát hiện,trạng thái,ảnh\n"
    "Z-1,Lấn chiếm vỉa hè,21.0285,105.8542,01/09/2025 08:00,Chưa xử lý,z1.jpg\n"
    "Z-2,Đỗ xe trái phép,21.0290,105.8545,01/09/2025 09:00,Chưa xử lý,anh/z2.jpg\n"
)


def _photo(seed: int) -> bytes:
    return make_photo("jpeg", size=(320, 240), seed=seed, lat=21.0285, lon=105.8542, taken="2025:09:01 08:05:00")


@pytest.fixture(scope="module")
def bundle_app(tmp_path_factory):
    require_browser_stack()
    tmp = tmp_path_factory.mktemp("bundle_app")
    with running_app(tmp, {"GEO_SEED_SAMPLE": "0", "GEO_MEDIA_DIR": str(tmp / "media")}) as server:
        yield server, tmp / "media"


def test_a_field_team_uploads_a_zip_with_photos(browser, bundle_app):
    server, media = bundle_app
    url = server.env["GEO_DATABASE_URL"]
    rec = new_recorded_page(browser, server.host, credentials=(ensure_account(url, "field"), PASSWORD))
    page = rec.page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        rec.goto("/upload")
        page.get_by_text("Tải lên tệp vụ việc").first.wait_for()
        data = zip_bytes({"bao_cao.csv": TABLE.encode(), "z1.jpg": _photo(1), "anh/z2.jpg": _photo(2),
                          "thua.jpg": _photo(3)})  # fmt: skip
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            files=[{"name": "to_cong_tac.zip", "mimeType": "application/zip", "buffer": data}]
        )
        page.get_by_text("3 ảnh: 2 sẽ được kiểm tra và lưu, 0 giữ liên kết KoboToolbox, 1 bị loại ngay.").wait_for()
        assert not media.exists()  # checked, nothing stored yet
        rec.screenshot("upload_bundle_checked")

        page.get_by_role("button", name="Lưu vào kho dữ liệu").click()
        page.get_by_text("Đã lưu đợt tải lên số 1: 2 vụ việc mới, 0 cập nhật trạng thái, 2 ảnh.").wait_for()
        page.get_by_text("3 ảnh: 2 nhận, 0 giữ liên kết KoboToolbox, 1 bị loại.").wait_for()
        rec.screenshot("upload_bundle_stored")
    finally:
        page.context.close()
    store = open_store(url)
    try:
        with store.read() as conn:
            rows = conn.execute(select(func.count()).select_from(store.tables["photos"])).scalar()
    finally:
        store.close()
    assert rows == 2 and len(list((media / "thumbs").rglob("*.jpg"))) == 2
    assert dialogs == [] and rec.foreign_requests() == []
