"""Which download buttons each role is offered, page by page (issue 11 §4, issue 16 §4).

The expected sets are written from the rights rule in the README ("Security": roles and
downloads), not read from ``geo.auth.RIGHTS``: a viewer has exports, a field account
uploads and has no exports, an officer uploads and exports, an admin does everything. Every
file that takes the store's data away — the ward report (PDF, PNG), the league table (CSV,
XLSX), the density grid (GeoTIFF) — needs the export right, as ``geo report --user`` and
``geo export --user`` do; the rejected rows of one's own upload need the upload right, as
``geo ingest --rejects`` does. The pages themselves never build a file: each button's data
comes from a rights-checked builder in geo/services/downloads.py, tested in
tests/test_rights.py.
"""

from __future__ import annotations

import pytest

from geo import auth
from tests._incidents import make_store
from tests._signin import open_page

ROLES = ("viewer", "field", "officer", "admin")
#: Who may take data away, and who may upload, as the README states it.
EXPORTERS = {"viewer", "officer", "admin"}
UPLOADERS = {"field", "officer", "admin"}

REPORT = {"Tải báo cáo PDF", "Tải báo cáo PNG"}
LEAGUE = {"Tải CSV", "Tải XLSX"}
GEOTIFF = {"Tải lưới mật độ (GeoTIFF)"}
REJECTS = {"Tải các dòng bị loại (CSV)"}

#: page (and view) → (page, URL parameters, the buttons an exporter gets there). Compare
#: draws one view at a time: the league table's files under it, the grid under the density.
PAGES: dict[str, tuple[str, dict[str, str], set[str]]] = {
    "map": ("app_pages/map.py", {}, set()),
    "compare": ("app_pages/compare.py", {}, set()),  # the choropleth
    "compare-league": ("app_pages/compare.py", {"view": "league"}, LEAGUE),
    "compare-density": ("app_pages/compare.py", {"view": "density"}, GEOTIFF),
    "progress": ("app_pages/progress.py", {}, set()),
    "ward": ("app_pages/ward.py", {"ward": "00070"}, REPORT),
    "admin": ("app_pages/admin.py", {}, set()),
    "upload": ("app_pages/upload.py", {}, set()),  # before a file is chosen
}

#: A file with one good row and one with unreadable coordinates.
UPLOAD = (
    "mã,loại vi phạm,ngày phát hiện,vĩ độ,kinh độ\n"
    "D-1,Lấn chiếm vỉa hè,01/09/2025,21.0365,105.8490\n"
    "D-2,Lấn chiếm vỉa hè,01/09/2025,abc,105.85\n"
).encode()


@pytest.fixture(scope="module")
def store_url(tmp_path_factory, wards):
    store = make_store(tmp_path_factory.mktemp("downloads") / "s.sqlite", wards)
    url = store.url
    store.close()
    return url


def _wards(role: str) -> tuple[str, ...]:
    return ("00070",) if role == "officer" else ()


def _refused(page: str, url: str, monkeypatch, role: str):
    """A page that refuses ``role`` with an error (open_page fails on errors)."""
    from streamlit.testing.v1 import AppTest

    from tests._signin import sign_in_apptest
    from tests.conftest import REPO

    monkeypatch.setenv("GEO_DATABASE_URL", url)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    sign_in_apptest(at, url, role, _wards(role))
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def _buttons(at) -> set[str]:
    return {b.proto.label for b in at.get("download_button")}


def test_the_roles_are_the_documented_four():
    assert set(auth.ROLES) == set(ROLES)


@pytest.mark.parametrize("view", list(PAGES))
@pytest.mark.parametrize("role", ROLES)
def test_download_buttons_per_role_and_page(store_url, monkeypatch, role, view):
    page, params, for_exporters = PAGES[view]
    if page == "app_pages/admin.py" and role != "admin":
        at = _refused(page, store_url, monkeypatch, role)
        assert [e.value for e in at.error] and "quản lý tài khoản" in at.error[0].value
    else:
        at = open_page(page, store_url, monkeypatch, role, _wards(role), **params)
    expected = for_exporters if role in EXPORTERS else set()
    assert _buttons(at) == expected


@pytest.mark.parametrize("role", ROLES)
def test_rejected_rows_download_per_role(store_url, monkeypatch, role):
    at = open_page("app_pages/upload.py", store_url, monkeypatch, role, _wards(role))
    if role not in UPLOADERS:
        assert not at.get("file_uploader")  # no upload, so no preview and no file
        assert _buttons(at) == set()
        return
    at.file_uploader(key="upload_file").set_value(("d.csv", UPLOAD, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Bị loại"] == "1"  # the preview is shown
    assert _buttons(at) == REJECTS
