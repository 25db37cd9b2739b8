"""Upload page through AppTest: file → preview → validation summary → commit, real store."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app_pages._safe import md_unescape
from geo import services
from geo.errors import AccessDenied
from geo.ingest import IngestOptions
from geo.store import open_store
from tests._signin import sign_in_apptest
from tests.conftest import REPO

APP = str(REPO / "app.py")
PAGE = "app_pages/upload.py"
TIMEOUT = 180

#: A field team's sheet: 3 good rows (one with lat/lon swapped, one whose written ward
#: differs from the point's), a repeat of row 1, bad coordinates, a missing date.
CSV = (
    "mã,loại vi phạm,trạng thái,ngày phát hiện,vĩ độ,kinh độ,địa chỉ,phường,ghi chú\n"
    "T-1,Lấn chiếm vỉa hè,Chưa xử lý,01/09/2025 08:00,21.0365,105.8490,12 Hàng Mã,Phường Hoàn Kiếm,\n"
    "T-2,Đỗ xe trái phép,Chưa xử lý,02/09/2025,105.8106,21.0128,Ngõ 1 Láng,Phường Láng,đảo\n"
    "T-3,Biển quảng cáo,Đã xác minh,03/09/2025,21.0128,105.8106,<img src=x onerror=alert(1)>,"
    "Phường Hoàn Kiếm,sai phường\n"
    "T-1,Lấn chiếm vỉa hè,Chưa xử lý,01/09/2025 08:00,21.0365,105.8490,12 Hàng Mã,Phường Hoàn Kiếm,\n"
    "T-5,Lấn chiếm vỉa hè,Chưa xử lý,04/09/2025,abc,105.85,=1+2,Phường Hoàn Kiếm,\n"
    "T-6,Vật liệu xây dựng,Chưa xử lý,,21.03,105.85,Phố Huế,,\n"
).encode()


@pytest.fixture
def store_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'upload.sqlite'}"
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    monkeypatch.setenv("GEO_SEED_SAMPLE", "0")
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    for name in ("GEO_INGEST_MAX_BYTES", "GEO_INGEST_MAX_ROWS", "GEO_INGEST_MAX_CELL_CHARS"):
        monkeypatch.delenv(name, raising=False)
    return url


def _page(store_url: str, role: str = "field", **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    sign_in_apptest(at, store_url, role, ("00070",) if role == "officer" else ())
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def _upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    at.file_uploader(key="upload_file").set_value((name, data, mime))
    at.run()
    assert not at.exception, at.exception
    return at


def _table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table holding all of ``columns``."""
    found = [df.value for df in at.dataframe if set(columns) <= set(df.value.columns)]
    assert found, f"no table with the columns {columns!r}"
    return found[0]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _incidents(url: str) -> int:
    store = open_store(url)
    try:
        return store.row_counts()["incidents"]
    finally:
        store.close()


def test_upload_preview_summary_commit_end_to_end(store_url):
    at = _page(store_url)
    assert [t.value for t in at.title] == ["Tải lên tệp vụ việc"]
    _upload(at, "bao_cao.csv", CSV)
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.text] == ["bao_cao.csv: CSV, mã hoá utf-8, 6 dòng dữ liệu."]

    # preview: the columns and what they map to, the formats found, the first rows
    mapping = _table(at, "Cột trong tệp").set_index("Cột trong tệp")["Dùng làm"].to_dict()
    assert mapping["vĩ độ"] == "Vĩ độ" and mapping["kinh độ"] == "Kinh độ"
    assert mapping["ngày phát hiện"] == "Ngày phát hiện" and mapping["mã"] == "Mã vụ việc"
    formats = [df.value for df in at.dataframe if "Định dạng" in df.value.columns]
    assert formats[0].to_dict("records") == [{"Định dạng": "số thập phân", "Số dòng": 5}]
    assert formats[1].to_dict("records") == [{"Định dạng": "ngày/tháng/năm", "Số dòng": 5}]
    first = _table(at, "Kết quả")
    assert first["Dòng"].tolist() == [1, 2, 3, 4, 5, 6]
    assert first["Kết quả"].tolist() == ["Hợp lệ"] * 3 + ["Trùng"] + ["Bị loại"] * 2
    assert first["Ngày phát hiện"].iloc[0] == "01/09/2025 08:00"  # Hà Nội time, as written
    # the point's ward by name and the coordinates under the page's headers (it showed the
    # code 00070 under "Phường, xã" and the headers lat, lon)
    assert first["Phường, xã"].iloc[0] == "Phường Hoàn Kiếm"
    assert first["Phường, xã"].iloc[4] == ""  # a rejected row has no ward
    assert (first["Vĩ độ"].iloc[0], first["Kinh độ"].iloc[0]) == (21.0365, 105.8490)

    # validation summary: counts, flags, reasons with bilingual messages, duplicates
    assert _metrics(at) == {
        "Hợp lệ": "3", "Trùng": "1", "Bị loại": "2", "Cập nhật trạng thái": "0",
    }  # fmt: skip
    # only the flags that occur, in words, each with its count (the second column, in
    # sight: a long description between them pushed the counts off the table's edge)
    flag_table = _table(at, "Cờ", "Số dòng")
    assert flag_table.columns.tolist() == ["Cờ", "Số dòng"]
    assert flag_table.set_index("Cờ")["Số dòng"].to_dict() == {
        "vĩ độ và kinh độ bị ghi đảo, đã đổi lại": 1,
        "phường ghi trong tệp khác phường theo toạ độ": 1,
        "không có tuyến phố gần điểm": 2,
    }
    reasons = _table(at, "Lý do").set_index("Lý do")["Số dòng"].to_dict()
    assert reasons == {"không đọc được toạ độ": 1, "thiếu ngày phát hiện": 1}
    rejected = _table(at, "Lý do", "Chi tiết", "Dòng")
    assert rejected["Dòng"].tolist() == [5, 6]
    assert rejected["Chi tiết"].iloc[0].startswith("Dòng 5, cột “vĩ độ, kinh độ”")
    duplicates = _table(at, "Trùng dòng")
    assert duplicates["Dòng"].tolist() == [4] and duplicates["Trùng dòng"].tolist() == [1]
    assert [b.label for b in at.get("download_button")] == ["Tải các dòng bị loại (CSV)"]
    # user text is only ever in tables, never markdown or HTML
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert not any("<img" in s or "=1+2" in s for s in shown)
    assert _incidents(store_url) == 0, "nothing is stored before the commit"

    # commit stores the batch, as the signed-in field user
    at.button(key="upload_commit").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == [
        "Đã lưu đợt tải lên số 1: 3 vụ việc mới, 0 cập nhật trạng thái."
    ]
    assert "upload_commit" not in _keys(at), "a stored file cannot be committed twice"
    store = open_store(store_url)
    try:
        assert store.row_counts()["incidents"] == 3
        with store.read() as conn:
            (batch,) = conn.execute(store.tables["batches"].select()).mappings().all()
        assert batch["file_name"] == "bao_cao.csv" and batch["actor"] == "test_field"
        assert batch["counts"]["rejected"] == 2
    finally:
        store.close()

    # the same file again: every good row is now a duplicate of a stored incident
    again = _page(store_url)
    _upload(again, "bao_cao.csv", CSV)
    assert _metrics(again)["Hợp lệ"] == "0" and _metrics(again)["Trùng"] == "4"
    dups = _table(again, "Trùng vụ việc đã lưu số")
    assert dups["Trùng vụ việc đã lưu số"].notna().sum() == 4


def _keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button if b.key}


def test_english_labels_and_messages(store_url):
    at = _page(store_url, lang="en")
    assert [t.value for t in at.title] == ["Upload an incident file"]
    _upload(at, "report.csv", CSV)
    assert _metrics(at) == {"Accepted": "3", "Duplicate": "1", "Rejected": "2", "Status updates": "0"}
    reasons = _table(at, "Reason").set_index("Reason")["Rows"].to_dict()
    assert reasons == {"the coordinates cannot be read": 1, "the reported date is missing": 1}
    first = _table(at, "Outcome")
    assert first["Outcome"].tolist()[:4] == ["Accepted"] * 3 + ["Duplicate"]
    assert "Row 6, column 'ngày phát hiện'" in first["Details"].iloc[5]
    assert _table(at, "Column in the file").set_index("Column in the file")["Used as"]["vĩ độ"] == (
        "Latitude"
    )
    # switching back re-labels the same preview
    at.sidebar.radio(key="lang").set_value("vi").run()
    assert [t.value for t in at.title] == ["Tải lên tệp vụ việc"]
    assert _metrics(at)["Bị loại"] == "2"


def test_xlsx_sheet_choice(store_url):
    frame = pd.read_csv(io.BytesIO(CSV), dtype=str, keep_default_na=False)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.iloc[:2].to_excel(writer, sheet_name="Tuần 1", index=False)
        frame.to_excel(writer, sheet_name="Tuần 2", index=False)
    at = _page(store_url)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    _upload(at, "bao_cao.xlsx", buffer.getvalue(), xlsx)
    sheet = at.selectbox[0]
    assert sheet.label == "Trang tính" and sheet.options == ["Tuần 1", "Tuần 2"]
    assert sheet.value == "Tuần 1"
    assert _metrics(at)["Hợp lệ"] == "2"
    sheet.set_value("Tuần 2").run()
    assert not at.exception, at.exception
    assert _metrics(at) == {
        "Hợp lệ": "3", "Trùng": "1", "Bị loại": "2", "Cập nhật trạng thái": "0",
    }  # fmt: skip
    assert "[Tuần 2]" in at.text[0].value


def test_viewer_cannot_upload(store_url):
    at = _page(store_url, "viewer")
    assert len(at.file_uploader) == 0
    assert [i.value for i in at.info] == [
        "Tài khoản của bạn không có quyền tải lên (cần vai trò tổ công tác, cán bộ phường "
        "hoặc quản trị)."
    ]
    # hiding the uploader is not the protection: the service refuses the viewer itself
    store = open_store(store_url)
    try:
        viewer = services.load_user(store, "test_viewer")
        assert viewer is not None
        with pytest.raises(AccessDenied):
            services.preview_upload(store, viewer, CSV, IngestOptions(file_name="bao_cao.csv"))
    finally:
        store.close()


def test_signed_out_sees_the_sign_in_form_not_the_uploader(store_url):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    assert len(at.file_uploader) == 0
    assert "Tải lên tệp vụ việc" not in [t.value for t in at.title]


def test_over_the_size_limit_is_a_clear_error(store_url, monkeypatch):
    monkeypatch.setenv("GEO_INGEST_MAX_BYTES", "100")
    at = _page(store_url)
    _upload(at, "bao_cao.csv", CSV)
    assert len(at.error) == 1
    shown = md_unescape(at.error[0].value)
    assert shown.startswith("bao_cao.csv: tệp ") and "vượt giới hạn 100 byte" in shown
    assert len(at.metric) == 0


def test_a_hostile_file_name_in_an_error_stays_text(store_url, monkeypatch):
    monkeypatch.setenv("GEO_INGEST_MAX_BYTES", "100")
    name = "![x](http://evil.example/x.png)$x$<b>.csv"
    at = _page(store_url)
    _upload(at, name, CSV)
    (error,) = at.error
    # st.error renders markdown: the name must reach it escaped, and read back as itself
    assert "![" not in error.value and "](" not in error.value and "<b>" not in error.value
    assert md_unescape(error.value).startswith(name + ": ")


#: A ward's sheet dated once, in its name: no date column (issue 11 §6).
UNDATED = (
    "mã,loại vi phạm,vĩ độ,kinh độ,địa chỉ\n"
    "U-1,Lấn chiếm vỉa hè,21.0365,105.8490,12 Hàng Mã\n"
    "U-2,Mái che,21.0368,105.8493,30 Hàng Mã\n"
).encode()


def test_a_sheet_without_dates_asks_for_the_files_date(store_url):
    at = _page(store_url)
    _upload(at, "bao_cao_05-07-2025.csv", UNDATED)
    (day,) = at.date_input
    assert day.label == "Ngày phát hiện cho cả tệp"
    today = pd.Timestamp.now(tz="Asia/Ho_Chi_Minh").date()
    assert day.value == today  # Hà Nội's today, whatever the server's zone
    assert _metrics(at)["Hợp lệ"] == "2" and _metrics(at)["Bị loại"] == "0"
    flags = _table(at, "Cờ", "Số dòng").set_index("Cờ")["Số dòng"].to_dict()
    assert flags["ngày phát hiện lấy theo ngày của cả tệp"] == 2
    first = _table(at, "Kết quả")
    assert first["Ngày phát hiện"].tolist() == [f"{today:%d/%m/%Y} 00:00"] * 2
    assert "ngày phát hiện lấy theo ngày của cả tệp" in first["Cờ"].iloc[0]

    day.set_value(pd.Timestamp("2025-07-05").date()).run()
    assert not at.exception, at.exception
    first = _table(at, "Kết quả")
    assert first["Ngày phát hiện"].tolist() == ["05/07/2025 00:00"] * 2
    at.button(key="upload_commit").click().run()
    assert not at.exception, at.exception
    store = open_store(store_url)
    try:
        stored = pd.read_sql("SELECT reported_at, flags FROM incidents", store.engine)
    finally:
        store.close()
    assert pd.to_datetime(stored["reported_at"], utc=True).tolist() == [
        pd.Timestamp("2025-07-04 17:00", tz="UTC")  # midnight in Hà Nội, UTC+7
    ] * 2
    assert stored["flags"].str.contains("date_from_file").all()


def test_the_files_date_is_asked_only_without_a_date_column(store_url):
    at = _page(store_url, lang="en")
    _upload(at, "report.csv", CSV)
    assert len(at.date_input) == 0
    # the blank date of row 6 stays a rejected row: no date is made up for it
    assert _metrics(at)["Rejected"] == "2"
    _upload(at, "undated.csv", UNDATED)
    assert [d.label for d in at.date_input] == ["Report date for the whole file"]


def test_a_file_without_flags_says_so_instead_of_an_empty_table(store_url):
    clean = (
        "mã,loại vi phạm,ngày phát hiện,vĩ độ,kinh độ,địa chỉ\n"
        "C-1,Lấn chiếm vỉa hè,01/09/2025 08:00,21.0365,105.8490,12 Hàng Mã\n"
    ).encode()
    at = _upload(_page(store_url), "sach.csv", clean)
    assert _metrics(at)["Hợp lệ"] == "1"
    assert not [df for df in at.dataframe if "Cờ" in df.value.columns and "Số dòng" in df.value.columns]
    assert "Không dòng hợp lệ nào có cờ cảnh báo." in [c.value for c in at.caption]


def test_the_uploader_cap_follows_the_projects_byte_limit(store_url, monkeypatch):
    """Streamlit refuses a file over the widget's cap itself, in English: the cap must be the project's.

    The default limit (512 MiB) is what .streamlit/config.toml lets the server take; a deployer's
    lower ``GEO_INGEST_MAX_BYTES`` shows in the widget, rounded up to whole MB so a file the project
    accepts is never refused by the widget.
    """
    import tomllib

    from geo import settings

    mib = 1024 * 1024
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] * mib == settings.ingest_max_bytes.default
    at = _page(store_url)
    assert at.file_uploader(key="upload_file").proto.max_upload_size_mb == 512
    for limit, shown in ((3 * mib, 3), (3 * mib + 1, 4), (100, 1)):
        monkeypatch.setenv("GEO_INGEST_MAX_BYTES", str(limit))
        at = _page(store_url)
        assert at.file_uploader(key="upload_file").proto.max_upload_size_mb == shown, limit
    monkeypatch.setenv("GEO_INGEST_MAX_BYTES", str(4096 * mib))  # above the server's own cap
    at = _page(store_url)
    assert at.file_uploader(key="upload_file").proto.max_upload_size_mb == 512


def test_the_uploader_states_its_cap_in_the_pages_language(store_url, monkeypatch):
    """Under the uploader Streamlit wrote, in English on the Vietnamese page, "1GB per file •
    CSV, TXT, XLSX, ZIP" for the 512 MB cap (whole units, rounded up): a new user read a
    wrong limit in the wrong language (seen in Chromium, session 25). Its line is hidden and
    the page says the cap the widget enforces, in its language."""
    at = _page(store_url)
    captions = [c.value for c in at.caption]
    assert "Tối đa 512 MB mỗi tệp · CSV, TXT, XLSX, ZIP" in captions
    hidden = [h.proto.body for h in at.get("html")]
    assert any('[data-testid="stFileUploaderDropzoneInstructions"]{display:none}' in h for h in hidden), hidden
    monkeypatch.setenv("GEO_INGEST_MAX_BYTES", str(3 * 1024 * 1024 + 1))
    at = _page(store_url, lang="en")
    assert "Up to 4 MB per file · CSV, TXT, XLSX, ZIP" in [c.value for c in at.caption]
    assert at.file_uploader(key="upload_file").proto.max_upload_size_mb == 4


def test_match_methods_and_formats_are_words_in_the_pages_language(store_url):
    """How a column was recognised and how coordinates and dates were written are codes in
    geo.ingest (and the CLI's JSON); the page shows them as words in its language."""
    sheet = (
        "mã,loại vi phạm,trạng thái,ngày phát hiện,vĩ độ,kinh độ,địa chỉ,phường\n"
        "A-1,Lấn chiếm vỉa hè,Chưa xử lý,01/09/2025,21.0365,105.8490,12 Hàng Mã,Phường Hoàn Kiếm\n"
        'A-2,Lấn chiếm vỉa hè,Chưa xử lý,2025-09-02,"21,0365","105,8490",12 Hàng Mã,Phường Hoàn Kiếm\n'
        "A-3,Lấn chiếm vỉa hè,Chưa xử lý,03/09/2025,21°02'11.4N,105°50'56.4E,12 Hàng Mã,"
        "Phường Hoàn Kiếm\n"
    ).encode()
    codes = {"exact", "prefix", "geometry", "content", "ignored", "Kobo/ODK", "decimal",
             "decimal_comma", "dms", "combined", "projected", "geojson", "dd/mm/yyyy", "iso",
             "iso_zoned", "excel_serial"}  # fmt: skip
    at = _upload(_page(store_url), "a.csv", sheet)
    how = set(_table(at, "Cột trong tệp", "Cách nhận")["Cách nhận"])
    assert how == {"tên cột trùng khớp"}, how
    formats = [set(df.value["Định dạng"]) for df in at.dataframe if "Định dạng" in df.value.columns]
    assert formats == [
        {"số thập phân", "số thập phân, dấu phẩy", "độ, phút, giây"},
        {"ngày/tháng/năm", "ISO 8601 (năm-tháng-ngày)"},
    ], formats
    assert not codes & (how | formats[0] | formats[1])
    at.sidebar.radio(key="lang").set_value("en").run()
    assert set(_table(at, "Column in the file", "Matched by")["Matched by"]) == {"exact header"}
