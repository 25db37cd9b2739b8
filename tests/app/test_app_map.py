"""The app's router and map page through Streamlit's AppTest (no browser): the menu a
role sees, and the map's ward panel linking the ward page in the same session."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests._incidents import make_store
from tests._signin import sign_in_apptest

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 120


@pytest.fixture(scope="module")
def store_url(tmp_path_factory, wards):
    store = make_store(tmp_path_factory.mktemp("appstore") / "s.sqlite", wards)
    return store.url


@pytest.fixture
def app(store_url, monkeypatch):
    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    sign_in_apptest(at, store_url, "viewer")  # the app asks who is there first
    return at


def _caption_text(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_app_runs_in_vietnamese_with_wards_and_incidents(app):
    app.run()
    assert not app.exception, app.exception
    assert [t.value for t in app.title] == ["Bản đồ vi phạm trật tự đô thị"]
    assert "126 phường, xã; 3 vụ việc hiển thị trên 3." in _caption_text(app)
    assert app.sidebar.multiselect[0].label == "Phường, xã"
    assert len(app.sidebar.multiselect[0].options) == 126
    assert not app.error


def test_language_switch_changes_labels_and_url(app):
    app.run()
    app.sidebar.radio(key="lang").set_value("en").run()
    assert not app.exception
    assert [t.value for t in app.title] == ["Urban-order violations map"]
    assert app.sidebar.multiselect[0].label == "Wards and communes"
    assert "3 of 3 incidents shown" in _caption_text(app)
    assert app.query_params["lang"] == "en"
    # status labels follow the language too
    assert "Cleared" in app.sidebar.multiselect(key="f_statuses").options
    app.sidebar.radio(key="lang").set_value("vi").run()
    assert [t.value for t in app.title] == ["Bản đồ vi phạm trật tự đô thị"]
    assert "lang" not in app.query_params


def test_filters_change_the_results_and_the_url(app):
    app.run()
    app.sidebar.multiselect(key="f_statuses").set_value(["cleared"]).run()
    assert "1 vụ việc hiển thị trên 3" in _caption_text(app)
    assert app.query_params["status"] == "cleared"
    app.sidebar.multiselect(key="f_statuses").set_value([]).run()
    app.sidebar.text_input(key="f_street").input("hang ma").run()
    assert "2 vụ việc hiển thị trên 3" in _caption_text(app)
    assert app.query_params["street"] == "hang ma"


def test_query_params_restore_a_view(app):
    app.query_params["lang"] = "en"
    app.query_params["ward"] = "00070"
    app.query_params["type"] = "sidewalk"
    app.query_params["from"] = "2025-07-02"
    app.run()
    assert not app.exception
    assert [t.value for t in app.title] == ["Urban-order violations map"]
    assert app.sidebar.multiselect(key="f_wards").value == ["00070"]
    assert app.sidebar.multiselect(key="f_types").value == ["sidewalk"]
    assert str(app.sidebar.date_input(key="f_from").value) == "2025-07-02"
    assert "1 of 3 incidents shown" in _caption_text(app)


def test_bad_query_params_are_ignored(app):
    app.query_params["ward"] = "99999"
    app.query_params["status"] = "flying"
    app.query_params["from"] = "yesterday"
    app.query_params["lang"] = "fr"
    app.run()
    assert not app.exception
    assert app.sidebar.multiselect(key="f_wards").value == []
    assert "3 vụ việc hiển thị trên 3" in _caption_text(app)


def test_broken_boundary_layer_shows_a_bilingual_error(app, tmp_path, monkeypatch):
    # the file only seeds an empty store's ward table: a fresh store reads it
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    monkeypatch.setenv("GEO_BOUNDARIES", str(broken))
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    monkeypatch.setenv("GEO_DATABASE_URL", fresh)
    sign_in_apptest(app, fresh, "viewer")
    app.run()
    assert not app.exception
    assert app.error, "a GeoError must reach the page as st.error"
    assert "broken.geojson" in app.error[0].value


def test_a_store_with_wards_does_not_read_the_boundary_file(app, tmp_path, monkeypatch):
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    monkeypatch.setenv("GEO_BOUNDARIES", str(broken))
    app.run()
    assert not app.exception
    assert not app.error
    assert len(app.sidebar.multiselect(key="f_wards").options) == 126


def test_language_switch_keeps_the_filters(app):
    app.run()
    app.sidebar.multiselect(key="f_wards").set_value(["00070"]).run()
    app.sidebar.radio(key="lang").set_value("en").run()
    assert app.sidebar.multiselect(key="f_wards").value == ["00070"]
    assert "2 of 3 incidents shown" in _caption_text(app)
    assert app.query_params["ward"] == "00070"


@pytest.fixture
def menus(monkeypatch):
    """The menus the app sent (AppTest keeps only elements, so record streamlit's own
    navigation messages on their way to the element tree)."""
    from streamlit.testing.v1 import local_script_runner

    sent: list = []
    parse = local_script_runner.parse_tree_from_messages

    def recording(messages):
        sent.extend(m.navigation for m in messages if m.HasField("navigation"))
        return parse(messages)

    monkeypatch.setattr(local_script_runner, "parse_tree_from_messages", recording)
    return sent


def _menu(nav) -> dict[str, bool]:
    """url path -> shown in the sidebar menu (the default page, the map, is at "/"; "map"
    is the hidden page that sends a typed /map there)."""
    return {("/" if p.is_default else p.url_pathname): not p.is_hidden for p in nav.app_pages}


@pytest.mark.parametrize(
    ("role", "upload_shown"), [("viewer", False), ("field", True), ("officer", True), ("admin", True)]
)
def test_upload_is_in_the_menu_only_for_roles_with_the_upload_right(
    store_url, monkeypatch, menus, role, upload_shown
):
    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    sign_in_apptest(at, store_url, role, ("00070",) if role == "officer" else ())
    at.run()
    assert not at.exception, at.exception
    menu = _menu(menus[-1])
    assert menu == {
        "/": True, "map": False, "upload": upload_shown, "compare": True, "progress": True, "ward": True,
        "reports": role in ("officer", "admin"),  # residents' reports: moderate_reports
        "admin": role == "admin",  # the administration page: manage_users only
        "lookup": True,  # the public lookup of a report, open to anyone
        "reinspect": True,  # everyone sees the due list; only a ward's officer records
    }
    # hidden is not removed: the page still opens and refuses by itself
    at.switch_page("app_pages/upload.py").run()
    assert not at.exception, at.exception
    assert (len(at.file_uploader) == 1) is upload_shown
    if not upload_shown:
        assert any("không có quyền tải lên" in i.value for i in at.info)


def test_signed_out_declares_every_page_so_a_shared_link_survives(store_url, monkeypatch, menus):
    from streamlit.proto.Navigation_pb2 import Navigation

    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    assert menus[-1].position == Navigation.Position.HIDDEN
    assert _menu(menus[-1]) == dict.fromkeys(
        ("/", "upload", "compare", "progress", "ward", "reports", "admin", "lookup", "reinspect"), True
    ) | {"map": False}


def test_ward_panel_links_the_ward_page_in_the_same_session(app):
    app.run()
    assert not app.get("page_link")  # nothing clicked yet
    # what streamlit-folium sends when a ward outline is clicked (its tooltip's text)
    officer_map = app.get("component_instance")[0]
    app.session_state[officer_map.key] = {"last_object_clicked_tooltip": "Phường Láng (00199)"}
    app.run()
    assert not app.exception, app.exception
    assert "Phường Láng" in [s.value for s in app.subheader]
    (link,) = app.get("page_link")
    assert (link.proto.page, link.proto.query_string) == ("ward", "ward=00199")
    assert link.value == "Mở trang phường"
    # following it (AppTest cannot click a page_link: switch as its click does)
    app.query_params.clear()
    app.query_params["ward"] = "00199"
    app.switch_page("app_pages/ward.py").run()
    assert not app.exception, app.exception
    assert [t.value for t in app.title] == ["Phường Láng"]
    assert app.session_state["auth_user"] == "test_viewer"


def test_the_map_draws_the_simplified_ward_outlines_and_keeps_the_layers_areas(app, wards):
    """The officers' map draws ``geo.display_shapes``' outlines (fewer vertices); the ward
    panel's figures still come from the layer itself."""
    import json
    import re

    import shapely

    from geo.display_shapes import display_layer

    app.run()
    assert not app.exception, app.exception
    script = json.loads(app.get("component_instance")[0].proto.json_args)["script"]
    drawn = int(shapely.get_num_coordinates(display_layer(wards).geometry.to_numpy()).sum())
    assert drawn < int(shapely.get_num_coordinates(wards.geometry.to_numpy()).sum())
    assert len(re.findall(r"\[10[56]\.\d+, 2[01]\.\d+\]", script)) == drawn
    hoan_kiem = wards.set_index("code").loc["00070", "area_km2"]
    assert f"{hoan_kiem:.2f}" in script  # the tooltip's area is the layer's own


def test_missing_map_files_are_said_on_the_page_not_drawn_blank(app, monkeypatch, tmp_path):
    """Without Leaflet's files in the served folder or in GEO_VENDOR_DIR every map is a blank
    frame; the page must say which file is missing and how to fetch them. With the files in
    GEO_VENDOR_DIR alone the maps link data: URLs (geo.assets.localize), so nothing is said."""
    from app_pages._safe import md_unescape
    from geo import assets

    real = assets.vendor_dir()
    assert not assets.missing_files(real), "this test needs `python -m geo assets fetch` once"
    monkeypatch.setattr(assets, "SERVED_DIR", tmp_path / "served")
    monkeypatch.setenv("GEO_VENDOR_DIR", str(tmp_path / "vendor"))
    app.run()
    assert not app.exception, app.exception
    said = [md_unescape(e.value) for e in app.error]
    assert any("python -m geo assets fetch" in e and str(tmp_path / "vendor") in e for e in said), said
    assert any(e.startswith("Thiếu") for e in said), said  # Vietnamese first

    monkeypatch.setenv("GEO_VENDOR_DIR", str(real))
    app.run()
    assert not any("assets fetch" in md_unescape(e.value) for e in app.error)
