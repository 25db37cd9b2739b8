"""geo._snapshot_file: the snapshot a new process starts from is the store's, or is not used.

Each test compares against :func:`geo.snapshot.load_snapshot`, a full read of the store,
and runs a second Python process where "a freshly started app" matters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo import _snapshot_file
from geo._sealed_file import write_sealed_from
from geo.ingest import ingest
from geo.sample import sample_incidents, write_sample
from geo.snapshot import IncidentSnapshot, load_snapshot, up_to_date
from geo.store import IncidentFilter, open_store, queries, workflow
from tests._snapshots import assert_metres_of_degrees, decoded
from tests.conftest import REPO

SAMPLE = REPO / "data" / "incidents" / "sample_incidents.csv"

#: A new process: the snapshot it starts from, as JSON (rows read, count, statuses by id).
_NEW_PROCESS = """
import json, sys
from geo.snapshot import up_to_date
from geo.store import open_store
store = open_store(sys.argv[1])
snap = up_to_date(None, store)
ids = [int(i) for i in sys.argv[2:]]
pos = {int(i): p for p, i in enumerate(snap.ids)}
status = {i: str(snap.labels["status"][snap.codes["status"][pos[i]]]) for i in ids}
print(json.dumps({"rows_read": snap.rows_read, "n": len(snap), "status": status}))
"""


@pytest.fixture
def snapshot_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "snapshots"
    monkeypatch.setenv("GEO_SNAPSHOT_DIR", str(folder))
    return folder


@pytest.fixture
def sample_store(store, snapshot_dir):
    ingest(SAMPLE, store, actor="test")
    return store


def _new_process(url: str, ids: list[int]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _NEW_PROCESS, url, *map(str, ids)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _first_ids(store, status: str, n: int) -> list[int]:
    return queries.incidents(store, IncidentFilter(statuses=status), limit=n)["id"].astype(int).tolist()


def test_the_file_holds_what_a_full_read_holds(sample_store, snapshot_dir):
    assert _snapshot_file.read(sample_store) is None  # nothing written yet
    first = up_to_date(None, sample_store)
    assert first.rows_read == len(first) > 1000
    path = _snapshot_file.path_for(sample_store)
    assert path.parent == snapshot_dir and path.exists()
    again = _snapshot_file.read(sample_store)
    assert again is not None and again.rows_read == 0 and again.version == first.version
    pd.testing.assert_frame_equal(decoded(again), decoded(load_snapshot(sample_store)))
    assert_metres_of_degrees(again)  # the metres are kept in the file, as computed
    for column in again.labels:  # the codes point into the same labels, in the same order
        assert list(again.labels[column]) == list(first.labels[column])
    assert up_to_date(None, sample_store).rows_read == 0  # unchanged store: nothing read


def test_a_new_process_sees_every_write(sample_store, tmp_path):
    up_to_date(None, sample_store)  # the file a running app left behind
    moved = _first_ids(sample_store, "reported", 2)
    workflow.change_status(sample_store, moved[0], "verified", actor="test")
    workflow.change_status(sample_store, moved[1], "cleared", actor="test")
    extra = write_sample(sample_incidents(30, seed=7), tmp_path / "extra.csv")
    assert ingest(extra, sample_store, actor="test").summary()["accepted"] == 30
    expected = load_snapshot(sample_store)

    seen = _new_process(sample_store.url, moved)
    assert seen["n"] == len(expected)
    assert seen["status"] == {str(moved[0]): "verified", str(moved[1]): "cleared"}
    # the ingest brought the file up to date (geo._snapshot_batch), the moves before it too
    assert seen["rows_read"] == 0
    # another move after it: both databases patch the file's snapshot with that one row
    workflow.change_status(sample_store, moved[0], "in_progress", actor="test")
    expected = load_snapshot(sample_store)
    seen = _new_process(sample_store.url, moved)
    assert seen["status"] == {str(moved[0]): "in_progress", str(moved[1]): "cleared"}
    assert seen["rows_read"] == 1
    # one row patched is not worth rewriting the file (REWRITE_ROWS): it stays at the
    # ingest's version, and a third process patches the same one row from it
    persisted = _snapshot_file.read(sample_store)
    assert persisted is not None and persisted.version != expected.version
    third = _new_process(sample_store.url, moved[:1])
    assert (third["rows_read"], third["status"]) == (1, {str(moved[0]): "in_progress"})


def test_patched_rows_are_written_to_the_file_once_enough_have_gathered(sample_store, monkeypatch):
    """A running page patches each officer's status move into its snapshot; it rewrites
    the file only once REWRITE_ROWS patched rows have gathered since the file (counted
    across reruns), and what it then writes is the store as it is."""
    import geo.snapshot

    monkeypatch.setattr(geo.snapshot, "REWRITE_ROWS", 3)
    snap = up_to_date(None, sample_store)  # read whole: written
    written = _snapshot_file.read(sample_store)
    assert written is not None and written.version == snap.version
    moved = _first_ids(sample_store, "reported", 3)
    for k, incident in enumerate(moved, start=1):
        workflow.change_status(sample_store, incident, "verified", actor="test")
        snap = up_to_date(snap, sample_store)
        assert snap.rows_read == 1
        on_disk = _snapshot_file.read(sample_store)
        assert on_disk is not None
        if k < 3:  # 1 and 2 rows since the file: not yet
            assert on_disk.version == written.version and snap.unsaved == k
        else:  # the third: written, and the count starts again
            assert on_disk.version == snap.version and snap.unsaved == 0
            pd.testing.assert_frame_equal(decoded(on_disk), decoded(load_snapshot(sample_store)))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # torn write
        lambda data: data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0x01]) + data[len(data) // 2 + 1 :],  # a bit of an array
        lambda data: b"GEOSNAP0" + data[8:],  # another format's magic
        lambda data: b"",
        lambda data: os.urandom(len(data)),
    ],
    ids=["truncated", "bit-flip", "magic", "empty", "noise"],
)
def test_a_damaged_file_is_ignored_and_rewritten(sample_store, damage):
    up_to_date(None, sample_store)
    path = _snapshot_file.path_for(sample_store)
    path.write_bytes(damage(path.read_bytes()))
    assert _snapshot_file.read(sample_store) is None
    rebuilt = up_to_date(None, sample_store)
    assert rebuilt.rows_read == len(rebuilt)  # read from the store, not the file
    pd.testing.assert_frame_equal(decoded(rebuilt), decoded(load_snapshot(sample_store)))
    assert _snapshot_file.read(sample_store) is not None  # and a good file written again


def test_a_file_of_the_layout_before_metres_is_rebuilt_with_them(sample_store, snapshot_dir):
    """A file the previous release wrote (GEOSNAP3: lat/lon, no x/y) under a valid digest
    and identity: not used; the page reads the store whole and writes the new layout."""
    current = up_to_date(None, sample_store)
    table = _snapshot_file._table(current, _snapshot_file._identity(sample_store, current.version))
    old = table.drop_columns(["x", "y"])
    path = _snapshot_file.path_for(sample_store)
    write_sealed_from(path, b"GEOSNAP3", lambda out: _snapshot_file._ipc_file(old, out))
    assert _snapshot_file.read(sample_store) is None
    rebuilt = up_to_date(None, sample_store)
    assert rebuilt.rows_read == len(rebuilt)  # read from the store, not the old file
    assert_metres_of_degrees(rebuilt)
    assert path.read_bytes().startswith(_snapshot_file.MAGIC) and _snapshot_file.MAGIC != b"GEOSNAP3"
    kept = _snapshot_file.read(sample_store)
    assert kept is not None
    assert_metres_of_degrees(kept)


def test_a_changed_coordinate_is_caught_by_the_digest(sample_store):
    """One low bit of one latitude: the arrays stay well-formed, only the digest differs."""
    good = up_to_date(None, sample_store)
    path = _snapshot_file.path_for(sample_store)
    data = path.read_bytes()
    at = data.index(np.float64(good.lat[0]).tobytes())
    path.write_bytes(data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :])
    assert _snapshot_file.read(sample_store) is None
    assert up_to_date(None, sample_store).lat[0] == good.lat[0]


def test_a_file_with_a_valid_digest_but_wrong_arrays_is_ignored(sample_store):
    good = up_to_date(None, sample_store)
    bad = IncidentSnapshot(
        version=good.version, ids=good.ids[::-1].copy(), lat=good.lat, lon=good.lon, x=good.x, y=good.y,
        codes=good.codes, labels=good.labels, times=good.times,
    )
    assert _snapshot_file.write(bad, sample_store) is not None
    assert _snapshot_file.read(sample_store) is None  # ids not ascending


def test_a_file_of_another_store_is_not_used(sample_store, tmp_path):
    up_to_date(None, sample_store)
    other = open_store(f"sqlite:///{tmp_path / 'other.sqlite'}")
    try:
        ingest(SAMPLE, other, actor="test")
        _snapshot_file.path_for(other).write_bytes(_snapshot_file.path_for(sample_store).read_bytes())
        assert _snapshot_file.read(other) is None
    finally:
        other.close()


def test_a_store_made_again_under_the_same_url_does_not_inherit_the_file(tmp_path, snapshot_dir):
    """Same file name, same rows, same counts and ids: only the audit chain tells them apart."""
    url = f"sqlite:///{tmp_path / 'again.sqlite'}"
    first = open_store(url)
    ingest(SAMPLE, first, actor="test")
    moved = _first_ids(first, "reported", 1)[0]
    workflow.change_status(first, moved, "verified", actor="test")
    kept = up_to_date(None, first)
    first.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'again.sqlite'}{suffix}").unlink(missing_ok=True)
    second = open_store(url)
    try:
        ingest(SAMPLE, second, actor="test")
        workflow.change_status(second, moved, "cleared", actor="test")
        assert load_snapshot(second).version == kept.version  # the counters cannot tell
        assert _snapshot_file.read(second) is None
        seen = up_to_date(None, second)
        pos = int(np.flatnonzero(seen.ids == moved)[0])
        assert seen.labels["status"][seen.codes["status"][pos]] == "cleared"
    finally:
        second.close()


def test_a_file_from_another_schema_version_is_not_used(sample_store, monkeypatch):
    up_to_date(None, sample_store)
    assert _snapshot_file.read(sample_store) is not None
    version = sample_store.schema_version()
    monkeypatch.setattr(type(sample_store), "schema_version", lambda self: version + 1)
    assert _snapshot_file.read(sample_store) is None


def test_an_unwritable_folder_costs_only_the_file(sample_store, tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    monkeypatch.setenv("GEO_SNAPSHOT_DIR", str(blocker))
    snap = up_to_date(None, sample_store)
    assert len(snap) == sample_store.row_counts()["incidents"]
    assert _snapshot_file.read(sample_store) is None


#: A process that dies while it writes the file, after the body and before the rename
#: (as a restart's SIGKILL can catch it): it leaves its temporary file behind.
_DIES_WRITING = """
import os, signal, sys
from geo.snapshot import up_to_date
from geo.store import open_store
os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
up_to_date(None, open_store(sys.argv[1]))
"""


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)  # the file alone: any store
def test_a_temporary_file_left_by_a_writer_that_died_is_removed_by_a_later_write(sample_store, snapshot_dir):
    """A write goes through a temporary file renamed over the target, so a writer killed
    mid-write leaves no half file where readers look, but it does leave the temporary
    one (hundreds of MB at millions of incidents), and each such death added another.
    The next write of the file removes those old enough to belong to no live writer."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    died = subprocess.run(
        [sys.executable, "-c", _DIES_WRITING, sample_store.url],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False,
    )  # fmt: skip
    assert died.returncode == -9, died.stderr
    target = _snapshot_file.path_for(sample_store)
    (left,) = snapshot_dir.glob("*.tmp")
    assert left.name.startswith(target.name) and left.stat().st_size > 0 and not target.exists()
    old = left.stat().st_mtime - 2 * 3600  # from a restart two hours ago
    os.utime(left, (old, old))
    writing = snapshot_dir / f"{target.name}live.tmp"  # another process writing right now
    writing.write_bytes(b"partial")

    first = up_to_date(None, sample_store)
    assert first.rows_read == len(first) and target.exists()
    assert sorted(p.name for p in snapshot_dir.iterdir()) == sorted([target.name, writing.name])
