"""Schema 8 (issue 14): a store made before it gains the ward's public note and the
service-request mark on opening, on SQLite and PostGIS.

The rule: the incidents an accepted or merged resident's report points at become service
requests (listed by Open311's ``GET requests``); a rejected or pending report, or an
incident officers found themselves, does not make one. No stored note becomes public.
"""

from __future__ import annotations

from sqlalchemy import inspect, text

from geo.store import batches, open_store
from geo.store import reports as stored
from geo.store._schema import PUBLIC_NOTES_SCHEMA_VERSION, SCHEMA_VERSION
from tests._store_data import NO_UPDATES, batch, incidents


def _report(store, key_id: int, device: str) -> int:
    return stored.receive(store, stored.NewReport(
        service_code="sidewalk", lat=21.0285, lon=105.8525, ward_code="00070", address=None,
        description="mô tả", media_url=None, api_key_id=key_id, contact={"device_id": device},
    ), actor="apikey:test").report_id


def _make_v7(store_url: str) -> dict[str, int]:
    """Incidents 1-3 from an upload; a report merged into 2, one accepted (a new incident),
    one rejected, one pending; then the store is taken back to version 7."""
    store = open_store(store_url)
    batches.commit_batch(store, batch(), incidents([{}, {}, {}]), NO_UPDATES, actor="field")
    key = stored.active_key(store, stored.add_api_key(store, "v7", actor="admin"))
    assert key is not None
    stored.merge(store, _report(store, key[0], "a"), 2, actor="officer")
    accepted = stored.accept(store, _report(store, key[0], "b"), actor="officer")
    stored.reject(store, _report(store, key[0], "c"), "spam", actor="officer")
    _report(store, key[0], "d")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_incidents_service_requests")
        conn.exec_driver_sql("DROP INDEX ix_places_cell")  # a later version's
        conn.exec_driver_sql("ALTER TABLE incidents DROP COLUMN service_request")
        conn.exec_driver_sql("ALTER TABLE incidents DROP COLUMN public_note")
        conn.execute(text("UPDATE schema_version SET version = :old WHERE version >= :new"),  # one row
                     {"old": PUBLIC_NOTES_SCHEMA_VERSION - 1, "new": PUBLIC_NOTES_SCHEMA_VERSION})
    counts = store.row_counts()
    store.close()
    return {"accepted": accepted, **counts}


def test_a_version_7_store_gains_public_notes_and_marks_the_reports_incidents(store_url):
    before = _make_v7(store_url)
    store = open_store(store_url)
    try:
        assert store.schema_version() == SCHEMA_VERSION > PUBLIC_NOTES_SCHEMA_VERSION
        with store.read() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("incidents")}
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("incidents")}
            marks = dict(conn.execute(text(
                "SELECT id, service_request FROM incidents ORDER BY id")).all())
            notes = conn.execute(text("SELECT count(*) FROM incidents WHERE public_note IS NOT NULL")).scalar()
            described = conn.execute(text("SELECT description FROM schema_version WHERE version = :v"),
                                     {"v": PUBLIC_NOTES_SCHEMA_VERSION}).scalar()
        assert {"public_note", "service_request"} <= columns
        assert "ix_incidents_service_requests" in indexes
        with store.read() as conn:  # and version 9's index (expression indexes are not reflected)
            listed_sql = ("SELECT name FROM sqlite_master WHERE type = 'index'" if store.backend.name == "sqlite"
                          else "SELECT indexname FROM pg_indexes")  # fmt: skip
            assert "ix_places_cell" in set(conn.execute(text(listed_sql)).scalars())
        # merged into 2, accepted as a new one; 1 and 3 no report reached
        assert {k: bool(v) for k, v in marks.items()} == {1: False, 2: True, 3: False, before["accepted"]: True}
        assert notes == 0  # stored (internal) notes are not made public
        assert "2 incidents marked" in str(described)
        after = store.row_counts()
        assert {k: after[k] for k in ("incidents", "status_events", "open311_requests")} == {
            k: before[k] for k in ("incidents", "status_events", "open311_requests")
        }
        # and GET requests reads it: the two service requests only
        from geo.open311.requests import query

        listed = stored.service_requests(store, query({"service_request_id": "1,2,3," + str(before["accepted"])}))
        assert sorted(r["id"] for r in listed) == [2, before["accepted"]]
    finally:
        store.close()
