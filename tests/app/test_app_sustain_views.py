"""The leaders' views of sustained order (issue 12) through AppTest, on the hand-made
store of :mod:`tests._sustain_world`: the ward page's survival curve and chronic-place
timelines, the map's place layer, the Progress recurrences line and the Compare measures.

Every expected value is worked out here from the world's raw rows by the issue's rules
(episodes, spells, Kaplan–Meier through lifelines, the campaign flag), never through the
app's own functions.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from lifelines import KaplanMeierFitter

from geo.choropleth import NO_DATA
from geo.crs import LOCAL_TZ
from tests._signin import open_page
from tests._sustain_world import (
    EVENT_ORDER,
    HOAN_KIEM,
    SPOTS,
    STEADY,
    WARD_D,
    day,
    episodes_by_rule,
    seed,
    spells_by_rule,
    timeline_by_rule,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('sustain_views') / 'world.sqlite'}"
    return url, seed(url)


def km(spells: pd.DataFrame, at: np.ndarray) -> np.ndarray:
    fitter = KaplanMeierFitter().fit(spells["duration"], spells["event"])
    return np.atleast_1d(np.asarray(fitter.predict(at), dtype=float))


def chart_data(chart) -> pd.DataFrame:
    """The data a vega-lite chart element of AppTest carries."""
    (dataset,) = chart.proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_pandas()


def local(n: int) -> pd.Timestamp:
    return day(n).tz_convert(LOCAL_TZ).tz_localize(None)


def epoch_day(n: int) -> int:
    """Day ``n`` of the world as the Hà Nội calendar day counted from 1970-01-01."""
    return (local(n).normalize() - pd.Timestamp("1970-01-01")).days


# --------------------------------------------------------------------------- ward page


@pytest.mark.parametrize("lang, ward_label, city_label", [("vi", "Phường, xã này", "Toàn thành phố"),
                                                         ("en", "This ward", "Whole city")])  # fmt: skip
def test_ward_page_draws_the_kaplan_meier_curve_beside_the_citys(world, monkeypatch, lang, ward_label, city_label):
    url, _ = world
    at = open_page("app_pages/ward.py", url, monkeypatch, ward=HOAN_KIEM, lang=lang)
    curve = chart_data(at.get("vega_lite_chart")[0])
    spells = spells_by_rule()
    for label, mine in ((ward_label, spells[spells["ward"] == HOAN_KIEM]), (city_label, spells)):
        drawn = curve[curve["scope"] == label].sort_values("day")
        # a step at day 0 and at every distinct duration of the scope's spells
        assert drawn["day"].tolist() == sorted({0.0, *mine["duration"].astype(float)})
        assert drawn["survival"].to_numpy() == pytest.approx(km(mine, drawn["day"].to_numpy()), abs=1e-9)
        assert (drawn["spells"] == len(mine)).all()
    # the ward's curve: 5 spells, C censored at 0, events at 10 and 20 → 3/4, then 1/2
    ward = curve[curve["scope"] == ward_label].set_index("day")["survival"]
    assert ward[10.0] == pytest.approx(0.75) and ward[30.0] == pytest.approx(0.5)


def test_ward_page_lists_the_chronic_places_with_their_timelines(world, monkeypatch):
    url, ids = world
    at = open_page("app_pages/ward.py", url, monkeypatch, ward=HOAN_KIEM)
    assert "Điểm tái phạm nhiều lần: diễn biến" in [s.value for s in at.subheader]
    table = next(df.value for df in at.dataframe if "recurred_at" in df.value.columns)
    # places with two or more recurrences: only A (three episodes)
    chronic = [s for s, eps in episodes_by_rule().items() if len(eps) - 1 >= 2 and SPOTS[s][2] == HOAN_KIEM]
    assert chronic == ["A"]
    assert table["place_id"].unique().tolist() == [ids["A"]]
    assert table["recurrences"].unique().tolist() == [2]
    expected = [(local(0), local(1), local(11)), (local(11), local(12), local(32)), (local(32), local(33), pd.NaT)]
    got = list(zip(table["reported_at"], table["cleared_at"], table["recurred_at"], strict=True))
    assert [tuple(pd.Timestamp(v) if not pd.isna(v) else pd.NaT for v in row) for row in got] == expected
    events = chart_data(at.get("vega_lite_chart")[1])
    assert json.loads(at.get("vega_lite_chart")[1].proto.spec)["encoding"]["y"]["sort"] == [str(ids["A"])]
    assert events["kind"].tolist() == ["Phát hiện", "Xử lý xong", "Tái phạm", "Xử lý xong", "Tái phạm",
                                       "Xử lý xong", "Tái kiểm tra: còn thông thoáng"]  # fmt: skip


def test_ward_page_without_chronic_places_or_clearances_says_so(world, monkeypatch):
    url, _ = world
    at = open_page("app_pages/ward.py", url, monkeypatch, ward=WARD_D)  # D: one recurrence
    infos = [i.value for i in at.info]
    assert "Không có điểm nào tái phạm từ 2 lần trở lên." in infos
    at = open_page("app_pages/ward.py", url, monkeypatch, ward="00082")  # nothing at all
    assert "Chưa có lần xử lý nào của phường trong khoảng này." in [i.value for i in at.info]


# --------------------------------------------------------------------------- map


_PAYLOAD = re.compile(r"var d = (\{[^\n]*\});\s*var group = L\.featureGroup")  # one line of JSON


def map_script(at) -> str:
    return json.loads(at.get("component_instance")[0].proto.json_args)["script"]


def test_map_place_layer_is_off_by_default_and_colours_places_by_state(world, monkeypatch):
    url, ids = world
    at = open_page("app_pages/map.py", url, monkeypatch)
    assert at.sidebar.toggle(key="m_places").value is False
    assert "geo-place" not in map_script(at)
    at.sidebar.toggle(key="m_places").set_value(True).run()
    assert not at.exception, at.exception
    payload = json.loads(_PAYLOAD.search(map_script(at)).group(1).replace("<\\/", "</"))
    drawn = {}
    for lat, lon, state, chronic, tip, *_popup in payload["p"]:
        place = int(re.search(r"Điểm (\d+)", tip).group(1))
        recurrences = int(re.search(r"Số lần tái phạm: (\d+)", tip).group(1))
        drawn[place] = (payload["s"][state], recurrences, (lat, lon), bool(chronic))
    expected = {}
    for spot, episodes in episodes_by_rule().items():
        last_cleared = episodes[-1][1] is not None
        state = "clear" if last_cleared else ("recurred" if len(episodes) > 1 else "open")
        expected[ids[spot]] = (state, len(episodes) - 1, SPOTS[spot][:2], len(episodes) - 1 >= 3)
    assert drawn == expected
    assert payload["c"][payload["s"].index("recurred")] == "#7b3294"
    # each popup: the place's timeline by the rule (Hà Nội days since 1970, kinds by name)
    labels = dict(zip(payload["kinds"], payload["t"]["k"], strict=True))
    assert labels == {"report": "Phát hiện", "recurrence": "Tái phạm", "clear": "Xử lý xong",
                      "check_clear": "Tái kiểm tra: còn thông thoáng",
                      "check_violation": "Tái kiểm tra: tái vi phạm"}  # fmt: skip
    assert payload["t"]["title"] == "Diễn biến" and payload["kinds"] == list(EVENT_ORDER)
    by_place = {int(re.search(r"Điểm (\d+)", p[4]).group(1)): p[5:] for p in payload["p"]}
    for spot, place in ids.items():
        flat, earlier, address, notes = by_place[place]
        days = np.cumsum(flat[0::2]).tolist()  # the first day, then days since the event before
        rule = timeline_by_rule(spot)
        assert list(zip(days, [payload["kinds"][k] for k in flat[1::2]], strict=True)) == [
            (epoch_day(d), k) for d, k, _ in rule
        ]
        assert earlier == 0 and address == f"điểm {spot}"
        assert [n for n, _ in notes] == [i for i, (_, _, note) in enumerate(rule) if note]
    # a chosen ward keeps its own places only
    at.sidebar.multiselect(key="f_wards").set_value([WARD_D]).run()
    payload = json.loads(_PAYLOAD.search(map_script(at)).group(1).replace("<\\/", "</"))
    assert [re.search(r"Điểm (\d+)", p[4]).group(1) for p in payload["p"]] == [str(ids["D"])]


def test_map_place_popups_follow_the_chosen_language(world, monkeypatch):
    url, _ = world
    at = open_page("app_pages/map.py", url, monkeypatch, lang="en")
    at.sidebar.toggle(key="m_places").set_value(True).run()
    assert not at.exception, at.exception
    payload = json.loads(_PAYLOAD.search(map_script(at)).group(1).replace("<\\/", "</"))
    assert payload["t"]["title"] == "Timeline"
    # the label's text around its count (the popup writes the count between, in en-US)
    assert "{n}".join(payload["t"]["earlier"]) == "… and {n} earlier events"
    assert payload["t"]["locale"] == "en-US"
    assert dict(zip(payload["kinds"], payload["t"]["k"], strict=True)) == {
        "report": "Report", "recurrence": "Recurrence", "clear": "Cleared",
        "check_clear": "Check: still clear", "check_violation": "Check: violation again"}  # fmt: skip


# --------------------------------------------------------------------------- progress


def test_progress_draws_recurrences_per_week_beside_the_other_lines(world, monkeypatch):
    url, _ = world
    at = open_page("app_pages/progress.py", url, monkeypatch)
    lines = chart_data(at.get("vega_lite_chart")[0])
    colour = next(c for c in lines.columns if c.startswith("color"))
    value = next(c for c in lines.columns if c.startswith("value"))
    assert {"Chưa xử lý (cuối kỳ)", "Đã xử lý trong kỳ", "Mới trong kỳ", "Tái phạm trong kỳ"} <= set(lines[colour])
    drawn = lines[lines[colour] == "Tái phạm trong kỳ"].set_index("period")[value]
    # recurrences by the rule: the first report of every episode after a place's first
    reports = [local(eps[0]) for episodes in episodes_by_rule().values() for eps in episodes[1:]]
    weeks = pd.Series([(r.normalize() - pd.Timedelta(days=r.weekday())) for r in reports]).value_counts()
    assert drawn[drawn > 0].to_dict() == {pd.Timestamp(k): v for k, v in weeks.items()}
    assert drawn.sum() == 3

    at.sidebar.radio(key="p_level").set_value("ward").run()
    at.sidebar.selectbox(key="p_ward").set_value(WARD_D).run()
    lines = chart_data(at.get("vega_lite_chart")[0])
    drawn = lines[lines[colour] == "Tái phạm trong kỳ"].set_index("period")[value]
    assert drawn.sum() == 1 and drawn.idxmax() == local(6).normalize() - pd.Timedelta(days=local(6).weekday())


# --------------------------------------------------------------------------- compare


_FEATURE = re.compile(r'"code": "(\d{5})", "fill": "([^"]+)", "tip": "((?:[^"\\]|\\.)*)"')


def choropleth_tips(script: str) -> dict[str, tuple[str, str]]:
    """Ward code → (fill colour, tooltip text) of a choropleth's GeoJSON."""
    return {code: (fill, json.loads(f'"{tip}"')) for code, fill, tip in _FEATURE.findall(script)}


def densest_share(days: list[int], span: int = 14) -> float:
    return max(sum(1 for d in days if a <= d < a + span) for a in days) / len(days)


def test_compare_offers_retention_and_the_campaign_flag_under_the_minimum(world, monkeypatch):
    url, _ = world
    at = open_page("app_pages/compare.py", url, monkeypatch, metric="retention_30", min="3", view="league")
    assert "Bảng xếp hạng — Duy trì 30 ngày (tỷ lệ)" in [s.value for s in at.subheader]
    league = next(df.value for df in at.dataframe if "rank" in df.value.columns).set_index("code")
    spells = spells_by_rule()
    expected = {}
    for ward, mine in spells.groupby("ward"):
        if len(mine) < 3:  # the minimum-volume rule on clearances
            continue
        retention = float(km(mine, np.array([30.0]))[0])
        campaign = densest_share(mine["cleared"].tolist()) >= 0.5 and retention < 0.6
        expected[ward] = (retention, float(campaign), len(mine))
    assert sorted(expected) == [STEADY, HOAN_KIEM]  # 00004 has one clearance
    ranked = league[league["rank"].notna()]
    assert ranked.index.tolist() == sorted(expected, key=lambda w: -expected[w][0])  # best first
    for ward, (retention, campaign, n) in expected.items():
        assert league.loc[ward, "retention_30"] == pytest.approx(retention, abs=1e-9)
        assert league.loc[ward, "campaign_flag"] == campaign
        assert league.loc[ward, "spells"] == n
    assert pd.isna(league.loc[WARD_D, "retention_30"]) and pd.isna(league.loc[WARD_D, "rank"])
    assert league.loc[WARD_D, "spells"] == 1
    # the choropleth colours by the same figures, "–" under the minimum
    at.segmented_control(key="c_view").set_value("choropleth").run()
    tips = choropleth_tips(map_script(at))
    # a Vietnamese page writes a decimal comma (1.234,5)
    assert "Duy trì 30 ngày (tỷ lệ): 0,50<br>Số lần xử lý: 5" in tips[HOAN_KIEM][1]
    assert "Duy trì 30 ngày (tỷ lệ): 1,00<br>Số lần xử lý: 3" in tips[STEADY][1]
    assert "Duy trì 30 ngày (tỷ lệ): –<br>Số lần xử lý: 1" in tips[WARD_D][1]
    assert tips[WARD_D][0] == NO_DATA != tips[HOAN_KIEM][0]

    # the rule counts clearances, not incidents: Hoàn Kiếm has 6 incidents but 5 clearances
    at.segmented_control(key="c_view").set_value("league").run()
    at.sidebar.number_input(key="c_min").set_value(6).run()
    league = next(df.value for df in at.dataframe if "rank" in df.value.columns).set_index("code")
    assert league["rank"].isna().all() and league["retention_30"].isna().all()
    assert league.loc[HOAN_KIEM, "volume"] == 6 and league.loc[HOAN_KIEM, "spells"] == 5

    at.sidebar.number_input(key="c_min").set_value(3).run()
    at.sidebar.selectbox(key="c_metric").set_value("campaign_flag").run()
    assert not at.exception, at.exception
    league = next(df.value for df in at.dataframe if "rank" in df.value.columns)
    ranked = league[league["rank"].notna()]
    assert ranked["code"].tolist() == [STEADY, HOAN_KIEM]  # not campaign-style first
    assert at.query_params["metric"] == "campaign_flag"


def test_ward_timeline_lists_places_by_recurrences_then_id_as_a_number():
    """The chronic-place timeline's rows: most recurrences first, ties by place id as a number
    (a nominal axis sorted the ids as text: 1301, 1919, 20, 3)."""
    import altair as alt

    from app_pages.ward import _timeline_chart

    recurrences = {1301: 2, 20: 2, 1919: 4, 3: 2}
    timelines = pd.DataFrame(
        {"place_id": list(recurrences), "recurrences": list(recurrences.values())}
    )
    at = pd.Timestamp("2025-09-01", tz="UTC")
    events = pd.DataFrame({"place_id": list(recurrences), "kind": "reported", "at": at})
    chart = _timeline_chart(timelines, events)
    assert isinstance(chart, alt.Chart)
    assert chart.to_dict()["encoding"]["y"]["sort"] == ["1919", "3", "20", "1301"]
