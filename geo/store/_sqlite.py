"""SQLite specifics: connection pragmas, write locking, bulk inserts, online backup.

Writers start with ``BEGIN IMMEDIATE`` so a transaction never has to upgrade a read lock
(the upgrade is what fails with "database is locked" even under a busy timeout); waiting
for the lock goes through SQLite's busy handler, and the store retries whole transactions
with backoff on top of that.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url

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
    database = make_url(url).database
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


def first_free_id(conn: Connection, table: str) -> int:
    """Next id of ``table``; the caller holds the write lock, so the block is ours."""
    raw = conn.connection.driver_connection
    assert raw is not None
    (top,) = raw.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()  # noqa: S608
    return int(top) + 1


def bulk_insert(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """``executemany`` with plain tuples on the driver connection, inside the open transaction.

    ``constants`` (column → value shared by every row) are written into the statement as
    literals quoted by SQLite itself, so each row binds fewer values.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    names = list(columns)
    marks = ["?"] * len(columns)
    for column, value in (constants or {}).items():
        (literal,) = raw.execute("SELECT quote(?)", (value,)).fetchone()
        names.append(column)
        marks.append(str(literal))
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(marks)})"  # noqa: S608
    raw.executemany(sql, rows)


#: Schema name of the scratch database a large batch is staged in.
STAGED = "geo_staged"
#: Batches from this size on are staged through the Arrow driver (when it is installed).
STAGE_MIN_ROWS = 50_000


def stage(tables: Iterable[Any]) -> Path | None:
    """Write Arrow tables (chunks of one batch) to a scratch SQLite file, table ``batch``.

    ``adbc_driver_sqlite`` binds Arrow columns in C: about 3 s less per million rows than
    ``executemany`` over Python tuples. It runs in a second thread, so the next chunk is
    being prepared while one is written. The file is outside the store, so a failure or a
    kill here leaves the store untouched. None when the driver is not installed (the
    caller then binds rows itself).
    """
    try:
        import adbc_driver_sqlite.dbapi as adbc
    except ImportError:
        return None
    sweep_stale_stages()
    handle, name = tempfile.mkstemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", suffix=".sqlite")
    os.close(handle)
    path = Path(name)
    chunks: queue.Queue[Any] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def write() -> None:
        try:
            with adbc.connect(str(path), autocommit=True) as con, con.cursor() as cursor:
                # a scratch file: no journal, no syncs; big pages, as the store's
                for pragma in ("page_size = 32768", "journal_mode = OFF", "synchronous = OFF"):
                    cursor.execute(f"PRAGMA {pragma}")
                    cursor.fetchall()
                first = True
                while (table := chunks.get()) is not None:
                    cursor.adbc_ingest("batch", table, mode="create" if first else "append")
                    first = False
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)
            while chunks.get() is not None:  # let the producer finish
                pass

    writer = threading.Thread(target=write, name="geo-stage", daemon=True)
    writer.start()
    try:
        try:
            for table in tables:
                if failed:
                    break
                chunks.put(table)
        finally:
            chunks.put(None)
            writer.join()
        if failed:
            raise failed[0]
    except BaseException:
        discard(path)
        raise
    return path


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)


#: Scratch files are named ``geo-batch-<pid>-<random>.sqlite`` in the temp directory.
STAGE_PREFIX = "geo-batch-"


def sweep_stale_stages(directory: Path | None = None) -> list[Path]:
    """Delete scratch files left by processes that no longer run (a kill -9 during a
    commit leaves its file behind); files of live processes are left alone."""
    removed = []
    for path in Path(directory or tempfile.gettempdir()).glob(f"{STAGE_PREFIX}*-*.sqlite"):
        pid_text = path.name[len(STAGE_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
            removed.append(path)
        except OSError:
            continue  # alive, but not ours to signal
    return removed


@contextmanager
def attached(conn: Connection, files: Mapping[str, Path]) -> Iterator[None]:
    """Attach database files for the duration (on the driver connection, so that no
    transaction has begun yet: SQLite attaches only outside one)."""
    if not files:
        yield
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    done: list[str] = []
    try:
        for schema, path in files.items():
            raw.execute(f'ATTACH DATABASE ? AS "{schema}"', (str(path),))
            done.append(schema)
        yield
    finally:
        for schema in done:
            try:
                raw.execute(f'DETACH DATABASE "{schema}"')
            except sqlite3.Error:
                pass  # the connection is closing anyway


def insert_staged(
    conn: Connection, table: str, columns: Sequence[str], first_id: int, *, constants: Mapping[str, Any]
) -> None:
    """Copy the staged batch into ``table`` in file order, ids from ``first_id`` on."""
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ["id", *columns]
    values = [f"{int(first_id) - 1} + rowid", *(f'"{c}"' for c in columns)]
    for column, value in constants.items():
        (literal,) = raw.execute("SELECT quote(?)", (value,)).fetchone()
        names.append(column)
        values.append(str(literal))
    raw.execute(
        f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608
        f'SELECT {", ".join(values)} FROM "{STAGED}".batch ORDER BY rowid'
    )


#: A batch at least this large, and at least half the size of the table, is written with
#: the table's secondary indexes dropped and rebuilt in the same transaction: one sort per
#: index instead of a random B-tree insert per row (1M rows: 9 s → 5 s here).
REBUILD_MIN_ROWS = 20_000


def rebuild_indexes_for(conn: Connection, table: str, rows: int) -> bool:
    """Whether inserting ``rows`` into ``table`` is faster with its indexes rebuilt."""
    if rows < REBUILD_MIN_ROWS:
        return False
    raw = conn.connection.driver_connection
    assert raw is not None
    (top,) = raw.execute(f"SELECT COALESCE(MAX(id), 0) - COALESCE(MIN(id), 1) + 1 FROM {table}").fetchone()  # noqa: S608
    return 2 * rows >= int(top)


def drop_indexes(
    conn: Connection, table: str, keep: Callable[[list[str]], bool] | None = None
) -> list[str]:
    """Drop ``table``'s secondary indexes inside the open transaction (except those whose
    column list ``keep`` accepts); returns the DDL of the dropped ones."""
    raw = conn.connection.driver_connection
    assert raw is not None
    found = raw.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY name",
        (table,),
    ).fetchall()
    dropped = []
    for name, sql in found:
        columns = [r[2] for r in raw.execute(f'PRAGMA index_info("{name}")').fetchall()]
        if keep is not None and keep(columns):
            continue
        raw.execute(f'DROP INDEX "{name}"')
        dropped.append(sql)
    return dropped


def create_indexes(conn: Connection, statements: Sequence[str]) -> None:
    """Recreate indexes from their saved DDL (inside the same transaction)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    for sql in statements:
        raw.execute(sql)


#: Page cache while a big batch is written: index pages of random keys (fingerprints,
#: times) stay in memory instead of being re-read, ~30 % faster at a million rows.
BULK_CACHE_KIB_PER_ROW = 0.5
BULK_CACHE_MAX_KIB = 524_288


def widen_cache(conn: Connection, rows: int) -> None:
    """Grow this connection's page cache for a batch of ``rows`` (reset by :func:`reset_cache`)."""
    kib = min(BULK_CACHE_MAX_KIB, int(rows * BULK_CACHE_KIB_PER_ROW))
    if kib > 65_536:
        conn.exec_driver_sql(f"PRAGMA cache_size = -{kib}")


def reset_cache(conn: Connection) -> None:
    conn.exec_driver_sql("PRAGMA cache_size = -65536")


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
