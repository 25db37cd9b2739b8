"""First-start seeding: a fresh store gets the committed sample once, and only once."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from geo import seed
from geo.store import open_store, queries
from tests._incidents import make_store
from tests.conftest import REPO

SAMPLE = REPO / "data" / "incidents" / "sample_incidents.csv"


@pytest.fixture
def small_sample(tmp_path):
    """The first 60 rows of the committed sample (keeps the repeated seeds fast)."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "small_sample.csv"
    path.write_text("".join(lines[:61]), encoding="utf-8")
    return path


@pytest.fixture
def seed_on(monkeypatch):
    monkeypatch.setenv(seed.SEED_ENV, "1")


def _batches(store):
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(store.tables["batches"].select())]


def test_fresh_store_gets_the_committed_sample_once(store, seed_on, wards):
    assert seed.store_is_empty(store)
    assert seed.ensure_seeded(store, wards=wards) is True
    counts = store.row_counts()
    sustain_rows = len(pd.read_csv(seed.SUSTAIN_CSV))
    assert counts["incidents"] >= 5000 + sustain_rows  # + recurrences from 'tái vi phạm' checks
    batch, sustain, rechecks = _batches(store)
    results = rechecks["counts"]
    assert results["rows"] == len(pd.read_csv(seed.RECHECKS_CSV))
    assert results["rows"] == results["accepted"] + results["duplicate"] + results["rejected"]
    assert counts["inspections"] == results["accepted"] > 0.9 * results["rows"]
    assert batch["source"] == "sample"
    assert batch["actor"] == "system"
    assert batch["file_name"] == "sample_incidents.csv"
    assert (sustain["file_name"], rechecks["file_name"]) == ("sample_sustain.csv", "sample_rechecks.csv")
    log = queries.audit_log(store)
    assert ((log["action"] == "ingest") & (log["actor"] == "system")).sum() == 2
    # the second start finds it seeded and leaves it alone
    assert seed.ensure_seeded(store, wards=wards) is False
    assert store.row_counts()["incidents"] == counts["incidents"]
    assert len(_batches(store)) == 3


def test_off_by_environment(store, monkeypatch, small_sample):
    for value in ("0", "false", "off"):
        monkeypatch.setenv(seed.SEED_ENV, value)
        assert seed.ensure_seeded(store, small_sample) is False
    assert store.row_counts()["incidents"] == 0
    assert seed.store_is_empty(store)


def test_a_store_with_data_is_never_seeded(tmp_path, wards, seed_on, small_sample):
    store = make_store(tmp_path / "known.sqlite", wards)
    try:
        assert not seed.store_is_empty(store)
        assert seed.ensure_seeded(store, small_sample) is False
        assert store.row_counts()["incidents"] == 3
    finally:
        store.close()


def test_accounts_alone_do_not_count_as_data(tmp_path, seed_on, small_sample):
    from geo import services

    store = open_store(f"sqlite:///{tmp_path / 'users.sqlite'}")
    try:
        services.create_first_admin(store, "boss", "a-long-password-1")
        assert seed.ensure_seeded(store, small_sample) is True
        assert store.row_counts()["incidents"] == 60
    finally:
        store.close()


def test_missing_sample_file_is_a_quiet_no_op(tmp_path, seed_on):
    store = open_store(f"sqlite:///{tmp_path / 'nofile.sqlite'}")
    try:
        assert seed.ensure_seeded(store, tmp_path / "absent.csv") is False
        assert seed.store_is_empty(store)
    finally:
        store.close()


_WORKER = """
import json, sys
sys.path.insert(0, {repo!r})
from geo import seed
from geo.store import open_store
store = open_store({url!r})
print(json.dumps(seed.ensure_seeded(store, {sample!r})))
store.close()
"""


def test_two_processes_starting_at_once_seed_once(store_url, seed_on, small_sample):
    open_store(store_url).close()  # schema made, still empty
    script = _WORKER.format(repo=str(REPO), url=store_url, sample=str(small_sample))
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(results) == [False, False, True]
    store = open_store(store_url)
    try:
        assert store.row_counts()["incidents"] == 60
        assert len(_batches(store)) == 1
    finally:
        store.close()


def test_the_app_seeds_a_fresh_store_on_first_start(tmp_path, monkeypatch, seed_on):
    from streamlit.testing.v1 import AppTest

    url = f"sqlite:///{tmp_path / 'fresh_app.sqlite'}"
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    # nobody is signed in yet: the first-admin form, over a store that now holds the sample
    assert [s.value for s in at.subheader] == ["Tạo tài khoản quản trị đầu tiên"]
    store = open_store(url)
    try:
        # every result is accepted; each "tái vi phạm" (violation) opens a recurrence incident
        results = pd.read_csv(seed.RECHECKS_CSV)
        reopened = int((results["kết quả"] == "tái vi phạm").sum())
        assert reopened > 0
        assert store.row_counts()["incidents"] == 5000 + len(pd.read_csv(seed.SUSTAIN_CSV)) + reopened
        assert [b["source"] for b in _batches(store)] == ["sample", "sample_sustain", "recheck"]
    finally:
        store.close()
