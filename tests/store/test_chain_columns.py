"""Many moves at once (an ingest's recurrences) write their history and audit rows a
column at a time; the rows and their hash chains must be byte for byte those that the
row-by-row code (a dict per row through ``_chain.append``) writes for the same moves.

Each test makes the same moves twice from the same chain head, on a real SQLite file and
on PostGIS: once row by row in a transaction that is then rolled back, once by columns,
committed; then compares every stored column, the hashes included, checks one row's hash
against the rule of ``geo/store/_chain.py`` written out by hand, and walks both chains.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from geo.store import _chain, _move_history, batches, chain, workflow
from tests._store_data import NO_UPDATES, batch, incidents, ts

#: Every column of each chained table, in id order.
COLUMNS = {
    "status_events": "id, incident_id, from_status, to_status, at, actor, note, batch_id, row_hash",
    "audit_log": "id, at, actor, action, object_type, object_id, CAST(details AS TEXT), row_hash",
}
#: The time the moves are made (fixed, so both ways stamp the same audit time).
NOW = datetime(2025, 6, 7, 8, 9, 10, 123456, tzinfo=UTC)
#: Notes that need JSON escapes: quotes, backslash, control and non-ASCII characters,
#: one outside the BMP (a surrogate pair in ASCII JSON), an empty one and none.
NOTES = ['say "hi" \\ back', "tái phạm tại điểm", None, "tab\there\nline\u2028", "đèn 😀", ""]
#: ``at`` of the moves: a Timestamp with microseconds, a whole second (isoformat
#: leaves the fraction out), a naive datetime (taken as UTC), ISO text with an offset, none.
ATS = [
    pd.Timestamp("2025-03-05 08:00:00.250001", tz="UTC"),
    datetime(2025, 3, 6, 1, 2, 3, tzinfo=UTC),
    datetime(2025, 3, 7, 4, 5, 6, 7),
    "2025-03-08T08:00:00+07:00",
    None,
]


def stored(store, table: str, after: int) -> list[tuple]:
    with store.read() as conn:
        sql = f"SELECT {COLUMNS[table]} FROM {table} WHERE id > {after} ORDER BY id"  # noqa: S608
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def heads(store) -> dict[str, int]:
    with store.read() as conn:
        return {
            t: int(conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {t}").scalar())  # noqa: S608
            for t in COLUMNS
        }


def seeded(store, n: int) -> tuple[list[int], list[int]]:
    """``n`` reported and ``n`` cleared incidents; their ids."""
    rows = [{"status": "reported"} for _ in range(n)] + [
        {"status": "cleared", "cleared_at": ts("2025-03-04 10:00"), "type": "awning"} for _ in range(n)
    ]
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="tester")
    with store.read() as conn:
        ids = [int(i) for i in conn.exec_driver_sql("SELECT id FROM incidents ORDER BY id").scalars()]
    return ids[:n], ids[n:]


def the_moves(reported: list[int], cleared: list[int]):
    moves = [
        (i, ("verified", "in_progress")[k % 2], ATS[k % len(ATS)], NOTES[k % len(NOTES)])
        for k, i in enumerate(reported)
    ]
    recurrences = [
        (i, "recurred", ATS[(k + 2) % len(ATS)], f"tái phạm / recurred as incident {k}")
        for k, i in enumerate(cleared)
    ]
    # optional moves that are skipped: a second recurrence, one of an incident not cleared
    recurrences += [(cleared[0], "recurred", None, "again"), (reported[0], "recurred", None, "x")]
    return moves, recurrences


class RolledBack(Exception):
    pass


def both_ways(store, monkeypatch, batch_id: int | None) -> tuple[dict, dict, int]:
    """The rows the moves write row by row (rolled back) and by columns (committed)."""
    reported, cleared = seeded(store, 300)
    moves, recurrences = the_moves(reported, cleared)
    monkeypatch.setattr(workflow, "utcnow", lambda: NOW)
    before = heads(store)
    rows: dict[str, dict] = {}

    def move(way: str) -> int:
        def work(conn) -> int:
            return workflow.apply_moves(
                store, conn, moves, actor="bulk", batch_id=batch_id, recurrences=recurrences
            )

        monkeypatch.setattr(_move_history, "COLUMN_MOVES_MIN", 10**9 if way == "rows" else 1)
        if way == "rows":
            def undone(conn) -> None:
                work(conn)
                rows["rows"] = {t: _read(conn, t, before[t]) for t in COLUMNS}
                raise RolledBack

            with pytest.raises(RolledBack):
                store.write(undone)
            return 0
        moved = store.write(work)
        rows["columns"] = {t: stored(store, t, before[t]) for t in COLUMNS}
        return moved

    move("rows")
    assert heads(store) == before  # the row-by-row way left nothing behind
    rewind_ids(store, before)
    moved = move("columns")
    return rows["rows"], rows["columns"], moved


def rewind_ids(store, before: dict[str, int]) -> None:
    """PostgreSQL's sequences do not roll back: set them back, so that the second way
    gets the ids the first one had (SQLite's rowids follow the largest id anyway)."""
    if store.backend.name == "sqlite":
        return
    with store.engine.begin() as conn:
        for table, top in before.items():
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {top})")


def _read(conn, table: str, after: int) -> list[tuple]:
    sql = f"SELECT {COLUMNS[table]} FROM {table} WHERE id > {after} ORDER BY id"  # noqa: S608
    return [tuple(r) for r in conn.exec_driver_sql(sql)]


@pytest.mark.parametrize("batch_id", [None, 1])
def test_moves_by_columns_write_the_rows_and_hashes_of_row_by_row(store, monkeypatch, batch_id):
    """With a batch id, PostGIS copies the rows as Arrow-written CSV (a large ingest's
    way), without one through psycopg's rows."""
    if store.backend.name == "postgis" and batch_id is not None:
        from geo.store import _pg_copy

        monkeypatch.setattr(_pg_copy, "CSV_COPY_MIN_ROWS", 1)
    by_rows, by_columns, moved = both_ways(store, monkeypatch, batch_id)
    assert moved == 600  # 300 moves and 300 recurrences; the two optional extras skipped
    for table in COLUMNS:
        assert len(by_columns[table]) == 600
        assert by_columns[table] == by_rows[table], table
    assert all(state.ok and state.mismatched == 0 for state in chain.verify(store))


def test_a_column_encoded_audit_row_hashes_by_the_rule(store, monkeypatch):
    """The first audit row of the moves, hashed by hand from the rule in _chain.py:
    SHA-256(previous hash + content), content = ``<UTF-8 length>:<text>`` per column
    joined by ``;``, NULL ``~``, the details as sorted compact ASCII JSON with numbers as
    digits and an exponent."""
    _, by_columns, _ = both_ways(store, monkeypatch, 1)
    first = by_columns["audit_log"][0]
    with store.read() as conn:
        prev = conn.exec_driver_sql(
            f"SELECT row_hash FROM audit_log WHERE id = {first[0] - 1}"  # noqa: S608
        ).scalar()
    details = (
        '{"at":"2025-03-05T08:00:00.250001+00:00","batch_id":1e0,"from":"reported",'
        '"note":"say \\"hi\\" \\\\ back","to":"verified"}'
    )
    texts = [str(first[0]), "2025-06-07T08:09:10.123456", "bulk", "status", "incident", str(first[5]), details]
    content = ";".join(f"{len(t.encode())}:{t}" for t in texts).encode()
    assert first[7] == hashlib.sha256(bytes.fromhex(prev) + content).hexdigest()
    event = by_columns["status_events"][3]  # the fourth move: a note with a line separator
    assert event[6] == "tab\there\nline\u2028" and event[2:4] == ("reported", "in_progress")


def test_the_stored_json_of_a_move_reads_back_as_built(store, monkeypatch):
    _, by_columns, _ = both_ways(store, monkeypatch, None)
    details = [json.loads(row[6]) for row in by_columns["audit_log"]]
    assert details[4] == {
        "from": "reported", "to": "verified", "at": NOW.isoformat(), "note": "đèn 😀", "batch_id": None
    }  # fmt: skip
    assert details[1]["at"] == "2025-03-06T01:02:03+00:00" and details[2]["at"] == "2025-03-07T04:05:06.000007+00:00"
    assert {d["to"] for d in details[300:]} == {"recurred"}
    assert _chain.canonical_json(details[0]) == (
        '{"at":"2025-03-05T08:00:00.250001+00:00","batch_id":null,"from":"reported",'
        '"note":"say \\"hi\\" \\\\ back","to":"verified"}'
    )
