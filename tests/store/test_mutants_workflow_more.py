"""Workflow rules the widened mutation run of session 21 found untested (issue 16 §5):
set-based moves in chunks, what a move writes (``updated_at``, its audit entry, its
batch), a re-inspection's recurrence inside a results file's batch or without a
position, the after-photo message, and the public note's limit and audit.

Expected values come from the documented rules, not from the code's tables:

- ``apply_moves``: "Apply moves in order"; each move records a status event and an
  audit entry (actor, batch) and the incident's row is updated now (``updated_at``);
  a clearance stores its own time as ``cleared_at``; incidents are read and written
  ``_CHUNK`` at a time, so a set larger than one chunk must move entirely;
- ``open_recurrence``: the repeat is a new ``reported`` incident at the same place and
  type; the results file's batch is "recorded on the status events" of both incidents;
- ``check_clear_photo``: bilingual, naming the incident, its type, the setting
  ``GEO_CLEAR_NEEDS_PHOTO`` and the command that attaches an after photo (README:
  ``python -m geo photos add 42 sau.heic --role after``);
- ``public_notes.public_note_text``: "at most :data:`PUBLIC_NOTE_CHARS`" (1,000) characters;
- ``public_notes.set_public_note``: "audited (``public_note``)" on the incident.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event, text

from geo.errors import InvalidArgument, WorkflowError
from geo.store import batches, public_notes, queries, workflow
from tests._store_data import NO_UPDATES, batch, incidents, ts


def _commit(store, rows) -> int:
    return batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="field")


def _row(store, incident_id: int) -> dict:
    with store.read() as conn:
        row = conn.execute(
            text("SELECT status, cleared_at, updated_at, batch_id, lat, lon, ward_code, type "
                 "FROM incidents WHERE id = :i"),
            {"i": incident_id},
        ).mappings().one()  # fmt: skip
    return dict(row)


def _utc(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _events(store, incident_id: int) -> list[tuple]:
    with store.read() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text("SELECT from_status, to_status, batch_id FROM status_events "
                     "WHERE incident_id = :i ORDER BY id"),
                {"i": incident_id},
            )
        ]  # fmt: skip


SLACK = pd.Timedelta(seconds=2)


def _backdate(store) -> None:
    """Rows last updated long ago, so that a move's own stamp is told from the ingest's."""
    old = pd.Timestamp("2025-03-01 01:00", tz="UTC").to_pydatetime()
    store.write(lambda conn: conn.execute(text("UPDATE incidents SET updated_at = :t"), {"t": old}))


# -- set-based moves ------------------------------------------------------------------------


def test_a_set_larger_than_one_chunk_moves_entirely_and_is_stamped_now(store, monkeypatch):
    # chunks of 2: five incidents are read in three chunks and written in three updates
    monkeypatch.setattr(workflow, "_CHUNK", 2)
    _commit(store, [{}] * 5)
    _backdate(store)
    before = pd.Timestamp.now(tz="UTC")
    moves = [(i, "verified", None, None) for i in range(1, 6)]
    moved = store.write(
        lambda conn: workflow.apply_moves(store, conn, moves, actor="a", batch_id=None)
    )
    after = pd.Timestamp.now(tz="UTC")
    assert moved == 5
    for i in range(1, 6):
        row = _row(store, i)
        assert row["status"] == "verified"
        assert row["cleared_at"] is None
        assert before - SLACK <= _utc(row["updated_at"]) <= after + SLACK


def test_a_set_is_locked_in_id_order_and_written_one_statement_per_chunk(store, monkeypatch):
    # apply_moves: rows are locked "in id order so that two writers cannot deadlock";
    # _write_states: "one UPDATE … WHERE id IN (…) per target status", a chunk at a time.
    # Chunks of 2: five incidents (given out of order) are read in 3 statements; the
    # three moving to "verified" are written in 2, the two to "in_progress" in 1.
    monkeypatch.setattr(workflow, "_CHUNK", 2)
    _commit(store, [{}] * 5)
    seen: list[str] = []

    def log(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    moves = [(5, "in_progress", None, None), (3, "verified", None, None),
             (1, "verified", None, None), (4, "in_progress", None, None),
             (2, "verified", None, None)]  # fmt: skip
    event.listen(store.engine, "before_cursor_execute", log)
    try:
        store.write(lambda conn: workflow.apply_moves(store, conn, moves, actor="a", batch_id=None))
    finally:
        event.remove(store.engine, "before_cursor_execute", log)
    reads = [s for s in seen if s.startswith("SELECT incidents.id, incidents.status")]
    assert len(reads) == 3
    assert all("ORDER BY incidents.id" in s for s in reads)
    writes = [s for s in seen if s.startswith("UPDATE incidents SET status")]
    assert len(writes) == 3
    assert [_row(store, i)["status"] for i in range(1, 6)] == ["verified"] * 3 + ["in_progress"] * 2


def test_a_clearance_stores_its_time_and_stamps_the_row_now(store):
    _commit(store, [{"reported_at": ts("2025-03-01 08:00")}])
    _backdate(store)
    when = ts("2025-03-05 10:00")
    before = pd.Timestamp.now(tz="UTC")
    workflow.change_status(store, 1, "cleared", actor="o", at=when)
    after = pd.Timestamp.now(tz="UTC")
    row = _row(store, 1)
    assert row["status"] == "cleared"
    assert _utc(row["cleared_at"]) == when
    assert before - SLACK <= _utc(row["updated_at"]) <= after + SLACK


def test_each_move_is_audited_on_the_incident_with_its_batch(store):
    first = _commit(store, [{}, {}])
    results = batches.commit_batch(
        store, batch("ket-qua.csv"), incidents([{}], source="ket-qua.csv"), NO_UPDATES, actor="o"
    )
    assert results != first
    when = ts("2025-03-04 15:30")
    store.write(
        lambda conn: workflow.apply_moves(
            store, conn, [(2, "in_progress", when, "đang xử lý")], actor="officer3",
            batch_id=results,
        )
    )  # fmt: skip
    assert _events(store, 2)[-1] == ("reported", "in_progress", results)
    log = queries.audit_log(store)
    (entry,) = log[log["action"] == "status"].itertuples()
    assert (entry.actor, entry.object_type, entry.object_id) == ("officer3", "incident", "2")
    assert entry.details == {
        "from": "reported",
        "to": "in_progress",
        "at": when.isoformat(),
        "note": "đang xử lý",
        "batch_id": results,
    }


# -- re-inspections -------------------------------------------------------------------------


def _cleared(store, **fields) -> int:
    _commit(store, [{"status": "cleared", "cleared_at": ts("2025-03-04 10:00"), **fields}])
    return 1


def test_a_recurrence_inside_a_results_batch_records_that_batch_on_both_incidents(store):
    old = _cleared(store, type="awning")
    results = batches.commit_batch(
        store, batch("ket-qua.csv"), incidents([{}], source="ket-qua.csv"), NO_UPDATES, actor="o"
    )
    when = ts("2025-04-02 08:00")
    new = store.write(
        lambda conn: workflow.open_recurrence(
            store, conn, old, actor="inspector", note="lại lấn chiếm", at=when, batch_id=results
        )
    )
    assert _row(store, new)["batch_id"] == results
    assert _events(store, new) == [(None, "reported", results)]
    assert _events(store, old)[-1] == ("cleared", "recurred", results)
    assert queries.incident(store, new).incident["recurrence_of"] == old


def test_a_recurrence_of_an_incident_without_a_position_keeps_its_ward(store):
    # an incident known only by its ward (no coordinates) can recur too; the new one has
    # no position either
    old = _cleared(store, lat=np.nan, lon=np.nan, type="parking")
    new = workflow.record_recurrence(store, old, actor="o", at=ts("2025-04-02 08:00"))
    row = _row(store, new)
    assert (row["status"], row["type"], row["ward_code"]) == ("reported", "parking", "00001")
    assert row["lat"] is None and row["lon"] is None
    assert _row(store, old)["status"] == "recurred"


# -- the after-photo rule -------------------------------------------------------------------


def test_refused_clearance_tells_both_languages_how_to_attach_the_photo(monkeypatch):
    monkeypatch.setenv("GEO_CLEAR_NEEDS_PHOTO", "awning")
    with pytest.raises(WorkflowError) as err:
        workflow.check_clear_photo(42, "awning", False)
    assert err.value.message_vi == (
        "Sự việc 42 (loại 'awning') chưa thể chuyển sang “Đã xử lý”: loại vi phạm này cần "
        "ảnh sau khi xử lý (GEO_CLEAR_NEEDS_PHOTO). Hãy đính kèm ảnh “sau” "
        "(python -m geo photos add 42 ẢNH --role after) rồi thử lại."
    )
    assert err.value.message_en == (
        "Incident 42 (type 'awning') cannot be cleared: this type needs an after photo "
        "(GEO_CLEAR_NEEDS_PHOTO). Attach an after photo "
        "(python -m geo photos add 42 FILE --role after) and try again."
    )
    workflow.check_clear_photo(42, "awning", True)  # with the photo: allowed
    workflow.check_clear_photo(42, "parking", False)  # a type the setting does not name


# -- public notes ---------------------------------------------------------------------------


def test_a_public_note_of_exactly_the_limit_is_kept_one_more_is_refused():
    assert public_notes.PUBLIC_NOTE_CHARS == 1000  # issue 14's limit, the module's documented one
    at_limit = "đ" * 1000
    assert public_notes.public_note_text(f"  {at_limit}  ") == at_limit
    with pytest.raises(InvalidArgument) as err:
        public_notes.public_note_text("đ" * 1001)
    assert err.value.message_vi == "Ghi chú công khai dài quá 1000 ký tự (1001)."
    assert err.value.message_en == "The public note is longer than 1000 characters (1001)."
    assert public_notes.public_note_text("   ") is None
    assert public_notes.public_note_text(None) is None


def test_a_public_note_is_audited_on_its_incident(store):
    _commit(store, [{}, {}])
    workflow.change_status(store, 2, "verified", actor="officer9", public_note="Đã tiếp nhận")
    log = queries.audit_log(store)
    (entry,) = log[log["action"] == "public_note"].itertuples()
    assert (entry.actor, entry.object_type, entry.object_id) == ("officer9", "incident", "2")
    assert entry.details == {"public_note": "Đã tiếp nhận"}
