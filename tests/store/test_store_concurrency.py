"""Several processes on one store: concurrent ingest, backup while writing, kill -9, and
hash chains that stay one chain (SQLite file; PostGIS when there is a server)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from geo.store import batches, chain, open_store, queries
from tests._locks import write_locked

REPO = Path(__file__).resolve().parents[2]

WRITER = r"""
import json, sys
from pathlib import Path
from tests._store_data import NO_UPDATES, batch, synthetic
from geo.store import batches, open_store

url, name, n_batches, rows, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
store = open_store(url)
accepted = 0
for b in range(n_batches):
    if stop != "-" and Path(stop).exists():
        break
    frame = synthetic(rows, seed=b, source=f"{name}-{b}.csv")
    batches.commit_batch(store, batch(f"{name}-{b}.csv", rows=rows), frame, NO_UPDATES, actor=name)
    accepted += rows
    print("committed", b, flush=True)
print(json.dumps({"accepted": accepted}), flush=True)
"""


#: A writer appending to both chains in many small transactions: one-incident batches,
#: status moves of its own incidents, plain audit entries.
MIXED_WRITER = r"""
import sys
from tests._store_data import NO_UPDATES, batch, synthetic
from geo.store import batches, open_store, queries, workflow

url, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = open_store(url)
for r in range(rounds):
    frame = synthetic(3, seed=r, source=f"{name}-{r}.csv")
    batches.commit_batch(store, batch(f"{name}-{r}.csv"), frame, NO_UPDATES, actor=name)
    mine = queries.incidents(store, limit=None)
    mine = mine[mine["source"] == f"{name}-{r}.csv"]
    workflow.change_status(store, int(mine["id"].iloc[0]), "verified", actor=name)
    store.audit(name, "backup", "store", r, {"round": r})
print("done", flush=True)
"""


def _writer(url: str, name: str, batches: int, rows: int, stop: Path | None = None) -> subprocess.Popen[str]:
    return _spawn(WRITER, url, name, str(batches), str(rows), str(stop or "-"))


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _consistent(path: Path) -> int:
    """Integrity check plus per-batch completeness; returns the number of incidents."""
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        per_batch = raw.execute(
            "SELECT b.id, b.n_incidents, (SELECT count(*) FROM incidents i WHERE i.batch_id = b.id) "
            "FROM batches b"
        ).fetchall()
        assert all(stored == declared for _, declared, stored in per_batch), per_batch
        (incidents,) = raw.execute("SELECT count(*) FROM incidents").fetchone()
        (events,) = raw.execute("SELECT count(*) FROM status_events").fetchone()
        (audits,) = raw.execute("SELECT count(*) FROM audit_log WHERE action = 'ingest'").fetchone()
        assert events == incidents and audits == len(per_batch)
        return int(incidents)
    finally:
        raw.close()


def test_four_processes_ingest_into_one_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    open_store(url).close()
    procs = [_writer(url, f"team{i}", batches=8, rows=1500) for i in range(4)]
    results = [p.communicate(timeout=600) for p in procs]
    accepted = 0
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err.lower() and "busy" not in err.lower()
        accepted += json.loads(out.strip().splitlines()[-1])["accepted"]
    assert accepted == 4 * 8 * 1500
    assert _consistent(tmp_path / "shared.sqlite") == accepted
    store = open_store(url)
    assert len(queries.incidents(store, limit=None)) == accepted
    assert store.row_counts()["batches"] == 32
    assert [(s.table, s.ok) for s in chain.verify(store)] == [("status_events", True), ("audit_log", True)]
    store.close()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def test_concurrent_writers_keep_one_chain(tmp_path, request, backend):
    """Four processes append to both chains at once; every row links to the one before
    it in id order (PostgreSQL: the append lock; SQLite: the write lock)."""
    url = f"sqlite:///{tmp_path / 'chain.sqlite'}" if backend == "sqlite" else request.getfixturevalue("postgis_url")
    open_store(url).close()
    procs = [_spawn(MIXED_WRITER, url, f"w{i}", "15") for i in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0 and "done" in out, err
    store = open_store(url)
    states = chain.verify(store)
    assert [(s.table, s.ok) for s in states] == [("status_events", True), ("audit_log", True)]
    counts = store.row_counts()
    assert counts["status_events"] == 4 * 15 * 4 and states[0].rows == counts["status_events"]
    assert (queries.audit_log(store)["action"] == "backup").sum() == 60
    store.close()


def test_backup_taken_during_ingest_is_consistent(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    store = open_store(url)
    stop = tmp_path / "stop"
    writer = _writer(url, "field", batches=400, rows=2000, stop=stop)
    try:
        assert writer.stdout is not None
        first = writer.stdout.readline()  # the writer has committed one batch and goes on
        assert first.startswith("committed"), writer.stderr.read() if writer.stderr else first
        backups = [store.backup(tmp_path / f"backup{i}.sqlite") for i in range(3)]
    finally:
        stop.touch()
        _out, err = writer.communicate(timeout=600)
    assert writer.returncode == 0, err
    for path in backups:
        count = _consistent(path)
        assert count > 0 and count % 2000 == 0
        copy = open_store(f"sqlite:///{path}")
        assert copy.schema_version() == 10 and len(queries.incidents(copy)) == count
        assert all(s.ok for s in chain.verify(copy))
        with copy.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() in ("wal", "delete")
        copy.close()
    store.close()


def test_kill_9_during_commit_leaves_nothing_half_written(tmp_path):
    path = tmp_path / "killed.sqlite"
    url = f"sqlite:///{path}"
    open_store(url).close()
    writer = _writer(url, "doomed", batches=1, rows=300_000)
    wal = Path(f"{path}-wal")
    try:
        # Wait until the big transaction holds the write lock and is writing pages (the
        # lock is free before BEGIN and after COMMIT), then kill it without warning.
        held = 0
        while writer.poll() is None and (held < 30 or not wal.exists() or wal.stat().st_size < 4_000_000):
            held = held + 1 if write_locked(path) else 0
            time.sleep(0.01)
        assert writer.poll() is None, "the writer finished before it could be killed"
        os.kill(writer.pid, signal.SIGKILL)
        out, _err = writer.communicate(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.communicate()
    assert writer.returncode == -signal.SIGKILL  # the kill happened, mid-transaction
    assert "committed" not in out
    count = _consistent(path)
    assert count == 0  # nothing of the killed batch, and the file is intact
    store = open_store(url)  # recovers and stays writable
    assert store.row_counts()["incidents"] == count
    assert all(s.ok for s in chain.verify(store))
    store.close()


@pytest.mark.postgis
def test_postgis_backup_with_pg_dump(postgis_url, tmp_path):
    from tests._store_data import NO_UPDATES, batch, synthetic

    store = open_store(postgis_url)
    batches.commit_batch(store, batch(), synthetic(50), NO_UPDATES, actor="t")
    out = store.backup(tmp_path / "dump.pgc")
    listing = subprocess.run(
        ["pg_restore", "--list", str(out)], capture_output=True, text=True, check=True
    ).stdout
    assert "TABLE DATA" in listing and "incidents" in listing and "status_events" in listing
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'backup'")).scalar() == 1
    store.close()
