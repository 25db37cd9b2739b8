"""Places in the store (issue 12 §1), on a real SQLite file and on PostGIS.

Expected places come from the rule as the issue states it (same type, same ward, within
GEO_PLACE_RADIUS_M of the place's first incident, nearest wins; ids in incident order),
with positions chosen in metres so the answer is known without running the matcher.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from geo.errors import InvalidArgument
from geo.store import batches, open_store, workflow
from geo.store import inspections as stored_checks
from geo.store import places as stored_places
from geo.store._schema import SCHEMA_VERSION
from tests._store_data import EAST, NO_UPDATES, WEST, batch, incidents, ts

LAT0, LON0 = 21.005, 105.805
#: Metres per degree at LAT0 (good to a few mm over tens of metres).
M_LAT = 110_750.0
M_LON = 111_320.0 * math.cos(math.radians(LAT0))


def east_of(metres: float) -> float:
    return LON0 + metres / M_LON


def commit(store, rows, name="test.csv"):
    return batches.commit_batch(store, batch(name), incidents(rows, source=name), NO_UPDATES,
                                actor="tester")  # fmt: skip


def place_of(store) -> dict[int, int]:
    with store.read() as conn:
        return dict(conn.execute(text("SELECT incident_id, place_id FROM incident_places")).all())


def status_of(store, incident_id: int) -> tuple[str, int | None]:
    with store.read() as conn:
        row = conn.execute(
            text("SELECT status, recurrence_of FROM incidents WHERE id = :i"), {"i": incident_id}
        ).one()
    return row[0], row[1]


def test_each_incident_gets_one_place_by_the_rule(store):
    commit(store, [
        {"lon": LON0},                                   # 1 starts place 1
        {"lon": east_of(10)},                            # 2 joins 1 (10 m)
        {"lon": east_of(14.5)},                          # 3 joins 1 (14.5 m from the FIRST)
        {"lon": east_of(25)},                            # 4 new place 2 (25 m)
        {"lon": east_of(10), "type": "awning"},          # 5 other type: place 3
        {"lon": 105.815, "ward_code": EAST},             # 6 other ward: place 4
        {"lon": east_of(29)},                            # 7 joins 2 (4 m), not 1 (29 m)
    ])  # fmt: skip
    assert place_of(store) == {1: 1, 2: 1, 3: 1, 4: 2, 5: 3, 6: 4, 7: 2}
    frame = stored_places.places_frame(store)
    assert frame["place_id"].tolist() == [1, 2, 3, 4]
    assert frame["first_incident"].tolist() == [1, 4, 5, 6]
    assert frame.loc[0, "lon"] == pytest.approx(LON0)  # fixed at the first incident
    # a later batch joins the stored places, never renumbering them
    commit(store, [{"lon": east_of(1)}, {"lon": east_of(60)}], name="b.csv")
    assert place_of(store)[8] == 1 and place_of(store)[9] == 5


def test_the_radius_is_the_setting(store, monkeypatch):
    monkeypatch.setenv("GEO_PLACE_RADIUS_M", "5")
    commit(store, [{"lon": LON0}, {"lon": east_of(10)}, {"lon": east_of(4)}])
    assert place_of(store) == {1: 1, 2: 2, 3: 1}


def test_a_new_report_at_a_cleared_place_is_a_linked_recurrence(store):
    commit(store, [{"status": "cleared", "reported_at": ts("2025-03-01 09:00"),
                    "cleared_at": ts("2025-03-02 09:00")}])  # fmt: skip
    commit(store, [{"lon": east_of(3), "reported_at": ts("2025-04-01 09:00")}], name="b.csv")
    assert status_of(store, 1) == ("recurred", None)
    assert status_of(store, 2) == ("reported", 1)
    with store.read() as conn:
        moves = conn.execute(
            text("SELECT from_status, to_status, batch_id FROM status_events WHERE incident_id = 1 ORDER BY id")
        ).all()
    assert [tuple(m[:2]) for m in moves] == [(None, "cleared"), ("cleared", "recurred")]
    assert moves[-1][2] == 2  # the move belongs to the second batch, with its history


def test_no_recurrence_while_the_place_is_open_or_elsewhere(store):
    commit(store, [
        {"reported_at": ts("2025-03-01 09:00")},                     # 1 open
        {"lon": east_of(2), "reported_at": ts("2025-03-05 09:00")},  # 2 same open episode
        {"lon": east_of(40), "status": "cleared", "reported_at": ts("2025-03-01 09:00"),
         "cleared_at": ts("2025-03-02 09:00")},                      # 3 cleared, place 2
        {"lon": east_of(40), "type": "awning", "reported_at": ts("2025-03-09 09:00")},  # 4 other type
    ])  # fmt: skip
    assert [status_of(store, i)[1] for i in (1, 2, 3, 4)] == [None, None, None, None]
    assert status_of(store, 3)[0] == "cleared"


def test_a_recurrence_inside_one_batch_is_linked(store):
    commit(store, [
        {"status": "cleared", "reported_at": ts("2025-03-01 09:00"), "cleared_at": ts("2025-03-02 09:00")},
        {"reported_at": ts("2025-03-20 09:00")},
        {"reported_at": ts("2025-03-21 09:00")},  # same open episode as 2: no link
    ])  # fmt: skip
    assert [status_of(store, i) for i in (1, 2, 3)] == [("recurred", None), ("reported", 1), ("reported", None)]


def test_a_report_dated_before_the_clearance_is_not_a_recurrence(store):
    commit(store, [{"status": "cleared", "reported_at": ts("2025-03-01 09:00"),
                    "cleared_at": ts("2025-03-10 09:00")}])  # fmt: skip
    commit(store, [{"reported_at": ts("2025-03-05 09:00")}], name="late.csv")
    assert status_of(store, 1) == ("cleared", None) and status_of(store, 2)[1] is None


def test_the_manual_recurrence_is_placed_at_the_same_place(store):
    commit(store, [{"status": "cleared", "cleared_at": ts("2025-03-04 09:00")}])
    new_id = workflow.record_recurrence(store, 1, actor="tester", at=ts("2025-04-01 09:00"))
    assert place_of(store) == {1: 1, new_id: 1}


def test_rebuild_gives_the_incremental_places_and_is_stable(store, monkeypatch):
    rows = [{"lon": east_of(d)} for d in (0, 9, 18, 27, 36, 100, 3)]
    commit(store, rows[:4])
    commit(store, rows[4:], name="b.csv")
    incremental = place_of(store)
    # 0 m starts 1; 9 joins 1; 18 starts 2; 27 joins 2; 36 starts 3; 100 starts 4; 3 joins 1
    assert incremental == {1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 4, 7: 1}
    assert stored_places.rebuild(store, actor="tester") == (4, 7)
    assert place_of(store) == incremental
    assert stored_places.rebuild(store, actor="tester") == (4, 7)
    assert place_of(store) == incremental
    monkeypatch.setenv("GEO_PLACE_RADIUS_M", "50")
    assert stored_places.rebuild(store, actor="tester") == (2, 7)


@pytest.mark.parametrize(("radius", "checked", "moved"), [
    ("50", (4, 2), (2, 1)),  # 0/9/3, 18/27 and 36 m become place 1, 100 m place 2: ids go down
    ("5", (2, 3), (3, 5)),  # every spot but 3 m a place of its own: ids go up
], ids=["merged", "split"])  # fmt: skip
def test_a_rebuild_moves_checks_made_at_the_same_instant_onto_renumbered_places(store, monkeypatch, radius,
                                                                              checked, moved):  # fmt: skip
    """Checks go with their place's first incident (``places rebuild``), and a results file
    dates many places' checks alike. Each rebuild here moves one check onto the place
    another check at the same instant leaves (expected places: the rule, ids in incident
    order). Moved one row at a time, the first move met the other check still there and
    broke the one-check-per-place-and-instant rule, so the rebuild was refused: on
    PostgreSQL in id order, on SQLite, which visited the checks by that rule's index, when
    the ids go up."""
    day = ts("2025-03-01 09:00")
    rows = [{"lon": east_of(d), "status": "cleared", "reported_at": day, "cleared_at": day + pd.Timedelta(days=1)}
            for d in (0, 9, 18, 27, 36, 100, 3)]  # fmt: skip
    commit(store, rows)
    assert place_of(store) == {1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 4, 7: 1}
    at = ts("2025-04-01 00:00")
    ids = [stored_checks.record_inspection(store, p, checked_at=at, result="clear", actor="officer") for p in checked]
    monkeypatch.setenv("GEO_PLACE_RADIUS_M", radius)
    stored_places.rebuild(store, actor="tester")
    assert stored_places.inspections_frame(store).set_index("id")["place_id"].to_dict() == dict(zip(ids, moved, strict=True))

def test_a_rebuild_that_would_merge_two_checks_of_one_instant_is_refused_and_changes_nothing(store, monkeypatch):
    """Radius 50 makes the places at 18/27 m and 36 m one (the case above); both checked at
    one instant, they would hold two results for one place and instant. The rebuild is
    refused with a message naming both places, in Vietnamese and English, and the places,
    links and checks stay as they were."""
    day = ts("2025-03-01 09:00")
    rows = [{"lon": east_of(d), "status": "cleared", "reported_at": day, "cleared_at": day + pd.Timedelta(days=1)}
            for d in (0, 9, 18, 27, 36, 100, 3)]  # fmt: skip
    commit(store, rows)
    for place in (2, 3):
        stored_checks.record_inspection(store, place, checked_at=ts("2025-04-01 00:00"), result="clear", actor="o")
    before = (place_of(store), stored_places.inspections_frame(store))
    monkeypatch.setenv("GEO_PLACE_RADIUS_M", "50")
    with pytest.raises(InvalidArgument, match="places 2 and 3") as refused:
        stored_places.rebuild(store, actor="tester")
    assert "places 2 and 3" in str(refused.value) and "điểm 2 và điểm 3" in str(refused.value)
    assert place_of(store) == before[0]
    pd.testing.assert_frame_equal(stored_places.inspections_frame(store), before[1])

def test_an_older_store_gets_its_places_on_upgrade(store_url):
    store = open_store(store_url)
    commit(store, [{"lon": LON0}, {"lon": east_of(5)}, {"lon": east_of(50)}])
    with store.engine.begin() as conn:  # back to schema 4: no place tables
        for name in ("inspections", "incident_places", "places"):
            conn.exec_driver_sql(f"DROP TABLE {name}")
        conn.exec_driver_sql("UPDATE schema_version SET version = 4")
    store.close()
    store = open_store(store_url)
    assert store.schema_version() == SCHEMA_VERSION
    assert place_of(store) == {1: 1, 2: 1, 3: 2}
    store.close()


# --------------------------------------------------------------------------- inspections


def cleared_place(store) -> None:
    commit(store, [{"status": "cleared", "reported_at": ts("2025-03-01 09:00"),
                    "cleared_at": ts("2025-03-02 09:00")}])  # fmt: skip


def test_a_clear_check_is_an_inspection_not_an_incident(store):
    cleared_place(store)
    stored_checks.record_inspection(store, 1, checked_at=ts("2025-04-01 09:00"), result="clear",
                                    actor="officer", note="ok")  # fmt: skip
    checks = stored_places.inspections_frame(store)
    assert checks[["place_id", "result", "actor", "note"]].values.tolist() == [[1, "clear", "officer", "ok"]]
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(store.tables["incidents"])).scalar() == 1
    assert status_of(store, 1) == ("cleared", None)


def test_inspections_of_chosen_places_only(store):
    """``place_ids`` keeps the checks of those places and no other, in id order."""
    commit(store, [{"status": "cleared", "reported_at": ts("2025-03-01 09:00"), "cleared_at": ts("2025-03-02 09:00")},
                   {"status": "cleared", "reported_at": ts("2025-03-01 09:00"), "cleared_at": ts("2025-03-02 09:00"),
                    "lon": east_of(200)}])  # fmt: skip
    assert sorted(place_of(store).values()) == [1, 2]  # 200 m apart: two places
    for place, day in ((1, "03-10"), (2, "03-11"), (1, "03-12")):
        stored_checks.record_inspection(store, place, checked_at=ts(f"2025-{day} 09:00"), result="clear", actor="o")
    chosen = stored_places.inspections_frame(store, place_ids=[1])
    assert chosen["place_id"].tolist() == [1, 1]
    assert chosen["checked_at"].tolist() == [ts("2025-03-10 09:00"), ts("2025-03-12 09:00")]
    assert chosen.index.tolist() == [0, 1]
    assert stored_places.inspections_frame(store, place_ids=[]).empty
    assert len(stored_places.inspections_frame(store)) == 3


def test_a_violation_check_opens_a_recurrence(store):
    cleared_place(store)
    stored_checks.record_inspection(store, 1, checked_at=ts("2025-04-01 09:00"), result="violation",
                                    actor="officer")  # fmt: skip
    assert status_of(store, 1) == ("recurred", None)
    assert status_of(store, 2) == ("reported", 1)
    assert place_of(store) == {1: 1, 2: 1}
    assert stored_places.inspections_frame(store)["incident_id"].tolist() == [2]


@pytest.mark.parametrize(
    ("when", "result", "message"),
    [
        ("2025-03-01 09:00", "clear", "before the clearance"),
        ("2025-04-01 09:00", "maybe", "invalid"),
    ],
)
def test_bad_checks_are_refused_and_write_nothing(store, when, result, message):
    cleared_place(store)
    with pytest.raises(InvalidArgument, match=message):
        stored_checks.record_inspection(store, 1, checked_at=ts(when), result=result, actor="o")
    assert stored_places.inspections_frame(store).empty


def test_an_open_place_cannot_be_rechecked(store):
    commit(store, [{}])  # never cleared: nothing to check yet
    with pytest.raises(InvalidArgument, match="before the clearance"):
        stored_checks.record_inspection(store, 1, checked_at=ts("2025-04-01 09:00"), result="clear", actor="o")


def test_a_check_is_judged_at_its_own_date(store):
    cleared_place(store)  # cleared 2 March
    commit(store, [{"reported_at": ts("2025-03-20 09:00")}], name="again.csv")  # reopened 20 March
    # a clear check made before the recurrence is a valid check of that clearance
    stored_checks.record_inspection(store, 1, checked_at=ts("2025-03-10 09:00"), result="clear", actor="o")
    with pytest.raises(InvalidArgument, match="open violation"):
        stored_checks.record_inspection(store, 1, checked_at=ts("2025-03-25 09:00"), result="clear", actor="o")
    with pytest.raises(InvalidArgument, match="reported again"):  # reopened once, not twice
        stored_checks.record_inspection(store, 1, checked_at=ts("2025-03-12 09:00"), result="violation",
                                        actor="o")  # fmt: skip
    assert len(stored_places.inspections_frame(store)) == 1


def test_cleared_places_lists_the_last_clearance_and_check(store):
    cleared_place(store)
    commit(store, [{"lon": east_of(50)}], name="open.csv")  # open place: not listed
    stored_checks.record_inspection(store, 1, checked_at=ts("2025-03-10 09:00"), result="clear", actor="o")
    frame = stored_places.cleared_places(store)
    assert frame["place_id"].tolist() == [1]
    assert frame.loc[0, "cleared_at"] == ts("2025-03-02 09:00")
    assert frame.loc[0, "last_checked_at"] == ts("2025-03-10 09:00")
    assert frame.loc[0, "ward_code"] == WEST


def test_places_survive_a_ward_reload(store):
    commit(store, [{"lon": LON0}, {"lon": east_of(30)}])
    before = stored_places.places_frame(store)
    commit(store, [{"lon": east_of(1)}], name="again.csv")
    after = stored_places.places_frame(store)
    pd.testing.assert_frame_equal(before, after)


def test_the_timeline_without_addresses_is_the_same_less_one_column(store):
    commit(store, [{}, {"lon": east_of(200), "status": "cleared", "cleared_at": ts("2025-03-05 09:00")}])
    full = stored_places.place_incidents_frame(store)
    lean = stored_places.place_incidents_frame(store, addresses=False)
    assert full["address"].tolist() == ["số 1", "số 2"]
    assert "address" not in lean.columns
    pd.testing.assert_frame_equal(lean, full.drop(columns="address"))
