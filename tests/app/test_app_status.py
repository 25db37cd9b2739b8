"""Status-change form in the map page's details panel, through AppTest and a real store.

The panel opens for the incident whose marker was clicked last; AppTest cannot click
inside the Leaflet iframe, so the tests put the click where streamlit-folium leaves it
(``session_state["officer_map"]``). Known incidents (tests/_incidents.py): #1 reported and
#2 cleared in Phường Hoàn Kiếm (00070), #3 in progress in Phường Láng (00199).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_pages._safe import md_unescape
from geo import services
from geo.errors import AccessDenied
from geo.store import open_store, queries
from tests._incidents import make_store
from tests._signin import ensure_account, sign_in_apptest
from tests.conftest import REPO

APP = str(REPO / "app.py")
TIMEOUT = 180
HOAN_KIEM, LANG = "00070", "00199"
SUBMIT = "Lưu trạng thái"


@pytest.fixture
def store_url(tmp_path, wards, monkeypatch):
    store = make_store(tmp_path / "status.sqlite", wards)
    store.close()
    monkeypatch.setenv("GEO_DATABASE_URL", store.url)
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    return store.url


def _open_panel(url: str, incident_id: int, role: str, wards: tuple[str, ...] = (), **params: str):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    name = sign_in_apptest(at, url, role, wards)
    at.session_state["officer_map"] = {"last_object_clicked_tooltip": f"#{incident_id} · x"}
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    assert f"#{incident_id}" in [s.value for s in at.subheader]
    return at, name


def _form_selects(at: AppTest) -> list:
    return [s for s in at.selectbox if str(s.key or "").startswith("status_to_")]


def _submit(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == SUBMIT).click().run()
    assert not at.exception, at.exception
    return at


def _history(at: AppTest) -> list[str]:
    table = next(df.value for df in at.dataframe if "Thời điểm" in df.value.columns)
    return table["Trạng thái"].tolist()


def _status(url: str, incident_id: int) -> str:
    store = open_store(url)
    try:
        return str(queries.incident(store, incident_id).incident["status"])
    finally:
        store.close()


def test_officer_of_the_ward_moves_reported_to_verified(store_url):
    at, name = _open_panel(store_url, 1, "officer", (HOAN_KIEM,))
    (select,) = _form_selects(at)
    assert select.label == "Trạng thái mới"
    assert select.options == ["Đã xác minh", "Đang xử lý", "Đã xử lý"]
    assert len(_history(at)) == 1
    select.set_value("verified")
    at.text_input(key="status_note_1").input("đã kiểm tra tại chỗ")
    public = at.text_input(key="status_public_note_1")
    assert public.label == "Ghi chú công khai"  # the internal note is labelled apart
    assert at.text_input(key="status_note_1").label == "Ghi chú nội bộ (không bắt buộc)"
    public.input("Phường đã xác minh, sẽ xử lý")
    _submit(at)
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Đã chuyển vụ việc #1 sang “Đã xác minh”."]
    # the panel stayed open and its history now ends with the new state
    assert _history(at)[-1] == "Đã xác minh" and len(_history(at)) == 2
    (select,) = _form_selects(at)
    assert select.options == ["Đang xử lý", "Đã xử lý"]
    assert _status(store_url, 1) == "verified"
    store = open_store(store_url)
    try:
        history = queries.incident(store, 1).history
        assert history["actor"].iloc[-1] == name
        assert history["note"].iloc[-1] == "đã kiểm tra tại chỗ"
        with store.read() as conn:
            public = conn.exec_driver_sql("SELECT public_note FROM incidents WHERE id = 1").scalar()
        assert public == "Phường đã xác minh, sẽ xử lý"
    finally:
        store.close()


def test_officer_of_another_ward_and_a_viewer_see_no_form(store_url):
    at, _ = _open_panel(store_url, 1, "officer", (LANG,))
    assert _form_selects(at) == [] and SUBMIT not in [b.label for b in at.button]
    at, _ = _open_panel(store_url, 1, "viewer")
    assert _form_selects(at) == [] and SUBMIT not in [b.label for b in at.button]
    at, _ = _open_panel(store_url, 1, "field")
    assert _form_selects(at) == []
    # the Láng officer does get it for a Láng incident: the form follows the ward
    at, _ = _open_panel(store_url, 3, "officer", (LANG,))
    (select,) = _form_selects(at)
    assert select.options == ["Đã xử lý"]


def test_the_service_refuses_regardless_of_the_form(store_url):
    store = open_store(store_url)
    try:
        for role, wards in (("officer", (LANG,)), ("viewer", ()), ("field", ())):
            name = ensure_account(store_url, role, wards)
            user = services.load_user(store, name)
            assert user is not None
            with pytest.raises(AccessDenied):
                services.change_status(store, user, 1, "verified")
        assert str(queries.incident(store, 1).incident["status"]) == "reported"
        denied = queries.audit_log(store)
        assert (denied["action"] == "denied").sum() >= 3
    finally:
        store.close()


def test_a_refused_move_shows_a_bilingual_error(store_url):
    at, _ = _open_panel(store_url, 1, "officer", (HOAN_KIEM,), lang="en")
    (select,) = _form_selects(at)
    assert select.label == "New status"
    select.set_value("in_progress")
    # meanwhile a colleague clears it: the form's choice is no longer a valid move
    store = open_store(store_url)
    try:
        services.change_status(store, services.load_user(store, "bootstrap_admin"), 1, "cleared")  # type: ignore[arg-type]
    finally:
        store.close()
    next(b for b in at.button if b.label == "Save the status").click().run()
    assert not at.exception, at.exception
    # the move the officer chose reaches the service, which refuses it (in English)
    assert len(at.error) == 1
    shown = md_unescape(at.error[0].value)
    assert "cannot move from 'cleared' (Cleared) to 'in_progress'" in shown
    assert _status(store_url, 1) == "cleared"


def test_cleared_offers_recurrence_which_opens_a_new_incident(store_url):
    at, _ = _open_panel(store_url, 2, "officer", (HOAN_KIEM,))
    (select,) = _form_selects(at)
    assert select.options == ["Tái phạm"]
    _submit(at)
    assert [s.value for s in at.success] == ["Đã ghi nhận tái phạm: vụ việc mới #4 được mở."]
    assert _status(store_url, 2) == "recurred"
    assert _status(store_url, 4) == "reported"
    # recurred is final: no form, a note says so
    assert _form_selects(at) == []
    assert "Vụ việc ở trạng thái cuối; không còn bước tiếp theo." in [c.value for c in at.caption]


def test_the_photo_uploaders_cap_follows_the_photo_byte_limit(store_url, monkeypatch):
    """Both photo uploaders (status form, photo form) cap at ``GEO_PHOTO_MAX_BYTES`` in whole MB, rounded up."""
    monkeypatch.setenv("GEO_PHOTO_MAX_BYTES", str(3 * 1024 * 1024 + 1))
    at, _ = _open_panel(store_url, 1, "officer", (HOAN_KIEM,))
    caps = {u.key: u.proto.max_upload_size_mb for u in at.file_uploader}
    assert caps.get("status_photos_1") == 4, caps
    assert caps.get("photos_files_1") == 4, caps
