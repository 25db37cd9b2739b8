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
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import shapely
from sqlalchemy import ColumnElement, Engine, Table, create_engine, event, func, select
from sqlalchemy.engine import Connection, make_url

from geo.errors import StorageError
from geo.store import _sqlite_bulk
from geo.store._backend import TEMP_KEY_COLUMNS
from geo.store._schema import IDENTITY_INDEXES
from geo.store._sqlite_bulk import attached, bulk_insert

if TYPE_CHECKING:
    from geo.store._batch_rows import IncidentRows

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
)

APPEND_ONLY_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} chỉ được ghi thêm / {table} is append-only'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} chỉ được ghi thêm / {table} is append-only'); END;
"""


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
        for statement in APPEND_ONLY_TRIGGERS.format(table=table).split(";\n"):
            if statement.strip():
                raw.execute(statement if statement.rstrip().endswith(";") else statement + ";")


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


class SQLiteBackend:
    """:class:`geo.store._backend.Backend` for one SQLite file (or ``:memory:``)."""

    name = "sqlite"
    spatial = False
    stamp_suffix = ""
    ids_in_commit_order = True  # one writer at a time

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def path(self) -> Path | None:
        return database_path(self.url)

    def make_engine(self) -> Engine:
        return make_engine(self.url)

    def begin_write(self, conn: Connection) -> None:
        conn.execution_options(sqlite_begin="IMMEDIATE")

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

    def reserve_ids(self, conn: Connection, table: str, n: int) -> range:
        first = first_free_id(conn, table)
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
    def temp_keys(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> Iterator[None]:
        conn.exec_driver_sql("DROP TABLE IF EXISTS temp.geo_keys")
        conn.exec_driver_sql(
            "CREATE TEMP TABLE geo_keys (pos INTEGER, source TEXT, source_id TEXT, fingerprint TEXT)"
        )
        bulk_insert(conn, "temp.geo_keys", TEMP_KEY_COLUMNS, rows)
        yield
        conn.exec_driver_sql("DROP TABLE temp.geo_keys")

    def staged_batch(self, prepared: IncidentRows) -> AbstractContextManager[dict[str, Path]]:
        return _sqlite_bulk.staged_batch(prepared)

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
        """SQLite has no median: the values are read and grouped by pandas."""
        rows = conn.execute(select(key.label("key"), values.label("days")).where(where)).all()
        frame = pd.DataFrame(list(rows), columns=["key", "days"])
        return frame.groupby("key", dropna=True)["days"].median().astype(float)

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
