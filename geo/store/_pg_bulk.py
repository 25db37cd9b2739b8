"""PostgreSQL's path for large ingest batches: the incidents and places copied, and a
batch as large as its tables written with their secondary indexes and foreign keys
dropped, then rebuilt and re-validated set-based.

Everything happens inside the store's one write transaction (PostgreSQL DDL is
transactional), so a failure or a kill -9 leaves the store, indexes included, as it was.
The counterpart of :mod:`geo.store._sqlite_bulk`; the COPY itself is
:mod:`geo.store._pg_copy`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.store import _pg_copy
from geo.store._batch_rows import INSERT_CHUNK_ROWS
from geo.store._schema import INCIDENT_INSERT_COLUMNS

if TYPE_CHECKING:
    from geo.store._batch_rows import IncidentRows


#: A batch at least this large, and at least as large as the table already is, is written
#: with the secondary indexes and foreign keys of the tables it fills dropped, and rebuilt
#: (one sort per index) and re-validated (one join per key) before the same transaction
#: ends. A million rows: GiST and B-tree inserts plus a foreign-key probe per row cost
#: 2× the rebuild (benchmarks/NOTES.md).
REBUILD_MIN_ROWS = 50_000
#: Tables a large batch locks before it writes to them.
BATCH_TABLES = ("batches", "incidents", "status_events")
#: Of those, the ones whose indexes and foreign keys a large batch rebuilds.
REBUILT_TABLES = ("incidents", "status_events")
#: Memory of each index build of a rebuild (sorts in memory instead of on disk).
REBUILD_MAINTENANCE_MEM = "256MB"

#: The secondary indexes (not unique, not behind a constraint) and foreign keys of a
#: table: what to drop, and the DDL that puts each back as it was.
_REBUILDABLE_SQL = """
SELECT format('DROP INDEX %I.%I', n.nspname, c.relname), pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisunique AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
UNION ALL
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', CAST(k.conrelid AS regclass), k.conname),
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', CAST(k.conrelid AS regclass), k.conname,
              pg_get_constraintdef(k.oid))
FROM pg_constraint k WHERE k.conrelid = CAST(:t AS regclass) AND k.contype = 'f'
"""


def rebuild_for(conn: Connection, rows: int) -> bool:
    """Whether ``rows`` new incidents are written faster with the indexes rebuilt."""
    if rows < REBUILD_MIN_ROWS:
        return False
    span = conn.exec_driver_sql("SELECT COALESCE(max(id) - min(id) + 1, 0) FROM incidents").scalar()
    return rows >= int(span or 0)


@contextmanager
def _rebuilt(conn: Connection, tables: Sequence[str]) -> Iterator[None]:
    """Drop the secondary indexes and foreign keys of ``tables`` (already locked) and put
    them back as they were on exit: one sort per index, one join per key."""
    restore: list[str] = []
    for table in tables:
        for drop, create in conn.execute(text(_REBUILDABLE_SQL), {"t": table}).all():
            conn.exec_driver_sql(drop)
            restore.append(create)
    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{REBUILD_MAINTENANCE_MEM}'")
    yield
    # indexes first: the foreign keys' validation joins use them
    for statement in sorted(restore, key=lambda sql: sql.startswith("ALTER")):
        conn.exec_driver_sql(statement)


@contextmanager
def large_batch(conn: Connection, rows: int) -> Iterator[None]:
    """Write a batch of ``rows`` incidents (and their first events) without the secondary
    indexes and foreign keys, when it is as large as the table (see
    :data:`REBUILD_MIN_ROWS`); they are rebuilt and re-validated set-based on exit.

    All of it happens inside the open transaction: PostgreSQL DDL is transactional, so a
    failure or a kill -9 rolls the indexes back with the rows. Every store write holds the
    chains' append lock from its start (:meth:`geo.store.Store.write`), so no other writer
    holds these tables now; they are locked before anything is written to them, and only
    readers wait for the batch while it is written, the price of a batch that at least
    doubles the table. Unique indexes (the identity rule, issue 16) and primary keys are
    never dropped.
    """
    if not rebuild_for(conn, rows):
        yield
        return
    conn.exec_driver_sql(f"LOCK TABLE {', '.join(BATCH_TABLES)} IN ACCESS EXCLUSIVE MODE")
    conn.info[_EXCLUSIVE] = BATCH_TABLES
    try:
        with _rebuilt(conn, REBUILT_TABLES):
            yield
    finally:
        conn.info.pop(_EXCLUSIVE, None)


#: ``Connection.info`` key: the tables the open transaction holds in ACCESS EXCLUSIVE
#: mode (a large batch); their ids are reserved as one block
#: (:func:`geo.store._postgis.reserve_block`).
_EXCLUSIVE = "geo_exclusive_tables"


def holds_exclusive(conn: Connection, table: str) -> bool:
    """Whether the open transaction holds ``table`` alone (inside :func:`large_batch`)."""
    return table in conn.info.get(_EXCLUSIVE, ())


#: The tables a batch's places are written to (:func:`insert_places`).
PLACE_TABLES = ("places", "incident_places")


def insert_places(conn: Connection, places: Any, links: Any) -> None:
    """COPY a batch's new places and its incidents' links (binary, built per column).

    Links at least as many as those stored (and at least :data:`REBUILD_MIN_ROWS`) are
    written with the places' GiST and B-tree indexes and the three foreign keys dropped
    and rebuilt, as :func:`large_batch` does for the incidents: a foreign-key probe per
    row also locks, and so rewrites, the referenced incident row.
    """
    rows = links.num_rows
    large = rows >= REBUILD_MIN_ROWS and rows >= int(
        conn.exec_driver_sql("SELECT count(*) FROM incident_places").scalar() or 0
    )
    if large:
        conn.exec_driver_sql(f"LOCK TABLE {', '.join(PLACE_TABLES)} IN ACCESS EXCLUSIVE MODE")
    with _rebuilt(conn, PLACE_TABLES) if large else nullcontext():
        for table, data in zip(PLACE_TABLES, (places, links), strict=True):
            if data.num_rows:
                _pg_copy.copy_binary(conn, table, data)


def insert_incidents(conn: Connection, prepared: IncidentRows, ids: Sequence[int], batch_id: int) -> None:
    """COPY: a large batch in the binary format built per column (no Python value per
    cell, no text for the server to parse), a small one as row tuples."""
    if prepared.n >= _pg_copy.CSV_COPY_MIN_ROWS:

        def part(lo: int, hi: int) -> Any:
            """Rows ``lo:hi`` only: the batch is never held whole as Arrow columns."""
            table = prepared.arrow_table(all_columns=True, instants=True, lo=lo, hi=hi)
            table = table.add_column(0, "id", pa.array(np.asarray(ids[lo:hi], dtype=np.int64)))
            return table.append_column("batch_id", pa.array(np.full(hi - lo, batch_id, dtype=np.int64)))

        names = ["id", *(c for c in INCIDENT_INSERT_COLUMNS[1:] if c != "batch_id"), "batch_id"]
        _pg_copy.copy_parts(conn, "incidents", names, prepared.n, part)
        return
    for lo in range(0, prepared.n, INSERT_CHUNK_ROWS):
        hi = min(prepared.n, lo + INSERT_CHUNK_ROWS)
        rows = prepared.rows(lo, hi, ids[lo:hi], batch_id)
        _pg_copy.bulk_insert(conn, "incidents", INCIDENT_INSERT_COLUMNS, rows)
        del rows
