"""Per-ward figures summed over the snapshot's arrays agree with the rule and with SQL.

``queries.ward_stats(..., columns=snapshot)`` replaces the SQL scan of every incident
with masks over the map's snapshot. The edge world below is worked out by hand from the
rule in the docstring of :func:`geo.store.queries.ward_stats` (period = March 2025, Hà Nội
days; "at its end" = 1 April 00:00 local): a report at the period's last instant, a
clearance exactly at it, a closed incident without a clearance instant, a clearance
before the period, a ward-less report, and three clearance times whose median and mean
differ. A random world then compares both paths on many periods, on both databases.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from geo import sustain
from geo.snapshot import load_snapshot
from geo.store import batches, clearances, inspections, queries, workflow
from geo.store import photos as stored_photos
from geo.store import places as stored_places
from geo.store import wards as stored_wards
from geo.store.photos import PhotoRecord
from tests._store_data import EAST, NO_UPDATES, WEST, batch, incidents, ts, two_wards

PATHS = ["sql", "arrays"]


def stats(store, path, *period):
    columns = load_snapshot(store) if path == "arrays" else None
    return queries.ward_stats(store, *period, columns=columns).set_index("ward_code")


def commit(store, rows):
    stored_wards.ensure(store, two_wards())
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="field1")


def cleared(reported: str, at: str | None) -> dict:
    return {"status": "cleared", "reported_at": ts(reported), "cleared_at": ts(at) if at else pd.NaT}


EDGE_ROWS = [
    {"reported_at": ts("2025-04-01 00:00")},  # at the end: not yet known
    cleared("2025-02-28 23:59", None),  # closed, no instant: cleared at the end, not in it
    {"reported_at": ts("2025-03-01 00:00"), "due_at": ts("2025-03-10 09:00")},  # new, open, overdue
    {"reported_at": ts("2025-03-02 09:00"), "due_at": ts("2025-05-01 09:00")},  # new, open, not due
    cleared("2025-02-01 09:00", "2025-02-20 09:00"),  # cleared before the period
    cleared("2025-03-02 09:00", "2025-03-03 09:00"),  # 1 day
    cleared("2025-03-02 09:00", "2025-03-04 09:00"),  # 2 days
    cleared("2025-03-02 09:00", "2025-03-12 09:00"),  # 10 days: median 2, mean 4.33
    {**cleared("2025-03-30 09:00", "2025-04-01 00:00"), "due_at": ts("2025-06-01 09:00")},  # open at the end
    {"ward_code": None, "reported_at": ts("2025-03-02 09:00")},  # no ward: nobody's
    {"ward_code": EAST, "reported_at": ts("2025-03-05 09:00"), "due_at": ts("2025-03-20 09:00")},
]


@pytest.mark.parametrize("path", PATHS)
def test_the_edges_of_a_period_follow_the_rule(store, path):
    commit(store, EDGE_ROWS)
    got = stats(store, path, "2025-03-01", "2025-03-31")
    assert list(got.index) == [WEST, EAST]
    counts = ["open", "cleared", "new", "cleared_in_period", "overdue", "recurred"]
    assert got.loc[WEST, counts].to_dict() == {
        "open": 3, "cleared": 5, "new": 6, "cleared_in_period": 3, "overdue": 1, "recurred": 0,
    }  # fmt: skip
    assert got.loc[EAST, counts].to_dict() == {
        "open": 1, "cleared": 0, "new": 1, "cleared_in_period": 0, "overdue": 1, "recurred": 0,
    }  # fmt: skip
    assert got.loc[WEST, "median_days_to_clear"] == pytest.approx(2.0)
    assert math.isnan(got.loc[EAST, "median_days_to_clear"])


def _random_rows(n: int, seed: int) -> list[dict]:
    """Instants on a 12-hour grid from local midnight, so period edges are hit exactly."""
    rng = np.random.default_rng(seed)
    base = ts("2025-02-01 00:00")
    rows = []
    for _ in range(n):
        reported = base + pd.Timedelta(hours=12 * int(rng.integers(0, 150)))
        row: dict = {"reported_at": reported, "ward_code": [WEST, EAST, None][int(rng.integers(0, 3))]}
        kind = int(rng.integers(0, 4))
        if kind == 0:
            row |= {"status": "cleared", "cleared_at": reported + pd.Timedelta(hours=12 * int(rng.integers(0, 40)))}
        elif kind == 1:
            row |= {"status": "cleared"}  # no clearance instant
        elif kind == 2:
            row |= {"status": "in_progress"}
        if rng.random() < 0.7:
            row["due_at"] = reported + pd.Timedelta(hours=12 * int(rng.integers(0, 60)))
        rows.append(row)
    return rows


PERIODS = [
    (None, None),
    ("2025-03-01", "2025-03-31"),
    ("2025-02-01", "2025-02-01"),
    ("2025-02-15", "2025-04-30"),
    (None, "2025-03-10"),
    ("2025-03-10", None),
    ("2030-01-01", "2030-01-31"),
]


def test_both_paths_agree_on_a_random_world(store):
    commit(store, _random_rows(400, seed=7))
    snapshot = load_snapshot(store)
    for period in PERIODS:
        sql = queries.ward_stats(store, *period)
        arrays = queries.ward_stats(store, *period, columns=snapshot)
        pd.testing.assert_frame_equal(
            sql.drop(columns="median_days_to_clear"), arrays.drop(columns="median_days_to_clear")
        )
        np.testing.assert_allclose(
            sql["median_days_to_clear"].to_numpy(float), arrays["median_days_to_clear"].to_numpy(float),
            rtol=0, atol=1e-6, equal_nan=True, err_msg=str(period),
        )  # fmt: skip


SERIES = [
    ("week_counts", ()),
    ("week_counts", ("2025-03-01", "2025-03-31")),
    ("week_counts", (None, None, [EAST])),
    ("progress", ()),
    ("progress", ("city", None, "W", "2025-02-10", "2025-03-20")),
    ("progress", ("ward", WEST, "D")),
    ("progress", ("ward", None, "W")),  # the ward-less incidents, as SQL's "IS NULL"
    ("progress", ("street", "Hàng Bông", "W", "2025-03-01", None)),
    ("street_stats", ()),
    ("street_stats", ("2025-03-01", "2025-03-31")),
    ("street_stats", (None, None, [EAST])),
]


def test_week_matrix_progress_and_streets_agree_on_a_random_world(store):
    """Days and weeks are Hà Nội's: reports at local midnight and at 23:59 fall on
    either side of a day (and, on Sundays and Mondays, of a week)."""
    rows = _random_rows(300, seed=11)
    for i, row in enumerate(rows):  # streets: named, blank, spaces only, missing
        row["street"] = ["Hàng Bông", "Hàng Mã", "", "  ", None, "Lý Thái Tổ"][i % 6]
    rows += [{"reported_at": ts("2025-03-02 23:59")}, {"reported_at": ts("2025-03-03 00:00")},
             {"reported_at": ts("2025-03-09 23:59"), "status": "cleared", "cleared_at": ts("2025-03-10 00:00")}]  # fmt: skip
    commit(store, rows)
    snapshot = load_snapshot(store)
    for name, args in SERIES:
        read = getattr(queries, name)
        pd.testing.assert_frame_equal(read(store, *args), read(store, *args, columns=snapshot), obj=f"{name}{args}")


def test_the_verified_share_agrees_on_a_random_world(store):
    """Clearances and the clean after photos backing them: a recurred clearance (status
    ``recurred``, instant kept) is no longer a clearance; a ward-less one is nobody's;
    a flagged or a before photo backs nothing."""
    commit(store, _random_rows(200, seed=5))
    stored = queries.incidents(store)
    cleared = stored.loc[(stored["status"] == "cleared") & stored["cleared_at"].notna(), "id"].astype(int).tolist()
    assert len(cleared) > 20
    workflow.record_recurrence(store, cleared[0], actor="officer1", at=ts("2025-07-01 09:00"))
    photos = [PhotoRecord(cleared[0], "after", "a" * 64), PhotoRecord(cleared[1], "after", "b" * 64),
              PhotoRecord(cleared[2], "after", "c" * 64, flags=("photo_far",)), PhotoRecord(cleared[3], "before", "d" * 64)]
    photos += [PhotoRecord(i, "after", f"{i:064x}") for i in cleared[4::3]]  # fmt: skip
    stored_photos.attach(store, photos, actor="t")
    snapshot = load_snapshot(store)
    for period in [(None, None), (dt.date(2025, 3, 1), dt.date(2025, 3, 31)), (None, dt.date(2025, 2, 20))]:
        sql = clearances.verified_share(store, *period)
        assert int(sql["cleared"].sum()) > 0 or period[1] is not None
        pd.testing.assert_frame_equal(sql, clearances.verified_share(store, *period, columns=snapshot))


def test_the_sustained_order_measures_agree_on_a_random_world(store):
    """Places, their spells and re-inspections: the measures from the snapshot and the
    place links equal those from the stored timeline, per ward, street and type."""
    rows = _random_rows(300, seed=3)
    for i, row in enumerate(rows):  # a few places, so spells repeat and recur
        row["lat"] = 21.005 + (i % 7) * 0.0005
        row["lon"] = 105.805 if row["ward_code"] != EAST else 105.815
        row["street"] = ["Hàng Bông", None, "Hàng Mã"][i % 3]
        if i % 7 in (0, 1):  # two spots (per ward) where every report was cleared
            row |= {"status": "cleared", "cleared_at": row["reported_at"] + pd.Timedelta(days=2)}
    commit(store, rows)
    done = stored_places.cleared_places(store)
    assert len(done) >= 2
    for place in done["place_id"].head(3):
        at = done.loc[done["place_id"] == place, "cleared_at"].iloc[0] + pd.Timedelta(days=31)
        inspections.record_inspection(store, int(place), checked_at=at, result="clear", actor="o")
    snapshot = load_snapshot(store)
    end = ts("2025-09-01 00:00")
    for by in ("ward", "street", "type"):
        for start in (None, ts("2025-03-01 00:00")):
            sql = sustain.stored_measures(store, by=by, date_from=start, date_to=end)
            arrays = sustain.stored_measures(store, by=by, date_from=start, date_to=end, columns=snapshot)
            assert len(sql) > 0
            pd.testing.assert_frame_equal(sql, arrays, obj=f"{by} from {start}")
