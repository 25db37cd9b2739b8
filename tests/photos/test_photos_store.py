"""The ``photos`` table and the clear-needs-photo rule, on SQLite and PostGIS (issue 13).

Expected values come from the issue: clearing an incident of a type that
``GEO_CLEAR_NEEDS_PHOTO`` names (default awnings and sidewalk encroachment) needs an
*after* photo, and is refused with a bilingual message otherwise; other types clear as
before; the same bytes attach to one incident once.
"""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from sqlalchemy import event, func, select, text

from geo.errors import WorkflowError
from geo.store import batches, clearances, open_store, queries, workflow
from geo.store import photos as stored_photos
from geo.store._schema import SCHEMA_VERSION
from geo.store.photos import PhotoRecord
from tests._store_data import NO_UPDATES, batch, incidents

SHA_A = "a" * 64
SHA_B = "b" * 64


@pytest.fixture
def rule_on(monkeypatch):
    """The rule as shipped: the default of GEO_CLEAR_NEEDS_PHOTO (the suite turns it off)."""
    monkeypatch.delenv("GEO_CLEAR_NEEDS_PHOTO", raising=False)


def add_incidents(store, *types: str) -> list[int]:
    rows = [{"type": t} for t in types]
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="field")
    with store.read() as conn:
        return [int(i) for i in conn.execute(text("SELECT id FROM incidents ORDER BY id")).scalars()]


def photo(incident_id: int, role: str, sha: str | None = SHA_A, **more) -> PhotoRecord:
    return PhotoRecord(incident_id=incident_id, role=role, sha256=sha, format="jpeg", file_name=f"{role}.jpg", **more)


def status_of(store, incident_id: int) -> str:
    return str(queries.incidents(store, limit=None).set_index("id").loc[incident_id, "status"])


def events(store) -> int:
    t = store.tables["status_events"]
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t)).scalar())


# -- the table ------------------------------------------------------------------------------


def test_attach_round_trips_and_the_same_bytes_attach_once(store):
    (first, second) = add_incidents(store, "sidewalk", "awning")
    ids = stored_photos.attach(
        store,
        [photo(first, "before", SHA_A, phash="00ff00ff00ff00ff", distance_m=12.5, lat=21.0, lon=105.8),
         photo(first, "after", SHA_B, flags=("photo_far", "photo_no_time"))],
        actor="officer",
    )  # fmt: skip
    again = stored_photos.attach(store, [photo(first, "before", SHA_A)], actor="officer")
    assert again == ids[:1]
    shown = stored_photos.photos_of(store, first)
    assert shown["role"].tolist() == ["before", "after"]
    assert shown["sha256"].tolist() == [SHA_A, SHA_B]
    assert shown["flags"].tolist() == ["", "photo_far,photo_no_time"]
    assert shown["distance_m"].iloc[0] == pytest.approx(12.5)
    assert (shown["actor"] == "officer").all() and shown["created_at"].notna().all()
    assert stored_photos.photos_of(store, second).empty
    log = queries.audit_log(store)
    adds = log[log["action"] == "photo_add"]
    assert len(adds) == 1 and adds["object_id"].iloc[0] == str(first)  # the repeat wrote nothing
    assert adds["details"].iloc[0]["photos"] == [f"before:{SHA_A}", f"after:{SHA_B}"]


def test_reuse_lookup_and_before_hashes(store):
    first, second = add_incidents(store, "sidewalk", "sidewalk")
    stored_photos.attach(store, [photo(first, "before", SHA_A, phash="0f0f0f0f0f0f0f0f")], actor="a")
    facts = stored_photos.check_facts(store, [first, second], [SHA_A, SHA_B])
    assert facts.attached == {SHA_A: {first}}  # SHA_B is nowhere
    assert facts.befores == {first: ["0f0f0f0f0f0f0f0f"]}
    assert set(facts.incidents) == {first, second}
    assert facts.incidents[first]["lat"] is not None and facts.incidents[first]["id"] == first
    assert stored_photos.check_facts(store, [999_999], []).incidents == {}


def test_summary_counts_roles_and_flags(store):
    first, second, _third = add_incidents(store, "sidewalk", "awning", "parking")
    stored_photos.attach(store, [
        photo(first, "before", SHA_A), photo(first, "after", SHA_B, flags=("photo_far",)),
        photo(second, "after", SHA_A, flags=("photo_reused", "photo_far")),
        photo(second, "after", None, link="https://kf.kobotoolbox.org/x.jpg"),  # a link: no file yet
    ], actor="a")  # fmt: skip
    got = stored_photos.summary(store).set_index("incident_id")
    assert got.loc[first, ["n_photos", "n_before", "n_after", "n_flagged"]].tolist() == [2, 1, 1, 1]
    assert got.loc[second, ["n_photos", "n_after", "n_flagged"]].tolist() == [1, 1, 1]
    assert got.loc[first, "flags"] == "photo_far"
    assert got.loc[second, "flags"] == "photo_far,photo_reused"
    assert len(got) == 2  # the incident without photos has no row
    assert stored_photos.links(store)["link"].tolist() == ["https://kf.kobotoolbox.org/x.jpg"]



def test_summary_and_verify_take_more_ids_than_a_statement_can_bind(store):
    """SQLite binds at most 32,766 values per statement and PostgreSQL 65,535: the map asks
    for the photos of the incidents it draws, and an attach re-checks the clearances of
    every incident it gave an after photo. 70,000 ids give the same answer as the few
    that exist; an imported clearance among them loses its "unverified" flag."""
    if store.backend.name == "sqlite":  # SQLite's default limit (this machine's library allows more)
        store.engine.dispose()
        event.listen(store.engine, "connect",
                     lambda raw, _record: raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766))  # fmt: skip
    first, second, cleared = add_incidents(store, "sidewalk", "awning", "parking")
    stored_photos.attach(store, [photo(first, "before", SHA_A), photo(second, "after", SHA_B, flags=("photo_far",))],
                         actor="a")  # fmt: skip
    many = [*range(10_000, 80_000), first, second]
    pd.testing.assert_frame_equal(stored_photos.summary(store, many), stored_photos.summary(store, [first, second]))
    assert stored_photos.summary(store, many)["incident_id"].tolist() == [first, second]
    t = store.tables["incidents"]
    with store.engine.begin() as conn:
        conn.execute(t.update().where(t.c.id == cleared).values(flags=workflow.CLEARED_UNVERIFIED))
        stored_photos._verify(store, conn, {*range(10_000, 80_000), cleared})
        assert conn.execute(select(t.c.flags).where(t.c.id == cleared)).scalar() == ""

# -- the rule ------------------------------------------------------------------------------


def test_clearing_without_an_after_photo_is_refused_and_changes_nothing(store, rule_on):
    sidewalk, awning = add_incidents(store, "sidewalk", "awning")
    stored_photos.attach(store, [photo(sidewalk, "before")], actor="field")  # a before is not enough
    before = events(store)
    for incident_id, kind in ((sidewalk, "sidewalk"), (awning, "awning")):
        with pytest.raises(WorkflowError) as refused:
            workflow.change_status(store, incident_id, "cleared", actor="officer")
        err = refused.value
        assert f"Incident {incident_id} (type '{kind}') cannot be cleared" in err.message_en
        assert f"Sự việc {incident_id}" in err.message_vi and "ảnh sau" in err.message_vi
        assert status_of(store, incident_id) == "reported"
    assert events(store) == before


def test_an_after_photo_lets_the_incident_clear(store, rule_on):
    (sidewalk,) = add_incidents(store, "sidewalk")
    stored_photos.attach(store, [photo(sidewalk, "after", SHA_B, flags=("photo_far",))], actor="field")
    moved = workflow.change_status(store, sidewalk, "cleared", actor="officer")
    assert moved == {"id": sidewalk, "from": "reported", "to": "cleared"}
    assert status_of(store, sidewalk) == "cleared"


def test_a_link_not_fetched_yet_is_no_photo(store, rule_on):
    (awning,) = add_incidents(store, "awning")
    stored_photos.attach(store, [photo(awning, "after", None, link="https://kobo.example/a.jpg")], actor="f")
    with pytest.raises(WorkflowError, match="cannot be cleared"):
        workflow.change_status(store, awning, "cleared", actor="officer")


def test_types_the_setting_does_not_name_clear_as_before(store, rule_on, monkeypatch):
    parking, signboard, sidewalk = add_incidents(store, "parking", "signboard", "sidewalk")
    workflow.change_status(store, parking, "cleared", actor="officer")
    workflow.change_status(store, signboard, "cleared", actor="officer")
    assert status_of(store, parking) == status_of(store, signboard) == "cleared"
    monkeypatch.setenv("GEO_CLEAR_NEEDS_PHOTO", "none")
    workflow.change_status(store, sidewalk, "cleared", actor="officer")
    assert status_of(store, sidewalk) == "cleared"


def test_a_later_files_status_column_obeys_the_rule(store, rule_on):
    """A status update of an ingest (a later file's status column) moves through the same
    rule: the whole batch is refused, nothing of it stored."""
    first, second = add_incidents(store, "sidewalk", "parking")
    counts = store.row_counts()
    updates = pd.DataFrame({"incident_id": [second, first], "to_status": ["cleared", "cleared"],
                            "at": [None, None], "note": [None, None]})  # fmt: skip
    with pytest.raises(WorkflowError, match=f"Incident {first} "):
        batches.commit_batch(store, batch("later.csv"), pd.DataFrame(), updates, actor="officer")
    assert store.row_counts() == counts
    assert status_of(store, second) == "reported"


def test_unverified_clearances_marks_imported_clearances_of_the_named_types(rule_on):
    types = pd.Series(["sidewalk", "awning", "parking", "sidewalk"])
    statuses = pd.Series(["cleared", "cleared", "cleared", "reported"])
    assert workflow.unverified_clearances(types, statuses).tolist() == [True, True, False, False]


def test_verified_clearances_need_an_after_photo_without_flags(store):
    clean, flagged, bare, still_open = add_incidents(store, "sidewalk", "sidewalk", "parking", "awning")
    stored_photos.attach(store, [
        photo(clean, "after", SHA_A), photo(flagged, "after", SHA_B, flags=("photo_far",)),
        photo(still_open, "after", "c" * 64),
    ], actor="f")  # fmt: skip
    for incident_id in (clean, flagged, bare):
        workflow.change_status(store, incident_id, "cleared", actor="officer")
    got = clearances.verified_clearances(store).set_index("incident_id")["verified"]
    assert got.to_dict() == {clean: True, flagged: False, bare: False}


# -- migration --------------------------------------------------------------------------------


def test_a_version_6_store_gains_the_photos_table(store_url):
    store = open_store(store_url)
    (first,) = add_incidents(store, "sidewalk")
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE photos")
        conn.exec_driver_sql("UPDATE schema_version SET version = 6")  # as made by version 6
    store.close()
    store = open_store(store_url)
    try:
        assert store.schema_version() == SCHEMA_VERSION  # upgraded through 7 to the latest
        with store.read() as conn:
            versions = conn.execute(text("SELECT version, description FROM schema_version ORDER BY version")).all()
        assert any(v == 7 and "photos" in d for v, d in versions)
        stored_photos.attach(store, [photo(first, "after")], actor="f")
        assert len(stored_photos.photos_of(store, first)) == 1
    finally:
        store.close()


def test_clearance_pairs_prefer_photos_and_pairs_without_flags(store):
    from tests._store_data import ts

    cleared = {"status": "cleared", "ward_code": "00070", "type": "awning", "reported_at": ts("2025-03-01 09:00")}
    rows = [
        {**cleared, "cleared_at": ts("2025-03-05 09:00")},  # 1: a pair with a far after photo
        {**cleared, "cleared_at": ts("2025-03-03 09:00")},  # 2: a clean pair (a flagged after photo too)
        {**cleared, "cleared_at": ts("2025-03-04 09:00")},  # 3: before photo only
        {**cleared, "cleared_at": ts("2025-03-06 09:00"), "ward_code": "00082"},  # 4: another ward
        {**cleared, "cleared_at": ts("2025-03-07 09:00")},  # 5: a clean pair, cleared last
    ]
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="field")
    with store.read() as conn:
        one, two, three, four, five = [int(i) for i in conn.execute(text("SELECT id FROM incidents ORDER BY id")).scalars()]
    sha = {n: c * 64 for n, c in zip(range(1, 10), "123456789", strict=True)}
    stored_photos.attach(store, [
        photo(one, "before", sha[1]), photo(one, "after", sha[2], flags=("photo_far",)),
        photo(two, "before", sha[3]), photo(two, "after", sha[4], flags=("photo_reused",)), photo(two, "after", sha[5]),
        photo(three, "before", sha[6]),
        photo(four, "before", sha[7]), photo(four, "after", sha[8]),
        photo(five, "before", sha[9]), photo(five, "after", SHA_A),
    ], actor="a")  # fmt: skip
    pairs = clearances.clearance_pairs(store, "00070")
    # clean pairs first (latest clearance first), then the flagged one; no half pair, no other ward
    assert pairs["incident_id"].tolist() == [five, two, one]
    assert pairs.set_index("incident_id").loc[two, "after_sha256"] == sha[5]  # the unflagged after photo
    assert pairs.set_index("incident_id").loc[one, "after_flags"] == "photo_far"
    assert clearances.clearance_pairs(store, "00070", limit=2)["incident_id"].tolist() == [five, two]
    import datetime as dt

    period = clearances.clearance_pairs(store, "00070", dt.date(2025, 3, 4), dt.date(2025, 3, 5))
    assert period["incident_id"].tolist() == [one]
    assert clearances.clearance_pairs(store, "00199").empty


def test_clearance_pairs_read_the_wards_clearances_once_and_no_others(store):
    """A ward's report reads that ward's clearances, once: not every clearance of the city
    (half a million at a million incidents) followed by its own again. The statements are
    traced on SQLite; the pairs are the rule's on both databases (the test above)."""
    import re

    from tests._store_data import ts

    cleared = {"status": "cleared", "type": "awning", "reported_at": ts("2025-03-01 09:00"),
               "cleared_at": ts("2025-03-05 09:00")}  # fmt: skip
    batches.commit_batch(store, batch(), incidents([{**cleared, "ward_code": "00070"}, {**cleared, "ward_code": "00082"}]),
                         NO_UPDATES, actor="field")  # fmt: skip
    mine, other = stored_ids(store)
    stored_photos.attach(store, [photo(mine, "before", "1" * 64), photo(mine, "after", "2" * 64),
                                 photo(other, "before", "3" * 64), photo(other, "after", "4" * 64)], actor="a")  # fmt: skip
    traced: list[str] = []
    if store.backend.name == "sqlite":
        store.engine.dispose()
        event.listen(store.engine, "connect", lambda raw, _record: raw.set_trace_callback(traced.append))
    pairs = clearances.clearance_pairs(store, "00070")
    assert pairs["incident_id"].tolist() == [mine]
    if store.backend.name == "sqlite":
        reads = [sql for sql in traced if re.search(r"\bFROM incidents\b", sql)]
        assert len(reads) == 1, reads
        assert re.search(r"ward_code\s*=", reads[0]), reads


def stored_ids(store) -> list[int]:
    with store.read() as conn:
        return [int(i) for i in conn.execute(text("SELECT id FROM incidents ORDER BY id")).scalars()]
