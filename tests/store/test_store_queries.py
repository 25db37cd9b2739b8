"""Reads and aggregates on a small hand-made store, on both backends.

The story (Hà Nội local times), period = March 2025:
    A West  reported 20 Feb, cleared 5 Mar, recurs 20 Mar as H (West, open)
    B West  reported 3 Mar 09:00, in progress
    C West  reported 10 Mar 09:00, cleared 12 Mar 21:00 (2.5 days)
    D West  reported 2 Apr (after the period)
    E East  reported 15 Mar, signboard, street Lý Thái Tổ
    F East  reported 1 Feb, cleared 5 Apr (after the period: open at its end)
    G East  reported Monday 3 Mar 06:30 (= Sunday 23:30 UTC), parking
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from geo.errors import NotFound, StorageError
from geo.snapshot import load_snapshot
from geo.store import IncidentFilter, batches, local_bound, queries, workflow
from geo.store import wards as stored_wards
from tests._store_data import EAST, NO_UPDATES, WEST, batch, incidents, ts, two_wards


@pytest.fixture
def filled(store):
    stored_wards.ensure(store, two_wards())
    rows = {
        "A": {"ward_code": WEST, "reported_at": ts("2025-02-20 09:00"), "status": "cleared",
              "cleared_at": ts("2025-03-05 09:00")},
        "B": {"ward_code": WEST, "reported_at": ts("2025-03-03 09:00"), "status": "in_progress"},
        "C": {"ward_code": WEST, "reported_at": ts("2025-03-10 09:00"), "status": "cleared",
              "cleared_at": ts("2025-03-12 21:00")},
        "D": {"ward_code": WEST, "reported_at": ts("2025-04-02 09:00")},
        "E": {"ward_code": EAST, "reported_at": ts("2025-03-15 09:00"), "type": "signboard",
              "street": "Lý Thái Tổ"},
        "F": {"ward_code": EAST, "reported_at": ts("2025-02-01 09:00"), "status": "cleared",
              "cleared_at": ts("2025-04-05 09:00")},
        "G": {"ward_code": EAST, "reported_at": ts("2025-03-03 06:30"), "type": "parking"},
    }
    batches.commit_batch(store, batch(), incidents(list(rows.values())), NO_UPDATES, actor="field1")
    stored = queries.incidents(store)
    ids = dict(zip(rows, stored["id"].tolist(), strict=True))
    ids["H"] = workflow.record_recurrence(store, ids["A"], actor="officer1", at=ts("2025-03-20 09:00"))
    return store, ids


def stats_by(store, path, *period):
    """``ward_stats`` summed in SQL, or over the incidents' arrays (the map's snapshot)."""
    return queries.ward_stats(store, *period, columns=columns_for(store, path)).set_index("ward_code")


@pytest.mark.parametrize("path", ["sql", "arrays"])
def test_ward_stats_for_a_period(filled, path):
    store, _ = filled
    stats = stats_by(store, path, "2025-03-01", "2025-03-31")
    assert list(stats.index) == [WEST, EAST]
    assert stats.loc[WEST, "ward_name"] == "Phường Tây"
    expected = {
        WEST: {"open": 2, "cleared": 2, "new": 3, "cleared_in_period": 2, "overdue": 2, "recurred": 1},
        EAST: {"open": 3, "cleared": 0, "new": 2, "cleared_in_period": 0, "overdue": 3, "recurred": 0},
    }
    for code, values in expected.items():
        assert stats.loc[code, list(values)].to_dict() == values, code
    assert stats.loc[WEST, "median_days_to_clear"] == pytest.approx((13 + 2.5) / 2)
    assert math.isnan(stats.loc[EAST, "median_days_to_clear"])


@pytest.mark.parametrize("path", ["sql", "arrays"])
def test_ward_stats_without_a_period_is_as_of_now(filled, path):
    store, _ = filled
    stats = stats_by(store, path)
    assert stats.loc[WEST, ["open", "cleared", "new"]].tolist() == [3, 2, 5]
    assert stats.loc[EAST, ["open", "cleared", "cleared_in_period"]].tolist() == [2, 1, 1]


def columns_for(store, path):
    """None (grouped in SQL) or the store's snapshot (counted over its arrays)."""
    return load_snapshot(store) if path == "arrays" else None


@pytest.mark.parametrize("path", ["sql", "arrays"])
def test_week_counts_use_hanoi_iso_weeks(filled, path):
    store, _ = filled
    weeks = queries.week_counts(store, "2025-03-01", "2025-03-31", columns=columns_for(store, path))
    assert set(weeks["iso_week"]) == {"2025-W09", "2025-W10", "2025-W11", "2025-W12", "2025-W13", "2025-W14"}
    table = weeks.set_index(["ward_code", "iso_week"])[["new", "cleared", "open_end"]]
    assert table.loc[(EAST, "2025-W10")].tolist() == [1, 0, 2]  # G: Monday morning local time
    assert table.loc[(EAST, "2025-W11")].tolist() == [1, 0, 3]
    assert table.loc[(EAST, "2025-W14")].tolist() == [0, 1, 2]
    assert table.loc[(WEST, "2025-W09")].tolist() == [0, 0, 1]  # A, carried over from February
    assert table.loc[(WEST, "2025-W10")].tolist() == [1, 1, 1]
    assert table.loc[(WEST, "2025-W11")].tolist() == [1, 1, 1]
    assert table.loc[(WEST, "2025-W12")].tolist() == [1, 0, 2]
    assert table.loc[(WEST, "2025-W14")].tolist() == [1, 0, 3]
    assert len(weeks) == 12  # every ward × every week: no gaps to fill
    assert (weeks["week"].dt.dayofweek == 0).all()


@pytest.mark.parametrize("path", ["sql", "arrays"])
def test_street_stats(filled, path):
    store, _ = filled
    over = {"columns": columns_for(store, path)}
    streets = queries.street_stats(store, "2025-03-01", "2025-03-31", **over).set_index("street")
    assert list(streets.index) == ["Hàng Bông", "Lý Thái Tổ"]  # busiest first
    assert streets.loc["Lý Thái Tổ", ["wards", "open", "new", "overdue", "cleared"]].tolist() == [EAST, 1, 1, 1, 0]
    assert streets.loc["Hàng Bông", "wards"] == f"{WEST},{EAST}"
    assert streets.loc["Hàng Bông", ["open", "new", "cleared_in_period"]].tolist() == [4, 4, 2]
    assert streets.loc["Hàng Bông", "median_days_to_clear"] == pytest.approx((13 + 2.5) / 2)  # A and C
    only_east = queries.street_stats(store, wards=[EAST], **over).set_index("street")
    assert only_east.loc["Hàng Bông", "wards"] == EAST
    # F (East) is the only clearance there: 63 days; West's A and C are not East's
    assert only_east.loc["Hàng Bông", "median_days_to_clear"] == pytest.approx(63.0)


@pytest.mark.parametrize("path", ["sql", "arrays"])
def test_progress_series(filled, path):
    store, _ = filled
    over = {"columns": columns_for(store, path)}
    daily = queries.progress(store, date_from="2025-03-01", date_to="2025-03-31", **over).set_index("period")
    assert daily.index.min() == pd.Timestamp("2025-03-01") and daily.index.max() == pd.Timestamp("2025-03-31")
    assert daily.loc[pd.Timestamp("2025-03-31"), ["open", "cleared_total"]].tolist() == [5, 2]
    assert daily.loc[pd.Timestamp("2025-03-03"), "new"] == 2  # B and G, both on 3 March local
    assert daily.loc[pd.Timestamp("2025-03-12"), "cleared"] == 1
    west = queries.progress(store, "ward", WEST, "W", "2025-03-01", "2025-03-31", **over).set_index("period")
    assert west.loc[pd.Timestamp("2025-03-17"), ["new", "open"]].tolist() == [1, 2]
    street = queries.progress(store, "street", "Lý Thái Tổ", **over).set_index("period")
    assert street["new"].sum() == 1 and street["open"].iloc[-1] == 1
    with pytest.raises(StorageError):
        queries.progress(store, "district", **over)


def test_incident_filters(filled):
    store, ids = filled
    name = {v: k for k, v in ids.items()}

    def got(**filters):
        return sorted(name[i] for i in queries.incidents(store, IncidentFilter(**filters))["id"])

    assert got(wards=[EAST]) == ["E", "F", "G"]
    assert got(wards=EAST, types="parking") == ["G"]
    assert got(statuses=["cleared", "recurred"]) == ["A", "C", "F"]
    assert got(date_from="2025-03-01", date_to="2025-03-31") == ["B", "C", "E", "G", "H"]
    assert got(date_from="2025-03-03", date_to="2025-03-03") == ["B", "G"]  # Hà Nội days
    assert got(streets="Lý Thái Tổ") == ["E"]
    assert got(bbox=(105.80, 21.00, 105.809, 21.01)) == ["A", "B", "C", "D", "H"]
    assert got(overdue=True) == ["B", "D", "E", "G", "H"]
    assert len(queries.incidents(store, limit=2)) == 2
    frame = queries.incidents(store, IncidentFilter(wards=[EAST]))
    assert frame.crs.to_epsg() == 4326
    assert str(frame["reported_at"].dt.tz) == "UTC"
    assert frame["overdue"].tolist() == [True, False, True]


def test_incident_detail_has_history(filled):
    store, ids = filled
    detail = queries.incident(store, ids["A"])
    assert detail.incident["status"] == "recurred"
    assert detail.history["to_status"].tolist() == ["cleared", "recurred"]
    assert detail.history["actor"].tolist() == ["field1", "officer1"]
    with pytest.raises(NotFound):
        queries.incident(store, 10**9)


def test_period_bounds_are_hanoi_days():
    assert local_bound("2025-03-01") == ts("2025-03-01 00:00").to_pydatetime()
    assert local_bound("2025-03-31", end=True) == ts("2025-04-01 00:00").to_pydatetime()
    assert local_bound(pd.Timestamp("2025-03-01 12:00", tz="UTC")) == pd.Timestamp("2025-03-01 12:00", tz="UTC")
    assert local_bound(None) is None
    with pytest.raises(StorageError):
        local_bound("not a date")


def test_empty_store_reads(store):
    assert queries.incidents(store).empty
    assert queries.week_counts(store).empty
    assert queries.street_stats(store).empty
    assert queries.progress(store).empty
    assert queries.ward_stats(store).empty
