"""PostgreSQL + PostGIS specifics: locks, id blocks, spatial assignment, pg_dump, and
:class:`PostGISBackend`, the store's :class:`~geo.store._backend.Backend` for them.

Around it, by topic: COPY (the binary format and the sending) in
:mod:`geo.store._pg_copy`; a large batch's path (indexes and keys dropped and rebuilt,
incidents and places copied) in :mod:`geo.store._pg_bulk`; the guards of the append-only
tables in :mod:`geo.store._postgis_guards`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import ColumnElement, Engine, Table, create_engine, extract, func, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError

from geo.crs import LOCAL_TZ
from geo.errors import StorageError
from geo.store import _pg_bulk, _pg_copy
from geo.store._backend import TEMP_KEY_COLUMNS
from geo.store._batch_rows import INSERT_CHUNK_ROWS
from geo.store._place_states import STATES_WINDOW_SQL
from geo.store._postgis_guards import drop_guards, install_guards, repair_guards
from geo.store._schema import APPEND_ONLY, IDENTITY_INDEXES, place_cell_sql

if TYPE_CHECKING:
    import shapely

    from geo.store._batch_rows import FirstEvents, IncidentRows

_MIGRATION_LOCK = 7_274_274  # pg_advisory_xact_lock key: one migrating session at a time

#: One ward per point, as in :mod:`geo.assign`: smallest covering code, else the nearest
#: ward within the snapping distance measured in UTM 48N (ties: smallest code).
ASSIGN_SQL = """
SELECT i.id AS id,
       COALESCE(c.code, s.code) AS ward_code,
       CASE WHEN c.code IS NOT NULL THEN '' WHEN s.code IS NOT NULL THEN 'snapped'
            ELSE 'outside' END AS assign_flag
FROM incidents i
LEFT JOIN LATERAL (
  SELECT min(w.code) AS code FROM wards w
  WHERE w.valid_to IS NULL AND ST_Covers(w.geom, i.geom)
) c ON true
LEFT JOIN LATERAL (
  SELECT w.code FROM wards w
  WHERE c.code IS NULL AND w.valid_to IS NULL
    AND ST_DWithin(w.geom, i.geom, 0.001)
    AND ST_DWithin(ST_Transform(w.geom, 32648), ST_Transform(i.geom, 32648), :snap)
  ORDER BY ST_Distance(ST_Transform(w.geom, 32648), ST_Transform(i.geom, 32648)), w.code
  LIMIT 1
) s ON true
WHERE i.geom IS NOT NULL
"""


def normalise_url(url: str) -> str:
    """``postgresql://`` → ``postgresql+psycopg://`` (psycopg 3 is the driver we ship)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    import geoalchemy2  # noqa: F401  (registers the spatial DDL hooks)

    return create_engine(normalise_url(url), pool_pre_ping=True)


def lock_chains(conn: Connection) -> None:
    """SHARE ROW EXCLUSIVE conflicts with itself and with every INSERT, not with reads:
    one appender at a time until commit, so ids and hashes follow one order."""
    conn.exec_driver_sql(f"LOCK TABLE {', '.join(APPEND_ONLY)} IN SHARE ROW EXCLUSIVE MODE")


def migration_lock(conn: Connection) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})


def is_retryable(exc: BaseException) -> bool:
    import psycopg.errors

    orig = getattr(exc, "orig", exc)
    return isinstance(orig, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected)


def is_identity_conflict(exc: BaseException) -> bool:
    import psycopg.errors

    orig = getattr(exc, "orig", exc)
    return (
        isinstance(orig, psycopg.errors.UniqueViolation)
        and orig.diag.constraint_name in IDENTITY_INDEXES
    )


def reserve_block(conn: Connection, table: str, n: int) -> range:
    """``n`` consecutive ids in one step: the sequence moved on by ``n`` at once.

    Only under the table's append lock: nextval and setval are two steps, and another
    session's nextval in between would share an id of the block; with the lock held no one
    else can insert a row with it before the commit (a sequence is not transactional, so a
    stray nextval elsewhere costs only a gap)."""
    last = conn.execute(
        text("SELECT setval(CAST(:s AS regclass), nextval(CAST(:s AS regclass)) + :n - 1)"),
        {"s": conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar(), "n": n},
    ).scalar()
    assert last is not None
    return range(int(last) - n + 1, int(last) + 1)


def reserve_ids(conn: Connection, table: str, n: int) -> Sequence[int]:
    """``n`` new ids of ``table``'s sequence, ascending.

    The sequence is resolved once (``pg_get_serial_sequence`` per row cost 3 s of server
    time per million ids), and a block that came out contiguous, the usual case, is
    returned as a range instead of a million rows. When a concurrent writer took ids in
    between, that block is left as a gap (as a rolled-back transaction leaves one) and
    the ids are drawn again and read one by one.
    """
    if n <= 0:
        return []
    sequence = conn.execute(
        text("SELECT CAST(CAST(pg_get_serial_sequence(:t, 'id') AS regclass) AS oid)"), {"t": table}
    ).scalar_one()
    draw = f"SELECT nextval({int(sequence)}::regclass) AS v FROM generate_series(1, :n)"  # noqa: S608
    lo, hi = conn.execute(text(f"SELECT min(v), max(v) FROM ({draw}) AS s"), {"n": n}).one()  # noqa: S608
    if n and int(hi) - int(lo) + 1 == n:
        return range(int(lo), int(hi) + 1)
    return [int(r[0]) for r in conn.execute(text(draw + " ORDER BY v"), {"n": n})]


def pg_dump_binary() -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), reverse=True):
        return str(candidate)
    found = shutil.which("pg_dump")
    if not found:
        raise StorageError(
            "Không tìm thấy pg_dump để sao lưu PostgreSQL.",
            "pg_dump was not found; it is needed to back up PostgreSQL.",
        )
    return found


def backup(url: str, out: Path) -> Path:
    """``pg_dump -Fc`` of the database: a consistent snapshot taken in one transaction."""
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [pg_dump_binary(), "--format=custom", "--no-owner", f"--file={out}", libpq],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise StorageError(
            f"pg_dump thất bại khi sao lưu vào {out}: {done.stderr.strip()}",
            f"pg_dump failed while backing up to {out}: {done.stderr.strip()}",
        )
    return out


class PostGISBackend:
    """:class:`geo.store._backend.Backend` for a PostgreSQL database with PostGIS."""

    name = "postgis"
    spatial = True
    stamp_suffix = "+00:00"
    #: Concurrent writers: a smaller id may commit after a larger one.
    ids_in_commit_order = False
    #: READ COMMITTED (the default) gives each statement the state at its start.
    one_state_isolation: str | None = "REPEATABLE READ"
    place_cell = place_cell_sql(postgis=True)

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def path(self) -> Path | None:
        return None

    def make_engine(self) -> Engine:
        return make_engine(self.url)

    def begin_write(self, conn: Connection) -> None:
        pass  # READ COMMITTED with row locks: nothing to take up front

    def serialize_on(self, conn: Connection, key: int) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})

    def attached(self, conn: Connection, files: Mapping[str, Path]) -> AbstractContextManager[None]:
        if files:
            raise StorageError(
                "PostgreSQL không gắn được tệp cơ sở dữ liệu khác.",
                "PostgreSQL cannot attach other database files.",
            )
        return nullcontext()

    def is_retryable(self, exc: BaseException) -> bool:
        return is_retryable(exc)

    def is_identity_conflict(self, exc: BaseException) -> bool:
        return is_identity_conflict(exc)

    def prepare_migration(self, conn: Connection) -> str | None:
        """One migrating session at a time; PostGIS created if missing (or a clear refusal).

        Returns the schema the store writes to: a store in its own PostgreSQL schema must
        not adopt tables it merely sees in "public" through the search path.
        """
        migration_lock(conn)
        has_postgis = conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first()
        if not has_postgis:
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
            except DBAPIError as exc:
                raise StorageError(
                    "Cơ sở dữ liệu chưa có PostGIS và không tạo được: "
                    "hãy chạy 'CREATE EXTENSION postgis' với quyền quản trị.",
                    "The database has no PostGIS extension and it cannot be created; "
                    "run 'CREATE EXTENSION postgis' as a superuser.",
                ) from exc
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        return None if schema is None else str(schema)

    def install_guards(self, conn: Connection, tables: Sequence[str]) -> None:
        install_guards(conn, tables)

    def repair_guards(self, conn: Connection, tables: Sequence[str]) -> list[str]:
        return repair_guards(conn, tables)

    def drop_guards(self, conn: Connection, tables: Sequence[str]) -> None:
        drop_guards(conn, tables)

    def lock_chains(self, conn: Connection) -> None:
        lock_chains(conn)

    def instant_text(self, column: str) -> str:
        return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"

    @contextmanager
    def exclusive_lock(self, engine: Engine, *, name: str, key: int) -> Iterator[None]:
        """A session advisory lock ``key``, held on a connection of its own."""
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    def lock_places(self, conn: Connection) -> None:
        """Readers go on; a second writer of places waits for this transaction's end."""
        conn.exec_driver_sql("LOCK TABLE places IN SHARE ROW EXCLUSIVE MODE")

    def place_states_sql(self, conn: Connection, places: int) -> str:
        return STATES_WINDOW_SQL  # the planner chooses the join order from the table's size

    @contextmanager
    def index_probes(self, conn: Connection) -> Iterator[None]:
        """Merge and hash joins off for the statements inside, as they were after. Only
        on success: a failed statement aborts the transaction, whose rollback drops the
        transaction-local settings with the rest."""
        names = ("enable_mergejoin", "enable_hashjoin")
        before = [conn.exec_driver_sql(f"SELECT current_setting('{n}')").scalar() for n in names]
        for name in names:
            conn.exec_driver_sql(f"SELECT set_config('{name}', 'off', true)")
        yield
        for name, value in zip(names, before, strict=True):
            conn.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})

    def reserve_ids(self, conn: Connection, table: str, n: int, *, locked: bool = False) -> Sequence[int]:
        """A block moved in one step when no one else can take ids meanwhile: under the
        chains' append lock (``locked``) or a large batch's exclusive lock (drawing a
        million ids one by one cost 0.3–0.8 s of the 1M ingest)."""
        if n > 1 and (locked or _pg_bulk.holds_exclusive(conn, table)):
            return reserve_block(conn, table, n)
        return reserve_ids(conn, table, n)

    def bulk_insert(
        self, conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
    ) -> None:
        _pg_copy.bulk_insert(conn, table, columns, rows)

    @contextmanager
    def temp_keys(self, conn: Connection, keys: Any) -> Iterator[None]:
        conn.exec_driver_sql(
            "CREATE TEMP TABLE geo_keys (pos bigint, source text, source_id text, "
            "fingerprint text) ON COMMIT DROP"
        )
        _pg_copy.copy_arrow(conn, "geo_keys", keys.select(list(TEMP_KEY_COLUMNS)), chunk_rows=INSERT_CHUNK_ROWS)
        conn.exec_driver_sql("ANALYZE geo_keys")
        yield

    def staged_batch(self, prepared: IncidentRows) -> AbstractContextManager[dict[str, Path]]:
        return nullcontext({})  # COPY is fast enough without a scratch file

    def large_batch(self, conn: Connection, rows: int) -> AbstractContextManager[None]:
        return _pg_bulk.large_batch(conn, rows)

    def insert_incidents(
        self,
        conn: Connection,
        prepared: IncidentRows,
        ids: Sequence[int],
        batch_id: int,
        *,
        staged: bool,
    ) -> None:
        _pg_bulk.insert_incidents(conn, prepared, ids, batch_id)

    def insert_first_events(self, conn: Connection, events: FirstEvents) -> None:
        """Binary COPY built per column, as the incidents (no Python value per cell)."""
        if events.ids:
            _pg_copy.copy_binary(conn, "status_events", events.arrow_table(instants=True))

    def insert_places(self, conn: Connection, places: Any, links: Any) -> None:
        _pg_bulk.insert_places(conn, places, links)

    def change_marker(self, conn: Connection, about: str) -> tuple[int, ...]:
        """A smaller id may commit after a larger one: the entries' count is part of it."""
        top = conn.exec_driver_sql("SELECT max(id) FROM incidents").scalar()
        count, audit = conn.exec_driver_sql(
            f"SELECT count(*), max(id) FROM audit_log WHERE {about}"  # noqa: S608
        ).one()
        return (int(top or 0), int(count or 0), int(audit or 0))

    def backup(self, out: Path) -> Path:
        return backup(self.url, Path(out))

    def geometry_param(self, geom: shapely.Geometry) -> Any:
        from geoalchemy2.shape import from_shape

        return from_shape(geom, srid=4326)

    def geometry_wkb(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.ST_AsBinary(column)

    def bbox_conditions(
        self, incidents: Table, bbox: tuple[float, float, float, float]
    ) -> list[ColumnElement[bool]]:
        """The GiST index narrows by envelope; lon/lat bound the edges exactly as SQLite."""
        minx, miny, maxx, maxy = bbox
        return [
            incidents.c.geom.op("&&")(func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)),
            incidents.c.lon.between(minx, maxx),
            incidents.c.lat.between(miny, maxy),
        ]

    def filter_value(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return column  # the planner's statistics see the column itself

    def assign_in_database(self, conn: Connection) -> pd.DataFrame | None:
        from geo.assign import SNAP_DISTANCE_M

        rows = conn.execute(text(ASSIGN_SQL + " ORDER BY i.id"), {"snap": SNAP_DISTANCE_M}).all()
        return pd.DataFrame(rows, columns=["id", "ward_code", "assign_flag"])

    def local_day(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.date(func.timezone(LOCAL_TZ, column))

    def local_week(self, column: ColumnElement[Any]) -> ColumnElement[Any]:
        return func.date(func.date_trunc("week", func.timezone(LOCAL_TZ, column)))

    def days_between(self, later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[Any]:
        return extract("epoch", later - earlier) / 86400.0

    def median_by(
        self,
        conn: Connection,
        key: ColumnElement[Any],
        values: ColumnElement[Any],
        where: ColumnElement[bool],
    ) -> pd.Series:
        rows = conn.execute(
            select(key.label("key"), func.percentile_cont(0.5).within_group(values).label("median"))
            .where(where)
            .group_by(key)
        ).all()
        return pd.Series({r.key: float(r.median) for r in rows}, dtype=float)

    def stream_rows(
        self, conn: Connection, sql: str, size: int, params: Sequence[Any] = ()
    ) -> Iterator[list[tuple[Any, ...]]]:
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor(name="geo_stream") as cursor:  # server-side: needs the open transaction
            if params:
                cursor.execute(sql.replace("?", "%s"), tuple(params))
            else:  # no placeholders parsed (a literal % stays as it is)
                cursor.execute(sql)
            while rows := cursor.fetchmany(size):
                yield rows

    def fetch_rows(self, conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        # the driver's own cursor (psycopg's placeholders are %s)
        raw = conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(sql.replace("?", "%s"), tuple(params))
            rows: list[tuple[Any, ...]] = cursor.fetchall()
        finally:
            cursor.close()
        return rows
