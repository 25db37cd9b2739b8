"""PostGIS guards of the append-only tables: triggers that refuse UPDATE, DELETE and TRUNCATE.

The audit log and the hash-chained tables must only grow. On PostgreSQL a trigger
function raises on any change; the store checks the function's body and every trigger
on each open, and :func:`repair_guards` puts back whatever is missing, disabled or
changed (and drops any other trigger or rule there), so a tampered database is mended,
not trusted. Used by :class:`geo.store._postgis.PostGISBackend`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

#: Body of the trigger function guarding the append-only tables (compared on every open).
APPEND_ONLY_BODY = """
BEGIN
  RAISE EXCEPTION '% chỉ được ghi thêm / % is append-only', TG_TABLE_NAME, TG_TABLE_NAME;
END """

#: The guard triggers of a table: name → (pg_trigger.tgtype, DDL). tgtype bits: 1 row,
#: 2 before, 8 delete, 16 update, 32 truncate. An upsert's ON CONFLICT DO UPDATE and a
#: MERGE's update fire the update trigger too.
GUARD_TRIGGERS = {
    "{table}_no_change": (
        27,
        "CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION geo_append_only()",
    ),
    "{table}_no_truncate": (
        34,
        "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION geo_append_only()",
    ),
}

#: The current state of the triggers and rules on ``tables`` (one row per trigger/rule).
_GUARDS_FOUND_SQL = """
WITH guarded AS (SELECT to_regclass(n) AS oid FROM unnest(CAST(%(tables)s AS text[])) AS n)
SELECT c.relname, t.tgname, t.tgtype, t.tgenabled IN ('O', 'A') AND t.tgqual IS NULL
       AND t.tgattr::text = '' AND p.proname = 'geo_append_only' AND p.prosrc = %(body)s
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
WHERE t.tgrelid IN (SELECT oid FROM guarded) AND NOT t.tgisinternal
UNION ALL
SELECT c.relname, r.rulename, -1, false
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
WHERE r.ev_class IN (SELECT oid FROM guarded)
"""


def _function_ok(conn: Connection) -> bool:
    body = conn.exec_driver_sql(
        "SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure('geo_append_only()')"
    ).scalar()
    return body == APPEND_ONLY_BODY


def _create_function(conn: Connection) -> None:
    conn.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION geo_append_only() RETURNS trigger LANGUAGE plpgsql "
        f"AS $geo${APPEND_ONLY_BODY.replace('%', '%%')}$geo$"  # the driver reads %% as %
    )


def install_guards(conn: Connection, tables: Sequence[str]) -> None:
    _create_function(conn)
    for table in tables:
        for _, ddl in GUARD_TRIGGERS.values():
            conn.exec_driver_sql(ddl.format(table=table))


def _found_guards(conn: Connection, tables: Sequence[str]) -> list[tuple[str, str, int, bool]]:
    rows = conn.exec_driver_sql(
        _GUARDS_FOUND_SQL, {"tables": list(tables), "body": APPEND_ONLY_BODY}
    ).all()
    return [(str(r[0]), str(r[1]), int(r[2]), bool(r[3])) for r in rows]


def drop_guards(conn: Connection, tables: Sequence[str]) -> None:
    for table, name, kind, _ in _found_guards(conn, tables):
        what = "RULE" if kind < 0 else "TRIGGER"
        conn.exec_driver_sql(f'DROP {what} "{name}" ON "{table}"')


def repair_guards(conn: Connection, tables: Sequence[str]) -> list[str]:
    """Re-create the guard function and every guard trigger missing, disabled or changed;
    drop any other trigger or rule on ``tables``. The names touched, sorted."""
    touched: set[str] = set()
    if not _function_ok(conn):
        _create_function(conn)
        touched.add("geo_append_only")
    found = {(table, name): (kind, ok) for table, name, kind, ok in _found_guards(conn, tables)}
    expected = {
        (table, name.format(table=table)): (kind, ddl.format(table=table))
        for table in tables
        for name, (kind, ddl) in GUARD_TRIGGERS.items()
    }
    for (table, name), (kind, ok) in found.items():
        want = expected.get((table, name))
        if want is None or not ok or want[0] != kind:
            what = "RULE" if kind < 0 else "TRIGGER"
            conn.exec_driver_sql(f'DROP {what} "{name}" ON "{table}"')
            touched.add(name)
    for (table, name), (kind, ddl) in expected.items():
        if found.get((table, name)) != (kind, True):
            conn.exec_driver_sql(ddl)
            touched.add(name)
    return sorted(touched)
