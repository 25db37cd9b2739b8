"""The re-inspection page (Tái kiểm tra) through AppTest on a real SQLite store: the due
list of the officer's ward, one tap records a check, the rights decide who may tap."""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geo.store import batches, open_store
from geo.store import places as stored_places
from tests._signin import sign_in_apptest
from tests._store_data import NO_UPDATES, batch, incidents
from tests.conftest import REPO

HOAN_KIEM = "00070"
PAGE = "app_pages/reinspect.py"


@pytest.fixture
def url(tmp_path):
    """A store with two places in Hoàn Kiếm cleared 10 days ago (7-day check due)."""
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    store = open_store(url)
    ten_days = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=10)
    rows = [
        {"ward_code": HOAN_KIEM, "lat": 21.0340, "lon": 105.8500, "address": "12 Hàng Mã",
         "status": "cleared", "reported_at": ten_days - pd.Timedelta(days=1), "cleared_at": ten_days},
        {"ward_code": HOAN_KIEM, "lat": 21.0350, "lon": 105.8510, "address": "40 Hàng Mã",
         "status": "cleared", "reported_at": ten_days - pd.Timedelta(days=1), "cleared_at": ten_days},
    ]  # fmt: skip
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="field")
    store.close()
    return url


def open_reinspect(url: str, monkeypatch, role: str, wards: tuple[str, ...] = ()) -> AppTest:
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    sign_in_apptest(at, url, role, wards)
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def due_count(at: AppTest) -> int:
    return int({m.label: m.value for m in at.metric}["Điểm cần tái kiểm tra"])


def test_an_officer_sees_the_round_and_records_with_one_tap(url, monkeypatch):
    at = open_reinspect(url, monkeypatch, "officer", (HOAN_KIEM,))
    assert [t.value for t in at.title] == ["Tái kiểm tra"]
    assert due_count(at) == 2
    assert at.button(key="r_ok_1").label == "Còn thông thoáng"
    at.button(key="r_ok_1").click().run()
    assert not at.exception, at.exception
    assert any("điểm 1 còn thông thoáng" in s.value for s in at.success)
    assert due_count(at) == 1  # the day-10 check settles the 7-day one
    at.button(key="r_bad_2").click().run()
    assert due_count(at) == 0
    store = open_store(url)
    checks = stored_places.inspections_frame(store)
    timeline = stored_places.place_incidents_frame(store)
    store.close()
    assert checks[["place_id", "result"]].values.tolist() == [[1, "clear"], [2, "violation"]]
    assert timeline.query("place_id == 2")["status"].tolist() == ["recurred", "reported"]


def test_a_viewer_sees_the_list_but_no_buttons(url, monkeypatch):
    at = open_reinspect(url, monkeypatch, "viewer")
    at.selectbox(key="r_ward").set_value(HOAN_KIEM).run()
    assert due_count(at) == 2
    assert not [b for b in at.button if b.key and b.key.startswith("r_ok_")]


def test_a_card_gives_the_clearance_day_as_the_app_writes_dates(url, monkeypatch):
    """The card's clearance day is a Hà Nội calendar day written dd/mm/yyyy, as every
    other date the officer reads, not a timestamp at midnight (``2025-07-03 00:00:00``)."""
    at = open_reinspect(url, monkeypatch, "officer", (HOAN_KIEM,))
    cleared = (pd.Timestamp.now(tz="Asia/Ho_Chi_Minh") - pd.Timedelta(days=10)).strftime("%d/%m/%Y")
    cards = [c.value for c in at.caption if c.value.startswith("Điểm ")]
    assert len(cards) == 2, [c.value for c in at.caption]
    for card in cards:
        assert f"xử lý {cleared} ·" in card, card
        assert "00:00" not in card, card
