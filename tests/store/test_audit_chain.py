"""The audit log and the status history: append-only for raw SQL too, and tamper-evident.

Issue 11, section 2, reproduced on real stores (a SQLite file, and PostGIS when there is
a server): REPLACE and upsert cannot rewrite a row, a dropped guard is back at the next
open (and the repair is audited), and ``verify`` names the row a forger changed or the
row after one he removed. The attacks go through the database driver directly, as
someone holding the file or the credentials would.
"""
# ruff: noqa: S608  (the attacks are SQL built from ids and table names of these tests)

from __future__ import annotations

import hashlib
import json
import sqlite3

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from geo import services
from geo.cli import main as cli
from geo.store import _chain, batches, chain, open_store, queries, workflow
from geo.store import wards as stored_wards
from geo.store._schema import APPEND_ONLY
from tests._store_data import (
    NO_UPDATES,
    batch,
    incidents,
    synthetic,
    two_wards,
    without_hash_chains,
)

PASSWORD = "Correct-Horse-Battery-9"

#: Every column of each table, and a SELECT giving its rows back with a forged actor.
COLUMNS = {
    "audit_log": "id, at, actor, action, object_type, object_id, details, row_hash",
    "status_events": "id, incident_id, from_status, to_status, at, actor, note, batch_id, row_hash",
}
FORGED = {
    "audit_log": "SELECT id, at, 'forged_actor', action, object_type, object_id, details, row_hash "
    "FROM audit_log",
    "status_events": "SELECT id, incident_id, from_status, to_status, at, 'forged_actor', note, "
    "batch_id, row_hash FROM status_events",
}
#: The guard trigger an attacker drops before an UPDATE / a DELETE, per backend.
UPDATE_GUARD = {"sqlite": "{t}_no_update", "postgis": "{t}_no_change"}
DELETE_GUARD = {"sqlite": "{t}_no_delete", "postgis": "{t}_no_change"}


def attack(store, *statements: str) -> None:
    """Run SQL through the driver, committed: SQLite through a plain ``sqlite3``
    connection (default pragmas: ``recursive_triggers`` off), PostgreSQL through psycopg."""
    if store.backend.name == "sqlite":
        raw = sqlite3.connect(store.path, isolation_level=None)
        try:
            for sql in statements:
                raw.execute(sql)
        finally:
            raw.close()
        return
    with store.engine.begin() as conn:
        for sql in statements:
            conn.exec_driver_sql(sql)


def drop_trigger(store, name: str, table: str) -> str:
    if store.backend.name == "sqlite":
        return f"DROP TRIGGER {name}"
    return f"DROP TRIGGER {name} ON {table}"


def rows(store, table: str) -> list[tuple]:
    with store.read() as conn:
        return [
            tuple(r)
            for r in conn.exec_driver_sql(f"SELECT {COLUMNS[table]} FROM {table} ORDER BY id")
        ]


def ids(store, table: str) -> list[int]:
    return [r[0] for r in rows(store, table)]


def state(store, table: str) -> chain.ChainState:
    return {s.table: s for s in chain.verify(store)}[table]


def with_history(url: str):
    """A store with a few rows in both chains: a batch, status moves, a recurrence."""
    store = open_store(url)
    stored_wards.ensure(store, two_wards())
    frame = incidents(
        [{}, {"status": "cleared", "cleared_at": pd.Timestamp("2025-03-04", tz="UTC")}, {}]
    )
    batches.commit_batch(store, batch(), frame, NO_UPDATES, actor="field1")
    first = int(queries.incidents(store)["id"].min())
    workflow.change_status(store, first, "verified", actor="officer1", note="đã xác minh")
    workflow.change_status(store, first, "cleared", actor="officer1")
    workflow.record_recurrence(store, first, actor="officer1")
    store.audit("tester", "backup", "store", None, {"n": 1})
    return store


@pytest.fixture
def history(store_url):
    store = with_history(store_url)
    yield store
    store.close()


# -- the guards ------------------------------------------------------------------------


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
def test_replace_cannot_rewrite_a_row(tmp_path, table, verb):
    """SQLite only (PostgreSQL has no REPLACE): the issue's reproduction, refused."""
    store = with_history(f"sqlite:///{tmp_path / 's.sqlite'}")
    before = rows(store, table)
    forgery = f"{verb} INTO {table} ({COLUMNS[table]}) {FORGED[table]} LIMIT 1"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        attack(store, forgery)
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.exec_driver_sql(forgery)  # the store's own connections (recursive_triggers on)
    assert rows(store, table) == before
    assert all(s.ok for s in chain.verify(store))
    store.close()


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_upsert_cannot_rewrite_a_row(history, table):
    before = rows(history, table)
    upsert = (
        f"INSERT INTO {table} ({COLUMNS[table]}) {FORGED[table]} WHERE true ORDER BY id LIMIT 1 "
        "ON CONFLICT (id) DO UPDATE SET actor = excluded.actor"
    )
    with pytest.raises(Exception, match="append-only"):
        attack(history, upsert)
    assert rows(history, table) == before


def test_a_dropped_guard_is_back_at_the_next_open_and_the_deletion_is_found(store_url):
    store = with_history(store_url)
    kind = store.backend.name
    stored = ids(store, "audit_log")
    victim = stored[2]
    guard = DELETE_GUARD[kind].format(t="audit_log")
    attack(
        store, drop_trigger(store, guard, "audit_log"), f"DELETE FROM audit_log WHERE id = {victim}"
    )
    store.close()

    store = open_store(store_url)  # the guard is checked and put back
    with pytest.raises(Exception, match="append-only"):
        attack(store, f"DELETE FROM audit_log WHERE id = {stored[0]}")
    log = queries.audit_log(store)
    restored = log[log["action"] == "guards_restored"]
    assert len(restored) == 1 and guard in restored["details"].iloc[0]["guards"]
    assert restored["actor"].iloc[0] == "system"
    reopened = open_store(store_url)  # nothing more to repair: no second entry
    assert (queries.audit_log(reopened)["action"] == "guards_restored").sum() == 1
    reopened.close()

    found = state(store, "audit_log")
    assert not found.ok and found.mismatched == 1
    assert found.first_break is not None
    assert found.first_break.id == stored[3] and found.first_break.previous_id == stored[1]
    assert found.first_break.gap == (victim, victim)
    assert f"id {stored[3]}" in found.message("en") and f"{victim}–{victim}" in found.message("en")
    assert state(store, "status_events").ok
    store.close()


@pytest.mark.parametrize("table", APPEND_ONLY)
@pytest.mark.parametrize("rehash", [False, True], ids=["content", "content+hash"])
def test_a_forged_row_is_named_by_verify(store_url, table, rehash):
    """A careful forger: drops the guard, rewrites a row (and its hash), puts the guard
    back exactly as it was, so that opening the store finds nothing to repair."""
    store = with_history(store_url)
    kind = store.backend.name
    stored = ids(store, table)
    victim = stored[1]
    guard = UPDATE_GUARD[kind].format(t=table)
    with store.read() as conn:
        ddl = (
            conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (guard,)).scalar()
            if kind == "sqlite"
            else conn.execute(
                text("SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgname = :n "
                     "AND tgrelid = to_regclass(:t)"), {"n": guard, "t": table}
            ).scalar()
        )  # fmt: skip
    attack(
        store,
        drop_trigger(store, guard, table),
        f"UPDATE {table} SET actor = 'forged_actor' WHERE id = {victim}",
    )
    if rehash:  # the forger knows the algorithm and recomputes his row's hash
        with store.read() as conn:
            runs = list(_chain.read_rows(store, conn, table))
        contents = [c for run in runs for c in run.contents]
        hashes = [h for run in runs for h in run.hashes]
        k = stored.index(victim)
        prev = _chain.as_digest(hashes[k - 1]) if k else _chain.genesis(table)
        forged_hash = hashlib.sha256(prev + contents[k]).hexdigest()
        attack(store, f"UPDATE {table} SET row_hash = '{forged_hash}' WHERE id = {victim}")
    attack(store, ddl)
    store.close()

    store = open_store(store_url)
    assert "guards_restored" not in queries.audit_log(store)["action"].tolist()
    assert "forged_actor" in [
        r[COLUMNS[table].split(", ").index("actor")] for r in rows(store, table)
    ]
    found = state(store, table)
    named = stored[2] if rehash else victim  # the forged row, or the link after it
    assert not found.ok and found.first_break is not None and found.first_break.id == named
    assert found.first_break.expected != found.first_break.found and found.mismatched == 1
    assert found.first_break.gap is None
    other = "status_events" if table == "audit_log" else "audit_log"
    assert state(store, other).ok
    store.close()


def test_verify_finds_a_row_changed_in_the_file_itself(tmp_path):
    """SQLite: with the guard dropped and put back, the same forgery through sqlite3."""
    store = with_history(f"sqlite:///{tmp_path / 's.sqlite'}")
    target = ids(store, "status_events")[0]
    attack(
        store,
        "DROP TRIGGER status_events_no_update",
        f"UPDATE status_events SET to_status = 'cleared' WHERE id = {target}",
    )
    store.close()
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    found = state(store, "status_events")
    assert found.first_break is not None and found.first_break.id == target
    log = queries.audit_log(store)
    assert log.loc[log["action"] == "guards_restored", "details"].iloc[0]["guards"] == [
        "status_events_no_update"
    ]
    store.close()


@pytest.mark.postgis
@pytest.mark.parametrize(
    ("sabotage", "named"),
    [
        ("CREATE OR REPLACE FUNCTION geo_append_only() RETURNS trigger LANGUAGE plpgsql "
         "AS $$ BEGIN RETURN OLD; END $$", "geo_append_only"),
        ("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change", "audit_log_no_change"),
    ],
    ids=["function-emptied", "trigger-disabled"],
)  # fmt: skip
def test_postgis_guards_made_harmless_are_restored(postgis_url, sabotage, named):
    store = with_history(postgis_url)
    stored = ids(store, "audit_log")
    attack(store, sabotage, f"DELETE FROM audit_log WHERE id = {stored[1]}")  # the guard is gone
    store.close()
    store = open_store(postgis_url)
    log = queries.audit_log(store)
    assert named in log.loc[log["action"] == "guards_restored", "details"].iloc[0]["guards"]
    with pytest.raises(Exception, match="append-only"):
        attack(store, f"DELETE FROM audit_log WHERE id = {stored[2]}")
    found = state(store, "audit_log")
    assert found.first_break is not None and found.first_break.id == stored[2]
    store.close()


@pytest.mark.parametrize(
    ("column", "value"),
    [("incident_id", "'1;x'"), ("incident_id", "incident_id + 0.5"), ("at", "x'00'"), ("note", "x'00ff'")],
)
def test_values_of_the_wrong_kind_are_found_not_fatal(tmp_path, column, value):
    """SQLite takes any value in any column from raw SQL: verify names the row."""
    store = with_history(f"sqlite:///{tmp_path / 's.sqlite'}")
    target = ids(store, "status_events")[1]
    attack(
        store,
        "DROP TRIGGER status_events_no_update",
        f"UPDATE status_events SET {column} = {value} WHERE id = {target}",
    )
    found = state(store, "status_events")
    assert found.first_break is not None and found.first_break.id == target and found.mismatched == 1
    store.close()


def test_unknown_triggers_on_the_history_are_dropped(store_url):
    store = with_history(store_url)
    if store.backend.name == "sqlite":
        sneaky = ("CREATE TRIGGER sneaky AFTER INSERT ON audit_log BEGIN "
                  "INSERT INTO audit_log (id, at, actor, action, object_type, row_hash) "
                  "VALUES (NEW.id + 1000, NEW.at, 'x', 'x', 'x', ''); END")  # fmt: skip
    else:
        sneaky = "CREATE RULE sneaky AS ON INSERT TO audit_log DO ALSO NOTIFY geo"
    attack(store, sneaky)
    store.close()
    store = open_store(store_url)
    log = queries.audit_log(store)
    assert log.loc[log["action"] == "guards_restored", "details"].iloc[0]["guards"] == ["sneaky"]
    assert all(s.ok for s in chain.verify(store))
    store.close()


# -- an untouched store verifies -------------------------------------------------------


def _big_batch(n: int) -> pd.DataFrame:
    """``n`` incidents, some arriving cleared (with and without a time) or recurred."""
    frame = synthetic(n, seed=11, source="big.csv")
    pos = np.arange(n)
    sevenths, elevenths, thirteenths = pos % 7 == 0, (pos % 11 == 0) & (pos % 7 != 0), pos % 13 == 0
    cleared = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    cleared[sevenths] = frame.loc[sevenths, "reported_at"] + pd.Timedelta(days=2)
    cleared[thirteenths] = pd.Timestamp("2025-09-01", tz="UTC")
    frame["cleared_at"] = cleared
    frame.loc[sevenths | elevenths, "status"] = "cleared"  # elevenths without a cleared_at
    frame.loc[thirteenths, "status"] = "recurred"
    return frame


def test_verify_passes_after_many_writes_and_a_large_batch(store_url):
    """60,000 rows take SQLite's fast path (staged copy, the INSERT guard suspended and
    put back) and PostgreSQL's COPY; then moves, users, refusals: every chain holds."""
    store = with_history(store_url)
    big = _big_batch(60_000)
    batch_id = batches.commit_batch(store, batch("big.csv"), big, NO_UPDATES, actor="field2")
    stored = queries.incidents(store, limit=None)
    mine = stored[stored["batch_id"] == batch_id].sort_values("id")
    reported = mine.loc[mine["status"] == "reported", "id"]
    updates = pd.DataFrame(
        {"incident_id": reported.iloc[:400:3].to_numpy(), "to_status": "verified"}
    )
    batches.commit_batch(store, batch("moves.csv"), None, updates, actor="field2")
    boss = services.create_first_admin(store, "boss", PASSWORD)
    services.add_user(store, boss, "viewer1", PASSWORD, ["viewer"], [])
    with pytest.raises(Exception, match="not allowed"):
        services.backup(store, services.load_user(store, "viewer1"), "/nonexistent/x")

    states = chain.verify(store)
    counts = store.row_counts()
    assert [(s.table, s.ok, s.rows) for s in states] == [
        ("status_events", True, counts["status_events"]),
        ("audit_log", True, counts["audit_log"]),
    ]
    assert counts["status_events"] >= 60_000 + 134
    with store.read() as conn:  # first events are dated as the incidents they open
        at = dict(conn.exec_driver_sql(
            f"SELECT e.incident_id, {store.backend.instant_text('e.at')} FROM status_events e "
            f"WHERE e.batch_id = {batch_id} AND e.from_status IS NULL"
        ).all())  # fmt: skip
    expected = {  # position in the file → (status, when its first event happened)
        1: ("reported", big["reported_at"].iloc[1]),
        7: ("cleared", big["reported_at"].iloc[7] + pd.Timedelta(days=2)),
        11: ("cleared", big["reported_at"].iloc[11]),  # cleared, but no time given
        13: ("recurred", pd.Timestamp("2025-09-01", tz="UTC")),
    }
    for pos, (status, when) in expected.items():
        row = mine.iloc[pos]
        assert row["status"] == status
        assert at[int(row["id"])] == when.strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert store.write(lambda conn: store.backend.repair_guards(conn, APPEND_ONLY)) == []
    store.close()


@pytest.mark.postgis
def test_the_same_rows_hash_the_same_on_both_backends(tmp_path, postgis_url):
    """One canonical form: text, NULL and empty text, instants, and JSON whose numbers
    jsonb writes back differently (1e16 as 10000000000000000, 1.50 as 1.5)."""
    entries = [
        {"at": pd.Timestamp("2025-07-01 08:30:00.123456", tz="Asia/Ho_Chi_Minh"), "actor": "cán bộ",
         "action": "export", "object_type": "map", "object_id": None,
         "details": {"z": 1e16, "a": [1.5, 0.1, -0.0, 10, None, True], "ý": {"b": "đ", "a": ""}}},
        {"at": pd.Timestamp("1999-12-31 23:59:59", tz="UTC"), "actor": "", "action": "login",
         "object_type": "user", "object_id": "", "details": {}},
        {"at": pd.Timestamp("2030-01-01", tz="UTC"), "actor": "a\ufffdb", "action": "denied",
         "object_type": "store", "object_id": "42", "details": {"n": 12345678901234567890, "f": 2.5e-7}},
    ]  # fmt: skip
    hashes = []
    for url in (f"sqlite:///{tmp_path / 's.sqlite'}", postgis_url):
        store = open_store(url)
        store.write(lambda conn, s=store: _chain.append(s, conn, "audit_log", entries))
        with store.read() as conn:
            hashes.append(
                conn.exec_driver_sql("SELECT id, row_hash FROM audit_log ORDER BY id").all()
            )
        assert all(s.ok for s in chain.verify(store))
        store.close()
    assert hashes[0] == hashes[1] and len(hashes[0]) == 3


def test_canonical_numbers_agree_with_what_jsonb_gives_back():
    same = [
        (1e16, 10_000_000_000_000_000),
        (1.0, 1),
        (1.5, 1.50),
        (-0.0, 0),
        (2.5e-7, 0.00000025),
        (100, 1e2),
    ]
    for a, b in same:
        assert _chain.canonical_json(a) == _chain.canonical_json(b), (a, b)
    assert _chain.canonical_json(0.1) != _chain.canonical_json(0.10000000000000002)
    assert _chain.canonical_json(12345678901234567890) != _chain.canonical_json(
        12345678901234567891
    )
    assert (
        _chain.canonical_json({"b": 1, "a": [True, None, "x"]}) == '{"a":[true,null,"x"],"b":1e0}'
    )


def test_a_migrated_store_is_sealed_in_order(store_url):
    """A store of schema 2 (no hashes) is sealed on open: every row hashed as stored,
    the guards of schema 3 installed, the step recorded."""
    store = with_history(store_url)
    before = {t: [r[:-1] for r in rows(store, t)] for t in APPEND_ONLY}

    def back_to_v2(conn):
        without_hash_chains(store, conn)
        conn.exec_driver_sql("DROP TABLE photos")  # schema 7's
        for table in ("inspections", "incident_places", "places"):  # schema 4's
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("DELETE FROM schema_version")
        conn.exec_driver_sql(
            "INSERT INTO schema_version (version, applied_at, description) "
            "VALUES (2, '2025-01-01T00:00:00.000000', 'initial schema')"
        )

    store.write(back_to_v2)
    store.close()
    store = open_store(store_url)
    assert store.schema_version() == 10  # 3: chains, 4: reports, 5: places, 6: sign-in, 7: photos, 8: public notes, 9: place cells, 10: unplaced incidents placed
    assert {t: [r[:-1] for r in rows(store, t)] for t in APPEND_ONLY} == before  # nothing added
    assert all(len(r[-1]) == 64 for t in APPEND_ONLY for r in rows(store, t))
    with store.read() as conn:
        step = conn.exec_driver_sql("SELECT description FROM schema_version WHERE version = 3").scalar()
    sealed = sum(len(v) for v in before.values())
    assert step == f"hash chains on status_events and audit_log ({sealed} rows sealed)"
    assert all(s.ok for s in chain.verify(store))
    assert "guards_restored" not in queries.audit_log(store)["action"].tolist()
    with pytest.raises(Exception, match="append-only"):
        attack(store, f"UPDATE audit_log SET actor = 'x' WHERE id = {ids(store, 'audit_log')[0]}")
    with pytest.raises(Exception, match="append-only"):
        attack(store, f"DELETE FROM status_events WHERE id = {ids(store, 'status_events')[0]}")
    store.close()


# -- the command line ------------------------------------------------------------------


@pytest.fixture
def cli_history(store_url, monkeypatch):
    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    monkeypatch.delenv("GEO_USER", raising=False)
    store = with_history(store_url)
    boss = services.create_first_admin(store, "admin", PASSWORD)
    services.add_user(store, boss, "viewer1", PASSWORD, ["viewer"], [])
    yield store
    store.close()


def test_cli_audit_verify(cli_history, capsys):
    assert cli(["audit", "verify", "--user", "admin"]) == 0
    out = capsys.readouterr().out
    assert out.count("hash chain intact") == 2 and "chuỗi băm nguyên vẹn" in out
    assert cli(["audit", "verify", "--json", "--user", "admin"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(r["table"], r["ok"], r["first_break"]) for r in report] == [
        ("status_events", True, None), ("audit_log", True, None),
    ]  # fmt: skip

    victim = ids(cli_history, "status_events")[1]
    kind = cli_history.backend.name
    guard = UPDATE_GUARD[kind].format(t="status_events")
    attack(cli_history, drop_trigger(cli_history, guard, "status_events"),
           f"UPDATE status_events SET note = 'forged' WHERE id = {victim}")  # fmt: skip
    assert cli(["audit", "verify", "--json", "--user", "admin"]) == 1
    report = {r["table"]: r for r in json.loads(capsys.readouterr().out)}
    assert (
        not report["status_events"]["ok"] and report["status_events"]["first_break"]["id"] == victim
    )
    assert report["audit_log"]["ok"]
    assert cli(["audit", "verify", "--user", "admin"]) == 1
    assert f"hash chain broken at row id {victim}" in capsys.readouterr().out


def test_cli_audit_verify_needs_the_audit_right(cli_history, capsys):
    assert cli(["audit", "verify", "--user", "viewer1"]) == 2
    assert "not allowed" in capsys.readouterr().err
    entry = queries.audit_log(cli_history).iloc[0]
    assert (entry["actor"], entry["action"], entry["object_type"]) == (
        "viewer1",
        "denied",
        "audit_chain",
    )


@pytest.mark.parametrize("who", ["nobody", "disabled1"])
def test_cli_refusal_of_the_account_is_audited_like_a_service_refusal(cli_history, capsys, who):
    boss = services.load_user(cli_history, "admin")
    services.add_user(cli_history, boss, "disabled1", PASSWORD, ["viewer"], [])
    services.disable_user(cli_history, boss, "disabled1")
    assert cli(["stats", "--user", who]) == 2
    capsys.readouterr()
    by_cli = queries.audit_log(cli_history).iloc[0]
    assert (by_cli["actor"], by_cli["action"], by_cli["object_type"]) == (who, "denied", "ward_stats")
    assert by_cli["details"]["action"] == "view"
    reason = "There is no account" if who == "nobody" else "is disabled"
    assert reason in by_cli["details"]["reason"]
    if who == "disabled1":  # the same attempt through the services leaves the same entry
        with pytest.raises(Exception, match="disabled"):
            services.ward_stats(cli_history, services.load_user(cli_history, who))
        by_service = queries.audit_log(cli_history).iloc[0]
        fields = ["actor", "action", "object_type", "object_id", "details"]
        assert by_service[fields].to_dict() == by_cli[fields].to_dict()
    assert cli(["status", "1", "--to", "verified", "--user", who]) == 2
    entry = queries.audit_log(cli_history).iloc[0]
    assert (entry["actor"], entry["object_type"], entry["object_id"]) == (who, "incident", "1")
    assert all(s.ok for s in chain.verify(cli_history))


def test_a_few_rows_encode_value_by_value_as_arrow_encodes_them():
    """Appending one audit entry or status event skips Arrow (issue 14's POST speed); the
    bytes must be the ones Arrow gives, which verification recomputes."""
    at = pd.Timestamp("2025-07-01 08:30:00.123456", tz="UTC").to_pydatetime()
    audit = {
        "id": [1, 2, 3], "at": [at, at, at], "actor": ["cán bộ", "", "a\ufffdb"],
        "action": ["x", "y", "z"], "object_type": ["t", "t", "t"], "object_id": [None, "", "42"],
        "details": [{"z": 1e16, "a": [1.5, None, True], "ý": {"b": "đ"}}, {}, None],
    }
    events = {
        "id": [7, 8, 9], "incident_id": [1, 2, 3], "from_status": [None, "reported", ""],
        "to_status": ["reported", "verified", "cleared"], "at": [at, at, at],
        "actor": ["a", "b", "c"], "note": [None, "ghi chú; 5:x", ""], "batch_id": [None, 4, None],
    }
    for table, columns in (("audit_log", audit), ("status_events", events)):
        few = _chain.encode_few(table, columns, 3)
        assert few == _chain.encode(table, columns, 3)
        assert len(set(few)) == 3
