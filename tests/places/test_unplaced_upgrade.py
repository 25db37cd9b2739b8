"""Schema 10: a store made before ``reports.accept`` placed its incident is made whole at
its first open, on a real SQLite file and on PostGIS.

Before commit c716f68 an accepted resident's report was stored without an
``incident_places`` row: no place, no recurrence link. Such a store is made here the way
that code made it (:func:`accept_as_before_the_fix`, the statements the old ``accept``
ran, and ``schema_version`` 9). Expected values come from the rule (docs/sustained_order.md):
an incident joins the place of its type and ward within the radius (15 m) of the place's
first incident or starts one (ids go on from the stored ones), and it recurs from the
place's last clearance when every incident there is cleared and it was reported after
that clearance; that incident moves to ``recurred`` with its history and audit entry.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import create_engine, insert, text

from geo.store import _chain, chain, open_store, queries
from geo.store._schema import PLACED_REPORTS_SCHEMA_VERSION, SCHEMA_VERSION
from geo.store._values import utcnow
from tests._store_data import WEST, ts
from tests.places.test_store_places import LAT0, LON0, commit, east_of, place_of, status_of


def accept_as_before_the_fix(store, *, lon: float, reported_at: pd.Timestamp) -> int:
    """An accepted resident's report as ``reports.accept`` stored it before c716f68: the
    incident row (source ``open311``, a service request, status ``reported`` since the
    report arrived) and its first status event, by the statements that code ran, and
    nothing else: no ``incident_places`` row, no recurrence link, no move of a cleared
    incident at that spot. Returns the incident's id."""

    def work(conn) -> int:
        new_id = store.backend.reserve_ids(conn, "incidents", 1)[0]
        now = utcnow()
        conn.execute(insert(store.tables["incidents"]).values(
            id=new_id, source="open311", source_id=f"r{new_id}", fingerprint=f"open311:r{new_id}",
            type="sidewalk", type_text="Lấn chiếm vỉa hè", lat=LAT0, lon=lon, ward_code=WEST,
            address=None, note="mô tả", status="reported", reported_at=reported_at,
            due_at=reported_at + pd.Timedelta(days=7), flags="", created_at=now, updated_at=now,
            service_request=True, public_note=None,
        ))  # fmt: skip
        _chain.append(store, conn, "status_events", [{
            "incident_id": new_id, "from_status": None, "to_status": "reported", "at": reported_at,
            "actor": "officer", "batch_id": None, "note": f"phản ánh của người dân / resident's report r{new_id}",
        }])  # fmt: skip
        return int(new_id)

    return store.write(work)


def as_version_9(store) -> None:
    """The store's version back to 9, the last one whose software stored such incidents."""
    with store.engine.begin() as conn:  # made at 10: its one row; healed: the step's row goes
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version = 10 AND description <> 'initial schema'")
        conn.exec_driver_sql("UPDATE schema_version SET version = 9 WHERE version = 10")


def pre_fix_store(store_url: str) -> dict[str, int]:
    """A version-9 store: three incidents from an upload, then four reports accepted by
    the old code. Returns the incidents' ids by name."""
    store = open_store(store_url)
    commit(store, [
        {"lon": LON0, "status": "cleared", "reported_at": ts("2025-03-01 09:00"),
         "cleared_at": ts("2025-03-02 09:00")},                                 # A: place 1, cleared
        {"lon": east_of(300), "reported_at": ts("2025-03-03 09:00")},            # B: place 2, open
        {"lon": east_of(600), "status": "cleared", "reported_at": ts("2025-03-01 09:00"),
         "cleared_at": ts("2025-03-10 09:00")},                                 # D: place 3, cleared on 10 March
    ])  # fmt: skip
    ids = {"A": 1, "B": 2, "D": 3}
    at = ts("2025-03-05 09:00")
    ids["same_spot"] = accept_as_before_the_fix(store, lon=east_of(3), reported_at=at)
    ids["far"] = accept_as_before_the_fix(store, lon=east_of(200), reported_at=at)
    ids["at_open"] = accept_as_before_the_fix(store, lon=east_of(305), reported_at=at)
    ids["before_clearance"] = accept_as_before_the_fix(store, lon=east_of(604), reported_at=at)
    assert place_of(store) == {1: 1, 2: 2, 3: 3}  # the state the old code left
    as_version_9(store)
    store.close()
    return ids


def _state(store) -> tuple[object, ...]:
    """Everything the healing may write: places, links, statuses, history, audit."""
    with store.read() as conn:
        places = conn.execute(text("SELECT id, first_incident, lon, lat FROM places ORDER BY id")).all()
        incidents = conn.execute(text("SELECT id, status, recurrence_of FROM incidents ORDER BY id")).all()
        events = conn.execute(text("SELECT id, incident_id, to_status FROM status_events ORDER BY id")).all()
        audit = conn.execute(text("SELECT id, action FROM audit_log ORDER BY id")).all()
    return place_of(store), places, incidents, events, audit


def test_the_upgrade_places_what_the_old_accept_left_without_a_place(store_url):
    ids = pre_fix_store(store_url)
    store = open_store(store_url)
    try:
        assert store.schema_version() == SCHEMA_VERSION == PLACED_REPORTS_SCHEMA_VERSION
        placed = place_of(store)
        assert placed == {
            ids["A"]: 1, ids["B"]: 2, ids["D"]: 3,  # the stored places keep their ids
            ids["same_spot"]: 1,  # 3 m from A: joins its place
            ids["far"]: 4,  # 200 m from A, 100 m from B: a place of its own, next id
            ids["at_open"]: 2,  # 5 m from B
            ids["before_clearance"]: 3,  # 4 m from D
        }
        # recurrence: only the report at a place whose every incident is cleared, made
        # after the clearance; B is open, D was cleared after the report came
        assert status_of(store, ids["same_spot"]) == ("reported", ids["A"])
        assert status_of(store, ids["A"]) == ("recurred", None)
        for name in ("far", "at_open", "before_clearance"):
            assert status_of(store, ids[name]) == ("reported", None)
        assert status_of(store, ids["D"]) == ("cleared", None) and status_of(store, ids["B"]) == ("reported", None)
        with store.read() as conn:
            moves = conn.execute(text(
                "SELECT incident_id, from_status, to_status, actor, at FROM status_events "
                "WHERE from_status IS NOT NULL AND to_status = 'recurred'"
            )).all()  # fmt: skip
            described = conn.execute(
                text("SELECT description FROM schema_version WHERE version = :v"),
                {"v": PLACED_REPORTS_SCHEMA_VERSION},
            ).scalar()
        assert [tuple(m[:4]) for m in moves] == [(ids["A"], "cleared", "recurred", "system")]
        moved_at = pd.Timestamp(moves[0][4])  # SQLite: UTC text; PostgreSQL: an aware instant
        assert (moved_at if moved_at.tzinfo else moved_at.tz_localize("UTC")) == ts("2025-03-05 09:00")  # the report's
        assert described == "places: 4 incidents stored without a place placed, 1 recurrences linked"
        log = queries.audit_log(store)
        healed = log[log["action"] == "place_unplaced"]
        assert len(healed) == 1 and healed["actor"].iloc[0] == "system"
        details = healed["details"].iloc[0]
        assert sorted(details["incidents"]) == sorted(ids[n] for n in ("same_spot", "far", "at_open", "before_clearance"))
        assert details["recurrences"] == 1
        moved = log[(log["action"] == "status") & (log["object_id"].astype(str) == str(ids["A"]))]
        assert moved["details"].map(lambda d: (d["from"], d["to"])).tolist() == [("cleared", "recurred")]
        assert all(s.ok for s in chain.verify(store))
        before = _state(store)
    finally:
        store.close()
    again = open_store(store_url)  # a second open: nothing to do, nothing written
    try:
        assert _state(again) == before
        assert again.row_counts()["schema_version"] == 2
    finally:
        again.close()


def test_the_step_on_a_whole_store_writes_nothing(store_url):
    """Idempotent at the step itself: run again on a store whose every incident has its
    place (a store made after the fix, or one healed already), it writes only its version."""
    pre_fix_store(store_url)
    open_store(store_url).close()  # healed
    store = open_store(store_url)
    as_version_9(store)
    before = _state(store)
    store.close()
    store = open_store(store_url)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        assert _state(store) == before
        with store.read() as conn:
            described = conn.execute(
                text("SELECT description FROM schema_version WHERE version = :v"),
                {"v": PLACED_REPORTS_SCHEMA_VERSION},
            ).scalar()
        assert described == "places: 0 incidents stored without a place placed, 0 recurrences linked"
    finally:
        store.close()


def test_a_failed_healing_leaves_the_store_as_it_was(store_url, monkeypatch):
    """All or nothing: the placing, the link and the move are one migration transaction; when
    any part fails, no place, link, move or version is left, and the next open heals it."""
    from geo.errors import StorageError
    from geo.store import workflow

    ids = pre_fix_store(store_url)

    def broken(*args, **kwargs):
        raise StorageError("hỏng giữa chừng", "failed half-way")

    monkeypatch.setattr(workflow, "apply_moves", broken)
    with pytest.raises(StorageError, match="failed half-way"):
        open_store(store_url)
    from geo.store._postgis import normalise_url

    engine = create_engine(normalise_url(store_url) if store_url.startswith("postgres") else store_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT max(version) FROM schema_version").scalar() == 9
            assert dict(conn.exec_driver_sql("SELECT incident_id, place_id FROM incident_places").all()) == {1: 1, 2: 2, 3: 3}
            assert conn.exec_driver_sql("SELECT count(*) FROM places").scalar() == 3
            statuses = dict(conn.exec_driver_sql("SELECT id, status FROM incidents").all())
            assert statuses[ids["A"]] == "cleared"
            assert conn.exec_driver_sql("SELECT count(*) FROM incidents WHERE recurrence_of IS NOT NULL").scalar() == 0
    finally:
        engine.dispose()
    monkeypatch.undo()
    store = open_store(store_url)
    try:
        assert len(place_of(store)) == 7 and status_of(store, ids["A"]) == ("recurred", None)
    finally:
        store.close()
