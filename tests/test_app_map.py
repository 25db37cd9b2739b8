"""The app's router and map page through Streamlit's AppTest (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _incidents import make_store
from _signin import sign_in_apptest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
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
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    monkeypatch.setenv("GEO_BOUNDARIES", str(broken))
    app.run()
    assert not app.exception
    assert app.error, "a GeoError must reach the page as st.error"
    assert "broken.geojson" in app.error[0].value


def test_language_switch_keeps_the_filters(app):
    app.run()
    app.sidebar.multiselect(key="f_wards").set_value(["00070"]).run()
    app.sidebar.radio(key="lang").set_value("en").run()
    assert app.sidebar.multiselect(key="f_wards").value == ["00070"]
    assert "2 of 3 incidents shown" in _caption_text(app)
    assert app.query_params["ward"] == "00070"
