"""Ward page through AppTest: ?ward=CODE, KPIs, streets ranked by open, report downloads;
entered again in the same session (switch_page/page_link), the URL's ward wins."""

from __future__ import annotations

import datetime as dt

from streamlit.testing.v1 import AppTest

from tests._incidents import make_store
from tests._signin import open_page
from tests.conftest import REPO

APP = str(REPO / "app.py")
PAGE = "app_pages/ward.py"
TIMEOUT = 180


def _run(url: str, monkeypatch, **params: str) -> AppTest:
    return open_page(PAGE, url, monkeypatch, **params)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_no_or_unknown_ward_asks_for_one(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'e.sqlite'}"
    for params in ({}, {"ward": "99999"}, {"ward": "<script>"}):
        at = _run(url, monkeypatch, **params)
        assert [t.value for t in at.title] == ["Trang phường, xã"]
        assert any("Chọn phường" in i.value for i in at.info)
        assert "ward" not in at.query_params


def test_empty_store_ward_page_shows_zeros(tmp_path, monkeypatch):
    at = _run(f"sqlite:///{tmp_path / 'e.sqlite'}", monkeypatch, ward="00070")
    assert [t.value for t in at.title] == ["Phường Hoàn Kiếm"]
    assert _metrics(at)["Vụ chưa xử lý"] == "0"
    assert _metrics(at)["% đã xử lý"] == "–"


def test_ward_link_opens_kpis_streets_and_reports(tmp_path, wards, monkeypatch):
    store = make_store(tmp_path / "s.sqlite", wards)
    at = _run(store.url, monkeypatch, ward="00070")
    assert [t.value for t in at.title] == ["Phường Hoàn Kiếm"]
    kpis = _metrics(at)
    assert kpis["Vụ chưa xử lý"] == "1" and kpis["Đã xử lý"] == "1" and kpis["% đã xử lý"] == "50,0%"  # decimal comma
    streets = at.dataframe[0].value
    assert list(streets["street"]) == ["Hàng Mã"]
    assert int(streets["open"].iloc[0]) == 1
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Tải báo cáo PDF", "Tải báo cáo PNG"]
    assert len(at.get("component_instance")) == 1  # the ward's map

    # another ward through the selector: the URL follows
    at.sidebar.selectbox(key="w_ward").set_value("00199").run()
    assert [t.value for t in at.title] == ["Phường Láng"]
    assert at.query_params["ward"] == "00199"
    assert _metrics(at)["Vụ chưa xử lý"] == "1"


def test_period_filter_and_language(sample_store_url, monkeypatch):
    at = _run(sample_store_url, monkeypatch, ward="00070", lang="en")
    assert "Key figures" in [s.value for s in at.subheader]
    whole = _metrics(at)
    assert int(whole["Cleared"]) > 100
    streets = at.dataframe[0].value
    assert streets["street"].iloc[0] == "Hàng Mã"  # the busiest street of Hoàn Kiếm
    assert streets["open"].is_monotonic_decreasing
    at.sidebar.date_input(key="w_to").set_value(dt.date(2025, 8, 31)).run()
    early = _metrics(at)
    assert int(early["Cleared"]) < int(whole["Cleared"])
    assert at.query_params["to"] == "2025-08-31"
    at.sidebar.radio(key="lang").set_value("vi").run()
    assert "Chỉ số chính" in [s.value for s in at.subheader]


def test_entering_again_in_the_same_session_follows_the_url(tmp_path, monkeypatch):
    """st.switch_page / st.page_link keep the session: the page's widgets from an earlier
    visit are gone by then, and the new URL (not today's date, not the old ward) counts."""
    at = _run(f"sqlite:///{tmp_path / 'e.sqlite'}", monkeypatch, ward="00070")
    at.sidebar.date_input(key="w_from").set_value(dt.date(2025, 7, 1)).run()
    assert at.query_params["from"] == "2025-07-01"
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception, at.exception
    at.query_params.clear()  # as st.switch_page(..., query_params={"ward": "00199"}) leaves it
    at.query_params["ward"] = "00199"
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["Phường Láng"]
    assert at.sidebar.selectbox(key="w_ward").value == "00199"
    assert at.sidebar.date_input(key="w_from").value is None
    assert at.sidebar.date_input(key="w_to").value is None
    assert dict(at.query_params) == {"ward": "00199"}
