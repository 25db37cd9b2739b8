"""Workflow rules the mutation run (``python -m benchmarks.mutation --module workflow``)
found untested: what a recurrence records, and the bilingual not-found messages.

Expected values come from the rules in ``geo/store/workflow.py``'s module docstring and
``docs/testing.md``: the repeat is a new ``reported`` incident with ``recurrence_of`` set,
its own history starting at ``reported`` (no previous state) with the officer's note,
and one ``recurrence`` audit entry on the new incident naming the old one.
"""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import text

from geo.errors import NotFound, WorkflowError
from geo.store import batches, queries, workflow
from tests._store_data import NO_UPDATES, batch, incidents, ts


def _cleared(store, **fields) -> int:
    row = {"status": "cleared", "cleared_at": ts("2025-03-04 10:00"), **fields}
    batches.commit_batch(store, batch(), incidents([row]), NO_UPDATES, actor="tester")
    with store.read() as conn:
        return int(conn.execute(text("SELECT max(id) FROM incidents")).scalar())


def test_recurrence_records_the_note_history_and_audit_of_the_new_incident(store):
    old = _cleared(store, type="signboard")
    when = ts("2025-04-01 09:00")
    # NUL cannot be stored by PostgreSQL: both backends keep U+FFFD instead
    new = workflow.record_recurrence(store, old, actor="officer7", note="biển\x00 lại", at=when)

    row = queries.incident(store, new).incident
    assert row["note"] == "biển\ufffd lại"
    assert row["source_id"] is None
    assert row["fingerprint"] == f"test.csv#1#r{new}"
    assert pd.Timestamp(row["reported_at"]) == when
    # signboard: 14 days (module docstring of geo.store.workflow)
    assert pd.Timestamp(row["due_at"]) == when + pd.Timedelta(days=14)

    (first,) = queries.incident(store, new).history.itertuples()
    assert first.from_status is None
    assert (first.to_status, first.actor, first.note) == ("reported", "officer7", "biển\ufffd lại")
    assert first.at == when

    old_last = queries.incident(store, old).history.iloc[-1]
    assert (old_last["from_status"], old_last["to_status"]) == ("cleared", "recurred")
    assert str(new) in old_last["note"]

    audit = queries.audit_log(store)
    entries = audit[audit["action"] == "recurrence"]
    assert len(entries) == 1
    entry = entries.iloc[0]
    assert (entry["actor"], entry["object_type"], entry["object_id"]) == (
        "officer7",
        "incident",
        str(new),
    )
    assert entry["details"] == {"recurrence_of": old}


def test_recurrence_without_a_time_is_reported_now(store):
    old = _cleared(store)
    before = pd.Timestamp.now(tz="UTC")
    new = workflow.record_recurrence(store, old, actor="o")
    after = pd.Timestamp.now(tz="UTC")
    reported = pd.Timestamp(queries.incident(store, new).incident["reported_at"])
    assert before - pd.Timedelta(seconds=1) <= reported <= after + pd.Timedelta(seconds=1)


def test_recurrence_of_an_open_incident_names_it(store):
    open_id = _cleared(store, status="reported", cleared_at=pd.NaT)
    with pytest.raises(WorkflowError) as err:
        workflow.record_recurrence(store, open_id, actor="o")
    assert f"incident {open_id}" in str(err.value)


@pytest.mark.parametrize("move", ["change", "recur"])
def test_unknown_incident_is_named_in_both_languages(store, move):
    with pytest.raises(NotFound) as err:
        if move == "change":
            workflow.change_status(store, 424_242, "verified", actor="o")
        else:
            workflow.record_recurrence(store, 424_242, actor="o")
    assert err.value.message_vi == "Không có sự việc số 424242."
    assert err.value.message_en == "There is no incident 424242."


def test_unknown_target_state_names_the_field_in_both_languages(store):
    incident_id = _cleared(store, status="reported", cleared_at=pd.NaT)
    with pytest.raises(WorkflowError) as err:
        workflow.change_status(store, incident_id, "closed", actor="o")
    assert err.value.message_vi.startswith("Trạng thái không hợp lệ 'closed' (to_status);")
    assert err.value.message_en.startswith("Unknown status 'closed' (to_status);")


def test_a_move_to_the_current_state_is_refused_naming_incident_and_state(store):
    incident_id = _cleared(store, status="verified", cleared_at=pd.NaT)
    with pytest.raises(WorkflowError) as err:
        workflow.change_status(store, incident_id, "verified", actor="o")
    assert err.value.message_vi == f"Sự việc {incident_id} đã ở trạng thái 'verified'."
    assert err.value.message_en == f"Incident {incident_id} is already 'verified'."


# -- the pure rules (no store) ----------------------------------------------------------

#: The five states in workflow order (module docstring of geo.store.workflow).
ALL_STATES = "reported, verified, in_progress, cleared, recurred"


def test_unknown_state_message_lists_every_state_and_names_the_place_only_when_given():
    with pytest.raises(WorkflowError) as err:
        workflow.check_state("closed")
    assert (
        err.value.message_vi == f"Trạng thái không hợp lệ 'closed'; các trạng thái: {ALL_STATES}."
    )
    assert err.value.message_en == f"Unknown status 'closed'; valid statuses: {ALL_STATES}."
    with pytest.raises(WorkflowError) as err:
        workflow.check_state("closed", where="row 3, field status")
    assert err.value.message_en == (
        f"Unknown status 'closed' (row 3, field status); valid statuses: {ALL_STATES}."
    )
    assert workflow.check_state("verified") == "verified"


def test_no_move_from_an_unknown_state():
    assert workflow.can_transition("closed", "verified") is False
    assert workflow.can_transition("reported", "cleared") is True  # steps may be skipped
    assert workflow.can_transition("cleared", "reported") is False  # never back


def test_refused_move_names_both_states_and_what_is_allowed():
    with pytest.raises(WorkflowError) as err:
        workflow.check_transition("verified", "reported", where="incident 5")
    assert err.value.message_vi == (
        "incident 5: không thể chuyển từ “Đã xác minh” sang “Mới phát hiện (chưa xử lý)”; "
        "được phép: Đang xử lý, Đã xử lý."
    )
    assert err.value.message_en == (
        "incident 5: cannot move from 'verified' (Verified) to 'reported' (Reported (open)); "
        "allowed: in_progress, cleared."
    )
    with pytest.raises(WorkflowError) as err:  # recurred is final
        workflow.check_transition("recurred", "cleared")
    assert err.value.message_vi.startswith("không thể chuyển từ “Tái phạm”")
    assert err.value.message_vi.endswith("được phép: không có (trạng thái cuối).")
    assert err.value.message_en.endswith("allowed: none (final state).")
    with pytest.raises(WorkflowError) as err:  # an unknown current state is named as is
        workflow.check_transition("closed", "cleared")
    assert (
        err.value.message_en
        == "cannot move from 'closed' (closed) to 'cleared' (Cleared); allowed: none (final state)."
    )
    assert err.value.message_vi.startswith("không thể chuyển từ “closed” sang “Đã xử lý”")


# -- deadlines and the moves of an ingest ------------------------------------------------


def test_service_levels_defaults_then_environment_then_overrides(monkeypatch):
    monkeypatch.setenv("GEO_SLA_DAYS", "parking=0.5,awning=10")
    levels = workflow.sla_days({"parking": 2.0})
    # defaults of the module docstring's table, the environment, then the override
    assert (levels["parking"], levels["awning"], levels["signboard"]) == (2.0, 10.0, 14.0)
    assert workflow.sla_days({})["parking"] == 0.5


def test_due_dates_use_the_levels_given_and_other_for_unknown_types(monkeypatch):
    monkeypatch.setenv("GEO_SLA_DAYS", "parking=0.5,other=9")
    types = pd.Series(["parking", "unheard-of", "parking"])
    reported = pd.Series(
        pd.to_datetime(["2025-03-03 09:00", "2025-03-03 09:00", "2025-03-03 21:00"])
    )
    utc = pd.Timestamp("2025-03-03 09:00", tz="UTC")
    # explicit levels: neither the environment nor the defaults are consulted
    due = workflow.due_dates(types, reported, {"parking": 3.0, "other": 2.0})
    assert due.tolist() == [utc + pd.Timedelta(days=3), utc + pd.Timedelta(days=2),
                            utc + pd.Timedelta(days=3, hours=12)]  # fmt: skip
    # levels without "other": the default "other" level, 7 days
    due = workflow.due_dates(types, reported, {"parking": 3.0})
    assert due.iloc[1] == utc + pd.Timedelta(days=7)
    # no levels: defaults and environment (naive times are UTC)
    due = workflow.due_dates(types, reported)
    assert due.tolist() == [utc + pd.Timedelta(hours=12), utc + pd.Timedelta(days=9),
                            utc + pd.Timedelta(hours=24)]  # fmt: skip


def test_no_moves_move_nothing(store):
    assert (
        store.write(lambda conn: workflow.apply_moves(store, conn, [], actor="a", batch_id=None))
        == 0
    )


def test_a_recurrence_move_applies_only_to_cleared_incidents(store):
    rows = [{"status": "reported"}, {"status": "cleared", "cleared_at": ts("2025-03-04 10:00")}]
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="t")
    moved = store.write(
        lambda conn: workflow.apply_moves(
            store, conn, [], actor="a", batch_id=None,
            recurrences=[(1, "recurred", None, None), (2, "recurred", None, None)],
        )
    )  # fmt: skip
    assert moved == 1
    assert queries.incident(store, 1).incident["status"] == "reported"
    assert queries.incident(store, 2).incident["status"] == "recurred"


def test_moves_of_more_incidents_than_one_lookup_chunk(store):
    n = 1_001  # the incidents are read in chunks of 500: three chunks, the last of one
    batches.commit_batch(store, batch(), incidents([{}] * n), NO_UPDATES, actor="t")
    moves = [(i, "verified", None, None) for i in range(1, n + 1)]
    moved = store.write(
        lambda conn: workflow.apply_moves(store, conn, moves, actor="a", batch_id=None)
    )
    assert moved == n
    assert (queries.incidents(store)["status"] == "verified").all()


def test_a_move_of_an_unknown_incident_names_it(store):
    # an ingest's moves are applied in its transaction; an id no row has is refused by
    # name ("There is no incident N"), as change_status refuses it
    batches.commit_batch(store, batch(), incidents([{}]), NO_UPDATES, actor="t")
    with pytest.raises(NotFound) as err:
        store.write(
            lambda conn: workflow.apply_moves(
                store, conn, [(1, "verified", None, None), (777, "verified", None, None)],
                actor="a", batch_id=None,
            )
        )  # fmt: skip
    assert err.value.message_vi == "Không có sự việc số 777."
    assert err.value.message_en == "There is no incident 777."
    assert queries.incident(store, 1).incident["status"] == "reported"  # nothing half-written


def test_a_move_with_a_missing_time_happens_now(store):
    # Move = (id, state, when, note), "when — None for now": an empty time cell reaches
    # the moves as NaT (pandas' missing time) and means the same as None
    batches.commit_batch(store, batch(), incidents([{}, {}]), NO_UPDATES, actor="t")
    before = pd.Timestamp.now(tz="UTC")
    moves = [(1, "cleared", pd.NaT, None), (2, "verified", None, None)]
    store.write(lambda conn: workflow.apply_moves(store, conn, moves, actor="a", batch_id=None))
    after = pd.Timestamp.now(tz="UTC")
    slack = pd.Timedelta(seconds=1)
    for incident_id, state in ((1, "cleared"), (2, "verified")):
        last = queries.incident(store, incident_id).history.iloc[-1]
        assert last["to_status"] == state
        assert before - slack <= pd.Timestamp(last["at"]) <= after + slack
    cleared_at = pd.Timestamp(queries.incident(store, 1).incident["cleared_at"])
    assert before - slack <= cleared_at <= after + slack
    audit = queries.audit_log(store)
    moved = audit[(audit["action"] == "status") & (audit["object_id"] == "1")].iloc[0]
    assert before - slack <= pd.Timestamp(moved["details"]["at"]) <= after + slack


def test_an_unknown_target_state_of_an_ingest_move_names_the_incident(store):
    # check_transition's ``where`` is named in the message of an unknown target state too
    with pytest.raises(WorkflowError) as err:
        workflow.check_transition("reported", "closed", where="incident 5")
    assert err.value.message_vi == (
        f"Trạng thái không hợp lệ 'closed' (incident 5); các trạng thái: {ALL_STATES}."
    )
    assert err.value.message_en == (
        f"Unknown status 'closed' (incident 5); valid statuses: {ALL_STATES}."
    )
    batches.commit_batch(store, batch(), incidents([{}]), NO_UPDATES, actor="t")
    with pytest.raises(WorkflowError) as err:
        store.write(
            lambda conn: workflow.apply_moves(
                store, conn, [(1, "closed", None, None)], actor="a", batch_id=None
            )
        )
    assert err.value.message_en.startswith("Unknown status 'closed' (incident 1);")
