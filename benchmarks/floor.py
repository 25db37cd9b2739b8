"""The storage floor of an ingest: what the database alone costs to store what the
project's ingest stored, with no Python between the rows and the engine.

Why: issue 15 asks for the 1M ingest in ≤ 1.0 × (SQLite) and ≤ 1.5 × (PostGIS) the time
of a naive read_csv + sjoin + to_sql pipeline, which stores one unindexed table. The
project's batch must also store, in the same transaction, a first status event and a
hash-chained audit entry per incident, the places and recurrence links of sustained
order, and every index and foreign key the store's queries and guarantees rely on. This
step takes a store the ingest wrote and copies exactly those rows into a fresh store of
the same schema in the cheapest form each engine offers, so its time is a lower bound on
any pipeline that keeps the same guarantees (only the database's writes, the fastest
order: secondary indexes and keys dropped, rows copied set-based, then rebuilt and
checked; nothing parsed, validated or decided). If the floor alone exceeds the target's
share of the baseline, the target cannot be met without dropping a guarantee.

``python -m benchmarks.floor sqlite '{"source": S1, "target": T}'`` copies every row of
store ``S1`` into a fresh store ``T``. With ``"base": S0`` and ``"target"`` a copy of
``S0``, it copies only what ``S1`` added or changed after ``S0`` (a second batch: new
rows inserted, changed rows updated). ``postgis`` takes database URLs; its source rows
are exported to binary COPY files first (not timed). Each prints ``BENCH_RESULT {json}``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.steps import RESULT_PREFIX, _timed, peak_rss_mb


def _fresh_schema(url: str) -> None:
    """An empty store of the project's schema (the same migrations the app runs)."""
    from geo.store import open_store

    open_store(url).close()


# --------------------------------------------------------------------------- SQLite


def _parents_first(names: list[str], *, postgis: bool) -> list[str]:
    """``names`` in the project's schema order, parents before children (SQLAlchemy sorts
    the schema's tables by their foreign keys); a table the schema does not name comes last."""
    from geo.store._schema import build_metadata

    order = {t.name: i for i, t in enumerate(build_metadata(postgis).sorted_tables)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def _sqlite_tables(con: sqlite3.Connection, schema: str) -> list[str]:
    """The tables of ``schema``, parents before children."""
    names = [
        r[0]
        for r in con.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' "  # noqa: S608
            "AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return _parents_first(names, postgis=False)


def _columns(con: sqlite3.Connection, table: str) -> str:
    return ", ".join(f'"{r[1]}"' for r in con.execute(f'PRAGMA main.table_info("{table}")'))


def _count(con: sqlite3.Connection, schema: str, table: str, where: str = "") -> int:
    sql = f'SELECT count(*) FROM {schema}."{table}" {where}'  # noqa: S608
    return int(con.execute(sql).fetchone()[0])


@contextmanager
def _without(
    con: sqlite3.Connection, table: str, rebuild: bool, plain_back: bool = True
) -> Iterator[None]:
    """``table``'s insert guard suspended (the primary key refuses a repeated id all the
    same; the ingest suspends it for large batches too) and, with ``rebuild``, its
    secondary indexes dropped; both put back from their saved DDL on exit (without
    ``plain_back``, the unique indexes only: an analysis of the plain ones' cost)."""
    kinds = "('index', 'trigger')" if rebuild else "('trigger')"
    found = con.execute(
        f"SELECT type, name, sql FROM main.sqlite_master WHERE type IN {kinds} "  # noqa: S608
        "AND tbl_name = ? AND sql IS NOT NULL AND (type = 'index' OR name LIKE '%_no_replace')",
        (table,),
    ).fetchall()
    for kind, name, _ in found:
        con.execute(f'DROP {kind.upper()} main."{name}"')
    yield
    for kind, _, sql in sorted(found, key=lambda r: r[0] != "index"):
        if plain_back or kind != "index" or sql.upper().startswith("CREATE UNIQUE"):
            con.execute(sql)


def _changed_rows(con: sqlite3.Connection, table: str, top: int) -> int:
    """Stage (not timed) the rows of ``table`` up to rowid ``top`` that the later store
    changed, into ``temp.changed_<table>``, and return how many."""
    cols = _columns(con, table).split(", ")
    differs = " OR ".join(f"s.{c} IS NOT m.{c}" for c in cols)
    con.execute(
        f'CREATE TEMP TABLE "changed_{table}" AS SELECT s.rowid AS _rid, '  # noqa: S608
        f'{", ".join(f"s.{c}" for c in cols)} FROM src."{table}" AS s '
        f'JOIN main."{table}" AS m ON m.rowid = s.rowid WHERE s.rowid <= {top} AND ({differs})'
    )
    # keyed, or the update's join may scan the whole table once per changed row
    con.execute(f'CREATE INDEX temp."changed_{table}_rid" ON "changed_{table}" (_rid)')
    return _count(con, "temp", f"changed_{table}")


#: The index orders :func:`sqlite` can copy with.
SQLITE_REBUILDS = ("auto", "always", "never", "unique")


def sqlite(
    source: str, target: str, base: str | None = None, rebuild: str = "auto", cache_mib: int = 512
) -> dict[str, Any]:
    """Copy the rows of store ``source`` (those it added or changed after ``base``, if
    given) into ``target`` in one transaction, and time it.

    ``rebuild``: ``"always"`` drops and rebuilds every filled table's secondary indexes,
    ``"never"`` inserts into them, ``"auto"`` rebuilds where the table was empty;
    ``"unique"`` rebuilds only the unique ones and leaves the plain indexes out, to show
    what they cost (the result is not a complete store: its filters would scan).
    ``cache_mib``: the page cache of the copy (the ingest widens its own to 512 MiB at
    most for a batch's index inserts).
    """
    from geo.store._sqlite import make_engine

    if rebuild not in SQLITE_REBUILDS:
        raise ValueError(f"rebuild: one of {SQLITE_REBUILDS}, not {rebuild!r}")
    if base is None:
        _fresh_schema(f"sqlite:///{target}")
    engine = make_engine(f"sqlite:///{target}")
    raw = engine.raw_connection()
    con: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
    con.execute("ATTACH DATABASE ? AS src", (source,))
    con.execute(f"PRAGMA main.cache_size = -{int(cache_mib) * 1024}")
    plan = _sqlite_plan(con, base is not None)
    stages: dict[str, float] = {}
    started = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    for table, (top, _, changed) in plan.items():
        stages[table] = _copy_table(con, table, top, changed, rebuild)
    t = time.perf_counter()
    con.execute("COMMIT")
    stages["commit"] = time.perf_counter() - t
    seconds = time.perf_counter() - started
    t = time.perf_counter()
    con.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
    checkpoint = time.perf_counter() - t
    problems = con.execute("PRAGMA main.foreign_key_check").fetchall()
    counts = {n: (_count(con, "main", n), _count(con, "src", n)) for n in plan}
    raw.close()
    engine.dispose()
    return {
        "seconds": seconds,
        "checkpoint_s": checkpoint,
        "rows": {n: {"new": v[1], "changed": v[2]} for n, v in plan.items()},
        "equal_counts": all(a == b for a, b in counts.values()),
        "foreign_key_problems": len(problems),
        "stages": stages,
        "bytes": Path(target).stat().st_size,
        "peak_rss_mb": peak_rss_mb(),
    }


def _sqlite_plan(con: sqlite3.Connection, delta: bool) -> dict[str, tuple[int, int, int]]:
    """Per table to fill: (rowid already held, rows new, rows changed); the changed rows
    are staged in ``temp`` here, before the clock starts."""
    plan = {}
    for table in _sqlite_tables(con, "src"):
        top = int(con.execute(f'SELECT COALESCE(max(rowid), 0) FROM main."{table}"').fetchone()[0])  # noqa: S608
        if not delta and top:
            continue  # filled by the fresh store itself (its schema version)
        new = _count(con, "src", table, f"WHERE rowid > {top}")
        changed = _changed_rows(con, table, top) if delta and top else 0
        if new or changed:
            plan[table] = (top, new, changed)
    return plan


def _copy_table(con: sqlite3.Connection, table: str, top: int, changed: int, rebuild: str) -> float:
    cols = _columns(con, table)
    drop = rebuild in ("always", "unique") or (rebuild == "auto" and top == 0)
    started = time.perf_counter()
    with _without(con, table, drop, plain_back=rebuild != "unique"):
        con.execute(
            f'INSERT INTO main."{table}" ({cols}) SELECT {cols} FROM src."{table}" '  # noqa: S608
            f"WHERE rowid > {top} ORDER BY rowid"
        )
        if changed:
            # never the key: setting a parent's key, even to itself, makes SQLite look
            # for its children in every referring table, one scan per row
            keys = {f'"{r[1]}"' for r in con.execute(f'PRAGMA main.table_info("{table}")') if r[5]}
            sets = ", ".join(f"{c} = c.{c}" for c in cols.split(", ") if c not in keys)
            con.execute(
                f'UPDATE main."{table}" SET {sets} FROM temp."changed_{table}" AS c '  # noqa: S608
                f'WHERE main."{table}".rowid = c._rid'
            )
    return time.perf_counter() - started


# --------------------------------------------------------------------------- PostGIS


def _pg_rebuildable() -> str:
    """The secondary indexes and foreign keys of a table, as (drop, create) DDL pairs: the
    statement the ingest's large batch uses (:mod:`geo.store._pg_bulk`), not a copy."""
    from geo.store._pg_bulk import _REBUILDABLE_SQL

    return _REBUILDABLE_SQL


def _pg_tables(conn: Any) -> list[str]:
    """The tables of the current schema, parents before children."""
    names = [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename <> 'spatial_ref_sys'"
    )]  # fmt: skip
    return _parents_first(names, postgis=True)


def _export(source: str, workdir: Path) -> dict[str, tuple[Path, int, str]]:
    """Each non-empty table of ``source`` as a binary COPY file (not timed)."""
    import psycopg

    files = {}
    with psycopg.connect(source) as conn:
        for table in _pg_tables(conn):
            rows = _pg_count(conn, table)
            if not rows:
                continue
            cols = ", ".join(
                f'"{r[0]}"' for r in conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                    "AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", (table,)
                )
            )  # fmt: skip
            path = workdir / f"{table}.bin"
            with (
                path.open("wb") as out,
                conn.cursor().copy(
                    f'COPY (SELECT {cols} FROM "{table}") TO STDOUT (FORMAT binary)'  # noqa: S608
                ) as copy,
            ):
                for chunk in copy:
                    out.write(chunk)
            files[table] = (path, int(rows), cols)
    return files


def postgis(source: str, target: str, rebuild: str = "all") -> dict[str, Any]:
    """Copy every row of the PostGIS store ``source`` into the fresh store ``target``
    (its schema made here) in one transaction, and time it: per table the secondary
    indexes and foreign keys dropped, the rows copied in binary, then indexes rebuilt
    and keys re-validated (indexes first, as the ingest does). Unique indexes and primary
    keys stay, as in the ingest's large batch (the identity rule is never dropped).

    ``rebuild``: ``"all"``; ``"keys"`` re-validates the foreign keys but leaves the plain
    (non-unique) indexes out, to show what they cost (not a complete store)."""
    import psycopg

    if rebuild not in ("all", "keys"):
        raise ValueError(f"rebuild: 'all' or 'keys', not {rebuild!r}")
    _fresh_schema(target)
    with tempfile.TemporaryDirectory(prefix="geo-floor-") as tmp:
        files = _export(source.replace("postgresql+psycopg://", "postgresql://"), Path(tmp))
        plain = target.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as conn:
            held = {t for t in files if _pg_count(conn, t)}  # the fresh schema's own rows
            todo = {t: f for t, f in files.items() if t not in held}
            started = time.perf_counter()
            stages = _pg_copy_all(conn, todo, indexes=rebuild != "keys")
            seconds = time.perf_counter() - started
            counts = {t: _pg_count(conn, t) for t in todo}
    return {
        "seconds": seconds,
        "rows": {t: f[1] for t, f in todo.items()},
        "skipped_prefilled": sorted(held),
        "equal_counts": all(counts[t] == todo[t][1] for t in todo),
        "stages": stages,
        "peak_rss_mb": peak_rss_mb(),
    }


def _pg_count(conn: Any, table: str) -> int:
    return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # noqa: S608


def _pg_copy_all(
    conn: Any, todo: dict[str, tuple[Path, int, str]], *, indexes: bool = True
) -> dict[str, float]:
    """The timed part: one transaction, keys and indexes dropped, every file copied in,
    indexes rebuilt and keys re-validated; seconds per stage."""
    stages: dict[str, float] = {}
    with conn.transaction():
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")  # the ingest's rebuild's
        restore = [s for s in _pg_drop(conn, list(todo)) if indexes or s.startswith("ALTER")]
        for table, (path, _, cols) in todo.items():
            started = time.perf_counter()
            _pg_copy_in(conn, table, cols, path)
            stages[table] = time.perf_counter() - started
        _, stages["rebuild"] = _timed(lambda: [conn.execute(s) for s in restore])
        committing = time.perf_counter()
    stages["commit"] = time.perf_counter() - committing
    return stages


def _pg_drop(conn: Any, tables: list[str]) -> list[str]:
    """Drop the secondary indexes and foreign keys of ``tables``; their DDL, indexes first."""
    restore: list[str] = []
    for table in tables:
        for drop, create in conn.execute(
            _pg_rebuildable().replace("%", "%%").replace(":t", "%(t)s"), {"t": table}
        ):
            conn.execute(drop)
            restore.append(create)
    return sorted(restore, key=lambda sql: sql.startswith("ALTER"))


def _pg_copy_in(conn: Any, table: str, cols: str, path: Path) -> None:
    with (
        conn.cursor().copy(f'COPY "{table}" ({cols}) FROM STDIN (FORMAT binary)') as copy,
        path.open("rb") as f,
    ):
        while chunk := f.read(1 << 20):
            copy.write(chunk)


STEPS: dict[str, Callable[..., dict[str, Any]]] = {"sqlite": sqlite, "postgis": postgis}


def main(argv: list[str]) -> int:
    name, params = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    print(RESULT_PREFIX + json.dumps(STEPS[name](**params)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
