"""The pages "Phản ánh của người dân" (moderation) and "Tra cứu phản ánh" (public lookup)
through AppTest on a real SQLite store.

An officer sees only their own ward's pending reports, the resident's hostile text as
plain text, and accepts or rejects with a public reason; a viewer is refused. Anyone,
without signing in, looks a report up by token or request number.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from geo.services import reports as moderation
from geo.store import open_store
from geo.store import reports as stored
from tests._open311 import HOAN_KIEM, IN_HOAN_KIEM, IN_LANG, LANG, prepare_store
from tests._signin import sign_in_apptest
from tests.conftest import REPO

HOSTILE = "<script>alert(1)</script> **đậm** [link](http://evil.example) $x$"
PAGE = "app_pages/reports.py"


def _world(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    key, users = prepare_store(url)
    store = open_store(url)
    key_id = stored.active_key(store, key)[0]  # type: ignore[index]
    ids = {}
    for name, where, ward in (("hk", IN_HOAN_KIEM, HOAN_KIEM), ("lang", IN_LANG, LANG)):
        ids[name] = stored.receive(store, stored.NewReport(
            service_code="sidewalk", lat=where[0], lon=where[1], ward_code=ward, address="Số 1",
            description=HOSTILE, media_url="https://example.vn/a.jpg", api_key_id=key_id,
            contact={"device_id": name, "email": "bi.mat@example.vn"},
        ), actor="apikey:test")
    return url, store, users, ids


def _page(url: str, monkeypatch, role: str | None, wards: tuple[str, ...] = (), page: str = PAGE,
          **params: str) -> AppTest:
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    if role is not None:
        sign_in_apptest(at, url, role, wards)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def test_an_officer_moderates_their_wards_reports(tmp_path, monkeypatch):
    url, store, _users, ids = _world(tmp_path)
    try:
        at = _page(url, monkeypatch, "officer", (HOAN_KIEM,))
        assert [t.value for t in at.title] == ["Phản ánh của người dân"]
        (only,) = at.selectbox(key="reports_pick").options  # not Láng's report
        assert only.startswith(f"#{ids['hk'].report_id} · 00070 · ")
        assert HOSTILE in [t.value for t in at.text]  # shown as plain text
        markdown = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
        assert "<script>" not in markdown and "bi.mat@example.vn" not in markdown
        assert "bi.mat@example.vn" not in [t.value for t in at.text]
        public = at.text_input(key="reports_public_note")
        assert public.label == "Ghi chú công khai (khi tiếp nhận hoặc gộp)"
        public.input("Phường sẽ kiểm tra trong tuần")
        at.button(key="reports_accept").click().run()
        assert not at.exception, at.exception
        assert any("Đã tiếp nhận" in s.value for s in at.success)
        report = stored.report(store, ids["hk"].report_id)
        assert report["status"] == "accepted" and report["incident_id"] is not None
        shown = stored.service_requests(store, stored.RequestQuery(ids=(int(report["incident_id"]),)))
        assert [r["public_note"] for r in shown] == ["Phường sẽ kiểm tra trong tuần"]
        assert any("Không có phản ánh" in i.value for i in at.info)
        assert stored.report(store, ids["lang"].report_id)["status"] == "pending"
    finally:
        store.close()


def test_a_rejection_carries_the_chosen_public_reason(tmp_path, monkeypatch):
    url, store, _users, ids = _world(tmp_path)
    try:
        at = _page(url, monkeypatch, "officer", (LANG,))
        at.selectbox(key="reports_reason").set_value("reports.reason_outside").run()
        at.button(key="reports_reject").click().run()
        assert not at.exception, at.exception
        report = stored.report(store, ids["lang"].report_id)
        assert (report["status"], report["public_reason"]) == ("rejected", "Ngoài địa bàn phường")
    finally:
        store.close()


def test_a_viewer_is_refused(tmp_path, monkeypatch):
    url, store, _users, _ids = _world(tmp_path)
    store.close()
    at = _page(url, monkeypatch, "viewer")
    assert at.error and "xử lý phản ánh" in at.error[0].value
    assert not at.selectbox


def test_anyone_looks_a_report_up_without_signing_in(tmp_path, monkeypatch):
    url, store, users, ids = _world(tmp_path)
    try:
        token = ids["hk"].token
        pending = _page(url, monkeypatch, None, page="app_pages/lookup.py", q=token)
        texts = [t.value for t in pending.text]
        assert "Đang chờ phường xem xét" in texts
        incident = moderation.accept_report(store, users["admin"], ids["hk"].report_id)
        followed = _page(url, monkeypatch, None, page="app_pages/lookup.py", q=str(incident))
        texts = [t.value for t in followed.text]
        assert "Đang xử lý" in texts and "Phường Hoàn Kiếm" in texts
        assert not any("bi.mat@example.vn" in t for t in texts)
        moderation.reject_report(store, users["admin"], ids["lang"].report_id, "Thư rác <b>x</b>")
        rejected = _page(url, monkeypatch, None, page="app_pages/lookup.py", q=ids["lang"].token)
        texts = [t.value for t in rejected.text]
        assert "Không tiếp nhận" in texts and "Thư rác <b>x</b>" in texts
        unknown = _page(url, monkeypatch, None, page="app_pages/lookup.py", q="no-such-token")
        assert unknown.warning
    finally:
        store.close()


def test_an_admin_issues_and_revokes_a_key_on_the_administration_page(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    at = _page(url, monkeypatch, "admin", page="app_pages/admin.py")
    at.text_input(key="apikey_name").input("Ứng dụng Zalo phường")
    at.button[[b.label for b in at.button].index("Cấp khóa mới")].click().run()
    assert not at.exception, at.exception
    (secret,) = [c.value for c in at.code]
    store = open_store(url)
    try:
        assert stored.active_key(store, secret) is not None
        at.button(key="apikey_revoke").click().run()
        assert not at.exception, at.exception
        assert stored.active_key(store, secret) is None
    finally:
        store.close()
    assert secret not in " ".join(str(df.value) for df in at.dataframe)


def test_the_nearby_incidents_are_listed_in_the_pages_language(tmp_path, monkeypatch):
    """A second report at the spot of an accepted one lists that incident as a possible
    duplicate: its number, its status in words and the distance, under Vietnamese headers
    (the table showed the store's id/status/distance_m/address and the code 'reported')."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    key, users = prepare_store(url)
    store = open_store(url)
    try:
        key_id = stored.active_key(store, key)[0]  # type: ignore[index]

        def send(device: str) -> int:
            return stored.receive(store, stored.NewReport(
                service_code="sidewalk", lat=IN_HOAN_KIEM[0], lon=IN_HOAN_KIEM[1],
                ward_code=HOAN_KIEM, address="Số 1", description="lấn chiếm vỉa hè",
                media_url=None, api_key_id=key_id, contact={"device_id": device},
            ), actor="apikey:test").report_id  # fmt: skip

        incident = moderation.accept_report(store, users["officer_hk"], send("first"))
        again = send("second")
    finally:
        store.close()
    at = _page(url, monkeypatch, "officer", (HOAN_KIEM,))
    assert at.selectbox(key="reports_pick").value == again
    (table,) = [df.value for df in at.dataframe]
    assert table.columns.tolist() == ["Số sự việc", "Trạng thái", "Cách (m)", "Địa chỉ"]
    assert table.to_dict("records") == [
        {"Số sự việc": incident, "Trạng thái": "Mới phát hiện (chưa xử lý)", "Cách (m)": 0, "Địa chỉ": "Số 1"}
    ]


def test_a_resident_opening_the_lookup_is_not_met_by_the_staff_sign_in_form(tmp_path, monkeypatch):
    """Signed out, the lookup is the whole page: the staff's sign-in form was drawn above it
    (a resident took it for a step to follow), and now waits behind a sidebar link; any
    other page still asks to sign in first."""
    url, store, _users, ids = _world(tmp_path)
    store.close()
    at = _page(url, monkeypatch, None, page="app_pages/lookup.py", q=ids["hk"].token)
    assert [t.value for t in at.title] == ["Tra cứu phản ánh"]
    assert not at.get("form") and [i.key for i in at.text_input] == ["lookup_q"]
    assert "Đang chờ phường xem xét" in [t.value for t in at.text]
    (link,) = at.sidebar.get("page_link")
    assert link.label == "Đăng nhập"
    at.switch_page("app_pages/reports.py").run()
    assert not at.exception, at.exception
    assert at.text_input(key="auth_name").label == "Tên đăng nhập"
    assert not at.title  # nothing of the page before signing in
