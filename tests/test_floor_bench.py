"""The storage floor (benchmarks/floor.py) copies exactly what the ingest stored: every
table's rows, equal value by value, into a store that passes its own checks; a second
batch's floor adds exactly the second batch's new and changed rows. No timing asserted."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from benchmarks import floor
from geo.ingest import ingest
from geo.sample import sample_incidents, write_sample
from geo.store import open_store, queries, workflow


def _sample(tmp_path: Path, name: str, seed: int, n: int = 400) -> Path:
    out = tmp_path / name
    write_sample(sample_incidents(n, seed), out)
    return out


def _ingest(url: str, *files: Path) -> None:
    store = open_store(url)
    try:
        for f in files:
            ingest(f, store, actor="test")
    finally:
        store.close()


def _move_one(url: str) -> int:
    """Move one stored incident of the first batch to the next status (as an officer would)."""
    store = open_store(url)
    try:
        frame = queries.incidents(store).sort_values("id")
        for incident_id, status in zip(frame["id"], frame["status"], strict=True):
            if workflow.can_transition(status, "verified"):
                workflow.change_status(store, int(incident_id), "verified", actor="test")
                return int(incident_id)
    finally:
        store.close()
    raise AssertionError("no incident to move")


def _contents(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, sorted (what the floor must reproduce, in any order)."""
    engine = create_engine(url)
    found = {}
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        for table in names:
            if table in ("spatial_ref_sys", "schema_version"):  # PostGIS's own; each store's own
                continue
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()  # noqa: S608
            found[table] = sorted((tuple(r) for r in rows), key=repr)
    engine.dispose()
    return found


def test_sqlite_floor_copies_every_row_and_the_second_batch_only_its_change(tmp_path: Path) -> None:
    first, second = _sample(tmp_path, "a.csv", 1), _sample(tmp_path, "b.csv", 2)
    s1, s2 = tmp_path / "s1.sqlite", tmp_path / "s2.sqlite"
    _ingest(f"sqlite:///{s1}", first)
    shutil.copy(s1, s2)
    _ingest(f"sqlite:///{s2}", second)
    moved = _move_one(f"sqlite:///{s2}")  # a changed row, not only new ones

    whole = floor.sqlite(str(s1), str(tmp_path / "f1.sqlite"))
    assert whole["foreign_key_problems"] == 0 and whole["equal_counts"]
    assert whole["rows"]["incidents"]["new"] == 400
    assert _contents(f"sqlite:///{tmp_path / 'f1.sqlite'}") == _contents(f"sqlite:///{s1}")

    # the analysis mode: same rows, the identity (unique) indexes back, the plain ones left out
    f3 = tmp_path / "f3.sqlite"
    copied = set(floor.sqlite(str(s1), str(f3), rebuild="unique")["rows"])
    assert _contents(f"sqlite:///{f3}") == _contents(f"sqlite:///{s1}")
    indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    with sqlite3.connect(f3) as con:
        unique_only = dict(con.execute(indexes).fetchall())
    with sqlite3.connect(s1) as con:
        every = dict(con.execute(indexes).fetchall())
    plain = {n for n, sql in every.items() if not sql.startswith("CREATE UNIQUE")}
    assert plain and "uq_incidents_fingerprint" in unique_only
    assert {"incidents", "places", "status_events", "incident_places"} <= copied
    with sqlite3.connect(s1) as con:
        plain_copied = {
            n
            for n in plain
            if con.execute("SELECT tbl_name FROM sqlite_master WHERE name = ?", (n,)).fetchone()[0]
            in copied
        }
    assert plain_copied and not plain_copied & unique_only.keys()
    assert {n: every[n] for n in every if n not in plain_copied} == unique_only

    f2 = tmp_path / "f2.sqlite"
    shutil.copy(s1, f2)
    delta = floor.sqlite(str(s2), str(f2), base=str(s1), rebuild="never")
    assert delta["rows"]["incidents"] == {"new": 400, "changed": 1}, moved
    assert _contents(f"sqlite:///{f2}") == _contents(f"sqlite:///{s2}")
    with sqlite3.connect(f2) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # the guards and indexes were put back as they were
        schema = "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') ORDER BY name"
        put_back = con.execute(schema).fetchall()
    with sqlite3.connect(s2) as con:
        assert put_back == con.execute(schema).fetchall()


@pytest.mark.postgis
def test_postgis_floor_copies_every_row_and_puts_every_key_back(
    tmp_path: Path, postgis_url: str
) -> None:
    import uuid

    from geo.store._postgis import normalise_url

    source = postgis_url
    _ingest(source, _sample(tmp_path, "a.csv", 3))
    base, _, options = source.partition("?")
    source_schema = options.split("%3D")[1].split(",")[0]
    schema = f"t_{uuid.uuid4().hex[:12]}"  # the target: a second fresh schema, as the fixture's
    admin = create_engine(normalise_url(base))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        target = f"{base}?options=-csearch_path%3D{schema},public"
        result = floor.postgis(source, target)
        assert result["equal_counts"] and result["rows"]["incidents"] == 400
        assert _contents(normalise_url(target)) == _contents(normalise_url(source))
        assert _pg_keys(admin, schema) == _pg_keys(admin, source_schema)
        # the analysis mode: every key back and checked, the plain indexes left out
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        floor.postgis(source, target, rebuild="keys")
        assert _contents(normalise_url(target)) == _contents(normalise_url(source))
        found, full = _pg_keys(admin, schema), _pg_keys(admin, source_schema)
        assert {k for k in full if "FOREIGN KEY" in k[1]} <= set(found)
        left_out = set(full) - set(found)
        assert left_out and all(k[1].startswith("CREATE INDEX") for k in left_out)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def _pg_keys(engine: Engine, schema: str) -> list[tuple[str, str, bool]]:
    """The foreign keys and indexes of ``schema``: name, definition, validated."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT conname, replace(pg_get_constraintdef(oid), :s || '.', ''), convalidated FROM pg_constraint "
                "WHERE contype = 'f' AND connamespace = CAST(:s AS regnamespace) "
                "UNION ALL SELECT indexname, replace(indexdef, :s || '.', ''), true FROM pg_indexes "
                "WHERE schemaname = :s ORDER BY 1"
            ),
            {"s": schema},
        ).all()
    assert rows
    return [tuple(r) for r in rows]
