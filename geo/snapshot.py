"""The store's incidents as a few column arrays, for views that need every point.

A density view of a million incidents cannot read a million rows through SQLAlchemy on
every filter change (about 10 s here). A snapshot reads only the columns that the filters
and a density grid use, once per store version (about 40 MB per million incidents); each
view is then a boolean mask computed in milliseconds.

Each incident's EPSG:32648 metres (``x``, ``y``) are kept beside its degrees, projected
once where rows enter a snapshot (:func:`geo._snapshot_read.with_metres`: a full load, a
patch, an ingest's update of the file) rather than for every point on each first map page,
where that was a quarter of the page at 10M. They are float64, 16 bytes per incident (160 MB
at 10M): float32 carries only 24 bits, so at Hà Nội's 2.3 million metres of northing a
value is rounded to the nearest 0.25 m, which moves a point near a cell edge into the next
cell, and the grid must be the one counted from the degrees.

:func:`store_version` changes with every write, because every write appends to the audit
log, so a snapshot cached under its version is never stale. A refresh reads only the
log's largest id (:func:`audit_in`) while nothing was written: counting the incidents on
every page run was a scan of the table on PostgreSQL. Filtering a snapshot
is :meth:`geo.store.filters.IncidentFilter.mask`, which selects exactly the rows that
the filter's SQL selects (tests/store/test_incident_filter.py compares them on both backends).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo import _snapshot_file
from geo._snapshot_read import CATEGORIES, HELD, NAMED, SELECT, TIMES, one_state, read_arrays

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from geo.store import Store


def store_version(store: Store) -> tuple[int, int, int]:
    """(incidents, their largest id, the audit log's largest id): changes with every write.

    Parameters
    ----------
    store : Store
        The store.

    Returns
    -------
    tuple of int
        (incident count, largest incident id, largest audit-log id); 0 where empty.
    """
    with one_state(store) as conn:
        return version_in(conn)


def version_in(conn: Connection) -> tuple[int, int, int]:
    """:func:`store_version` read in ``conn``'s transaction, so that what else is read
    there is of the same store state (:func:`one_state`; :mod:`geo._snapshot_batch`).

    Parameters
    ----------
    conn : sqlalchemy.Connection
        A connection of the store, in or about to begin a transaction.

    Returns
    -------
    tuple of int
        (incident count, largest incident id, largest audit-log id); 0 where empty.
    """
    # three statements, because SQLite counts a table alone from its b-tree (0.02 s at
    # 4M) but scans an index for count(*) with max(id) in one (0.42 s)
    count = conn.exec_driver_sql("SELECT count(*) FROM incidents").scalar()
    top = conn.exec_driver_sql("SELECT max(id) FROM incidents").scalar()
    return int(count or 0), int(top or 0), audit_in(conn)


def audit_in(conn: Connection) -> int:
    """The audit log's largest id in ``conn``'s transaction (0: empty), the last part of
    :func:`version_in`: one lookup at the end of its primary key on either database.

    It alone says whether the incidents changed since a snapshot (:func:`_refreshed`):
    every write that changes them appends to the audit log in its own transaction
    (an ingest's batch entry and one per move; a status move, a recurrence, an accepted
    resident's report, a places rebuild or the schema's placing of unplaced incidents,
    each with its moves' entries; nothing deletes an incident), and the log's ids
    follow commit order on both databases (every append holds the chains' lock until
    commit, :meth:`geo.store.Store.write`). tests/test_snapshot_writes.py patches a
    snapshot after each of those writes and compares it with a fresh read.

    Parameters
    ----------
    conn : sqlalchemy.Connection
        As for :func:`version_in`.

    Returns
    -------
    int
        The audit log's largest id; 0 when it is empty.
    """
    return int(conn.exec_driver_sql("SELECT max(id) FROM audit_log").scalar() or 0)


@dataclass(frozen=True)
class IncidentSnapshot:
    """Filterable columns of every stored incident, as arrays (categoricals as codes)."""

    version: tuple[int, int, int]
    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    x: np.ndarray  # EPSG:32648 easting of lon/lat, metres (float64; :func:`~geo._snapshot_read.with_metres`)
    y: np.ndarray  # EPSG:32648 northing of lon/lat, metres
    codes: dict[str, np.ndarray]  # column -> int32 code per incident (-1: NULL)
    labels: dict[str, np.ndarray]  # column -> the distinct values the codes point into
    times: dict[str, np.ndarray]  # column -> UTC datetime64[ns] (NaT: NULL)
    rows_read: int = 0  # rows this snapshot's refresh read from the store (diagnostics)
    unsaved: int = 0  # rows patched in since the snapshot file last matched it (:func:`up_to_date`)

    def __len__(self) -> int:
        return len(self.lat)

    def points(self, keep: np.ndarray) -> pd.DataFrame:
        """``lat``/``lon`` and metres ``x``/``y`` of the selected rows (what a density grid needs).

        Parameters
        ----------
        keep : numpy.ndarray
            A bool mask over the snapshot's rows (or an index array).

        Returns
        -------
        pandas.DataFrame
            ``lat`` and ``lon`` in EPSG:4326 degrees, ``x`` and ``y`` in EPSG:32648 metres.
            When ``keep`` selects every row (the first map page: no filter), the columns
            are read-only views of the snapshot's arrays, not copies.

        Notes
        -----
        The first map page draws every incident. Copying four float columns for it, and
        letting pandas stack them into one block (a second copy), wrote 640 MB of fresh
        memory at 10M, about a third of that page's time. No column is copied when all
        rows are kept, and none is stacked: the frame holds the arrays it is given
        (``copy=False``). A view is made read-only, so a write through the frame raises
        instead of changing the snapshot that every session shares.
        """
        if keep.dtype == np.bool_ and len(keep) == len(self) and bool(keep.all()):
            columns = {"lat": self.lat, "lon": self.lon, "x": self.x, "y": self.y}
            return pd.DataFrame({name: _read_only(values) for name, values in columns.items()}, copy=False)
        return pd.DataFrame(
            {"lat": self.lat[keep], "lon": self.lon[keep], "x": self.x[keep], "y": self.y[keep]}, copy=False
        )


def _read_only(values: np.ndarray) -> np.ndarray:
    """A view of ``values`` that cannot be written through (``values`` itself is left as it is)."""
    view = values.view()
    view.flags.writeable = False
    return view


#: A refresh reads everything again when the audit log names more than this share of
#: the snapshot's incidents since its version. Read through the subquery, a changed
#: incident cost 1.2-1.5 times the CPU of a row of the whole table read in id order (2M
#: store, warm cache: 5.4-6.6 against 4.5 us; benchmarks/RESULTS.md "first page after a
#: batch, session 23"), so the patch stops paying at about 0.7; half leaves room for
#: a colder cache, where lookups lose more to a sequential read.
PATCH_SHARE = 0.5

#: Rows a process patches into its snapshot before it writes the file again. Rewriting
#: the whole file after one status move made the map's rerun after every officer's write
#: grow with the store (6.6 s at 10M, benchmarks/RESULTS.md "10M curve, session 24"),
#: while a fresh process patches the few rows since an older file in milliseconds (the
#: audit log names them); at about 5 us a looked-up row, 50,000 cost a fresh first page
#: about 0.3 s, and the file is written once per that many instead of once per write.
REWRITE_ROWS = 50_000


def _snapshot(
    version: tuple[int, int, int], arrays: dict[str, np.ndarray], index: dict[str, dict[Any, int]], rows_read: int
) -> IncidentSnapshot:
    return IncidentSnapshot(
        version=version,
        ids=arrays["id"],
        lat=arrays["lat"],
        lon=arrays["lon"],
        x=arrays["x"],
        y=arrays["y"],
        codes={column: arrays[column] for column in CATEGORIES},
        labels={column: np.asarray(list(index[column]), dtype=object) for column in CATEGORIES},
        times={column: arrays[column] for column in TIMES},
        rows_read=rows_read,
    )


def load_snapshot(store: Store) -> IncidentSnapshot:
    """Read the whole snapshot in one query, with the version in the same state of the
    store (:func:`one_state`), :data:`geo._snapshot_read.CHUNK_ROWS` rows at a time.

    Parameters
    ----------
    store : Store
        The store.

    Returns
    -------
    IncidentSnapshot
        Every incident's id, EPSG:4326 lat/lon, category codes and UTC instants, as arrays
        ordered by id.
    """
    index: dict[str, dict[Any, int]] = {column: {} for column in CATEGORIES}
    with one_state(store) as conn:
        version = version_in(conn)
        arrays = read_arrays(store, conn, f"{SELECT} ORDER BY id", (), index)
    return _snapshot(version, arrays, index, len(arrays["id"]))


def _changed_count(store: Store, conn: Connection, since_audit: int, top: int) -> int:
    """How many incidents up to id ``top`` the audit log names after ``since_audit``
    (an upper bound: the ids are not checked against the incidents)."""
    rows = store.backend.fetch_rows(  # the backend's driver cursor: `?` on either database
        conn,
        f"SELECT count(DISTINCT n) FROM ({NAMED}) AS named WHERE n BETWEEN 1 AND ?",  # noqa: S608
        (since_audit, top),
    )
    return int(rows[0][0] or 0) if rows else 0


def up_to_date(snapshot: IncidentSnapshot | None, store: Store) -> IncidentSnapshot:
    """``snapshot`` at the store's current version, reading as little as possible.

    Without a snapshot (a freshly started process) the one persisted in
    ``GEO_SNAPSHOT_DIR`` is taken as the starting point when it passes every check of
    :mod:`geo._snapshot_file` (else it is ignored). A result read whole is persisted for
    the next process; patched rows are persisted once :data:`REWRITE_ROWS` of them have
    gathered since the file (the next process patches fewer from the file as cheaply, and
    rewriting a 10M file after each status move cost seconds per write). One that only
    moved past audit entries about other things, a sign-in say, is not persisted either.
    Unchanged store: the same object. On SQLite, which runs one writer at a time so audit
    ids and new incident ids grow in commit order, only the incidents added since and
    those the audit log names (every status change is audited) are read and patched in;
    a status change on a million-incident store then costs milliseconds, not a reload.
    PostgreSQL patches the same way (see :func:`_refreshed` for why that holds there).
    Otherwise (fewer incidents than before, a very large change, a row the patch cannot
    account for) it reloads.

    Parameters
    ----------
    snapshot : IncidentSnapshot or None
        The snapshot held so far (None: none yet); it is never modified.
    store : Store
        The store.

    Returns
    -------
    IncidentSnapshot
        ``snapshot`` itself when unchanged, else a patched or freshly loaded one.
    """
    start = snapshot if snapshot is not None else _snapshot_file.read(store)
    current = _refreshed(start, store)
    if current is start or not current.rows_read:  # a sign-in's audit entry alone: no rewrite
        return current
    whole = current.rows_read >= len(current)  # read everything: persist it
    unsaved = current.rows_read + (0 if whole or start is None else start.unsaved)
    if whole or unsaved >= REWRITE_ROWS:
        _snapshot_file.write(current, store)
        unsaved = 0
    return replace(current, unsaved=unsaved)


def _refreshed(snapshot: IncidentSnapshot | None, store: Store) -> IncidentSnapshot:
    """:func:`up_to_date` without the file: patch ``snapshot``, or read it all again.

    The patch reads the incidents added since (ids above the snapshot's largest, read
    whole by any refresh) and the older ones the audit log names since the snapshot's
    version, through a subquery on the log, however many there are. Only when more than
    :data:`PATCH_SHARE` of the older ones changed does it read them all again.

    Both databases: audit ids follow commit order on each (appends to the hash chain
    hold its lock until commit), so the entries after the version are exactly the writes
    since. Incident ids need not: on PostgreSQL a batch that drew its ids early may commit
    after later ones, below the snapshot's largest id and named only by its batch's entry.
    Such rows are not read by the patch, so its count falls short of the store's and it
    reads everything again (the count check at the end), as it did on every write before.
    The version and the rows are read in one state of the store (:func:`one_state`): a
    row committed in between would be read but not counted, and could make up for one
    the patch missed. The whole version is read only when the audit log moved on since
    the snapshot's: its largest id alone says whether anything was written (:func:`audit_in`).
    """
    if snapshot is None:  # one full load, which reads the version with the rows
        return load_snapshot(store)
    with one_state(store) as conn:
        if audit_in(conn) == snapshot.version[2]:  # no write since: no count of the incidents
            return snapshot
        version = version_in(conn)
        patched = _patched(snapshot, store, conn, version)
    return load_snapshot(store) if patched is None else patched


def _patched(
    snapshot: IncidentSnapshot, store: Store, conn: Connection, version: tuple[int, int, int]
) -> IncidentSnapshot | None:
    """:func:`_refreshed`'s patch of ``snapshot`` to ``version``, read in ``conn`` (the
    state ``version`` was read in); None where it must read everything again."""
    if version[0] < len(snapshot) or version[2] < snapshot.version[2]:
        return None
    top = int(snapshot.ids[-1]) if len(snapshot) else 0
    if _changed_count(store, conn, snapshot.version[2], top) > PATCH_SHARE * len(snapshot):
        return None
    index = {column: {v: i for i, v in enumerate(snapshot.labels[column])} for column in CATEGORIES}
    old = read_arrays(  # the older incidents named since, then the new ones
        store, conn, f"{SELECT} WHERE id <= ? AND id IN ({NAMED}) ORDER BY id",
        (top, snapshot.version[2]), index,
    )  # fmt: skip
    new = read_arrays(store, conn, f"{SELECT} WHERE id > ? ORDER BY id", (top,), index)
    rows_read = len(old["id"]) + len(new["id"])
    if not rows_read and len(snapshot) == version[0]:  # only other things were audited
        return replace(snapshot, version=version, rows_read=0)  # no copy of the arrays
    return patch(snapshot, version, new, old, index, rows_read)


def patch(
    snapshot: IncidentSnapshot,
    version: tuple[int, int, int],
    new: dict[str, np.ndarray],
    changed: dict[str, np.ndarray],
    index: dict[str, dict[Any, int]],
    rows_read: int,
) -> IncidentSnapshot | None:
    """``snapshot`` with the rows ``new`` appended and the rows ``changed`` overwritten,
    labelled ``version``; None when that cannot be the store at ``version``.

    ``new`` and ``changed`` hold :data:`HELD` (the read columns and their metres,
    :func:`geo._snapshot_read.with_metres`) with categories coded in ``index`` (the
    snapshot's labels, extended). ``new`` must be ascending and above the snapshot's ids;
    ``changed`` may name any row of either. None: an id the result does not hold (the
    caller reads the store whole), or a result whose length is not ``version``'s count
    (a write the caller did not account for). The old snapshot is never modified; when no
    row is added, a column none of whose changed rows differs is shared with it, not
    copied (a status move copied every column: 12 arrays, 160 MB at 2M, for one code).

    Parameters
    ----------
    snapshot : IncidentSnapshot
        The snapshot patched.
    version : tuple of int
        The store version the result stands for.
    new, changed : dict of numpy.ndarray
        Rows appended and rows overwritten, one array per column of :data:`HELD`.
    index : dict
        Per category column, value → code: the snapshot's labels with any new ones.
    rows_read : int
        Recorded as the result's ``rows_read``.

    Returns
    -------
    IncidentSnapshot or None
        The patched snapshot, or None when it cannot be the store at ``version``.
    """
    held = {
        "id": snapshot.ids, "lat": snapshot.lat, "lon": snapshot.lon, "x": snapshot.x, "y": snapshot.y,
        **snapshot.codes, **snapshot.times,
    }
    return patch_columns(held.__getitem__, version, [new], changed, index, rows_read)


def patch_columns(
    held: Callable[[str], np.ndarray],
    version: tuple[int, int, int],
    new: Sequence[dict[str, np.ndarray]],
    changed: dict[str, np.ndarray],
    index: dict[str, dict[Any, int]],
    rows_read: int,
) -> IncidentSnapshot | None:
    """:func:`patch` of a snapshot whose columns ``held(column)`` gives one at a time,
    each asked for once ("id" first) and let go once its patched copy is made, with
    the rows appended in ascending parts ``new``, concatenated once with the old rows.

    The ingest's update of a 10M snapshot file reads the old file a column at a time
    through this (:mod:`geo._snapshot_batch`), so the old and the patched arrays never
    stand whole in memory together.

    Parameters
    ----------
    held : callable
        Column name of :data:`HELD` → that column of the snapshot patched.
    version, changed, index, rows_read
        As for :func:`patch`.
    new : sequence of dict of numpy.ndarray
        The rows appended, in parts that follow each other in id order.

    Returns
    -------
    IncidentSnapshot or None
        As :func:`patch`.
    """
    old_ids = held("id")
    grown = any(len(part["id"]) for part in new)
    # a copy when rows are added (other sessions may hold the old); shared, never written, when not
    ids = np.concatenate([old_ids, *(part["id"] for part in new)]) if grown else old_ids
    if grown and len(old_ids) and ids[len(old_ids)] <= old_ids[-1]:
        return None
    del old_ids
    if len(ids) != version[0]:  # a write this refresh cannot account for
        return None
    pos = np.searchsorted(ids, changed["id"])
    if len(pos) and (np.any(pos >= len(ids)) or np.any(ids[np.minimum(pos, len(ids) - 1)] != changed["id"])):
        return None  # an id the snapshot never had: start again

    def patched(column: str) -> np.ndarray:
        if column == "id":
            return ids
        old = held(column)
        if not grown and np.array_equal(old[pos], changed[column], equal_nan=True):
            return old  # shared: no row of it changed, and no snapshot's array is ever written
        out = np.concatenate([old, *(part[column] for part in new)])  # a copy: other sessions may hold the old
        out[pos] = changed[column]
        return out

    return _snapshot(version, {column: patched(column) for column in HELD}, index, rows_read)


def over_snapshot(read: Callable[..., pd.DataFrame]) -> Callable[..., pd.DataFrame]:
    """``read(store, *args, columns=...)`` called as ``(store, *args, snapshot=give)``.

    ``give`` returns the map's snapshot; it is called only when ``read`` runs, and the
    snapshot is brought up to date right then. Wrapped in :func:`geo._frame_file.persisted`
    (with ``unkeyed=("snapshot",)``), a kept answer is read without touching the snapshot
    (a freshly started process would otherwise load its file for nothing), and one that
    is computed is never older than the store state its file is named after, because that
    name was taken first. Without ``give``, ``read`` runs its SQL; so it does on
    PostgreSQL, whose server aggregates the figures itself, and where a batch that commits
    out of id order makes the snapshot read whole again (:func:`_refreshed`): a million
    rows reloaded for one figure would cost more than the server's own aggregate.

    The page's ``give`` refreshes the snapshot it shares between sessions already (it owns
    that cache), so on the page this second refresh finds the store unchanged and costs one
    lookup of the audit log's largest id (:func:`audit_in`, under 0.2 ms at 2M), returning
    the same object. It is kept because the guarantee must not rest on every caller's
    ``give``: one that hands a snapshot it holds without refreshing it (a test does) would
    otherwise have an older answer kept under a newer state's name, served to every later
    process until the store changes; and moving the only refresh here would leave the
    page's shared snapshot unpatched, so a fresh process would read its file once per figure.

    Parameters
    ----------
    read : callable
        A :mod:`geo.store.queries` read with a ``columns`` keyword.

    Returns
    -------
    callable
        ``read`` under its own name, taking ``snapshot=`` instead of ``columns=``.
    """

    def summed(
        store: Store, /, *args: Any, snapshot: Callable[[], IncidentSnapshot] | None = None, **kwargs: Any
    ) -> pd.DataFrame:
        patched = snapshot is not None and store.backend.ids_in_commit_order
        columns = up_to_date(snapshot(), store) if patched and snapshot is not None else None
        return read(store, *args, columns=columns, **kwargs)

    summed.__name__ = summed.__qualname__ = read.__name__
    summed.__doc__ = read.__doc__
    return summed
