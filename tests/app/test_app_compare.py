"""Compare wards page through AppTest: empty and sample stores, metric, URL and language;
one view at a time (choropleth first; league table, matrix, density on request, kept in
the URL); a ward clicked on the choropleth or picked under the league table opens the
ward page in the same (signed-in) session."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.store import open_store, queries
from tests._signin import open_page
from tests.conftest import REPO

APP = str(REPO / "app.py")
PAGE = "app_pages/compare.py"
TIMEOUT = 180


def _run(url: str, monkeypatch, **params: str) -> AppTest:
    return open_page(PAGE, url, monkeypatch, **params)


def _league(at: AppTest):
    return next(df.value for df in at.dataframe if "rank" in df.value.columns)


def _show(at: AppTest, view: str) -> AppTest:
    """Choose a view above the page, as a click on its segment does."""
    at.segmented_control(key="c_view").set_value(view).run()
    assert not at.exception, at.exception
    return at


def _click_ward(at: AppTest, code: str) -> AppTest:
    """What streamlit-folium sends when a ward polygon of the choropleth is clicked: the
    clicked layer as GeoJSON (``last_active_drawing``), the only object the page asks for."""
    choropleth = at.get("component_instance")[0]  # drawn first; the density map comes later
    feature = {"type": "Feature", "properties": {"code": code, "tip": "…"}, "geometry": None}
    at.session_state[choropleth.key] = {"last_active_drawing": feature}
    return at.run()


def _signed_in_on_ward_page(at: AppTest, title: str, code: str) -> None:
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == [title]
    assert at.query_params["ward"] == code
    assert at.sidebar.selectbox(key="w_ward").value == code
    # the same session: still signed in as the test's account, no sign-in form drawn
    assert at.session_state["auth_user"] == at.session_state["test_user"]
    assert not [w for w in at.text_input if w.key in {"auth_name", "auth_pw"}]
    assert any(at.session_state["test_user"] in c.value for c in at.sidebar.caption)


@pytest.fixture(scope="module")
def empty_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('empty') / 'empty.sqlite'}"


def test_empty_store_still_draws_the_wards(empty_url, monkeypatch):
    at = _run(empty_url, monkeypatch)
    assert [t.value for t in at.title] == ["So sánh các phường, xã"]
    assert any("Chưa có vụ việc" in i.value for i in at.info)
    assert len(at.get("component_instance")) == 1  # the choropleth
    league = _league(_show(at, "league"))
    assert len(league) == 126 and league["rank"].isna().all()  # nobody reaches the minimum


def _pct_cleared_league(store_url: str) -> pd.DataFrame:
    store = open_store(store_url)
    rows = queries.incidents(store, limit=None)
    store.close()
    rows = rows[rows["ward_code"].notna()]
    per_ward = rows.assign(closed=rows["status"].isin(["cleared", "recurred"])).groupby("ward_code")
    table = pd.DataFrame({"volume": per_ward.size(), "closed": per_ward["closed"].sum()})
    table["pct"] = 100.0 * table["closed"] / table["volume"]
    table = table[table["volume"] >= 10].rename_axis("code").reset_index()
    return table.sort_values(["pct", "volume", "code"], ascending=[False, False, True])


def _drawn(at: AppTest) -> dict[str, int]:
    """What the page drew: subheaders, maps (components), Vega charts and tables."""
    return {
        "subheaders": len(at.subheader), "maps": len(at.get("component_instance")),
        "charts": len(at.get("vega_lite_chart")), "tables": len(at.dataframe),
    }


def test_one_view_at_a_time_choropleth_first_and_kept_in_the_url(sample_store_url, monkeypatch):
    """Only the chosen view is drawn (the browser draws nothing else); the choropleth is
    first, the choice is kept in the URL (the default left out) and restored from it."""
    at = _run(sample_store_url, monkeypatch)
    assert at.segmented_control(key="c_view").value == "choropleth"
    assert at.segmented_control(key="c_view").options == [
        "Bản đồ theo chỉ số", "Bảng xếp hạng", "Ma trận phường × tuần", "Mật độ vụ việc",
    ]
    assert [s.value for s in at.subheader] == ["Bản đồ theo chỉ số — Vụ chưa xử lý"]
    assert _drawn(at) == {"subheaders": 1, "maps": 1, "charts": 0, "tables": 0}
    assert "view" not in at.query_params

    _show(at, "league")
    assert [s.value for s in at.subheader] == ["Bảng xếp hạng — Vụ chưa xử lý", "Trật tự có bền vững không"]
    assert _drawn(at) == {"subheaders": 2, "maps": 0, "charts": 0, "tables": 2}
    assert at.query_params["view"] == "league"

    _show(at, "matrix")
    assert [s.value for s in at.subheader] == ["Ma trận phường × tuần"]
    assert _drawn(at) == {"subheaders": 1, "maps": 0, "charts": 1, "tables": 0}
    assert at.query_params["view"] == "matrix"

    _show(at, "density")
    assert [s.value for s in at.subheader] == ["Bản đồ nhiệt mật độ vụ việc"]
    assert _drawn(at) == {"subheaders": 1, "maps": 1, "charts": 0, "tables": 0}
    assert any("5.000 vụ việc" in c.value for c in at.caption)  # heatmap of all 5,000
    assert at.query_params["view"] == "density"

    _show(at, "choropleth")
    assert "view" not in at.query_params
    assert _run(sample_store_url, monkeypatch, view="matrix").segmented_control(key="c_view").value == "matrix"
    assert _run(sample_store_url, monkeypatch, view="nonsense").segmented_control(key="c_view").value == "choropleth"


def test_sample_store_metric_change_changes_the_table_and_url(sample_store_url, monkeypatch):
    at = _run(sample_store_url, monkeypatch)
    assert "Bản đồ theo chỉ số — Vụ chưa xử lý" in [s.value for s in at.subheader]
    league = _league(_show(at, "league"))
    assert league["rank"].notna().sum() > 50
    # by open incidents (fewer is better; best first), from the same stored rows
    by_open = _pct_cleared_league(sample_store_url)
    by_open = by_open.assign(open=by_open["volume"] - by_open["closed"]).sort_values(
        ["open", "volume", "code"], ascending=[True, False, True]
    )
    ranked_open = league[league["rank"].notna()]
    assert ranked_open["code"].tolist() == by_open["code"].tolist()
    assert ranked_open["open"].tolist() == by_open["open"].tolist()

    at.sidebar.selectbox(key="c_metric").set_value("overdue").run()
    assert not at.exception
    assert "Bảng xếp hạng — Quá hạn" in [s.value for s in at.subheader]
    assert at.query_params["metric"] == "overdue"
    by_pct = _league(at.sidebar.selectbox(key="c_metric").set_value("pct_cleared").run())
    assert "pct_cleared" in by_pct.columns
    ranked = by_pct[by_pct["rank"].notna()]
    assert ranked["pct_cleared"].is_monotonic_decreasing
    assert (ranked["volume"] >= 10).all()
    # the ranked wards and their order, from the stored rows by the documented rule:
    # pct cleared = closed / (open + closed) now; ranked when that volume >= 10;
    # best first, ties by volume (larger first), then code
    expected = _pct_cleared_league(sample_store_url)
    assert ranked["code"].tolist() == expected["code"].tolist()
    assert ranked["pct_cleared"].to_numpy() == pytest.approx(expected["pct"].to_numpy())

    # a higher minimum volume ranks fewer wards
    at.sidebar.number_input(key="c_min").set_value(100).run()
    assert _league(at)["rank"].notna().sum() < ranked.shape[0]
    assert at.query_params["min"] == "100"


def test_status_filter_changes_the_density_count(sample_store_url, monkeypatch):
    at = _run(sample_store_url, monkeypatch, view="density")
    assert any("5.000 vụ việc" in c.value for c in at.caption)
    at.sidebar.multiselect(key="c_statuses").set_value(["cleared"]).run()
    captions = " ".join(c.value for c in at.caption)
    assert "5.000 vụ việc" not in captions
    assert "vụ việc vẽ bằng bản đồ nhiệt" in captions


def test_url_restores_the_view_and_language_switch(sample_store_url, monkeypatch):
    at = _run(sample_store_url, monkeypatch, metric="median_days", lang="en", matrix="pct_cleared", view="league")
    assert [t.value for t in at.title] == ["Compare wards"]
    assert at.sidebar.selectbox(key="c_metric").value == "median_days"
    assert "League table — Median days to clear" in [s.value for s in at.subheader]
    assert _show(at, "matrix").radio(key="c_matrix").value == "pct_cleared"
    _show(at, "league")
    assert at.query_params["matrix"] == "pct_cleared"  # kept while the matrix is not drawn
    at.sidebar.radio(key="lang").set_value("vi").run()
    assert [t.value for t in at.title] == ["So sánh các phường, xã"]
    assert "Bảng xếp hạng — Số ngày xử lý (trung vị)" in [s.value for s in at.subheader]


def test_choropleth_has_no_links(empty_url, wards):
    """A plain link reloads the app in a new session (signed out): the map holds none."""
    from geo.choropleth import change_map, choropleth_map
    from geo.metrics import load_ward_metrics
    from geo.store import open_store

    store = open_store(empty_url)
    try:
        metrics = load_ward_metrics(store, wards, None, None)
    finally:
        store.close()
    change = metrics[["code", "name"]].assign(before=1, after=2, delta=1)
    for fmap in (choropleth_map(wards, metrics, "open", assets="cdn"), change_map(wards, change, assets="cdn")):
        page = fmap.get_root().render()
        assert "/ward?" not in page and "_top" not in page and "GeoJsonPopup" not in page
        assert '"code": "00070"' in page  # what a click hands back to the page


def test_clicking_a_ward_opens_its_page_in_the_same_session(empty_url, monkeypatch):
    at = _run(empty_url, monkeypatch)
    assert at.session_state["auth_user"] == at.session_state["test_user"]
    _signed_in_on_ward_page(_click_ward(at, "00070"), "Phường Hoàn Kiếm", "00070")

    # back on Compare the old click is gone (no bounce); another ward's click opens that
    # ward, not the one of the earlier visit
    at.switch_page(PAGE).run()
    assert [t.value for t in at.title] == ["So sánh các phường, xã"]
    _signed_in_on_ward_page(_click_ward(at, "00199"), "Phường Láng", "00199")


def test_a_click_on_no_known_ward_stays_on_compare(empty_url, monkeypatch):
    at = _run(empty_url, monkeypatch)
    for code in ("99999", "<script>", ""):
        _click_ward(at, code)
        assert not at.exception, at.exception
        assert [t.value for t in at.title] == ["So sánh các phường, xã"]


def test_league_table_offers_a_session_keeping_link(sample_store_url, monkeypatch):
    at = _run(sample_store_url, monkeypatch, view="league")
    league = _league(at)
    assert not any("/ward?" in str(v) for v in league.to_numpy().ravel())  # no plain links
    picker = at.selectbox(key="c_open_ward")
    assert picker.options == [f"{n} ({c})" for n, c in zip(league["name"], league["code"], strict=True)]
    first = league["code"].iloc[0]
    (link,) = at.get("page_link")
    assert (link.proto.page, link.proto.query_string) == ("ward", f"ward={first}")
    assert league["name"].iloc[0] in link.value
    picker.set_value("00199").run()
    (link,) = at.get("page_link")
    assert (link.proto.page, link.proto.query_string) == ("ward", "ward=00199")
    assert link.value == "Mở trang phường: Phường Láng"
    # following it (AppTest cannot click a page_link: switch as its click does)
    at.query_params.clear()
    at.query_params["ward"] = "00199"
    at.switch_page("app_pages/ward.py").run()
    _signed_in_on_ward_page(at, "Phường Láng", "00199")


def test_the_sustain_table_tells_campaign_wards_from_steady_ones(tmp_path, monkeypatch):
    """The committed sustained-order sample: the campaign wards are flagged, the steady ones
    are not, and every rate sits beside its re-checked share (issue 12 §4)."""
    from geo.ingest import IngestOptions, ingest
    from geo.ingest.recheck import ingest_results
    from geo.sample_sustain import CAMPAIGN_WARDS, STEADY_WARDS
    from geo.seed import RECHECKS_CSV, SUSTAIN_CSV
    from geo.store import open_store

    url = f"sqlite:///{tmp_path / 'sustain.sqlite'}"
    store = open_store(url)
    ingest(SUSTAIN_CSV, store, IngestOptions(source="sample_sustain"), actor="test")
    ingest_results(store, RECHECKS_CSV, actor="test")
    store.close()
    at = open_page("app_pages/compare.py", url, monkeypatch, view="league")
    assert "Trật tự có bền vững không" in [s.value for s in at.subheader]
    # the league table carries the flag too (by ``code``); this is the sustain table
    (table,) = [d.value for d in at.dataframe if "campaign_flag" in d.value.columns and "ward_code" in d.value.columns]
    flags = dict(zip(table["ward_code"], table["campaign_flag"], strict=True))
    assert all(flags[c] is True for c in CAMPAIGN_WARDS)
    assert all(flags[c] is False for c in STEADY_WARDS)
    assert list(table.columns).index("rechecked_share") == list(table.columns).index("retention_90") + 1


def test_the_maps_draw_the_simplified_ward_outlines(empty_url, monkeypatch, wards):
    """Compare's choropleth and density draw every ward with the outlines of
    ``geo.display_shapes`` (fewer vertices), not the layer's own."""
    import json
    import re

    import shapely

    from geo.display_shapes import display_layer

    def vertices(at: AppTest) -> int:
        script = json.loads(at.get("component_instance")[0].proto.json_args)["script"]
        return len(re.findall(r"\[10[56]\.\d+, 2[01]\.\d+\]", script))

    drawn = int(shapely.get_num_coordinates(display_layer(wards).geometry.to_numpy()).sum())
    assert drawn < int(shapely.get_num_coordinates(wards.geometry.to_numpy()).sum())
    at = _run(empty_url, monkeypatch)
    assert vertices(at) == drawn
    assert vertices(_show(at, "density")) == drawn
