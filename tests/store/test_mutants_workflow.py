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
    assert (entry["actor"], entry["object_type"], entry["object_id"]) == ("officer7", "incident", str(new))
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
