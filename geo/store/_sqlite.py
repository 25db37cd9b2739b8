"""SQLite specifics: connection pragmas, write locking, guards, online backup, and
:class:`SQLiteBackend`, the store's :class:`~geo.store._backend.Backend` for a SQLite file
(large batches take the fast path of :mod:`geo.store._sqlite_bulk`).

Writers start with ``BEGIN IMMEDIATE`` so a transaction never has to upgrade a read lock
(the upgrade is what fails with "database is locked" even under a busy timeout); waiting
for the lock goes through SQLite's busy handler, and the store retries whole transactions
with backoff on top of that.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import shapely
from sqlalchemy import ColumnElement, Engine, Table, create_engine, event, func, select
from sqlalchemy.engine import Connection, make_url

from geo.errors import StorageError
from geo.store import _sqlite_bulk
from geo.store._backend import TEMP_KEY_COLUMNS
from geo.store._batch_rows import FIRST_EVENT_AT_SQL, FIRST_EVENT_COLUMNS
from geo.store._schema import IDENTITY_INDEXES, place_cell_sql
from geo.store._sqlite_bulk import attached, bulk_insert

if TYPE_CHECKING:
    from geo.store._batch_rows import FirstEvents, IncidentRows

#: Hà Nội time from UTC in SQLite's date functions (no daylight saving time there).
_LOCAL_OFFSET = "+7 hours"

#: How long one statement waits for the write lock before the store's retry loop takes over.
BUSY_TIMEOUT_S = 15.0

_PRAGMAS = (
    f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}",
    # 32 KiB pages for a new file (a no-op on an existing one, which keeps its size):
    # incident rows are ~400 bytes; a million-row batch is written and indexed in 4.8 s
    # instead of 7.2 s with 4 KiB pages (5.4 s with 16 KiB, no better with 64 KiB), and a
    # one-row status change stays under a millisecond. The cache below is sized in KiB.
    "PRAGMA page_size = 32768",
    "PRAGMA journal_mode = WAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA synchronous = NORMAL",  # WAL + NORMAL: atomic and crash-safe, fsync at checkpoints
    "PRAGMA cache_size = -65536",  # 64 MiB page cache: bulk index inserts stay in memory
    "PRAGMA temp_store = MEMORY",
    # REPLACE's implicit delete fires the DELETE guard (a second line behind the INSERT one)
    "PRAGMA recursive_triggers = ON",
)

#: REPLACE deletes the row it replaces without firing DELETE triggers unless
#: ``recursive_triggers`` is on (it is, on every connection of the store): the INSERT guard
#: below refuses an existing id before REPLACE gets that far, whoever connects.
_APPEND_ONLY = "{table} chỉ được ghi thêm / {table} is append-only"


def guard_triggers(table: str) -> dict[str, str]:
    """The triggers that keep ``table`` append-only, by name → their exact DDL.

    The text is what ``sqlite_master`` keeps, so opening a store compares it to find a
    guard that was dropped or changed (see :func:`repair_guards`).
    """
    message = _APPEND_ONLY.format(table=table)
    return {
        f"{table}_no_update": (
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        ),
        f"{table}_no_delete": (
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        ),
        f"{table}_no_replace": (
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "  # noqa: S608
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id) "
            f"BEGIN SELECT RAISE(ABORT, '{message}: id'); END"
        ),
    }


def database_path(url: str) -> Path | None:
    """The file of a SQLite URL; a URI filename (``sqlite:///file:PATH?mode=ro&uri=true``)
    names the file after ``file:`` (None for ``:memory:``)."""
    parsed = make_url(url)
    database = parsed.database
    if database and database.startswith("file:") and parsed.query.get("uri") == "true":
        database = database.removeprefix("file:")
    if not database or database == ":memory:":
        return None
    return Path(database)


def make_engine(url: str) -> Engine:
    path = database_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in _PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def install_guards(conn: Connection, tables: Sequence[str]) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    for table in tables:
        for statement in guard_triggers(table).values():
            raw.execute(statement)


def repair_guards(conn: Connection, tables: Sequence[str]) -> list[str]:
    """Re-create every guard trigger missing or changed, drop any other trigger on
    ``tables``; the names touched, sorted (empty when all was in place)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    expected = {name: sql for table in tables for name, sql in guard_triggers(table).items()}
    marks = ", ".join("?" * len(tables))
    found = dict(
        raw.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",  # noqa: S608
            tuple(tables),
        ).fetchall()
    )
    touched = []
    for name, sql in found.items():
        if expected.get(name) != sql:
            raw.execute(f'DROP TRIGGER "{name}"')
            touched.append(name)
    for name, sql in expected.items():
        if found.get(name) != sql:
            raw.execute(sql)
            touched.append(name)
    return sorted(set(touched))


def guard_names(conn: Connection, tables: Sequence[str]) -> list[str]:
    """Every trigger on ``tables``."""
    marks = ", ".join("?" * len(tables))
    rows = conn.exec_driver_sql(
        f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",  # noqa: S608
        tuple(tables),
    ).all()
    return [str(r[0]) for r in rows]


#: From this many first events on, the INSERT guard of ``status_events`` is dropped for
#: the insert and re-created after it, in the same transaction: it costs ~1 s per million
#: rows, and the ids are fresh by construction (the block after the largest id, reserved
#: under the write lock). A failure or a kill rolls the DDL back with the rows.
GUARD_SUSPEND_MIN_ROWS = 20_000

_FIRST_EVENTS_SQL = (
    f"INSERT INTO status_events ({FIRST_EVENT_COLUMNS}) "  # noqa: S608
    f"SELECT :first - :lo + i.id, i.id, NULL, i.status, {FIRST_EVENT_AT_SQL}, :actor, :note, "
    ":batch, CAST(substr(:hashes, (i.id - :lo) * 64 + 1, 64) AS TEXT) "
    "FROM incidents i WHERE i.id BETWEEN :lo AND :hi"
)


def insert_first_events(conn: Connection, events: FirstEvents) -> None:
    """Copy the events from the incident rows in one statement; the hashes arrive as one
    blob of hex digits, 64 per event, cut by position in C (a million rows: +0.25 s of CPU
    next to the same insert without hashes)."""
    incident_ids, ids = events.incident_ids, events.ids
    assert isinstance(incident_ids, range) and isinstance(ids, range)  # blocks after the top
    if not ids:
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    suspended = (
        guard_triggers("status_events")["status_events_no_replace"]
        if len(ids) >= GUARD_SUSPEND_MIN_ROWS
        else None
    )
    if suspended:
        raw.execute("DROP TRIGGER status_events_no_replace")
    raw.execute(
        _FIRST_EVENTS_SQL,
        {
            "first": ids.start, "lo": incident_ids.start, "hi": incident_ids[-1],
            "actor": events.actor, "note": events.note, "batch": events.batch_id,
            "hashes": events.hashes,  # a BLOB: substr() cuts it by byte offset, in O(1)
        },
    )  # fmt: skip
    if suspended:
        raw.execute(suspended)


def is_retryable(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


#: SQLite's message for a unique index violation names the index's columns.
_IDENTITY_MESSAGES = frozenset(
    "UNIQUE constraint failed: " + ", ".join(f"incidents.{c}" for c in columns)
    for columns, _where in IDENTITY_INDEXES.values()
)


def is_identity_conflict(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, sqlite3.IntegrityError) and str(orig).strip() in _IDENTITY_MESSAGES


def first_free_id(conn: Connection, table: str) -> int:
    """Next id of ``table``; the caller holds the write lock, so the block is ours."""
    raw = conn.connection.driver_connection
    assert raw is not None
    (top,) = raw.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()  # noqa: S608
    return int(top) + 1


def backup(db_path: Path, out: Path) -> Path:
    """Copy a live database with the online backup API into one self-contained file.

    The copy is made in a single step inside one read transaction, so it is a consistent
    snapshot even while another process is writing.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
            dst.commit()
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(tmp, out)
    return out


#: :data:`geo.store._place_states.STATES_WINDOW_SQL` on SQLite without the window's sort: one group per place.
#: The latest clearance is the row of the one ``max()`` (SQLite takes an aggregate
#: query's bare columns from that row): its key orders by ``cleared_at`` then id as the
#: window does (``char(1)`` sorts below every character of an instant, so a shorter text
#: that is a prefix of a longer one stays first, as in the window's text order; ids
#: zero-padded to 20 digits). Open incidents have no key and count in ``sum()``. A
#: place without a clearance gives one of its open rows, whose ``cleared_at`` is NULL:
#: "no clearance", as the window's first row says. ``{source}``: the join order.
_SQLITE_STATES_SQL = """
SELECT g.id, sum(i.cleared_at IS NULL) > 0, i.id, i.status, i.cleared_at,
       max(CASE WHEN i.cleared_at IS NOT NULL
                THEN i.cleared_at || char(1) || printf('%020d', i.id) END)
FROM {source} WHERE ip.place_id = g.id AND i.id = ip.incident_id
GROUP BY g.id
"""
#: Place by place through ``ix_incident_places_place_id``, each place's incidents looked
#: up by id (random pages of ``incidents``): what a batch joining few places reads.
_SQLITE_PROBE = "geo_place_ids g CROSS JOIN incident_places ip CROSS JOIN incidents i"
#: Every link in incident order (``incident_places``' rowid), the joined ones' incidents
#: read in id order (neighbouring rows, each page read once).
_SQLITE_SCAN = "incident_places ip CROSS JOIN geo_place_ids g CROSS JOIN incidents i"
#: Joined places per stored incident from which SQLite reads by :data:`_SQLITE_SCAN`.
#: On the 1M store (RESULTS.md, "near28, session 28"; CPU s, probe against scan):
#: 14,894 places 0.42 / 0.46, 29,787 0.65 / 0.61, 74,467 1.52 / 1.25, 148,934 (the
#: second 1M batch) 3.0–3.5 / 2.0–2.3; the window read those 148,934 in 4.2–5.4 s.
SQLITE_SCAN_PER_INCIDENT = 0.02


def states_sql(places: int, incidents: int) -> str:
    """SQLite's statement for ``places`` joined places in a store whose incident ids go
    up to ``incidents`` (a bound of the links, one per incident at most)."""
    scan = places >= SQLITE_SCAN_PER_INCIDENT * incidents
    return _SQLITE_STATES_SQL.format(source=_SQLITE_SCAN if scan else _SQLITE_PROBE)


class SQLiteBackend:
    """:class:`geo.store._backend.Backend` for one SQLite file (or ``:memory:``)."""

    name = "sqlite"
    spatial = False
    stamp_suffix = ""
    ids_in_commit_order = True  # one writer at a time
    one_state_isolation: str | None = None  # a read transaction reads one state of the WAL
    place_cell = place_cell_sql(postgis=False)

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def path(self) -> Path | None:
        return database_path(self.url)

    def make_engine(self) -> Engine:
        return make_engine(self.url)

    def begin_write(self, conn: Connection) -> None:
        conn.execution_options(sqlite_begin="IMMEDIATE")

    def serialize_on(self, conn: Connection, key: int) -> None:
        pass  # BEGIN IMMEDIATE: one writer at a time already

    def attached(self, conn: Connection, files: Mapping[str, Path]) -> AbstractContextManager[None]:
        return attached(conn, files)

    def is_retryable(self, exc: BaseException) -> bool:
        return is_retryable(exc)

    def is_identity_conflict(self, exc: BaseException) -> bool:
        return is_identity_conflict(exc)

    def prepare_migration(self, conn: Connection) -> str | None:
        return None  # the write lock serialises migrations; one schema per file

    def install_guards(self, conn: Connection, tables: Sequence[str]) -> None:
        install_guards(conn, tables)

    def repair_guards(self, conn: Connection, tables: Sequence[str]) -> list[str]:
        return repair_guards(conn, tables)

    def drop_guards(self, conn: Connection, tables: Sequence[str]) -> None:
        for name in guard_names(conn, tables):
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')

    def lock_chains(self, conn: Connection) -> None:
        pass  # the write transaction holds the database's only write lock already

    def instant_text(self, column: str) -> str:
        return column  # stored as that text

    @contextmanager
    def exclusive_lock(self, engine: Engine, *, name: str, key: int) -> Iterator[None]:
        """A file lock beside the database (no lock for ``:memory:`` or off POSIX)."""
        path = self.path
        try:
            import fcntl
        except ImportError:  # not POSIX: callers re-check under the lock anyway
            fcntl = None  # type: ignore[assignment]
        if path is None or fcntl is None:
            yield
            return
        lock_path = path.with_name(f"{path.name}.{name}.lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def lock_places(self, conn: Connection) -> None:
        """Nothing to do: a SQLite write transaction holds the whole file already."""

    def index_probes(self, conn: Connection) -> AbstractContextManager[None]:
        return nullcontext()  # CROSS JOIN fixes SQLite's loop order: ranges outside, index inside

    def place_states_sql(self, conn: Connection, places: int) -> str:
        """Without the window's sort (:func:`states_sql`), by the join order the share of
        joined places calls for (the incidents' largest id: one index look-up)."""
        incidents = int(conn.exec_driver_sql("SELECT max(id) FROM incidents").scalar() or 0)
        return states_sql(places, incidents)

    def reserve_ids(self, conn: Connection, table: str, n: int, *, locked: bool = False) -> range:
        first = first_free_id(conn, table)  # the write lock is held: the block is ours
        return range(first, first + n)

    def bulk_insert(
        self,
        conn: Connection,
        table: str,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        *,
        constants: Mapping[str, Any] | None = None,
    ) -> None:
        bulk_insert(conn, table, columns, rows, constants=constants)

    @contextmanager
    def temp_keys(self, conn: Connection, keys: Any) -> Iterator[None]:
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.geo_keys")
        conn.exec_driver_sql(
            "CREATE TEMP TABLE geo_keys (pos INTEGER, source TEXT, source_id TEXT, fingerprint TEXT)"
        )
        columns = [keys.column(c).to_pylist() for c in TEMP_KEY_COLUMNS]
        bulk_insert(conn, "temp.geo_keys", TEMP_KEY_COLUMNS, list(zip(*columns, strict=True)))
        yield
        conn.exec_driver_sql("DROP TABLE temp.geo_keys")

    def staged_batch(self, prepared: IncidentRows) -> AbstractContextManager[dict[str, Path]]:
        return _sqlite_bulk.staged_batch(prepared)

    def large_batch(self, conn: Connection, rows: int) -> AbstractContextManager[None]:
        """The page cache widened for the whole batch (:func:`~geo.store._sqlite_bulk.wide_cache`):
        what the batch wrote is read again by its later statements and its commit, and
        read back from the WAL through the kernel when it was evicted; insert_incidents
        rebuilds the indexes that pay for it. A small batch leaves the cache alone."""
        if rows < _sqlite_bulk.REBUILD_MIN_ROWS:
            return nullcontext()
        return _sqlite_bulk.wide_cache(conn, rows, _sqlite_bulk.BATCH_CACHE_KIB_PER_ROW)

    def insert_incidents(
        self,
        conn: Connection,
        prepared: IncidentRows,
        ids: Sequence[int],
        batch_id: int,
        *,
        staged: bool,
    ) -> None:
        _sqlite_bulk.insert_incidents(conn, prepared, ids, batch_id, staged=staged)

    def insert_first_events(self, conn: Connection, events: FirstEvents) -> None:
        insert_first_events(conn, events)

    def insert_places(self, conn: Connection, places: Any, links: Any) -> None:
        """The places staged with the batch or bound row by row
        (:func:`geo.store._sqlite_bulk.insert_places`), the links by one statement
        (:func:`geo.store._sqlite_bulk.insert_links`); a batch as large as the table is
        written with its indexes rebuilt (:func:`geo.store._sqlite_bulk.indexes_for_insert`)."""
        if places.num_rows:
            _sqlite_bulk.insert_places(conn, places)
        if links.num_rows:
            _sqlite_bulk.insert_links(conn, links)

    def change_marker(self, conn: Connection, about: str) -> tuple[int, ...]:
        """Ids grow in commit order here: the largest two say it all."""
        top = conn.exec_driver_sql("SELECT max(id) FROM incidents").scalar()
        audit = conn.exec_driver_sql(
            f"SELECT id FROM audit_log WHERE {about} ORDER BY id DESC LIMIT 1"  # noqa: S608
        ).scalar()
        return (int(top or 0), int(audit or 0))

    def backup(self, out: Path) -> Path:
        path = self.path
        if path is None:
            raise StorageError("Không sao lưu được CSDL trong bộ nhớ.", "An in-memory database cannot be backed up.")
        return backup(path, Path(out))

    def geometry_param(self, geom: shapely.Geometry) -> bytes:
        return bytes(shapely.to_wkb(geom))

    def geometry_wkb(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return column  # stored as WKB

    def bbox_conditions(
        self, incidents: Table, bbox: tuple[float, float, float, float]
    ) -> list[ColumnElement[bool]]:
        minx, miny, maxx, maxy = bbox
        return [incidents.c.lon.between(minx, maxx), incidents.c.lat.between(miny, maxy)]

    def assign_in_database(self, conn: Connection) -> pd.DataFrame | None:
        return None  # no spatial SQL: geo.store.wards assigns in Python

    def filter_value(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return column.concat("")  # same values; no index on the column alone serves it

    def local_day(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.date(column, _LOCAL_OFFSET)

    def local_week(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.date(column, _LOCAL_OFFSET, "weekday 0", "-6 days")

    def days_between(self, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.julianday(later) - func.julianday(earlier)

    def median_by(
        self,
        conn: Connection,
        key: ColumnElement[Any],
        values: ColumnElement[Any],
        where: ColumnElement[bool],
    ) -> pd.Series:
        """SQLite has no median: the values are read and grouped by pandas.

        Read as two columns, not as a frame of SQLAlchemy rows: pandas asks each row for
        attributes a ``Row`` answers by raising and catching an exception, which cost
        about 10 s of CPU for the 300,000 clearances of a million-incident store.
        """
        rows = conn.execute(select(key.label("key"), values.label("days")).where(where)).all()
        frame = pd.DataFrame({"key": [r[0] for r in rows], "days": [r[1] for r in rows]}, dtype=object)
        frame["days"] = pd.to_numeric(frame["days"])
        return frame.groupby("key", dropna=True)["days"].median().astype(float)

    def stream_rows(
        self, conn: Connection, sql: str, size: int, params: Sequence[Any] = ()
    ) -> Iterator[list[tuple[Any, ...]]]:
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(sql, tuple(params))
            while rows := cursor.fetchmany(size):
                yield rows
        finally:
            cursor.close()

    def fetch_rows(self, conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # the driver's own cursor: SQLAlchemy's Row objects cost more than the fetch itself
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(sql, tuple(params))
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        finally:
            cursor.close()
        return rows
