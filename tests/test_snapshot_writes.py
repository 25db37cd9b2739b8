"""Every write that changes the stored incidents reaches the map's snapshot.

A page's refresh (:func:`geo.snapshot.up_to_date`) reads only the audit log's largest id
while nothing was written, and trusts it: the incidents are not counted. That holds only
if each write that adds incidents or changes a column the snapshot holds (position, ward,
type, status, street, reported, due, cleared) appends to the audit log in its own
transaction. One test per such write, on a real SQLite file and on PostGIS: a snapshot
held before the write, brought up to date after it, equals a fresh read of the whole
store, and shows the change the rule expects (a move's new status, a recurrence's new
incident). A resident's report merged into an incident changes none of those columns;
its test shows the snapshot still equal to the store. Nothing in the software deletes
an incident.
"""

from __future__ import annotations

import pandas as pd
import pytest

from geo.ingest import IngestOptions, ingest
from geo.sample import sample_incidents, write_sample
from geo.snapshot import IncidentSnapshot, load_snapshot, up_to_date
from geo.store import IncidentFilter, api_keys, open_store, queries, workflow
from geo.store import inspections as stored_checks
from geo.store import places as stored_places
from geo.store import reports as stored_reports
from tests._open311 import HOAN_KIEM, IN_HOAN_KIEM, prepare_store
from tests._snapshots import decoded, resent
from tests._store_data import ts
from tests.places.test_store_places import LAT0, commit, east_of
from tests.places.test_unplaced_upgrade import accept_as_before_the_fix, as_version_9

#: One namespace of ids: a row sent again is the same incident.
TEAM = IngestOptions(source="team")


def seen(held: IncidentSnapshot, store) -> pd.DataFrame:
    """The page's snapshot after a write (``held`` brought up to date, as each run does),
    checked against a fresh read of the whole store; its rows, decoded, by id."""
    current = up_to_date(held, store)
    fresh = load_snapshot(store)
    assert current.version == fresh.version
    pd.testing.assert_frame_equal(decoded(current), decoded(fresh))
    return decoded(current).set_index("id")


def status(rows: pd.DataFrame, incident_id: int) -> str:
    return str(rows.loc[incident_id, "status"])


def one(store, status_code: str) -> int:
    return int(queries.incidents(store, IncidentFilter(statuses=status_code), limit=1)["id"].iloc[0])


@pytest.fixture
def small_store(store, tmp_path):
    """A store holding 300 generated incidents of every status."""
    path = write_sample(sample_incidents(300, seed=11), tmp_path / "first.csv")
    ingest(path, store, TEAM, actor="test")
    return store


def test_an_ingest_reaches_the_snapshot(small_store, tmp_path):
    """New incidents and the stored ones the file moves (``resent``: three unhandled
    incidents sent again as in progress), in one batch."""
    frame = sample_incidents(300, seed=11)
    held = load_snapshot(small_store)
    again = pd.concat([resent(frame, 3), sample_incidents(20, seed=12)], ignore_index=True)
    summary = ingest(write_sample(again, tmp_path / "again.csv"), small_store, TEAM, actor="test").summary()
    assert (summary["accepted"], summary["status_updates"]) == (20, 3)
    rows = seen(held, small_store)
    assert len(rows) == len(held) + 20
    before = decoded(held).set_index("id")
    moved = rows.index[(before["status"].reindex(rows.index) == "reported") & (rows["status"] == "in_progress")]
    assert len(moved) == 3


def test_a_status_move_reaches_the_snapshot(small_store):
    held = load_snapshot(small_store)
    reported = one(small_store, "reported")
    workflow.change_status(small_store, reported, "verified", actor="test")
    assert status(seen(held, small_store), reported) == "verified"


def test_a_clearance_reaches_the_snapshot_with_its_instant(small_store):
    held = load_snapshot(small_store)
    verified = one(small_store, "verified")
    workflow.change_status(small_store, verified, "cleared", actor="test", at=ts("2025-11-20 03:00"))
    rows = seen(held, small_store)
    assert status(rows, verified) == "cleared"
    assert pd.Timestamp(rows.loc[verified, "cleared_at"]).tz_localize("UTC") == ts("2025-11-20 03:00")  # held as UTC


def test_a_recurrence_reaches_the_snapshot(small_store):
    held = load_snapshot(small_store)
    cleared = one(small_store, "cleared")
    new_id = workflow.record_recurrence(small_store, cleared, actor="test")
    rows = seen(held, small_store)
    assert status(rows, cleared) == "recurred"
    assert status(rows, new_id) == "reported" and len(rows) == len(held) + 1


def test_a_violation_found_on_reinspection_reaches_the_snapshot(store):
    commit(store, [{"status": "cleared", "reported_at": ts("2025-03-01 09:00"),
                    "cleared_at": ts("2025-03-02 09:00")}])  # fmt: skip
    held = load_snapshot(store)
    stored_checks.record_inspection(store, 1, checked_at=ts("2025-04-01 09:00"), result="violation",
                                    actor="officer")  # fmt: skip
    rows = seen(held, store)
    assert status(rows, 1) == "recurred" and status(rows, 2) == "reported"


def _pending_report(store_url: str, store) -> int:
    key, _users = prepare_store(store_url)
    key_id = api_keys.active_key(store, key)
    assert key_id is not None
    received = stored_reports.receive(store, stored_reports.NewReport(
        service_code="sidewalk", lat=IN_HOAN_KIEM[0], lon=IN_HOAN_KIEM[1], ward_code=HOAN_KIEM, address=None,
        description="mô tả", media_url=None, api_key_id=key_id[0], contact={"device_id": "d1"},
    ), actor="apikey:test")  # fmt: skip
    return int(received.report_id)


def test_an_accepted_residents_report_reaches_the_snapshot(store_url, store):
    report = _pending_report(store_url, store)
    held = load_snapshot(store)
    new_id = stored_reports.accept(store, report, actor="officer")
    rows = seen(held, store)
    assert len(rows) == len(held) + 1 and status(rows, new_id) == "reported"
    assert rows.loc[new_id, "ward_code"] == HOAN_KIEM


def test_a_merged_residents_report_leaves_the_snapshot_equal_to_the_store(store_url, store):
    report = _pending_report(store_url, store)
    commit(store, [{"lat": IN_HOAN_KIEM[0], "lon": IN_HOAN_KIEM[1], "reported_at": ts("2025-03-01 09:00")}])
    incident = one(store, "reported")
    held = load_snapshot(store)
    stored_reports.merge(store, report, incident, actor="officer", public_note="đã nhận")
    rows = seen(held, store)
    pd.testing.assert_frame_equal(rows, decoded(held).set_index("id"))


def test_a_places_rebuild_that_links_a_recurrence_reaches_the_snapshot(store, monkeypatch):
    """Two incidents 20 m apart are two places at 15 m; rebuilt at 25 m they are one, and
    the later report, made after the first's clearance, makes it ``recurred``."""
    commit(store, [
        {"lon": east_of(0), "status": "cleared", "reported_at": ts("2025-03-01 09:00"),
         "cleared_at": ts("2025-03-02 09:00")},
        {"lon": east_of(20), "reported_at": ts("2025-03-10 09:00")},
    ])  # fmt: skip
    held = load_snapshot(store)
    monkeypatch.setenv("GEO_PLACE_RADIUS_M", "25")
    stored_places.rebuild(store, actor="planner")
    assert status(seen(held, store), 1) == "recurred"


def test_the_schema_upgrade_that_places_unplaced_incidents_reaches_the_snapshot(store_url):
    """A version-9 store whose resident's report was stored without a place (as before
    c716f68): the first open places it, and the cleared incident at its spot recurs."""
    store = open_store(store_url)
    commit(store, [{"lon": east_of(0), "lat": LAT0, "status": "cleared", "reported_at": ts("2025-03-01 09:00"),
                    "cleared_at": ts("2025-03-02 09:00")}])  # fmt: skip
    accept_as_before_the_fix(store, lon=east_of(3), reported_at=ts("2025-03-05 09:00"))
    held = load_snapshot(store)  # the page's snapshot of the store before the upgrade
    assert status(decoded(held).set_index("id"), 1) == "cleared"
    as_version_9(store)
    store.close()
    healed = open_store(store_url)  # the upgrade runs here
    try:
        assert status(seen(held, healed), 1) == "recurred"
    finally:
        healed.close()
