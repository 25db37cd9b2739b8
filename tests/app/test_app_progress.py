"""Progress page through AppTest: city, ward and street (Hàng Mã), before/after, URL, language."""

from __future__ import annotations

import datetime as dt

from streamlit.testing.v1 import AppTest

from geo.store import queries
from tests._signin import open_page
from tests.conftest import REPO

APP = str(REPO / "app.py")
PAGE = "app_pages/progress.py"
TIMEOUT = 180


def _run(url: str, monkeypatch, **params: str) -> AppTest:
    return open_page(PAGE, url, monkeypatch, **params)


def _ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_empty_store(tmp_path, monkeypatch):
    at = _run(f"sqlite:///{tmp_path / 'e.sqlite'}", monkeypatch)
    assert [t.value for t in at.title] == ["Tiến độ xử lý"]
    assert any("Không có vụ việc" in i.value for i in at.info)
    assert _metrics(at)["Chưa xử lý ngày sau"] == "0"


def _expected(store_url: str, a: str, b: str, **scope: str) -> dict[str, str]:
    """The four before/after figures read straight off the stored rows by the rule the
    page states (Hà Nội days; "open on day X": reported by the end of X and not closed by
    then; "in between": after day a, up to and including day b), not through the
    aggregation code the page uses."""
    from geo.crs import LOCAL_TZ
    from geo.store import open_store

    store = open_store(store_url)
    rows = queries.incidents(store, limit=None)
    store.close()
    rows = rows[rows["ward_code"].notna()]
    for column, value in scope.items():
        rows = rows[rows[column] == value]
    reported = rows["reported_at"].dt.tz_convert(LOCAL_TZ).dt.date
    cleared = rows["cleared_at"].dt.tz_convert(LOCAL_TZ).dt.date
    day_a, day_b = dt.date.fromisoformat(a), dt.date.fromisoformat(b)

    closed = rows["status"].isin(["cleared", "recurred"])

    def open_on(day: dt.date) -> int:
        # a closed incident whose clearing date is unknown counts as closed all along
        closed_by = closed & (cleared.isna() | (cleared <= day).fillna(False).astype(bool))
        return int(((reported <= day) & ~closed_by).sum())

    def vi(n: int) -> str:  # as a Vietnamese page writes a count: "2.126"
        return f"{n:,}".replace(",", ".")

    return {
        "Chưa xử lý ngày trước": vi(open_on(day_a)),
        "Chưa xử lý ngày sau": vi(open_on(day_b)),
        "Mới giữa hai ngày": vi(int(((reported > day_a) & (reported <= day_b)).sum())),
        "Xử lý giữa hai ngày": vi(int(((cleared > day_a) & (cleared <= day_b)).fillna(False).astype(bool).sum())),
    }


def _before_after(at: AppTest) -> dict[str, str]:
    return {k: v for k, v in _metrics(at).items() if "hai ngày" in k or "ngày trước" in k or "ngày sau" in k}


def test_city_then_street_then_ward_give_the_figures_of_the_rows(sample_store_url, monkeypatch):
    a, b = "2025-08-01", "2025-09-01"
    at = _run(sample_store_url, monkeypatch, a=a, b=b)
    assert "Chưa xử lý và đã xử lý theo thời gian" in [s.value for s in at.subheader]
    assert len(at.get("vega_lite_chart")) >= 2  # open vs cleared, cumulative
    city = _expected(sample_store_url, a, b)
    assert int(city["Mới giữa hai ngày"]) > 0 and int(city["Xử lý giữa hai ngày"]) > 0  # not vacuous
    assert _before_after(at) == city

    at.sidebar.radio(key="p_level").set_value("street").run()
    _ok(at)
    assert at.sidebar.selectbox(key="p_street").value == "Hàng Mã"
    assert at.query_params["street"] == "Hàng Mã"
    street = _expected(sample_store_url, a, b, street="Hàng Mã")
    assert _before_after(at) == street != city

    at.sidebar.radio(key="p_level").set_value("ward").run()
    _ok(at)
    assert at.sidebar.selectbox(key="p_ward").value == "00070"
    assert _before_after(at) == _expected(sample_store_url, a, b, ward_code="00070")


def test_before_after_dates_change_the_counts(sample_store_url, monkeypatch):
    at = _run(sample_store_url, monkeypatch, a="2025-08-01", b="2025-09-01")
    assert _before_after(at) == _expected(sample_store_url, "2025-08-01", "2025-09-01")
    assert at.date_input(key="p_a").value.isoformat() == "2025-08-01"
    at.date_input(key="p_b").set_value(dt.date(2025, 12, 1)).run()
    _ok(at)
    assert _before_after(at) == _expected(sample_store_url, "2025-08-01", "2025-12-01")
    assert at.query_params["b"] == "2025-12-01"
    at.date_input(key="p_a").set_value(dt.date(2025, 12, 5)).run()
    assert any("Ngày trước phải sớm hơn" in w.value for w in at.warning)


def test_url_restores_a_ward_view_in_english(sample_store_url, monkeypatch):
    at = _run(sample_store_url, monkeypatch, level="ward", ward="00199", lang="en", freq="D")
    assert [t.value for t in at.title] == ["Progress"]
    assert at.sidebar.selectbox(key="p_ward").value == "00199"
    assert at.sidebar.radio(key="p_freq").value == "D"
    assert "Open vs cleared over time" in [s.value for s in at.subheader]
    at.sidebar.radio(key="lang").set_value("vi").run()
    _ok(at)
    assert [t.value for t in at.title] == ["Tiến độ xử lý"]
    assert at.query_params["ward"] == "00199"


def test_clicking_a_ward_on_the_change_map_opens_its_page(tmp_path, monkeypatch):
    """The change map holds no link (a new session would ask for a sign-in again): the
    click comes back from streamlit-folium and the page switches in the same session."""
    at = _run(f"sqlite:///{tmp_path / 'e.sqlite'}", monkeypatch)
    (change_map,) = at.get("component_instance")
    feature = {"type": "Feature", "properties": {"code": "00070"}, "geometry": None}
    at.session_state[change_map.key] = {"last_active_drawing": feature}
    at.run()
    _ok(at)
    assert [t.value for t in at.title] == ["Phường Hoàn Kiếm"]
    assert at.query_params["ward"] == "00070"
    assert at.session_state["auth_user"] == "test_viewer"
