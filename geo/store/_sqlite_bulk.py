"""SQLite's fast path for large ingest batches: staging, index rebuilds, a wider cache.

A million incidents are written in about 5 s (measured, see benchmarks/RESULTS.md) by
binding values in C (Arrow), keeping Python objects per chunk only, and rebuilding the
secondary indexes once instead of inserting a million random keys into them. Each step
happens inside the store's one write transaction, or outside the store (the scratch
file), so a failure or a kill leaves the store as it was.
"""

from __future__ import annotations

import os
import queue
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.engine import Connection

from geo.errors import StorageError
from geo.store._batch_rows import INSERT_CHUNK_ROWS
from geo.store._schema import INCIDENT_INSERT_COLUMNS

if TYPE_CHECKING:
    from geo.store._batch_rows import IncidentRows


def bulk_insert(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
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
#: The scratch file's settings: no journal, no syncs; big pages, as the store's.
STAGE_PRAGMAS: tuple[str, ...] = ("page_size = 32768", "journal_mode = OFF", "synchronous = OFF")


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
                for pragma in STAGE_PRAGMAS:
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
            raise _scratch_failure(failed[0], path)
    except BaseException:
        discard(path)
        raise
    return path


def _scratch_failure(exc: BaseException, path: Path) -> BaseException:
    """A scratch file that cannot be written (a full disk, mostly) as the bilingual error
    naming it; anything else as it is. The store has not been touched yet."""
    from adbc_driver_manager import Error as AdbcError

    if not isinstance(exc, AdbcError | OSError):
        return exc
    reason = " ".join(str(exc).split())
    error = StorageError(
        f"Không ghi được tệp tạm {path} (thư mục tạm có thể đã đầy): {reason}. Không có gì "
        "được lưu; dữ liệu đã có vẫn nguyên vẹn.",
        f"Cannot write the scratch file {path} (the temp directory may be full): {reason}. "
        "Nothing was stored; the data already there is intact.",
    )
    error.__cause__ = exc
    return error


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
    transaction has begun yet: SQLite attaches only outside one).

    On exit every schema attached since entry is detached, the ones the block attached
    itself too (a transaction's own scratch file, :func:`insert_places`: SQLite detaches
    only outside a transaction, so the block cannot); those of them that are scratch
    files are deleted. The files given are the caller's to delete.
    """
    if not files:
        yield
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    before = _schemas(raw)
    done: list[str] = []
    try:
        for schema, path in files.items():
            raw.execute(f'ATTACH DATABASE ? AS "{schema}"', (str(path),))
            done.append(schema)
        yield
    finally:
        added = {s: p for s, p in _schemas(raw).items() if s not in before and s not in ("main", "temp")}
        for schema in dict.fromkeys([*done, *added]):
            try:
                raw.execute(f'DETACH DATABASE "{schema}"')
            except sqlite3.Error:
                pass  # the connection is closing anyway
        for schema, path in added.items():
            if schema not in files and path.name.startswith(STAGE_PREFIX):
                discard(path)


def _schemas(raw: sqlite3.Connection) -> dict[str, Path]:
    """The connection's attached schemas: name → file."""
    try:
        return {name: Path(file) for _, name, file in raw.execute("PRAGMA database_list")}
    except sqlite3.Error:
        return {}  # the connection is closing: a scratch file goes with the next sweep


#: Temporary table of the recurrence links a staged batch's rows take at insert
#: (:func:`insert_staged`): batch position (the staged row's rowid − 1) → earlier incident.
STAGED_LINKS = "geo_staged_links"


def insert_staged(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    first_id: int,
    *,
    constants: Mapping[str, Any],
    links: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Copy the staged batch into ``table`` in file order, ids from ``first_id`` on.

    ``links`` (batch positions, earlier incident ids): their ``recurrence_of``, decided
    inside the transaction after the file was staged, joined in from a temporary table
    keyed by position, so each row is written once with its link (an ``UPDATE`` after
    would rewrite rows whose pages are evicted by then, and re-written WAL frames make
    the commit re-read the transaction's frames to redo their checksums).
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ["id", *columns]
    values = [f"{int(first_id) - 1} + b.rowid", *(f'b."{c}"' for c in columns)]
    for column, value in constants.items():
        (literal,) = raw.execute("SELECT quote(?)", (value,)).fetchone()
        names.append(column)
        values.append(str(literal))
    source = f'"{STAGED}".batch b'
    linked = links is not None and len(links[0]) > 0
    if linked:
        assert links is not None
        at = names.index("recurrence_of")
        own = values[at] if "recurrence_of" in columns else None
        # the rule links only rows without a link of their own
        values[at] = f"COALESCE({own}, l.old_id)" if own else "l.old_id"
        source += f" LEFT JOIN temp.{STAGED_LINKS} l ON l.pos = b.rowid"
        raw.execute(f"CREATE TEMPORARY TABLE {STAGED_LINKS} (pos INTEGER PRIMARY KEY, old_id INTEGER)")
        raw.executemany(
            f"INSERT INTO temp.{STAGED_LINKS} (pos, old_id) VALUES (?, ?)",  # noqa: S608
            zip((int(p) + 1 for p in links[0]), (int(o) for o in links[1]), strict=True),
        )
    raw.execute(
        f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM {source} ORDER BY b.rowid"
    )
    if linked:
        raw.execute(f"DROP TABLE temp.{STAGED_LINKS}")


#: A batch at least this large, into a table small next to it, is written with the
#: table's secondary indexes dropped and rebuilt in the same transaction: one sort per
#: index instead of a random B-tree insert per row.
REBUILD_MIN_ROWS = 20_000
#: "Small next to the batch", per table: the rows stored at most this many times the
#: batch's. Measured here (benchmarks/RESULTS.md, "sqlitemoves, session 22"; CPU, the
#: insert of a 1M-row batch inside a rolled-back transaction, indexes kept with the wide
#: page cache of :func:`wide_cache` against rebuilt):
#:
#: - places and links: rebuilt wins into an empty table (3.2–3.9 against 4.4–4.5 s) and
#:   for links as many as those stored (1.6 against 1.7–1.9 s at 1M); kept wins for 330,000
#:   places on 727,000 (3.0 against 3.5 s) or on a million (2.3–2.6 against 4.8–5.1 s),
#:   and for a million links on two (1.8–2.0 against 2.0 s);
#: - incidents (their indexes with random keys; the clustered ones are always kept):
#:   kept wins or ties from a table as large as the batch on (1M on 1M: 6.6–8.5 against
#:   8.6–8.8 s; on 2M: 7.6–8.6 against 9.9–14.2 s), and ties into an empty table.
REBUILD_TABLE_PER_BATCH: dict[str, float] = {"incidents": 0.25}
#: The same bound for every other table (places, incident_places).
REBUILD_TABLE_PER_BATCH_DEFAULT = 1.0


def rebuild_indexes_for(conn: Connection, table: str, rows: int, *, key: str = "id") -> bool:
    """Whether inserting ``rows`` into ``table`` is faster with its indexes rebuilt: a
    batch of :data:`REBUILD_MIN_ROWS` or more into a table holding at most
    :data:`REBUILD_TABLE_PER_BATCH` times as many rows (the span of its integer ``key``
    bounds its size: two index look-ups, not a count)."""
    if rows < REBUILD_MIN_ROWS:
        return False
    raw = conn.connection.driver_connection
    assert raw is not None
    (top,) = raw.execute(
        f"SELECT COALESCE(MAX({key}), 0) - COALESCE(MIN({key}), 1) + 1 FROM {table}"  # noqa: S608
    ).fetchone()
    bound = REBUILD_TABLE_PER_BATCH.get(table, REBUILD_TABLE_PER_BATCH_DEFAULT)
    return int(top) <= bound * rows


def insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]],
                *, count: int, key: str = "id") -> None:  # fmt: skip
    """:func:`bulk_insert` of ``count`` rows with the table's secondary indexes dropped
    and rebuilt (one sort each) when the table is small next to the rows
    (:func:`rebuild_indexes_for`), else with a page cache wide enough for the random
    index inserts. Inside the open transaction: a failure or a kill leaves the indexes
    and rows as they were. Foreign keys are checked as always.
    """
    with indexes_for_insert(conn, table, count, key=key):
        bulk_insert(conn, table, columns, rows)


@contextmanager
def indexes_for_insert(conn: Connection, table: str, count: int, *, key: str = "id") -> Iterator[None]:
    """Around an insert of ``count`` rows into ``table``: its secondary indexes dropped
    and rebuilt after (one sort each) when the table is small next to the rows
    (:func:`rebuild_indexes_for`), else a page cache wide enough for their random inserts.
    Inside the open transaction: a failure rolls the DDL back with the rows."""
    rebuilt = drop_indexes(conn, table) if rebuild_indexes_for(conn, table, count, key=key) else []
    with nullcontext() if rebuilt else wide_cache(conn, count):
        yield
        create_indexes(conn, rebuilt)


#: Schema name of a batch's new places, staged inside its transaction (:func:`insert_places`).
STAGED_PLACES = "geo_staged_places"
#: New places from this many on are staged through the Arrow driver, in a batch whose
#: incidents were (:data:`STAGED` attached: its :func:`attached` detaches and deletes
#: this file too when the transaction has ended).
STAGE_PLACES_MIN_ROWS = 50_000


def insert_places(conn: Connection, places: Any) -> None:
    """Write a batch's new places (an Arrow table of ``places`` columns) inside the open
    transaction, indexes as :func:`indexes_for_insert` decides.

    Many places in a staged batch go the incidents' way: the Arrow driver writes them to
    a scratch file of their own (columns bound in C, :func:`stage`), which is attached now
    (SQLite attaches inside a transaction; the batch's ``BEGIN IMMEDIATE`` has locked the
    incidents' file, so a second connection cannot write there) and copied with one
    ``INSERT … SELECT`` in file order. Fewer places, or no batch file, are bound row by
    row. The same rows either way; the foreign keys are checked.
    """
    raw = conn.connection.driver_connection
    assert raw is not None
    n = places.num_rows
    staged = n >= STAGE_PLACES_MIN_ROWS and any(
        name == STAGED for _, name, _ in raw.execute("PRAGMA database_list").fetchall())  # fmt: skip
    with indexes_for_insert(conn, "places", n):
        if (path := stage([places]) if staged else None) is None:
            bulk_insert(conn, "places", places.column_names, arrow_rows(places))
            return
        try:
            raw.execute(f'ATTACH DATABASE ? AS "{STAGED_PLACES}"', (str(path),))
        except BaseException:
            discard(path)
            raise
        columns = ", ".join(f'"{c}"' for c in places.column_names)
        raw.execute(
            f'INSERT INTO places ({columns}) SELECT {columns} FROM "{STAGED_PLACES}".batch ORDER BY rowid'  # noqa: S608
        )


#: A batch's links (:func:`insert_links`) in one statement: row ``n`` is incident
#: ``first + n`` and the place whose id is the ``n``-th run of ``width`` digits of
#: ``places`` (a BLOB: ``substr`` cuts it by byte offset, in O(1)). The recursive CTE
#: counts the rows in C; nothing is bound per row.
_LINKS_SQL = (
    "WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < :count) "
    "INSERT INTO incident_places (incident_id, place_id) "
    "SELECT :first + n, CAST(substr(:places, n * :width + 1, :width) AS INTEGER) FROM k"
)


def digits_blob(values: np.ndarray) -> tuple[bytes, int]:
    """Non-negative integers as one ASCII text of fixed-width, zero-padded decimals (and
    the width): what :data:`_LINKS_SQL` cuts back into integers."""
    width = len(str(int(values.max()))) if len(values) else 1
    out = np.empty((len(values), width), dtype=np.uint8)
    rest = values.astype(np.int64, copy=True)
    for j in range(width - 1, -1, -1):
        out[:, j] = rest % 10 + 48
        rest //= 10
    return out.tobytes(), width


def insert_links(conn: Connection, links: Any) -> None:
    """Write a batch's links (``incident_id``, ``place_id``; an Arrow table) inside the
    open transaction, indexes as :func:`indexes_for_insert` decides.

    A batch's incidents have ids without a gap (a block reserved after the largest), so
    the ids are counted in SQL and the place ids travel as one text of digits
    (:data:`_LINKS_SQL`): about 1 s less per million links than making and binding a
    tuple per row. Any other links (a rebuild of the places, in incident order with
    gaps) are bound row by row. The same rows either way; the foreign keys are checked.
    """
    n = links.num_rows
    incident = links.column("incident_id").to_numpy()
    place = links.column("place_id")
    gapless = n > 0 and place.null_count == 0 and int(incident[-1]) - int(incident[0]) == n - 1 and (
        n == 1 or bool(np.all(np.diff(incident) == 1)))  # fmt: skip
    places = place.to_numpy() if gapless else None
    if places is None or int(places.min()) < 0:
        insert_rows(conn, "incident_places", links.column_names, arrow_rows(links), count=n, key="incident_id")
        return
    blob, width = digits_blob(places)
    raw = conn.connection.driver_connection
    assert raw is not None
    with indexes_for_insert(conn, "incident_places", n, key="incident_id"):
        raw.execute(_LINKS_SQL, {"count": n, "first": int(incident[0]), "places": blob, "width": width})


def arrow_rows(table: Any, chunk_rows: int = INSERT_CHUNK_ROWS) -> Iterator[tuple[Any, ...]]:
    """The rows of an Arrow table as tuples, made one chunk at a time: ``executemany``
    binds them as they come, so at most one chunk of Python objects is alive (a million
    places and links as one list of tuples held about 0.4 GB at the batch's peak, and
    were freshly faulted-in memory each time)."""
    for batch in table.to_batches(max_chunksize=chunk_rows):
        yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)


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


#: Page cache while rows are inserted with a table's indexes kept: index pages of random
#: keys (fingerprints, times) stay in memory instead of being re-read, ~30 % faster at a
#: million rows.
BULK_CACHE_KIB_PER_ROW = 0.5
BULK_CACHE_MAX_KIB = 524_288
#: Page cache of a large batch's whole transaction (:meth:`SQLiteBackend.large_batch`),
#: 128 MiB at a million rows. With the connections' 64 MiB, the 1M ingest into an empty
#: store read 13.5 GB of its own pages back from the WAL through the kernel (measured,
#: benchmarks/RESULTS.md "SQLite ingest system CPU, session 23"): 5.3 GB of it were the
#: links' foreign-key probes into the 65 MB of places, which did not fit. With 128 MiB it
#: reads 7.2 GB; 512 MiB read 2.5 GB but added 0.5 GB to the peak and as many fresh
#: pages to fault in, which on this machine cost more system time than the reads saved.
BATCH_CACHE_KIB_PER_ROW = 0.125


@contextmanager
def wide_cache(conn: Connection, rows: int, kib_per_row: float | None = None) -> Iterator[None]:
    """This connection's page cache grown for a batch of ``rows`` for the duration, then
    set back to what it was; a no-op when it is as large already (nested batches)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    (before,) = raw.execute("PRAGMA cache_size").fetchone()
    (page,) = raw.execute("PRAGMA page_size").fetchone()
    per_row = BULK_CACHE_KIB_PER_ROW if kib_per_row is None else kib_per_row
    kib = min(BULK_CACHE_MAX_KIB, int(rows * per_row))
    if kib <= (-before if before < 0 else before * page // 1024):
        yield
        return
    raw.execute(f"PRAGMA cache_size = -{kib}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(before)}")



@contextmanager
def staged_batch(prepared: IncidentRows) -> Iterator[dict[str, Path]]:
    """Files to attach while ``prepared`` is written: a large batch is first written to a
    scratch file by the Arrow driver (columns bound in C), which the transaction then
    copies with one INSERT (see :func:`stage`); the file is deleted afterwards."""
    staged = stage(prepared.arrow_chunks(INSERT_CHUNK_ROWS)) if prepared.n >= STAGE_MIN_ROWS else None
    try:
        yield {STAGED: staged} if staged is not None else {}
    finally:
        if staged is not None:
            discard(staged)


def insert_incidents(
    conn: Connection, prepared: IncidentRows, ids: Sequence[int], batch_id: int, *, staged: bool
) -> None:
    """Write a batch's incidents in chunks inside the open transaction.

    Chunks bound the Python objects alive at once; values shared by every row go into the
    statement once. A batch into a table small next to it (:func:`rebuild_indexes_for`)
    is written without the secondary indexes whose keys arrive unordered, which are rebuilt (sorted once) before the transaction ends: SQLite
    DDL is transactional, so a failure or a kill leaves the old indexes and rows exactly
    as they were. ``staged``: the rows are in the attached scratch file already (as
    ``prepared.unlinked``; the recurrence links ``prepared.links`` are joined in).
    """
    constants = prepared.constants(batch_id)
    columns = [c for c in INCIDENT_INSERT_COLUMNS if c not in constants]
    rebuilt: list[str] = []
    if rebuild_indexes_for(conn, "incidents", prepared.n):
        rebuilt = drop_indexes(conn, "incidents", keep=prepared.keys_in_order)
    with nullcontext() if rebuilt else wide_cache(conn, prepared.n):
        if staged:
            assert isinstance(ids, range)  # one block above the largest id
            staged_rows = prepared.unlinked  # the file holds the rows as they were staged
            insert_staged(
                conn, "incidents", staged_rows.staged_columns(), ids.start,
                constants={**staged_rows.constants(batch_id), "batch_id": batch_id}, links=prepared.links,
            )  # fmt: skip
        for lo in range(0, 0 if staged else prepared.n, INSERT_CHUNK_ROWS):
            hi = min(prepared.n, lo + INSERT_CHUNK_ROWS)
            rows = prepared.rows(lo, hi, ids[lo:hi], batch_id, skip=constants)
            bulk_insert(conn, "incidents", columns, rows, constants=constants)
            del rows
        if rebuilt:
            create_indexes(conn, rebuilt)
