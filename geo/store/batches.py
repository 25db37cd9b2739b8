"""Ingest batches: finding what is stored already, and committing an upload in one go.

:func:`lookup_existing` matches incoming rows to stored incidents, :func:`change_marker`
tells an ingest whether that answer may have gone stale, and :func:`commit_batch` writes
the batch record, the new incidents with their first status events and the status moves
in ONE transaction. The commit path is the store's hot path (a million rows in seconds):
rows are held column-wise (:mod:`geo.store._batch_rows`) and written by the backend's
fastest means (:meth:`geo.store._backend.Backend.insert_incidents`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, insert, text

from geo.errors import IdentityConflict, StorageError
from geo.store import _chain
from geo.store._batch_rows import (
    FirstEvents,
    IncidentRows,
    iso_arrow,
    prepare_incidents,
    text_arrow,
)
from geo.store._place_plan import plan_places
from geo.store._values import clean, plain, utcnow
from geo.store.places import write_places
from geo.store.workflow import Move, apply_moves

if TYPE_CHECKING:
    from geo.store._core import Store

#: What else a batch writes in its own transaction (:func:`commit_batch`'s ``within``):
#: called with the connection and the new batch's id.
BatchHook = Callable[[Connection, int], None]


@dataclass(frozen=True)
class CommittedBatch:
    """What a committed batch wrote, for a cache that follows the store (the map's
    snapshot file, :mod:`geo._snapshot_batch`) without reading a million rows back.

    ``audit_before`` and ``audit_after`` are the audit log's largest id read inside the
    batch's transaction, before it wrote and after its last entry. Every write holds the
    chains' append lock from its start (:meth:`geo.store.Store.write`), so the entries
    in between are exactly the batch's, and the store before it is the store at
    ``audit_before``.
    """

    batch_id: int
    ids: Sequence[int]  # the new incidents' ids, ascending, one per row of ``rows``
    rows: IncidentRows  # the new incidents' values as written
    audit_before: int
    audit_after: int


#: Called with a batch once its transaction has committed (:func:`commit_batch`).
Committed = Callable[[CommittedBatch], None]

#: Columns of :func:`lookup_existing`'s answer.
KEY_COLUMNS: tuple[str, ...] = ("id", "source", "source_id", "fingerprint", "status", "row")

#: Audit entries about these move with every write of incidents (see :func:`change_marker`).
_ABOUT_INCIDENTS = "object_type IN ('incident', 'batch')"

#: The identity rule (docs/storage.md, "Identity"): a key with a source id matches the
#: incident with that (source, source_id); a key without one matches the incident without
#: an id that has its fingerprint, in any source. Each side is an equality on a unique
#: index (``uq_incidents_source_id``, ``uq_incidents_fingerprint``), so every key matches
#: at most one stored row: the answer is never larger than the keys, however many stored
#: incidents share a fingerprint.
_LOOKUP_SQL = text(
    "SELECT k.pos, i.id, i.source, i.source_id, i.fingerprint, i.status "
    "FROM geo_keys k JOIN incidents i ON i.source = k.source AND i.source_id = k.source_id "
    "WHERE k.source_id IS NOT NULL "
    "UNION ALL "
    "SELECT k.pos, i.id, i.source, i.source_id, i.fingerprint, i.status "
    "FROM geo_keys k JOIN incidents i ON i.fingerprint = k.fingerprint AND i.source_id IS NULL "
    "WHERE k.source_id IS NULL"
)

def change_marker(store: Store) -> tuple[int, ...]:
    """A value that changes whenever the stored incidents may have changed.

    Every write of incidents appends to the audit log an entry about an incident or a
    batch (batches, status changes, recurrences), so the largest such id moves with them.
    SQLite runs one writer at a time, so ids grow in commit order; PostgreSQL may commit a
    smaller id after a larger one, so there the log's row count is part of the marker too.
    Cheap: an ingest compares it before committing to skip a second lookup of a million
    keys. Entries about other things (a ward layer loaded, a backup, a user) are left out.

    Parameters
    ----------
    store : Store
        The store.

    Returns
    -------
    tuple of int
        Compare for equality only; its length depends on the backend.
    """
    with store.read() as conn:
        return store.backend.change_marker(conn, _ABOUT_INCIDENTS)


def lookup_existing(store: Store, keys: pd.DataFrame) -> pd.DataFrame:
    """The stored incident each incoming row is, by the identity rule; at most one per row.

    A row with a ``source_id`` is the incident with the same (source, source_id) and no
    other: two rows with ids are one incident only if their ids match within one source,
    whatever their fingerprints. A row without one is the incident without an id that
    has its fingerprint, from any source (a renamed copy of a file without ids is still
    recognised); it never matches an incident that has an id. The same rule decides
    repeats inside one file (:func:`geo.ingest.classify`), and the store's unique indexes
    hold it against every writer (docs/storage.md, "Identity").

    Memory and time are linear in the rows: each key is an equality on a unique index.

    Parameters
    ----------
    store
        The store.
    keys
        ``source``, ``fingerprint`` and optionally ``source_id``, one row per incoming row.

    Returns
    -------
    pandas.DataFrame
        :data:`KEY_COLUMNS`: the stored incident's id, keys and status, and ``row``, the
        index of the input row it matches. Rows without a match are absent.
    """
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in KEY_COLUMNS})
    if keys.empty:
        return empty
    with store.read() as conn:  # an empty store matches nothing: skip the key upload
        if conn.exec_driver_sql("SELECT 1 FROM incidents LIMIT 1").first() is None:
            return empty
    source_id = keys["source_id"] if "source_id" in keys else pd.Series(None, index=keys.index, dtype=object)
    # Arrow columns, not a tuple per key: a million keys as tuples and back cost ~2 s
    table = pa.table({
        "pos": pa.array(np.arange(len(keys), dtype=np.int64)),
        **{c: text_arrow(v) for c, v in (("source", keys["source"]), ("source_id", source_id),
                                         ("fingerprint", keys["fingerprint"]))},
    })  # fmt: skip
    with store.engine.connect() as conn, conn.begin(), store.backend.temp_keys(conn, table):
        found = conn.execute(_LOOKUP_SQL).all()
    if not found:
        return empty
    frame = pd.DataFrame(found, columns=["pos", "id", "source", "source_id", "fingerprint", "status"])
    frame = frame.sort_values("pos", kind="stable").reset_index(drop=True)
    frame["row"] = keys.index.to_numpy()[frame["pos"].to_numpy()]
    frame["id"] = frame["id"].astype("int64")
    return frame[list(KEY_COLUMNS)]


def _new_ids(incidents: pd.DataFrame | None, ids: Sequence[int], updates: pd.DataFrame) -> dict[int, int]:
    """The id of each new incident a status update names by ``new_row`` (its
    ``row_number``): only those, not a dict of the whole batch (a million entries, ~0.5 s,
    for the few rows whose later status is in the same file)."""
    if incidents is None or "row_number" not in incidents or "new_row" not in updates:
        return {}
    wanted = pd.to_numeric(updates["new_row"].dropna()).to_numpy(dtype=np.int64)
    if not len(wanted):
        return {}
    rows = incidents["row_number"].to_numpy(dtype=np.int64)
    keep = np.isin(rows, wanted)
    return dict(zip(rows[keep].tolist(), np.asarray(ids, dtype=np.int64)[keep].tolist(), strict=True))


def _moves(updates: pd.DataFrame | None, new_ids: Mapping[int, int]) -> list[Move]:
    """Status updates as moves, in order: ``incident_id`` names a stored incident,
    ``new_row`` (when set) the row number of an incident this batch inserts, whose id
    ``new_ids`` gives; optional ``at`` and ``note``."""
    if updates is None or updates.empty:
        return []
    missing = [c for c in ("incident_id", "to_status") if c not in updates.columns]
    if missing:
        raise StorageError(
            f"Bảng cập nhật trạng thái thiếu cột: {', '.join(missing)}.",
            f"The status updates lack columns: {', '.join(missing)}.",
        )
    ids = updates["incident_id"].astype(object).to_numpy().copy()
    if "new_row" in updates:
        for pos, row in enumerate(updates["new_row"]):
            if not pd.isna(row):
                ids[pos] = new_ids[int(row)]
    at = updates["at"] if "at" in updates else pd.Series(None, index=updates.index)
    note = updates["note"] if "note" in updates else pd.Series(None, index=updates.index)
    return [
        (int(i), str(s), None if a is None or pd.isna(a) else a, None if n is None or pd.isna(n) else str(n))
        for i, s, a, n in zip(ids, updates["to_status"], at, note, strict=True)
    ]


#: First events encoded per run while their hashes are made (memory stays bounded).
_HASH_RUN_ROWS = 100_000


def _first_event_hashes(
    block: _chain.Block, prepared: IncidentRows, ids: Sequence[int], batch_id: int, actor: str, note: str
) -> bytes:
    """The hashes of a batch's first status events, as hex digits, 64 per event."""
    at = prepared.first_event_at()
    status = prepared.columns["status"]
    constants = {
        "from_status": _chain.Constant(None),
        "actor": _chain.Constant(actor),
        "note": _chain.Constant(note),
        "batch_id": _chain.Constant(batch_id),
    }

    def runs() -> Iterator[list[bytes]]:
        for lo in range(0, prepared.n, _HASH_RUN_ROWS):
            hi = min(prepared.n, lo + _HASH_RUN_ROWS)
            columns = {
                "id": np.asarray(block.ids[lo:hi], dtype=np.int64),
                "incident_id": np.asarray(ids[lo:hi], dtype=np.int64),
                "to_status": status[lo:hi],
                "at": iso_arrow(at[lo:hi]),
                **constants,
            }
            yield _chain.encode("status_events", columns, hi - lo)

    return _chain.chain_hex(block.prev, runs())


def _write_new_incidents(
    store: Store,
    conn: Connection,
    prepared: IncidentRows,
    ids: Sequence[int],
    batch_id: int,
    staged: bool,
    *,
    actor: str,
    note: str,
) -> None:
    """Write a batch's incidents and the first status event of each, hash-chained.

    The events' hashes are computed in a second thread while the database writes the
    incidents (SQLite and psycopg let go of the GIL meanwhile): the chain is a Python loop
    of one SHA-256 per event, which this hides behind the insert (a million events: ~1 s
    of CPU for their texts and hashes, next to ~4 s of writing).
    """
    block = _chain.reserve(store, conn, "status_events", prepared.n)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="geo-chain") as pool:
        hashing = pool.submit(_first_event_hashes, block, prepared, ids, batch_id, actor, note)
        store.backend.insert_incidents(conn, prepared, ids, batch_id, staged=staged)
        hashes = hashing.result()
    store.backend.insert_first_events(
        conn, FirstEvents(prepared, ids, block.ids, hashes, batch_id, actor=actor, note=note)
    )


def commit_batch(
    store: Store,
    batch: Mapping[str, Any],
    incidents: pd.DataFrame | None,
    status_updates: pd.DataFrame | None,
    *,
    actor: str,
    within: BatchHook | None = None,
    committed: Committed | None = None,
) -> int:
    """Store one upload in ONE transaction and return its batch id.

    Inserts the batch record, the new incidents with a first status event each, and
    moves existing incidents through the workflow. Any error — an invalid transition, a
    kill -9 — leaves the store exactly as before. An update to the incident's current
    status is a no-op. Audited as ``ingest`` in the same transaction.

    The insert is the re-check of what is new: the store's unique identity keys
    (docs/storage.md, "Identity") refuse an incident another writer stored after the
    caller classified the batch. The whole transaction then rolls back and
    :class:`~geo.errors.IdentityConflict` is raised, so the caller can classify again
    (:func:`geo.ingest.commit` does) and the race's loser reports those rows as
    duplicates. No extra query runs when nothing conflicts: the insert stays set-based.

    Parameters
    ----------
    store
        The store.
    batch
        ``file_name``, ``sha256``, ``source``, ``user`` (default: ``actor``) and
        ``counts`` (JSON-able) of the upload.
    incidents
        New incidents (see :func:`geo.store._batch_rows.prepare_incidents`); a row with
        ``recurrence_of`` marks that earlier incident ``recurred`` if it is cleared.
    status_updates
        ``incident_id``, ``to_status`` and optionally ``at`` and ``note``, in order; a
        row with ``new_row`` set moves the incident of ``incidents`` with that
        ``row_number`` instead (a later status of an incident new in this file).
    actor
        Recorded on the status events and the audit entry.
    within
        Called with the connection and the batch id after the new incidents are
        written and before the status moves: what else belongs to the batch (a field
        bundle's photos of stored incidents, which the clear-needs-photo rule of the
        moves must see) is written in the same transaction, so it goes when the batch
        is refused. Called again on each retry.
    committed
        Called once, after the transaction committed, with what it wrote
        (:class:`CommittedBatch`); an error it raises reaches the caller, but the batch
        is stored by then.

    Returns
    -------
    int
        The new batch's id.

    Raises
    ------
    IdentityConflict
        An incident of the batch is stored already (nothing was written).
    """
    now = utcnow()
    prepared = prepare_incidents(incidents, now, stamp_suffix=store.backend.stamp_suffix)
    n = prepared.n
    updates = status_updates if status_updates is not None else pd.DataFrame()
    counts = {str(k): plain(v) for k, v in dict(batch.get("counts") or {}).items()}
    file_name = clean(batch.get("file_name"))
    wrote: dict[str, Any] = {}  # the committed attempt's ids and audit ids (for ``committed``)

    def write_incidents(conn: Connection, staged: bool) -> tuple[int, Sequence[int], list[Move]]:
        """The batch record, its incidents placed (recurrence links in their rows), first
        events, places; returns the batch id, the incidents' ids and the moves of the
        incidents they recur from."""
        result = conn.execute(
            insert(store.tables["batches"]).values(
                file_name=file_name,
                sha256=batch.get("sha256"),
                source=clean(batch.get("source")),
                actor=clean(batch.get("user") or actor),
                created_at=now,
                n_incidents=n,
                n_status_updates=len(updates),
                counts=counts,
            )
        )
        batch_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        if not n:
            return batch_id, [], []
        assert incidents is not None
        ids = store.backend.reserve_ids(conn, "incidents", n)
        recurrences: list[Move] = [
            (old, "recurred", now, f"tái phạm: sự việc mới / recurred as incident {ids[pos]}")
            for pos, old in prepared.recurrences()
        ]
        # placed before the rows are written: the placing reads only what was stored before
        placing = plan_places(store, conn, incidents, ids)
        # the links in the rows (PostGIS's COPY, SQLite's bound rows or its staged file
        # joined with them at insert), not an UPDATE of rows written a moment before
        rows = prepared.with_links(placing.positions, placing.olds)
        note = f"nhập từ / imported from {file_name or 'batch'}"
        _write_new_incidents(store, conn, rows, ids, batch_id, staged, actor=actor, note=note)
        write_places(store, conn, placing, links_written=True)
        return batch_id, ids, recurrences + placing.moves

    def work(conn: Connection, staged: bool) -> int:
        if committed is not None:
            wrote["audit_before"] = _last_audit_id(conn)
        # the whole batch inside: its status updates and recurrence moves are written
        # before the indexes a large batch rebuilds are there to be updated
        with store.backend.large_batch(conn, n):
            batch_id, ids, recurrences = write_incidents(conn, staged)
            wrote["ids"] = ids
            if within is not None:
                within(conn, batch_id)
            applied = apply_moves(
                store,
                conn,
                _moves(updates, _new_ids(incidents, ids, updates)),
                actor=actor,
                batch_id=batch_id,
                recurrences=recurrences,
            )
        store.audit(
            actor,
            "ingest",
            "batch",
            batch_id,
            {
                "file_name": file_name,
                "sha256": batch.get("sha256"),
                "source": batch.get("source"),
                "incidents": n,
                "status_updates": applied,
                "counts": counts,
            },
            conn=conn,
        )
        if committed is not None:
            wrote["audit_after"] = _last_audit_id(conn)
        return batch_id

    try:
        with store.backend.staged_batch(prepared) as attach:
            batch_id = store.write(lambda conn: work(conn, bool(attach)), attach=attach)
    except Exception as exc:
        if not store.backend.is_identity_conflict(exc):
            raise
        raise IdentityConflict(
            f"Trong lúc nhập {file_name or 'lô'}, một lần nhập khác đã lưu một số sự việc "
            "của lô này; không có gì được ghi, hãy phân loại lại rồi ghi lại.",
            f"While {file_name or 'the batch'} was being stored, another upload stored "
            "some of its incidents; nothing was written: classify it again and retry.",
        ) from exc
    if committed is not None:
        committed(CommittedBatch(batch_id, wrote["ids"], prepared, wrote["audit_before"], wrote["audit_after"]))
    return batch_id


def _last_audit_id(conn: Connection) -> int:
    return int(conn.exec_driver_sql("SELECT max(id) FROM audit_log").scalar() or 0)
