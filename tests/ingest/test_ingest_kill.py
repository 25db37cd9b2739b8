"""A batch is stored entirely or not at all: kill -9 in the middle leaves the store as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from geo.ingest import IngestOptions, ingest
from geo.store import open_store
from tests._files import ROWS, csv_text
from tests._locks import write_locked
from tests._signin import ensure_account

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _big_file(path, n: int) -> None:
    rng = np.random.default_rng(7)
    pd.DataFrame({
        "mã": [f"K-{i}" for i in range(n)],
        "vĩ độ": np.round(21.02 + rng.random(n) * 0.03, 6),
        "kinh độ": np.round(105.83 + rng.random(n) * 0.03, 6),
        "loại": rng.choice(["Lấn chiếm vỉa hè", "Mái che", "Đỗ xe trái phép"], n),
        "ngày": "05/07/2025",
    }).to_csv(path, index=False)  # fmt: skip


def test_kill_mid_batch_leaves_the_store_unchanged(tmp_path, wards):
    db_path = tmp_path / "kill.sqlite"
    store = open_store(f"sqlite:///{db_path}")
    small = tmp_path / "first.csv"
    small.write_text(csv_text(ROWS), encoding="utf-8")
    ingest(small, store, IngestOptions(wards=wards), actor="setup")  # wards, one batch stored
    before = store.row_counts()
    store.close()

    big = tmp_path / "big.csv"
    _big_file(big, 200_000)
    env = dict(os.environ, GEO_DATABASE_URL=f"sqlite:///{db_path}")
    field_user = ensure_account(f"sqlite:///{db_path}", "field")
    before = open_store(f"sqlite:///{db_path}").row_counts()  # the account is part of it
    proc = subprocess.Popen(
        [sys.executable, "-m", "geo", "ingest", str(big), "--json", "--user", field_user],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        # Wait until the writer has held the write lock for a while: the short no-op
        # transactions (schema check, ward refresh) release it within milliseconds, the
        # 200,000-row batch does not.
        held = 0
        while proc.poll() is None and held < 30:
            held = held + 1 if write_locked(db_path) else 0
            time.sleep(0.01)
        assert proc.poll() is None, "the ingest finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = open_store(f"sqlite:///{db_path}")
    try:
        assert store.row_counts() == before
    finally:
        store.close()


def _copying(url: str) -> bool:
    """True while another session of the database runs a COPY into incidents (the batch's
    transaction is open and half written)."""
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as con:
        row = con.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE 'COPY incidents%%'"
        ).fetchone()
    return bool(row and row[0])


@pytest.mark.postgis
def test_kill_mid_batch_leaves_the_postgis_store_unchanged(postgis_url, tmp_path, wards):
    """The same on PostGIS, where a batch as large as the table is written with its
    indexes and foreign keys dropped: the kill rolls back the rows and the DDL alike."""
    from sqlalchemy import text

    store = open_store(postgis_url)
    small = tmp_path / "first.csv"
    small.write_text(csv_text(ROWS), encoding="utf-8")
    ingest(small, store, IngestOptions(wards=wards), actor="setup")
    store.close()
    big = tmp_path / "big.csv"
    _big_file(big, 200_000)
    field_user = ensure_account(postgis_url, "field")
    store = open_store(postgis_url)
    schema_sql = text(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c "
        "ON c.oid = i.indexrelid WHERE i.indrelid = CAST('incidents' AS regclass) "
        "UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid IN (CAST('incidents' AS regclass), CAST('status_events' AS regclass)) "
        "ORDER BY 1, 2"
    )
    try:
        before = store.row_counts()
        with store.read() as conn:
            schema = conn.execute(schema_sql).all()
    finally:
        store.close()
    env = dict(os.environ, GEO_DATABASE_URL=postgis_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "geo", "ingest", str(big), "--json", "--user", field_user],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        held = 0
        while proc.poll() is None and held < 5:
            held = held + 1 if _copying(postgis_url) else 0
            time.sleep(0.01)
        assert proc.poll() is None, "the ingest finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = open_store(postgis_url)
    try:
        assert store.row_counts() == before
        with store.read() as conn:
            assert conn.execute(schema_sql).all() == schema
    finally:
        store.close()
