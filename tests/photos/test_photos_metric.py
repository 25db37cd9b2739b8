"""The metric "xử lý có ảnh xác thực": the share of clearances backed by an after photo
with no flag (issue 13), in the store and on the ward and Compare pages."""

from __future__ import annotations

import datetime as dt

import pytest

from geo.snapshot import load_snapshot
from geo.store import clearances
from geo.store import photos as stored_photos
from geo.store.photos import PhotoRecord
from tests._incidents import make_store
from tests._signin import open_page

#: tests._incidents.KNOWN: #2 (awning, Hàng Mã, ward 00070) is the one stored as cleared,
#: its clearance on 2025-07-10 10:00 Hà Nội.


def share(store, path, *period):
    """The share from the store's rows, or from the snapshot's arrays and the photos."""
    columns = load_snapshot(store) if path == "arrays" else None
    return clearances.verified_share(store, *period, columns=columns)


@pytest.mark.parametrize("path", ["sql", "arrays"])
def test_share_counts_clean_after_photos_by_clearance_day(tmp_path, wards, path):
    store = make_store(tmp_path / "s.sqlite", wards)
    assert share(store, path).to_dict("records") == [
        {"ward_code": "00070", "cleared": 1, "verified": 0, "share": 0.0}
    ]
    stored_photos.attach(store, [PhotoRecord(2, "after", "f" * 64, flags=("photo_far",))], actor="t")
    assert share(store, path)["verified"].tolist() == [0]  # a flagged photo
    stored_photos.attach(store, [PhotoRecord(1, "after", "d" * 64)], actor="t")  # #1 is not cleared
    assert share(store, path)["cleared"].tolist() == [1]
    stored_photos.attach(store, [PhotoRecord(2, "after", "e" * 64)], actor="t")
    assert share(store, path)["share"].tolist() == [1.0]
    assert share(store, path, dt.date(2025, 7, 10), dt.date(2025, 7, 10))["cleared"].tolist() == [1]
    assert share(store, path, dt.date(2025, 7, 11)).empty
    assert share(store, path, None, dt.date(2025, 7, 9)).empty


def test_ward_and_compare_pages_show_the_share(tmp_path, wards, monkeypatch):
    store = make_store(tmp_path / "s.sqlite", wards)
    stored_photos.attach(store, [PhotoRecord(2, "after", "e" * 64)], actor="t")
    at = open_page("app_pages/ward.py", store.url, monkeypatch, ward="00070")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Xử lý có ảnh xác thực"] == "100% (1/1)"
    at = open_page("app_pages/ward.py", store.url, monkeypatch, ward="00199")
    assert {m.label: m.value for m in at.metric}["Xử lý có ảnh xác thực"] == "—"
    at = open_page("app_pages/compare.py", store.url, monkeypatch, view="league")
    assert {m.label: m.value for m in at.metric}["Xử lý có ảnh xác thực"] == "100% (1/1)"
    league = at.dataframe[0].value.set_index("code")
    assert league.loc["00070", "pct_verified"] == 100
