"""Schema 1 → 2 (issue 16): the identity rule becomes unique indexes, on both backends.

A version-1 store is made the way one was: the tables with plain indexes on the keys and
``schema_version`` 1; a store hit by the concurrent-upload race also holds incidents
twice. Migrating refuses such a store with the counts and changes nothing, unless the
operator asks for the later copies to be re-keyed; nothing is ever deleted.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from geo.cli import main
from geo.errors import StorageError
from geo.store import batches, open_store, queries
from geo.store._schema import SCHEMA_VERSION
from tests._store_data import NO_UPDATES, batch, incidents, without_hash_chains

V1_INDEXES = {"ix_incidents_source_source_id", "ix_incidents_fingerprint"}
V2_INDEXES = {"uq_incidents_source_id", "uq_incidents_fingerprint"}

#: Copy incidents under new ids, as two racing uploads stored them before version 2.
_COPY = (
    "INSERT INTO incidents (source, source_id, fingerprint, type, lat, lon, status, "
    "reported_at, due_at, flags, batch_id, created_at, updated_at) "
    "SELECT source, source_id, fingerprint, type, lat, lon, status, reported_at, due_at, "
    "flags, batch_id, created_at, updated_at FROM incidents WHERE id IN ({ids}) ORDER BY id"
)


def _index_names(store) -> set[str]:
    from sqlalchemy import inspect

    with store.read() as conn:
        return {ix["name"] for ix in inspect(conn).get_indexes("incidents")}


def make_v1_store(url: str, copies: list[int] = ()) -> dict[str, int]:
    """A version-1 store at ``url`` holding four incidents (two with ids, two without),
    plus one more copy per position in ``copies``; returns the row counts."""
    store = open_store(url)
    rows = [{}, {}, {"source_id": None}, {"source_id": None}]
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="field")
    with store.engine.begin() as conn:
        without_hash_chains(store, conn)  # schema 3's part
        for table in ("inspections", "incident_places", "places"):  # schema 5's
            conn.exec_driver_sql(f"DROP TABLE {table}")
        for name in V2_INDEXES:
            conn.exec_driver_sql(f"DROP INDEX {name}")
        conn.exec_driver_sql("CREATE INDEX ix_incidents_source_source_id ON incidents (source, source_id)")
        conn.exec_driver_sql("CREATE INDEX ix_incidents_fingerprint ON incidents (fingerprint)")
        conn.exec_driver_sql("UPDATE schema_version SET version = 1")
        ids = conn.exec_driver_sql("SELECT id FROM incidents ORDER BY id").scalars().all()
        for i in copies:
            conn.exec_driver_sql(_COPY.format(ids=ids[i]))
    with store.engine.connect() as conn:  # row_counts() would read later schemas' tables
        counts = {
            name: int(conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar())  # noqa: S608
            for name in ("incidents", "status_events", "batches", "audit_log")
        }
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE photos")  # version 7 adds it
    store.close()
    return counts


def test_a_clean_version_1_store_migrates(store_url):
    before = make_v1_store(store_url)
    store = open_store(store_url)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        names = _index_names(store)
        assert V2_INDEXES <= names and not (V1_INDEXES & names)
        with store.read() as conn:
            versions = conn.execute(text("SELECT version FROM schema_version ORDER BY version")).scalars().all()
        assert versions == list(range(1, SCHEMA_VERSION + 1))
        after = store.row_counts()
        assert {k: after[k] for k in before} == before
        assert after["incident_places"] == after["incidents"]  # schema 5 placed them all
        # the index holds: a second copy of a stored incident is refused from now on
        again = queries.incidents(store, limit=None).sort_values("id").head(1)
        with pytest.raises(IntegrityError, match=r"uq_incidents_source_id|incidents\.source_id"), \
                store.engine.begin() as conn:
            conn.exec_driver_sql(_COPY.format(ids=int(again["id"].iloc[0])))
    finally:
        store.close()


def test_a_store_holding_duplicates_is_refused_with_the_counts_and_left_as_it_was(store_url):
    # incident 1 (id "1") stored three times, incident 3 (no id) twice: 2 keys, 3 extra
    before = make_v1_store(store_url, copies=[0, 0, 2])
    with pytest.raises(StorageError) as refused:
        open_store(store_url)
    message = str(refused.value)
    assert "1 (source, source_id) keys and 1 fingerprints" in message
    assert "(3 extra incidents)" in message and "--rekey-duplicates" in message
    assert "1 mã (nguồn, mã sự việc) và 1 dấu vân tay" in message  # Vietnamese too
    from sqlalchemy import create_engine, inspect

    from geo.store._postgis import normalise_url

    engine = create_engine(normalise_url(store_url) if store_url.startswith("postgres") else store_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT max(version) FROM schema_version").scalar() == 1
        assert conn.exec_driver_sql("SELECT count(*) FROM incidents").scalar() == before["incidents"]
        names = {ix["name"] for ix in inspect(conn).get_indexes("incidents")}
    engine.dispose()
    assert V1_INDEXES <= names and not (V2_INDEXES & names)


def test_rekeying_keeps_every_incident_and_marks_the_later_copies(store_url, monkeypatch, capsys):
    before = make_v1_store(store_url, copies=[0, 0, 2])
    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    assert main(["db", "migrate"]) == 2  # refused without the option
    assert "--rekey-duplicates" in capsys.readouterr().err
    assert main(["db", "migrate", "--rekey-duplicates", "--json"]) == 0
    store = open_store(store_url)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        after = store.row_counts()
        assert after["incidents"] == before["incidents"] == 7
        assert after["status_events"] == before["status_events"]
        stored = queries.incidents(store, limit=None).sort_values("id").reset_index(drop=True)
        first, third = stored.iloc[0], stored.iloc[2]
        copies = stored.iloc[4:]  # made after the four originals, in id order: 1, 1, 3
        assert copies["source_id"].tolist()[:2] == [f"1~dup{i}" for i in copies["id"].tolist()[:2]]
        assert copies["fingerprint"].tolist()[2] == f"{third['fingerprint']}~dup{copies['id'].tolist()[2]}"
        assert all(f.split(",")[0] == "duplicate_key" for f in copies["flags"])
        assert first["source_id"] == "1" and "duplicate_key" not in first["flags"]
        log = queries.audit_log(store)
        entries = log[log["action"] == "rekey_duplicates"]
        assert len(entries) == 1 and sorted(entries["details"].iloc[0]["incidents"]) == copies["id"].tolist()
        # the oldest incident of each key keeps it: the original is what a re-send finds
        found = batches.lookup_existing(
            store, stored.loc[[0, 2], ["source", "source_id", "fingerprint"]].reset_index(drop=True)
        )
        assert found["id"].tolist() == [first["id"], third["id"]]
    finally:
        store.close()
