"""The upload page takes a ZIP bundle (a table and its photos) and a re-inspection
results file, through AppTest on a real SQLite store and a real media folder."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from app_pages._safe import md_unescape
from geo.store import batches, open_store
from tests._photos import make_photo, zip_bytes
from tests._signin import sign_in_apptest
from tests._store_data import NO_UPDATES, batch, incidents, ts
from tests.conftest import REPO

PAGE = "app_pages/upload.py"
HOAN_KIEM = "00070"
TABLE = (
    "ma,loai,lat,lon,ngay_phat_hien,trang_thai,anh,hinh_URL,hinh\n"
    "1,lấn chiếm vỉa hè,21.0285,105.8542,2025-03-03 09:00,mới,a.jpg; b.jpg,,\n"
    "2,đỗ xe,21.0286,105.8543,2025-03-03 09:00,mới,big.jpg,https://kf.kobotoolbox.org/m/k.jpg,k.jpg\n"
    "3,đỗ xe,not-a-lat,105.8543,2025-03-03 09:00,mới,d.jpg,,\n"
    "4,đỗ xe,21.0287,105.8544,2025-03-03 09:00,mới,missing.jpg bad.jpg,,\n"
)


def photo(seed: int, size: tuple[int, int] = (96, 64)) -> bytes:
    return make_photo("jpeg", size=size, seed=seed, lat=21.0285, lon=105.8542, taken="2025:03:03 10:00:00")


def count(url: str, table: str) -> int:
    store = open_store(url)
    try:
        with store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(store.tables[table])).scalar())
    finally:
        store.close()


def open_upload(url: str, monkeypatch, role: str = "field") -> AppTest:
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    monkeypatch.setenv("GEO_SEED_SAMPLE", "0")
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    sign_in_apptest(at, url, role, ())
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def upload(at: AppTest, name: str, data: bytes, mime: str) -> AppTest:
    at.file_uploader(key="upload_file").set_value((name, data, mime))
    at.run()
    assert not at.exception, at.exception
    return at


#: The tables of the page, by columns only they have.
TABLES = {
    "photos": ("Ảnh", "Cảnh báo"),
    "recheck_reasons": ("Lý do", "Chi tiết", "Số dòng"),
    "recheck_rows": ("Dòng", "Lý do", "Chi tiết"),
}


def tables(at: AppTest, name: str) -> list[pd.DataFrame]:
    return [df.value for df in at.dataframe if set(TABLES[name]) <= set(df.value.columns)]


def table(at: AppTest, name: str) -> pd.DataFrame:
    found = tables(at, name)
    assert len(found) == 1, f"{len(found)} tables {name!r}"
    return found[0]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(at: AppTest) -> str:
    return "\n".join(x.value for x in at.text)


def test_a_bundle_is_checked_first_then_every_photo_is_accounted_for(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'b.sqlite'}"
    media = tmp_path / "media"
    monkeypatch.setenv("GEO_MEDIA_DIR", str(media))
    monkeypatch.setenv("GEO_PHOTO_MAX_BYTES", "20000")
    big = photo(9, size=(900, 700))
    assert len(big) > 20_000
    data = zip_bytes({
        "field/data.csv": TABLE.encode(), "field/a.jpg": photo(1), "field/b.jpg": photo(2),
        "big.jpg": big, "d.jpg": photo(4), "stray.jpg": photo(6), "bad.jpg": b"<html><script>x</script></html>",
    })  # fmt: skip
    at = upload(open_upload(url, monkeypatch), "field.zip", data, "application/zip")
    assert metrics(at)["Hợp lệ"] == "3" and metrics(at)["Bị loại"] == "1"
    planned = table(at, "photos").set_index("Ảnh")
    # every photo the rows name, and every photo no row names, in one list
    assert set(planned.index) == {"a.jpg", "b.jpg", "big.jpg", "k.jpg", "d.jpg", "missing.jpg", "bad.jpg", "stray.jpg"}
    # refused before any photo is decoded: over the size limit, not in the zip, named by no row
    assert "GEO_PHOTO_MAX_BYTES" in planned.loc["big.jpg", "Lý do"] and "big.jpg" in planned.loc["big.jpg", "Lý do"]
    assert planned.loc["missing.jpg", "Kết quả"] == "bị loại" and "missing.jpg" in planned.loc["missing.jpg", "Lý do"]
    assert "không được dòng nào nhắc tới" in planned.loc["stray.jpg", "Lý do"]
    assert planned.loc["a.jpg", "Kết quả"] == "sẽ kiểm tra và lưu"
    assert planned.loc["k.jpg", "Kết quả"] == "giữ liên kết KoboToolbox"
    assert count(url, "photos") == 0 and not media.exists()  # nothing stored yet

    at.button(key="upload_commit").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        "Đã lưu đợt tải lên số 1: 3 vụ việc mới, 0 cập nhật trạng thái, 2 ảnh."
    ]
    done = table(at, "photos").set_index("Ảnh")
    assert set(done.index) == set(planned.index)
    assert done["Kết quả"].to_dict() == {
        "a.jpg": "nhận", "b.jpg": "nhận", "big.jpg": "bị loại", "k.jpg": "giữ liên kết KoboToolbox",
        "d.jpg": "bị loại", "missing.jpg": "bị loại", "bad.jpg": "bị loại", "stray.jpg": "bị loại",
    }  # fmt: skip
    assert done.loc["d.jpg", "Lý do"] == "d.jpg: dòng 3 bị loại nên ảnh không được lưu."
    assert "bad.jpg" in done.loc["bad.jpg", "Lý do"]
    assert done.loc["a.jpg", "Vai trò"] == "phát hiện vi phạm (trước)"
    assert "ảnh không có giờ chụp" not in done.loc["a.jpg", "Cảnh báo"]
    assert count(url, "photos") == 3  # a, b and the kept link
    assert "2 ảnh nhận" not in texts(at) and "8 ảnh: 2 nhận, 1 giữ liên kết KoboToolbox, 5 bị loại." in texts(at)


def test_an_unsafe_bundle_is_refused_with_its_name(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'u.sqlite'}"
    monkeypatch.setenv("GEO_MEDIA_DIR", str(tmp_path / "media"))
    data = zip_bytes({"t.csv": TABLE.encode(), "../a.jpg": photo(1)})
    at = upload(open_upload(url, monkeypatch), "evil.zip", data, "application/zip")
    errors = [md_unescape(e.value) for e in at.error]
    assert len(errors) == 1 and "evil.zip" in errors[0] and "../a.jpg" in errors[0]
    assert count(url, "incidents") == 0


RESULTS = (
    "mã điểm,ngày tái kiểm tra,kết quả\n"
    "1,2025-04-01,còn thông thoáng\n"  # accepted
    "99,2025-04-01,thông thoáng\n"  # no_place
    "1,2025-02-01,thông thoáng\n"  # check_before_clear
    "2,2025-04-03,vi phạm?\n"  # bad_result
    "2,2099-01-01,thông thoáng\n"  # future_date
)


@pytest.fixture
def places_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    store = open_store(url)
    cleared = {"status": "cleared", "ward_code": HOAN_KIEM, "lat": 21.0340,
               "reported_at": ts("2025-03-01 09:00"), "cleared_at": ts("2025-03-02 09:00")}  # fmt: skip
    rows = [{**cleared, "lon": 105.8500}, {**cleared, "lon": 105.8510}]
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="field")
    store.close()
    return url


def test_a_results_file_shows_counts_and_named_reasons_then_stores(places_url, monkeypatch):
    at = upload(open_upload(places_url, monkeypatch), "ket_qua.csv", RESULTS.encode(), "text/csv")
    shown = metrics(at)
    assert (shown["Hợp lệ"], shown["Trùng"], shown["Bị loại"]) == ("1", "0", "4")
    assert (shown["Còn thông thoáng"], shown["Tái vi phạm"]) == ("1", "0")
    reasons = table(at, "recheck_reasons").set_index("Lý do")
    assert reasons["Số dòng"].to_dict() == {"no_place": 1, "check_before_clear": 1, "bad_result": 1, "future_date": 1}
    assert reasons.loc["future_date", "Chi tiết"] == "ngày kiểm tra ở tương lai"
    rows = table(at, "recheck_rows")
    assert rows[["Dòng", "Lý do"]].values.tolist() == [
        [2, "no_place"], [3, "check_before_clear"], [4, "bad_result"], [5, "future_date"],
    ]  # fmt: skip
    assert count(places_url, "inspections") == 0  # decided, nothing stored

    at.button(key="upload_commit").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        "Đã lưu đợt tái kiểm tra số 2: 1 kết quả (1 còn thông thoáng, 0 tái vi phạm)."
    ]
    assert count(places_url, "inspections") == 1


def test_the_kind_can_be_chosen_for_a_results_file(places_url, monkeypatch):
    """A results header with a kind chosen as incidents goes to the incident reader."""
    at = open_upload(places_url, monkeypatch)
    at.radio(key="upload_kind_vi").set_value("Vụ việc").run()
    at = upload(at, "ket_qua.csv", RESULTS.encode(), "text/csv")
    assert not tables(at, "recheck_reasons")
    at.radio(key="upload_kind_vi").set_value("Kết quả tái kiểm tra").run()
    assert table(at, "recheck_reasons") is not None


def test_a_results_files_rejected_rows_are_named_in_the_pages_language(places_url, monkeypatch):
    """Each rejected row of a results file gets its own message in the page's language:
    its row, the column its reason is about and the value read there (it gave only the
    reason's words, the same for every row)."""
    at = upload(open_upload(places_url, monkeypatch), "ket_qua.csv", RESULTS.encode(), "text/csv")
    rows = table(at, "recheck_rows").set_index("Dòng")
    assert rows.loc[2, "Chi tiết"] == (
        "Dòng 2, cột “mã điểm”: không có điểm với mã này, hoặc không có điểm nào trong bán kính "
        "của vị trí ('99')."
    )
    assert rows.loc[4, "Chi tiết"] == "Dòng 4, cột “kết quả”: kết quả không đọc được ('vi phạm?')."
    assert rows.loc[5, "Chi tiết"] == "Dòng 5, cột “ngày tái kiểm tra”: ngày kiểm tra ở tương lai ('2099-01-01')."
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    english = next(df.value for df in at.dataframe if {"Row", "Reason", "Details"} <= set(df.value.columns)
                   and "Rows" not in df.value.columns).set_index("Row")  # fmt: skip
    assert english.loc[3, "Details"] == (
        "Row 3, column 'ngày tái kiểm tra': the check is dated before the place was first cleared ('2025-02-01')."
    )
    assert english.loc[5, "Details"] == "Row 5, column 'ngày tái kiểm tra': the check is dated in the future ('2099-01-01')."
