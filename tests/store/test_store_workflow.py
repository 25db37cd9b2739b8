"""Schema, workflow, history and batch commits on both backends."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from geo.errors import NotFound, StorageError, WorkflowError
from geo.store import batches, can_transition, open_store, queries, workflow
from geo.store import wards as stored_wards
from geo.store.workflow import DEFAULT_SLA_DAYS, sla_days
from geo.vocab import STATE_CODES
from tests._store_data import EAST, NO_UPDATES, WEST, batch, incidents, ts, two_wards

#: The workflow as docs/storage.md ("Workflow") and the README draw it, written out here
#: by hand — never read from the code's TRANSITIONS — so a changed rule fails this file:
#: reported → verified → in_progress → cleared → recurred (final); forward skips allowed,
#: backward moves never.
STATES = ("reported", "verified", "in_progress", "cleared", "recurred")
DOCUMENTED_MOVES = {
    ("reported", "verified"), ("reported", "in_progress"), ("reported", "cleared"),
    ("verified", "in_progress"), ("verified", "cleared"),
    ("in_progress", "cleared"),
    ("cleared", "recurred"),
}  # fmt: skip
ALL_PAIRS = [(a, b) for a in STATES for b in STATES if a != b]


def count(store, table: str, **where) -> int:
    t = store.tables[table]
    conds = [t.c[k] == v for k, v in where.items()]
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(t).where(*conds)).scalar())


def one_incident(store, status: str = "reported", **fields) -> int:
    batches.commit_batch(store, batch(), incidents([{"status": status, **fields}]), NO_UPDATES, actor="tester")
    with store.read() as conn:
        return int(conn.execute(text("SELECT max(id) FROM incidents")).scalar())


def test_schema_created_once_with_version(store_url):
    first = open_store(store_url)
    assert first.schema_version() == 10  # 3: chains, 4: reports, 5: places, 6: sign-in, 7: photos, 8: public notes, 9: place cells, 10: unplaced incidents placed
    assert set(first.row_counts()) == {
        "schema_version", "wards", "batches", "incidents", "status_events", "audit_log", "users",
        "api_keys", "open311_requests", "open311_contacts", "places", "incident_places", "inspections",
        "login_failures", "login_locks", "sessions", "setup_tokens", "photos",
    }
    first.close()
    again = open_store(store_url)  # opening an existing store migrates nothing
    assert again.schema_version() == 10
    assert again.row_counts()["schema_version"] == 1
    again.close()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA recursive_triggers").scalar() == 1  # REPLACE fires DELETE guards
    store.close()


def test_default_url_honours_environment(tmp_path, monkeypatch):
    target = tmp_path / "from_env.sqlite"
    monkeypatch.setenv("GEO_DATABASE_URL", f"sqlite:///{target}")
    store = open_store()
    assert store.path == target and target.exists()
    store.close()


@pytest.mark.postgis
def test_postgis_has_point_geometry_with_gist_index(postgis_url):
    store = open_store(postgis_url)
    one_incident(store, lat=21.0, lon=105.8)
    with store.read() as conn:
        kind = conn.execute(text("SELECT ST_AsText(geom), ST_SRID(geom) FROM incidents")).one()
        indexes = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE tablename = 'incidents' AND schemaname = current_schema()")
        ).scalars().all()
    assert kind == ("POINT(105.8 21)", 4326)
    assert any("gist (geom)" in d for d in indexes)
    store.close()


def test_the_documented_states_and_moves():
    assert set(STATE_CODES) == set(STATES)
    allowed = {(a, b) for a in STATES for b in STATES if can_transition(a, b)}
    assert allowed == DOCUMENTED_MOVES
    # never backwards (nor to the same state): every allowed move goes further along
    assert all(STATES.index(a) < STATES.index(b) for a, b in allowed)


@pytest.mark.parametrize(("from_state", "to_state"), ALL_PAIRS)
def test_transitions_follow_the_documented_workflow(store, from_state, to_state):
    incident_id = one_incident(store, status=from_state, cleared_at=ts("2025-03-04 10:00") if from_state in ("cleared", "recurred") else pd.NaT)
    events_before = count(store, "status_events", incident_id=incident_id)
    if (from_state, to_state) in DOCUMENTED_MOVES:
        moved = workflow.change_status(store, incident_id, to_state, actor="officer1", note="kiểm tra")
        assert moved == {"id": incident_id, "from": from_state, "to": to_state}
        detail = queries.incident(store, incident_id)
        assert detail.incident["status"] == to_state
        last = detail.history.iloc[-1]
        assert (last["from_status"], last["to_status"], last["actor"], last["note"]) == (
            from_state, to_state, "officer1", "kiểm tra",
        )
        audit = queries.audit_log(store)
        entry = audit[(audit["action"] == "status") & (audit["object_id"] == str(incident_id))].iloc[0]
        assert entry["actor"] == "officer1" and entry["details"]["to"] == to_state
    else:
        with pytest.raises(WorkflowError) as err:
            workflow.change_status(store, incident_id, to_state, actor="officer1", note="sai")
        # bilingual: the Vietnamese part, then the English one, naming the incident
        assert "không thể chuyển" in str(err.value) and "cannot move" in str(err.value)
        assert str(incident_id) in str(err.value)
        assert queries.incident(store, incident_id).incident["status"] == from_state
        assert count(store, "status_events", incident_id=incident_id) == events_before


def test_clearing_sets_cleared_at_and_unknown_states_are_refused(store):
    incident_id = one_incident(store)
    workflow.change_status(store, incident_id, "cleared", actor="o", at=ts("2025-03-05 08:00"))
    assert queries.incident(store, incident_id).incident["cleared_at"] == ts("2025-03-05 08:00").to_pydatetime()
    with pytest.raises(WorkflowError):
        workflow.change_status(store, incident_id, "closed", actor="o")
    with pytest.raises(NotFound):
        workflow.change_status(store, 999_999, "verified", actor="o")


def test_recurrence_is_a_new_incident_linked_to_the_cleared_one(store):
    old = one_incident(store, status="cleared", cleared_at=ts("2025-03-04 10:00"), type="awning")
    new = workflow.record_recurrence(store, old, actor="officer1", note="lại dựng mái che", at=ts("2025-04-01 09:00"))
    old_row = queries.incident(store, old).incident
    new_row = queries.incident(store, new).incident
    assert old_row["status"] == "recurred"
    assert old_row["cleared_at"] == ts("2025-03-04 10:00").to_pydatetime()  # kept for time-to-clear
    assert new_row["status"] == "reported" and new_row["recurrence_of"] == old
    assert new_row["type"] == "awning" and new_row["lat"] == old_row["lat"]
    assert new_row["due_at"] == (ts("2025-04-01 09:00") + pd.Timedelta(days=DEFAULT_SLA_DAYS["awning"])).to_pydatetime()
    with pytest.raises(WorkflowError):  # an open incident cannot recur
        workflow.record_recurrence(store, new, actor="officer1")


def test_due_at_from_service_levels_and_environment(store, monkeypatch):
    monkeypatch.setenv("GEO_SLA_DAYS", "parking=0.5, signboard=30")
    levels = sla_days()
    assert levels["parking"] == 0.5 and levels["signboard"] == 30 and levels["sidewalk"] == DEFAULT_SLA_DAYS["sidewalk"]
    reported = ts("2025-03-03 09:00")
    batches.commit_batch(store,
        batch(),
        incidents([{"type": "parking"}, {"type": "signboard"}, {"type": "sidewalk"}, {"type": "unheard-of"}]),
        NO_UPDATES,
        actor="tester",
    )
    due = queries.incidents(store).set_index("type")["due_at"]
    assert due["parking"] == reported + pd.Timedelta(hours=12)
    assert due["signboard"] == reported + pd.Timedelta(days=30)
    assert due["sidewalk"] == reported + pd.Timedelta(days=DEFAULT_SLA_DAYS["sidewalk"])
    assert due["unheard-of"] == reported + pd.Timedelta(days=DEFAULT_SLA_DAYS["other"])
    monkeypatch.setenv("GEO_SLA_DAYS", "parking=soon")
    with pytest.raises(WorkflowError, match="GEO_SLA_DAYS"):
        sla_days()


@pytest.mark.parametrize("table", ["status_events", "audit_log"])
def test_history_is_append_only_even_for_raw_sql(store, table):
    one_incident(store)
    assert count(store, table) >= 1
    statements = [f"UPDATE {table} SET actor = 'mallory'", f"DELETE FROM {table}"]  # noqa: S608
    if store.backend.name == "postgis":
        statements.append(f"TRUNCATE {table}")
        for sql in statements:
            with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
                conn.exec_driver_sql(sql)
    else:
        raw = sqlite3.connect(store.path)
        for sql in statements:
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                raw.execute(sql)
        raw.close()
    with store.read() as conn:
        actors = conn.execute(text(f"SELECT DISTINCT actor FROM {table}")).scalars().all()  # noqa: S608
    assert "mallory" not in actors and actors


def test_store_api_offers_no_way_to_edit_history(store):
    from geo.store import batches, queries, users, wards, workflow

    names = {n for n in dir(store) if not n.startswith("_")}
    for module in (batches, queries, users, wards, workflow):
        names |= {f"{module.__name__}.{n}" for n in dir(module) if not n.startswith("_")}
    assert "geo.store.workflow.change_status" in names  # the modules were looked into
    assert not {n for n in names if any(w in n for w in ("delete", "remove", "purge", "edit_event"))}


def test_commit_batch_stores_everything_with_initial_events(store):
    stored_wards.ensure(store, two_wards())
    frame = incidents(
        [
            {"ward_code": WEST},
            {"ward_code": EAST, "status": "cleared", "cleared_at": ts("2025-03-04 10:00")},
            {"ward_code": None, "source_id": None, "street": None},
        ]
    )
    batch_id = batches.commit_batch(store, batch("a.csv", rows=3), frame, NO_UPDATES, actor="field1")
    stored = queries.incidents(store)
    assert len(stored) == 3 and set(stored["batch_id"]) == {batch_id}
    assert stored["source_row"].tolist() == [1, 2, 3]
    assert stored["source_id"].isna().tolist() == [False, False, True]
    assert stored.crs.to_epsg() == 4326 and stored.geometry.x.iloc[0] == pytest.approx(105.805)
    with store.read() as conn:
        events = conn.execute(text("SELECT from_status, to_status, at, actor, batch_id FROM status_events ORDER BY incident_id")).all()
        b = conn.execute(text("SELECT file_name, actor, n_incidents, counts FROM batches")).one()
    assert [(e[0], e[1], e[3], e[4]) for e in events] == [
        (None, "reported", "field1", batch_id), (None, "cleared", "field1", batch_id), (None, "reported", "field1", batch_id),
    ]
    assert b[0] == "a.csv" and b[1] == "tester" and b[2] == 3
    assert (b[3] if isinstance(b[3], dict) else __import__("json").loads(b[3])) == {"rows": 3}
    audit = queries.audit_log(store)
    assert (audit["action"] == "ingest").sum() == 1


def test_commit_batch_applies_status_updates_through_the_workflow(store):
    batches.commit_batch(store, batch(), incidents([{}, {}, {}]), NO_UPDATES, actor="field1")
    ids = queries.incidents(store)["id"].tolist()
    updates = pd.DataFrame(
        {
            "incident_id": ids,
            "to_status": ["cleared", "verified", "reported"],  # the last one is a no-op
            "at": [ts("2025-03-06 10:00"), ts("2025-03-05 10:00"), pd.NaT],
            "note": ["dọn xong", None, None],
        }
    )
    batch_id = batches.commit_batch(store, batch("b.csv"), pd.DataFrame(), updates, actor="officer1")
    stored = queries.incidents(store).set_index("id")
    assert stored.loc[ids, "status"].tolist() == ["cleared", "verified", "reported"]
    assert stored.loc[ids[0], "cleared_at"] == ts("2025-03-06 10:00")
    history = queries.incident(store, ids[0]).history
    assert history["to_status"].tolist() == ["reported", "cleared"]
    assert history.iloc[-1]["batch_id"] == batch_id and history.iloc[-1]["note"] == "dọn xong"
    assert count(store, "status_events", incident_id=ids[2]) == 1


def test_commit_batch_is_all_or_nothing(store):
    batches.commit_batch(store, batch(), incidents([{"status": "cleared", "cleared_at": ts("2025-03-04 10:00")}]), NO_UPDATES, actor="f")
    before = store.row_counts()
    (cleared_id,) = queries.incidents(store)["id"].tolist()
    bad = pd.DataFrame({"incident_id": [cleared_id], "to_status": ["in_progress"], "at": [pd.NaT], "note": [None]})
    with pytest.raises(WorkflowError):
        batches.commit_batch(store, batch("bad.csv"), incidents([{}, {}], source="bad.csv"), bad, actor="f")
    missing = pd.DataFrame({"incident_id": [424242], "to_status": ["verified"], "at": [pd.NaT], "note": [None]})
    with pytest.raises(NotFound):
        batches.commit_batch(store, batch("bad.csv"), incidents([{}], source="bad.csv"), missing, actor="f")
    with pytest.raises(WorkflowError, match="row 2"):
        batches.commit_batch(store, batch("bad.csv"), incidents([{}, {"status": "done"}]), NO_UPDATES, actor="f")
    with pytest.raises(StorageError, match="reported_at"):
        batches.commit_batch(store, batch("bad.csv"), incidents([{}]).drop(columns="reported_at"), NO_UPDATES, actor="f")
    assert store.row_counts() == before


def test_commit_batch_marks_the_earlier_incident_of_a_recurrence(store):
    batches.commit_batch(store, batch(), incidents([{"status": "cleared", "cleared_at": ts("2025-03-04 10:00")}]), NO_UPDATES, actor="f")
    (old,) = queries.incidents(store)["id"].tolist()
    batches.commit_batch(store, batch("again.csv"), incidents([{"recurrence_of": old}], source="again.csv"), NO_UPDATES, actor="f")
    stored = queries.incidents(store).set_index("id")
    assert stored.loc[old, "status"] == "recurred"
    new = stored.index.max()
    assert stored.loc[new, "recurrence_of"] == old and stored.loc[new, "status"] == "reported"


def test_lookup_existing_matches_by_id_within_the_source_else_by_fingerprint(store):
    stored_rows = [{}, {"source_id": None}, {"source_id": None, "status": "verified"}, {}]
    batches.commit_batch(store, batch(), incidents(stored_rows), NO_UPDATES, actor="f")
    stored = queries.incidents(store)
    by_fp = dict(zip(stored["fingerprint"], stored["id"], strict=True))
    keys = pd.DataFrame(
        {
            "source": ["test.csv", "test.csv", "other.csv", "test.csv", "other.csv", "test.csv", "x"],
            "source_id": ["1", None, None, "99", "1", "5", None],
            "fingerprint": ["nomatch", "test.csv#2", "test.csv#3", "test.csv#1", "test.csv#1", "test.csv#4",
                            "test.csv#4"],
        },
        index=[10, 11, 12, 13, 14, 15, 16],
    )
    found = batches.lookup_existing(store, keys).set_index("row")
    assert list(found.columns) == ["id", "source", "source_id", "fingerprint", "status"]
    # 13: another id of the same source at incident 1's fingerprint is another incident;
    # 14: id "1" of another source is another team's incident; 15: unknown id (its
    # fingerprint is incident 4's, which has an id); 16: no id, but incident 4 has one.
    assert sorted(found.index) == [10, 11, 12]
    assert found.loc[10, "id"] == by_fp["test.csv#1"]
    assert found.loc[11, "id"] == by_fp["test.csv#2"]
    assert (found.loc[12, "id"], found.loc[12, "status"]) == (by_fp["test.csv#3"], "verified")
    assert batches.lookup_existing(store, keys.iloc[:0]).empty


def test_ensure_wards_keeps_versions(store):
    layer = two_wards()
    assert stored_wards.ensure(store, layer) == {"added": 2, "changed": 0, "retired": 0}
    assert stored_wards.ensure(store, layer) == {"added": 0, "changed": 0, "retired": 0}
    renamed = layer.copy()
    renamed.loc[0, "name"] = "Phường Tây Mới"
    assert stored_wards.ensure(store, renamed.iloc[[0]]) == {"added": 0, "changed": 1, "retired": 1}
    current = stored_wards.current(store)
    assert current["code"].tolist() == [WEST] and current["name"].tolist() == ["Phường Tây Mới"]
    assert current.geometry.iloc[0].equals(layer.geometry.iloc[0])
    assert count(store, "wards") == 3  # history kept: two old versions closed, one new


def test_reloading_the_default_layer_changes_nothing(store, wards):
    """Wards without an English name (NaN once read back) must not look changed."""
    assert stored_wards.ensure(store, wards) == {"added": 126, "changed": 0, "retired": 0}
    assert stored_wards.ensure(store, wards) == {"added": 0, "changed": 0, "retired": 0}
    assert count(store, "wards") == 126
