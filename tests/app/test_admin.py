"""The ward layer in use is the store's, and only an admin replaces it (services, CLI, page).

Real stores (a SQLite file in tmp_path, and PostGIS when there is a server), the committed
ward layer, the real CLI, and the real app through AppTest (SQLite).
"""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from app_pages._safe import md_unescape
from geo import boundary_checks, services
from geo.cli import main as cli
from geo.errors import AccessDenied, BoundaryError, CRSError, InvalidArgument
from geo.ingest import IngestOptions
from geo.store import open_store, queries
from geo.store import wards as stored_wards
from tests._signin import sign_in_apptest
from tests.conftest import REPO

APP = str(REPO / "app.py")
PAGE = "app_pages/admin.py"
TIMEOUT = 180
HOAN_KIEM = "00070"
RENAMED = "Phường Hoàn Kiếm Mới"
ADMIN_PASSWORD = "a-long-admin-password"


@pytest.fixture
def store(store_url, monkeypatch):
    """A fresh store on each backend (conftest's ``store_url``: SQLite, PostGIS)."""
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def boss(store):
    return services.create_first_admin(store, "boss", ADMIN_PASSWORD)


@pytest.fixture
def renamed_layer(tmp_path, wards):
    """The committed layer with Hoàn Kiếm renamed, as an official file would bring it."""
    layer = wards.copy()
    layer.loc[layer["code"] == HOAN_KIEM, "name"] = RENAMED
    path = tmp_path / "official_renamed.geojson"
    layer.to_file(path, driver="GeoJSON", engine="pyogrio")
    return path


@pytest.fixture
def unmatched_layer(tmp_path, wards):
    """One unit with neither an official code nor an official name."""
    layer = wards.copy()
    layer["code"] = layer["code"].astype(object)
    layer.loc[layer["code"] == HOAN_KIEM, ["code", "name"]] = [None, "Phường Không Có Thật"]
    path = tmp_path / "unmatched.geojson"
    layer.to_file(path, driver="GeoJSON", engine="pyogrio")
    return path


def _ward_rows(store, code: str) -> pd.DataFrame:
    t = store.tables["wards"]
    with store.read() as conn:
        rows = conn.execute(
            select(t.c.code, t.c.name, t.c.valid_from, t.c.valid_to)
            .where(t.c.code == code).order_by(t.c.valid_from)
        ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["code", "name", "valid_from", "valid_to"])


def _audit_actions(store) -> list[str]:
    return queries.audit_log(store)["action"].tolist()


# -- services --------------------------------------------------------------------------------


def test_active_wards_seeds_the_store_once_from_the_file(store, wards):
    assert stored_wards.current(store).empty
    first = services.active_wards(store)
    assert len(stored_wards.current(store)) == 126
    assert list(first.columns) == list(wards.columns)
    assert first.crs == wards.crs
    assert first["code"].tolist() == sorted(wards["code"])
    pd.testing.assert_frame_equal(first.drop(columns="geometry"), wards.drop(columns="geometry"))
    assert first.geometry.geom_equals(wards.geometry).all()
    version = stored_wards.version(store)
    seeded = _audit_actions(store).count("wards")
    assert seeded == 1

    again = services.active_wards(store)
    pd.testing.assert_frame_equal(again, first)
    assert stored_wards.version(store) == version
    assert _audit_actions(store).count("wards") == 1
    assert len(_ward_rows(store, HOAN_KIEM)) == 1


def test_replaced_layer_is_the_one_in_use_and_history_is_kept(
    store, boss, renamed_layer, tmp_path, monkeypatch
):
    services.active_wards(store)
    before = stored_wards.version(store)
    seeded_at = pd.Timestamp(_ward_rows(store, HOAN_KIEM)["valid_from"].iloc[0])
    with pytest.raises(InvalidArgument):  # a version cannot start before the one it replaces
        services.replace_boundaries(store, boss, renamed_layer, valid_from=seeded_at - pd.Timedelta("1D"))
    assert stored_wards.version(store) == before
    result = services.replace_boundaries(store, boss, renamed_layer)
    assert {k: result[k] for k in ("added", "changed", "retired")} == {
        "added": 0, "changed": 1, "retired": 0,
    }
    assert result["report"]["count"] == 126
    assert result["report"]["codes_matched"] == 126
    assert result["report"]["unmatched"] == []
    assert stored_wards.version(store) != before

    active = services.active_wards(store)
    assert active.set_index("code").loc[HOAN_KIEM, "name"] == RENAMED
    history = _ward_rows(store, HOAN_KIEM)
    assert history["name"].tolist() == ["Phường Hoàn Kiếm", RENAMED]
    assert history["valid_to"].notna().tolist() == [True, False]
    logged = queries.audit_log(store)
    assert "boundaries_replace" in logged["action"].tolist()

    # a new ingest assigns with the store's layer: the boundary file is not even read
    broken = tmp_path / "broken.geojson"
    broken.write_text("{", encoding="utf-8")
    monkeypatch.setenv("GEO_BOUNDARIES", str(broken))
    csv = (
        "mã,loại vi phạm,trạng thái,ngày phát hiện,vĩ độ,kinh độ,địa chỉ\n"
        "A-1,Lấn chiếm vỉa hè,Chưa xử lý,01/09/2025,21.0287,105.8524,1 Hàng Khay\n"
    ).encode()
    ingested = services.ingest_file(store, boss, csv, IngestOptions(file_name="after.csv"))
    assert ingested.batch_id is not None
    assert ingested.preview.wards.set_index("code").loc[HOAN_KIEM, "name"] == RENAMED
    stored = queries.incidents(store, limit=None)
    assert stored["ward_code"].tolist() == [HOAN_KIEM]
    assert len(_ward_rows(store, HOAN_KIEM)) == 2  # the commit did not reload the file


@pytest.mark.parametrize("role", ["viewer", "officer"])
def test_only_an_admin_can_import_a_layer(store, boss, renamed_layer, role):
    services.active_wards(store)
    wards_ = ("00070",) if role == "officer" else ()
    other = services.add_user(store, boss, f"someone_{role}", "another-long-password", [role], wards_)
    version = stored_wards.version(store)
    with pytest.raises(AccessDenied) as info:
        services.replace_boundaries(store, other, renamed_layer)
    assert " / " in str(info.value)
    denied = queries.audit_log(store)
    denied = denied[(denied["action"] == "denied") & (denied["actor"] == other.username)]
    assert denied["object_type"].tolist() == ["wards"]
    assert stored_wards.version(store) == version
    assert services.active_wards(store).set_index("code").loc[HOAN_KIEM, "name"] != RENAMED


def test_a_layer_with_an_unmatched_ward_is_refused(store, boss, unmatched_layer):
    services.active_wards(store)
    version = stored_wards.version(store)
    checked = boundary_checks.preview_boundaries(unmatched_layer)
    assert checked.report["unmatched"] == ["Phường Không Có Thật"]
    assert checked.report["codes_matched"] == 125
    assert isinstance(checked.refusal, BoundaryError)
    with pytest.raises(BoundaryError) as info:
        services.replace_boundaries(store, boss, unmatched_layer)
    message = str(info.value)
    assert "Phường Không Có Thật" in message and " / " in message
    assert "unmatched.geojson" in message
    assert stored_wards.version(store) == version


def test_a_layer_in_the_wrong_crs_is_refused(store, boss, wards, tmp_path):
    # UTM metres labelled as degrees: every ward lands far from its official place
    metres = wards.to_crs("EPSG:32648")
    mislabelled = gpd.GeoDataFrame(metres.drop(columns="geometry"), geometry=metres.geometry.to_numpy())
    mislabelled = mislabelled.set_crs("EPSG:4326")
    path = tmp_path / "mislabelled.gpkg"
    mislabelled.to_file(path, driver="GPKG", engine="pyogrio")
    with pytest.raises(BoundaryError) as info:
        services.replace_boundaries(store, boss, path)
    assert "CRS" in str(info.value)

    # a shapefile without its .prj has no CRS at all
    shp = tmp_path / "nocrs.shp"
    wards[["code", "geometry"]].to_file(shp, engine="pyogrio")
    shp.with_suffix(".prj").unlink()
    with pytest.raises(CRSError):
        services.replace_boundaries(store, boss, shp)
    assert stored_wards.current(store).empty


# -- CLI -------------------------------------------------------------------------------------


def test_cli_boundaries_import(store, boss, renamed_layer, unmatched_layer, capsys):
    url = store.url
    services.active_wards(store)
    tomorrow = (pd.Timestamp.now(tz="Asia/Ho_Chi_Minh") + pd.Timedelta("1D")).date()
    code = cli([
        "boundaries", "import", str(renamed_layer), "--valid-from", tomorrow.isoformat(),
        "--user", "boss", "--database", url,
    ])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "khớp mã / codes matched: 126" in out.out
    assert "thêm / added 0, đổi / changed 1, bỏ / retired 0" in out.out
    assert services.active_wards(store).set_index("code").loc[HOAN_KIEM, "name"] == RENAMED
    since = pd.Timestamp(_ward_rows(store, HOAN_KIEM)["valid_from"].iloc[-1])
    since = since.tz_localize("UTC") if since.tzinfo is None else since
    assert since == pd.Timestamp(tomorrow, tz="Asia/Ho_Chi_Minh")

    version = stored_wards.version(store)
    code = cli(["boundaries", "import", str(unmatched_layer), "--user", "boss", "--database", url])
    out = capsys.readouterr()
    assert code == 2
    assert "Phường Không Có Thật" in out.err and "match no official ward" in out.err
    services.add_user(store, boss, "leader", "another-long-password", ["viewer"])
    code = cli(["boundaries", "import", str(renamed_layer), "--user", "leader", "--database", url])
    assert code == 2
    assert "leader" in capsys.readouterr().err
    assert stored_wards.version(store) == version


# -- the page (AppTest) ----------------------------------------------------------------------


@pytest.fixture
def app_store_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    monkeypatch.setenv("GEO_SEED_SAMPLE", "0")
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    return url


def _page(url: str, role: str = "admin") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    sign_in_apptest(at, url, role)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def _table(at: AppTest, *columns: str) -> pd.DataFrame:
    """The first table holding all of ``columns`` (AppTest keeps no dataframe keys)."""
    found = [df.value for df in at.dataframe if set(columns) <= set(df.value.columns)]
    assert found, f"no table with the columns {columns!r}"
    return found[0]


def _texts(elements) -> str:
    return "\n".join(md_unescape(e.value) for e in elements)


def test_admin_page_adds_a_user_and_lists_it(app_store_url):
    at = _page(app_store_url)
    assert [t.value for t in at.title] == ["Quản trị"]
    users = _table(at, "Tên đăng nhập", "Vai trò")
    # the page's language, not the store's column names (username, has_password, …)
    assert users.columns.tolist() == [
        "Tên đăng nhập", "Vai trò", "Phường, xã phụ trách", "Đã khoá", "Có mật khẩu", "Tạo lúc",
    ]  # fmt: skip
    assert "new_officer" not in users["Tên đăng nhập"].tolist()
    at.text_input(key="admin_add_name").set_value("new_officer")
    at.text_input(key="admin_add_pw").set_value("a-new-long-password")
    at.multiselect(key="admin_add_roles").set_value(["officer"])
    at.multiselect(key="admin_add_wards").set_value([HOAN_KIEM])
    at.button[[b.label for b in at.button].index("Thêm")].click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, _texts(at.error)
    assert "new_officer" in _texts(at.success)
    users = _table(at, "Tên đăng nhập", "Vai trò")
    row = users.set_index("Tên đăng nhập").loc["new_officer"]
    assert row["Vai trò"] == "Cán bộ phường (đổi trạng thái)"
    assert row["Phường, xã phụ trách"] == f"{HOAN_KIEM} Phường Hoàn Kiếm"
    assert bool(row["Có mật khẩu"]) and not bool(row["Đã khoá"])
    store = open_store(app_store_url)
    try:
        created = services.list_users(store, services.load_user(store, "test_admin"))
    finally:
        store.close()
    made = created.set_index("username").loc["new_officer", "created_at"]
    assert row["Tạo lúc"] == made.tz_convert("Asia/Ho_Chi_Minh").strftime("%d/%m/%Y %H:%M")
    audit = _table(at, "Người thực hiện", "Thao tác")
    assert "thêm tài khoản" in audit["Thao tác"].tolist()  # the word, not user_add

    at.selectbox(key="admin_who").set_value("new_officer")
    at.button(key="admin_admin.disable").click()
    at.run()
    assert not at.exception, at.exception
    assert bool(_table(at, "Tên đăng nhập", "Đã khoá").set_index("Tên đăng nhập").loc["new_officer", "Đã khoá"])
    at.button(key="admin_admin.enable").click()
    at.run()
    assert not bool(_table(at, "Tên đăng nhập", "Đã khoá").set_index("Tên đăng nhập").loc["new_officer", "Đã khoá"])
    at.multiselect(key="admin_grant_roles").set_value(["viewer"])
    at.button[[b.label for b in at.button].index("Cấp quyền")].click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, _texts(at.error)
    roles = _table(at, "Tên đăng nhập", "Vai trò").set_index("Tên đăng nhập").loc["new_officer", "Vai trò"]
    assert set(roles.split(", ")) == {"Cán bộ phường (đổi trạng thái)", "Lãnh đạo (chỉ xem)"}


def test_admin_page_refuses_a_viewer(app_store_url):
    at = _page(app_store_url, "viewer")
    assert at.error, "a viewer must be refused"
    assert "quản lý tài khoản" in _texts(at.error)  # the refused right, in Vietnamese
    assert not at.dataframe
    assert not at.file_uploader
    store = open_store(app_store_url)
    try:
        log = queries.audit_log(store)
    finally:
        store.close()
    refused = log[(log["action"] == "denied") & (log["object_type"] == "admin_page")]
    assert refused["actor"].tolist() == ["test_viewer"]


def test_admin_page_checks_an_upload_then_replaces_the_layer(app_store_url, renamed_layer, unmatched_layer):
    at = _page(app_store_url)
    at.file_uploader(key="admin_layer_file").set_value(
        ("unmatched.geojson", unmatched_layer.read_bytes(), "application/geo+json")
    )
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Số đơn vị"] == "126"
    assert metrics["Khớp mã chính thức"] == "125/126"
    assert _table(at, "Không khớp").iloc[:, 0].tolist() == ["Phường Không Có Thật"]
    assert "Phường Không Có Thật" in _texts(at.error)
    assert "Xác nhận thay lớp ranh giới" not in [b.label for b in at.button]

    at.file_uploader(key="admin_layer_file").set_value(
        ("official.geojson", renamed_layer.read_bytes(), "application/geo+json")
    )
    at.run()
    assert not at.exception, at.exception
    assert not at.error, _texts(at.error)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Khớp mã chính thức"] == "126/126"
    at.button(key="admin_layer_confirm").click()
    at.run()
    assert not at.exception, at.exception
    assert "đổi 1" in _texts(at.success)
    store = open_store(app_store_url)
    try:
        assert services.active_wards(store).set_index("code").loc[HOAN_KIEM, "name"] == RENAMED
    finally:
        store.close()


def test_admin_page_shows_whether_the_hash_chains_hold(app_store_url):
    at = _page(app_store_url)
    intact = _texts(at.success)
    assert "status_events" in intact and "audit_log" in intact
    assert intact.count("chuỗi băm nguyên vẹn") == 2
    store = open_store(app_store_url)
    try:
        first = int(queries.audit_log(store)["id"].min())
        path = store.path
    finally:
        store.close()
    raw = sqlite3.connect(path, isolation_level=None)  # a forger with the file
    raw.execute("DROP TRIGGER audit_log_no_update")
    raw.execute(f"UPDATE audit_log SET actor = 'forged' WHERE id = {first}")  # noqa: S608
    raw.close()
    at.run()
    assert _texts(at.success).count("chuỗi băm nguyên vẹn") == 2  # checked once per session
    at.button(key="admin_chain_again").click()
    at.run()
    assert not at.exception, at.exception
    broken = _texts(at.error)
    assert "audit_log" in broken and f"dòng id {first}" in broken
    assert "status_events" in _texts(at.success)


def test_admin_page_gives_times_on_the_ha_noi_clock(app_store_url):
    """The ward layer's version and the chain check's time are read as Hà Nội clocks are
    (the page printed the stored UTC text and the server's own clock, 7 hours off here)."""
    at = _page(app_store_url)
    store = open_store(app_store_url)
    try:
        since = stored_wards.version(store)[2]
    finally:
        store.close()
    stamp = pd.Timestamp(since)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    layer = stamp.tz_convert("Asia/Ho_Chi_Minh").strftime("%d/%m/%Y %H:%M")
    captions = [c.value for c in at.caption]
    assert f"Đang dùng 126 phường, xã; phiên bản từ {layer}." in captions, captions
    (checked,) = [c for c in captions if c.startswith("Kiểm tra lúc ")]
    clock = pd.Timestamp.now(tz="Asia/Ho_Chi_Minh")
    shown = pd.Timestamp(f"{clock:%Y-%m-%d} {checked.removeprefix('Kiểm tra lúc ').rstrip('.')}")
    minutes = abs((shown - clock.tz_localize(None)).total_seconds()) / 60
    assert minutes < 5 or minutes > 24 * 60 - 5, (checked, clock)  # across midnight too


def test_the_layer_uploader_cap_follows_the_projects_byte_limit(app_store_url, monkeypatch):
    """A deployer's lower ``GEO_INGEST_MAX_BYTES`` shows in the widget (whole MB, rounded up)."""
    monkeypatch.setenv("GEO_INGEST_MAX_BYTES", str(3 * 1024 * 1024 + 1))
    at = _page(app_store_url)
    assert at.file_uploader(key="admin_layer_file").proto.max_upload_size_mb == 4


def _issue_key(at: AppTest, name: str) -> None:
    """Issue an Open311 key on the page; rerun so that the audit tab (drawn before the key
    is issued) lists its entry."""
    at.text_input(key="apikey_name").set_value(name)
    at.button[[b.label for b in at.button].index("Cấp khóa mới")].click()
    at.run()
    at.run()  # the audit tab is drawn before the key is issued: the next run lists its entry
    assert not at.exception, at.exception


def _stored_log(url: str) -> pd.DataFrame:
    """The audit log as the store holds it (codes, details as written), by id."""
    store = open_store(url)
    try:
        return queries.audit_log(store).set_index("id")
    finally:
        store.close()


def test_audit_log_and_api_keys_speak_the_pages_language_on_the_ha_noi_clock(app_store_url):
    """The audit-log and API-key tables show labelled headers (not the store's column names)
    and Hà Nội times as dd/mm/yyyy HH:MM (not UTC), as the accounts table does."""
    at = _page(app_store_url)
    _issue_key(at, "Đối tác A")
    store = open_store(app_store_url)
    try:
        log = queries.audit_log(store)
        keys = services.reports.list_api_keys(store, services.load_user(store, "test_admin"))
    finally:
        store.close()
    audit = _table(at, "Người thực hiện", "Thao tác")
    assert audit.columns.tolist() == [
        "Số", "Lúc", "Người thực hiện", "Thao tác", "Loại đối tượng", "Mã đối tượng", "Chi tiết",
    ]  # fmt: skip
    hanoi = log.set_index("id")["at"].dt.tz_convert("Asia/Ho_Chi_Minh").dt.strftime("%d/%m/%Y %H:%M")
    assert audit.set_index("Số")["Lúc"].to_dict() == hanoi.to_dict()
    shown = _table(at, "Đầu khóa")
    assert shown.columns.tolist() == ["Tên", "Đầu khóa", "Tạo lúc", "Người cấp", "Thu hồi lúc"]
    made = keys.set_index("name").loc["Đối tác A", "created_at"]
    row = shown.set_index("Tên").loc["Đối tác A"]
    assert row["Tạo lúc"] == made.tz_convert("Asia/Ho_Chi_Minh").strftime("%d/%m/%Y %H:%M")
    assert row["Thu hồi lúc"] == ""  # still active
    assert row["Người cấp"] == "test_admin"
    at.sidebar.radio(key="lang").set_value("en").run()
    assert _table(at, "By", "Action").columns[1] == "When"
    assert _table(at, "Key prefix").columns.tolist()[0] == "Name"


def test_the_audit_log_shows_actions_and_object_types_as_words_not_codes(app_store_url):
    """Officers read what was done in their language: "thêm tài khoản" on "tài khoản", not
    the stored ``user_add`` on ``user``; in English "account added"; no cell of the two
    columns is a stored code (every code declared in geo.audit_codes has a Vietnamese word
    unlike itself). The store keeps the codes."""
    at = _page(app_store_url)
    at.text_input(key="admin_add_name").set_value("new_officer")
    at.text_input(key="admin_add_pw").set_value("a-new-long-password")
    at.multiselect(key="admin_add_roles").set_value(["officer"])
    at.button[[b.label for b in at.button].index("Thêm")].click()
    at.run()
    _issue_key(at, "Đối tác A")
    log = _stored_log(app_store_url)
    assert {("user_add", "user"), ("apikey_add", "api_key")} <= set(
        zip(log["action"], log["object_type"], strict=True)
    )
    audit = _table(at, "Người thực hiện", "Thao tác").set_index("Số")
    assert set(audit.index) == set(log.index)
    shown = set(zip(audit["Thao tác"], audit["Loại đối tượng"], strict=True))
    assert {("thêm tài khoản", "tài khoản"), ("cấp khóa API", "khóa API")} <= shown
    codes = set(log["action"]) | set(log["object_type"])
    assert codes.isdisjoint(audit["Thao tác"]) and codes.isdisjoint(audit["Loại đối tượng"])
    # an entry about no one object (the ward layer seeded) shows a blank id, not "None"
    assert log["object_id"].isna().any()
    assert audit.loc[log.index[log["object_id"].isna()], "Mã đối tượng"].tolist() == [""] * int(log["object_id"].isna().sum())
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    english = _table(at, "By", "Action")
    shown = set(zip(english["Action"], english["Object type"], strict=True))
    assert {("account added", "account"), ("API key issued", "API key")} <= shown
    assert {"user_add", "apikey_add", "api_key"}.isdisjoint(set(english["Action"]) | set(english["Object type"]))


def test_the_audit_log_shows_details_as_words_in_the_pages_language(app_store_url):
    """The details column reads "Tên: Đối tác A; Đầu khóa: …" on a Vietnamese page and
    "Name: …; Key prefix: …" on an English one: each key a word of the page's language,
    roles, yes/no and blanks in it too; never the stored JSON with English keys."""
    at = _page(app_store_url)
    _issue_key(at, "Đối tác A")
    log = _stored_log(app_store_url)
    key_row = log.index[log["action"] == "apikey_add"][0]
    added_row = log.index[(log["action"] == "user_add") & (log["object_id"] == "test_admin")][0]
    wards_row = log.index[log["action"] == "wards"][0]
    prefix = log.loc[key_row, "details"]["prefix"]
    assert log.loc[key_row, "details"] == {"name": "Đối tác A", "prefix": prefix}  # as stored
    assert log.loc[added_row, "details"] == {"roles": "admin", "wards": "", "password": True}
    added = log.loc[wards_row, "details"]["added"]
    audit = _table(at, "Người thực hiện", "Chi tiết").set_index("Số")
    assert audit.loc[key_row, "Chi tiết"] == f"Tên: Đối tác A; Đầu khóa: {prefix}"
    assert audit.loc[added_row, "Chi tiết"] == "Vai trò: Quản trị; Phường, xã: —; Có mật khẩu: có"
    assert audit.loc[wards_row, "Chi tiết"] == f"Thêm: {added}; Thay đổi: 0; Thôi dùng: 0"
    assert not any("{" in text or '"' in text for text in audit["Chi tiết"])
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    english = _table(at, "By", "Details").set_index("No.")
    assert english.loc[key_row, "Details"] == f"Name: Đối tác A; Key prefix: {prefix}"
    assert english.loc[added_row, "Details"] == "Roles: Administrator; Wards: —; Has a password: yes"
    assert english.loc[wards_row, "Details"] == f"Added: {added}; Changed: 0; Retired: 0"


def test_old_report_rows_show_the_report_they_were_about(app_store_url, monkeypatch):
    """Rows an older version wrote under the retired object type ``report`` show as the
    ward report (an export) or the resident's report (its moderation) they were about."""
    from geo import audit_codes

    store = open_store(app_store_url)
    try:
        with monkeypatch.context() as older:  # the older version declared "report"
            older.setattr(audit_codes, "OBJECT_TYPES", audit_codes.OBJECT_TYPES | {"report"})
            store.audit("old_version", "export", "report", "pdf", {"ward": HOAN_KIEM})
            store.audit("old_version", "report_accepted", "report", "3", {"incident_id": 9, "reason": None})
        log = queries.audit_log(store).set_index("id")
    finally:
        store.close()
    old = log[log["actor"] == "old_version"].sort_index()  # the export first
    at = _page(app_store_url)
    audit = _table(at, "Người thực hiện", "Loại đối tượng").set_index("Số")
    assert audit.loc[old.index, "Loại đối tượng"].tolist() == ["báo cáo phường, xã", "phản ánh của người dân"]
    at.sidebar.radio(key="lang").set_value("en").run()
    english = _table(at, "By", "Object type").set_index("No.")
    assert english.loc[old.index, "Object type"].tolist() == ["ward report", "resident's report"]


def test_refusals_and_session_ends_read_as_words_in_the_pages_language(app_store_url):
    """A refused attempt shows the right it needed as words ("quản lý tài khoản", not
    ``manage_users``) and its reason in the page's language (the Vietnamese text on a
    Vietnamese page: it was stored in English only); a session's end shows why in words
    ("người dùng đăng xuất", not ``sign_out``). In English: the English words."""
    from geo import sessions
    from tests._signin import start_session

    _page(app_store_url, "viewer")  # refused: the viewer may not manage accounts
    store = open_store(app_store_url)
    try:
        services.end_session(store, sessions.digest(start_session(app_store_url, "test_viewer")))
    finally:
        store.close()
    log = _stored_log(app_store_url)
    denied = log.index[(log["action"] == "denied") & (log["object_type"] == "admin_page")][0]
    ended = log.index[log["action"] == "session_end"][0]
    stored = log.loc[denied, "details"]
    assert (stored["action"], log.loc[ended, "details"]) == ("manage_users", {"reason": "sign_out"})
    assert "không có quyền" in stored["reason_vi"] and "is not allowed" in stored["reason"]  # both kept
    at = _page(app_store_url)
    audit = _table(at, "Người thực hiện", "Chi tiết").set_index("Số")
    assert audit.loc[denied, "Chi tiết"] == f"Quyền cần có: quản lý tài khoản; Mã phường, xã: —; Lý do: {stored['reason_vi']}"
    assert audit.loc[ended, "Chi tiết"] == "Lý do: người dùng đăng xuất"
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    english = _table(at, "By", "Details").set_index("No.")
    assert english.loc[denied, "Details"] == f"Right needed: manage user accounts; Ward code: —; Reason: {stored['reason']}"
    assert english.loc[ended, "Details"] == "Reason: signed out"
