"""PostgreSQL + PostGIS specifics: guards, id blocks, COPY, spatial assignment, pg_dump."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection, make_url

from geo.errors import StorageError

_MIGRATION_LOCK = 7_274_274  # pg_advisory_xact_lock key: one migrating session at a time

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION geo_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '%% chỉ được ghi thêm / %% is append-only', TG_TABLE_NAME, TG_TABLE_NAME;
END $$;
"""

TRIGGER_SQL = """
CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
  FOR EACH ROW EXECUTE FUNCTION geo_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
  FOR EACH STATEMENT EXECUTE FUNCTION geo_append_only();
"""

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


def install_guards(conn: Connection, tables: Sequence[str]) -> None:
    conn.exec_driver_sql(APPEND_ONLY_SQL)
    for table in tables:
        for statement in TRIGGER_SQL.format(table=table).split(";\n"):
            if statement.strip():
                conn.exec_driver_sql(statement)


def migration_lock(conn: Connection) -> None:
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})


def is_retryable(exc: BaseException) -> bool:
    import psycopg.errors

    orig = getattr(exc, "orig", exc)
    return isinstance(orig, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected)


def reserve_ids(conn: Connection, table: str, n: int) -> list[int]:
    rows = conn.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table, "n": n},
    )
    return [int(r[0]) for r in rows]


def bulk_insert(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """COPY plain tuples into ``table`` inside the open transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


#: Batches from this size on are copied as CSV written by Arrow (C speed per cell).
CSV_COPY_MIN_ROWS = 10_000


def copy_arrow(conn: Connection, table: str, data: Any, *, chunk_rows: int = 100_000) -> None:
    """COPY an Arrow table into ``table`` as CSV, chunk by chunk, inside the open transaction.

    Arrow writes strings always quoted and missing values as empty unquoted fields, which
    is exactly PostgreSQL's CSV reading of text and NULL.
    """
    import io

    from pyarrow import csv as pacsv

    raw = conn.connection.driver_connection
    assert raw is not None
    options = pacsv.WriteOptions(include_header=False)
    columns = ", ".join(data.column_names)
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        for lo in range(0, data.num_rows, chunk_rows):
            buffer = io.BytesIO()
            pacsv.write_csv(data.slice(lo, chunk_rows), buffer, options)
            copy.write(buffer.getvalue())


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
