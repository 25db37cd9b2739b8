"""Compare wards page through AppTest: empty and sample stores, metric, URL and language."""

from __future__ import annotations

import pytest
from _signin import sign_in_apptest
from conftest import REPO
from streamlit.testing.v1 import AppTest

APP = str(REPO / "app.py")
PAGE = "app_pages/compare.py"
TIMEOUT = 180


def _run(url: str, monkeypatch, **params: str) -> AppTest:
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    sign_in_apptest(at, url, "viewer")  # the app asks who is there first
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def _league(at: AppTest):
    return next(df.value for df in at.dataframe if "rank" in df.value.columns)


@pytest.fixture(scope="module")
def empty_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('empty') / 'empty.sqlite'}"


def test_empty_store_still_draws_the_wards(empty_url, monkeypatch):
    at = _run(empty_url, monkeypatch)
    assert [t.value for t in at.title] == ["So sánh các phường, xã"]
    assert any("Chưa có vụ việc" in i.value for i in at.info)
    league = _league(at)
    assert len(league) == 126 and league["rank"].isna().all()  # nobody reaches the minimum


def test_sample_store_metric_change_changes_the_table_and_url(sample_store_url, monkeypatch):
    at = _run(sample_store_url, monkeypatch)
    subheaders = [s.value for s in at.subheader]
    assert "Bản đồ theo chỉ số — Vụ chưa xử lý" in subheaders
    assert "Ma trận phường × tuần" in subheaders
    league = _league(at)
    assert league["rank"].notna().sum() > 50
    first_open = league["code"].iloc[0]
    assert any("5.000 vụ việc" in c.value for c in at.caption)  # heatmap of all 5,000

    at.sidebar.selectbox(key="c_metric").set_value("overdue").run()
    assert not at.exception
    assert "Bảng xếp hạng — Quá hạn" in [s.value for s in at.subheader]
    assert at.query_params["metric"] == "overdue"
    by_pct = _league(at.sidebar.selectbox(key="c_metric").set_value("pct_cleared").run())
    assert "pct_cleared" in by_pct.columns
    ranked = by_pct[by_pct["rank"].notna()]
    assert ranked["pct_cleared"].is_monotonic_decreasing
    assert (ranked["volume"] >= 10).all()
    assert by_pct["code"].iloc[0] != first_open or by_pct["pct_cleared"].iloc[0] == 100

    # a higher minimum volume ranks fewer wards
    at.sidebar.number_input(key="c_min").set_value(100).run()
    assert _league(at)["rank"].notna().sum() < ranked.shape[0]
    assert at.query_params["min"] == "100"


def test_status_filter_changes_the_density_count(sample_store_url, monkeypatch):
    at = _run(sample_store_url, monkeypatch)
    at.sidebar.multiselect(key="c_statuses").set_value(["cleared"]).run()
    captions = " ".join(c.value for c in at.caption)
    assert "5.000 vụ việc" not in captions
    assert "vụ việc vẽ bằng bản đồ nhiệt" in captions


def test_url_restores_the_view_and_language_switch(sample_store_url, monkeypatch):
    at = _run(sample_store_url, monkeypatch, metric="median_days", lang="en", matrix="pct_cleared")
    assert [t.value for t in at.title] == ["Compare wards"]
    assert at.sidebar.selectbox(key="c_metric").value == "median_days"
    assert "League table — Median days to clear" in [s.value for s in at.subheader]
    assert at.radio(key="c_matrix").value == "pct_cleared"
    at.sidebar.radio(key="lang").set_value("vi").run()
    assert [t.value for t in at.title] == ["So sánh các phường, xã"]
    assert "Bảng xếp hạng — Số ngày xử lý (trung vị)" in [s.value for s in at.subheader]
