"""geo._snapshot_file: the snapshot a new process starts from is the store's, or is not used.

Each test compares against :func:`geo.snapshot.load_snapshot`, a full read of the store,
and runs a second Python process where "a freshly started app" matters.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from geo import _snapshot_file
from geo._sealed_file import opened_sealed, read_sealed, write_sealed, write_sealed_from
from geo.ingest import ingest
from geo.sample import sample_incidents, write_sample
from geo.snapshot import IncidentSnapshot, load_snapshot, patch_columns, up_to_date
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
    with _snapshot_file.opened(sample_store) as columns:  # nor read a column at a time
        assert columns is None
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
    with _snapshot_file.opened(sample_store) as columns:
        assert columns is None


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


def test_the_file_hashed_as_it_is_written_is_the_magic_the_body_s_digest_and_the_body(sample_store):
    """The file is written through a stream that hashes it (never held whole in memory);
    its bytes are still the rule's: the magic, the SHA-256 of the body, the body, which is
    the Arrow IPC file of the snapshot's table exactly as Arrow writes it into a buffer."""
    current = up_to_date(None, sample_store)
    table = _snapshot_file._table(current, _snapshot_file._identity(sample_store, current.version))
    buffer = pa.BufferOutputStream()
    with pa.ipc.new_file(buffer, table.schema) as writer:
        writer.write_table(table)
    body = buffer.getvalue().to_pybytes()
    assert len(body) > 300_000  # written in many pieces
    data = _snapshot_file.path_for(sample_store).read_bytes()
    assert data == _snapshot_file.MAGIC + hashlib.sha256(body).digest() + body


def test_a_body_that_fails_midway_leaves_the_old_file_and_nothing_else(tmp_path):
    path = tmp_path / "sealed.bin"
    write_sealed(path, b"TESTSEAL", b"the old body")

    def produce(out):
        out.write(b"x" * 100_000)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_sealed_from(path, b"TESTSEAL", produce)
    assert bytes(read_sealed(path, b"TESTSEAL")) == b"the old body"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left
    with opened_sealed(path, b"TESTSEAL") as body:  # read as a stream, hashed in chunks
        assert body is not None and body.read() == b"the old body"


@pytest.mark.parametrize("chunk", [4096, 1 << 30], ids=["hashed-while-read", "one-piece"])
def test_a_file_read_in_chunks_is_refused_for_any_damaged_byte_and_read_whole_when_sound(
    sample_store, monkeypatch, chunk
):
    """The page's read hashes chunk i in a second thread while chunk i + 1 is read
    (:func:`geo._sealed_file.read_sealed`); a flipped bit in the first, last, or any
    chunk's first or last byte, a file one byte short or one byte long, must each read
    as no file, and the sound file as the snapshot written."""
    monkeypatch.setattr("geo._sealed_file.READ_CHUNK_BYTES", chunk)
    written = up_to_date(None, sample_store)
    path = _snapshot_file.path_for(sample_store)
    good = path.read_bytes()
    head = len(_snapshot_file.MAGIC) + 32
    assert len(good) - head > 50 * 4096  # many chunks
    body = read_sealed(path, _snapshot_file.MAGIC)
    assert body is not None and bytes(body) == good[head:]
    pd.testing.assert_frame_equal(decoded(_snapshot_file.read(sample_store)), decoded(written))
    places = [head, head + 4095, head + 4096, head + 37 * 4096 - 1, head + 37 * 4096, len(good) - 1]
    damaged = [good[:at] + bytes([good[at] ^ 0x01]) + good[at + 1 :] for at in places]
    damaged += [good[:-1], good + b"\0", good[: head - 1]]
    for data in damaged:
        path.write_bytes(data)
        assert read_sealed(path, _snapshot_file.MAGIC) is None
        assert _snapshot_file.read(sample_store) is None
    path.write_bytes(good)
    assert bytes(read_sealed(path, _snapshot_file.MAGIC)) == good[head:]


def test_a_file_read_a_column_at_a_time_is_the_file_read_whole(sample_store, monkeypatch):
    """What the ingest reads column by column (:func:`geo._snapshot_file.opened`) is what
    the page reads whole, and the digest is checked over every chunk of the file."""
    monkeypatch.setattr("geo._sealed_file.CHUNK_BYTES", 4096)
    up_to_date(None, sample_store)
    whole = _snapshot_file.read(sample_store)
    assert whole is not None
    held = {"id": whole.ids, "lat": whole.lat, "lon": whole.lon, "x": whole.x, "y": whole.y, **whole.codes, **whole.times}
    with _snapshot_file.opened(sample_store) as columns:
        assert columns is not None and columns.version == whole.version and len(columns) == len(whole)
        for name in held:
            np.testing.assert_array_equal(columns.column(name), held[name])
        for name, labels in whole.labels.items():
            assert list(columns.labels[name]) == list(labels)
    path = _snapshot_file.path_for(sample_store)
    data = bytearray(path.read_bytes())
    data[-5000] ^= 0x01  # in the last chunks
    path.write_bytes(bytes(data))
    with _snapshot_file.opened(sample_store) as columns:
        assert columns is None


def test_a_patch_of_columns_given_one_at_a_time_lets_each_go_before_the_next(sample_store):
    """The ingest's update holds one old column at a time beside the new snapshot: each
    column is asked for once, and the ones asked for before are gone by then. The result
    is the rule's: the old rows, then the appended parts in order, with the changed rows
    overwritten."""
    full = load_snapshot(sample_store)
    columns = {"id": full.ids, "lat": full.lat, "lon": full.lon, "x": full.x, "y": full.y, **full.codes, **full.times}
    n = len(full)
    index = {name: {v: i for i, v in enumerate(full.labels[name])} for name in full.labels}
    parts = [{name: values[n - 10 : n - 4].copy() for name, values in columns.items()},
             {name: values[n - 4 :].copy() for name, values in columns.items()}]  # fmt: skip
    changed = {name: values[[3]].copy() for name, values in columns.items()}
    changed["status"][0] = (full.codes["status"][3] + 1) % len(full.labels["status"])
    given: list[tuple[str, weakref.ref]] = []

    def held(name: str) -> np.ndarray:
        assert name not in [asked for asked, _ in given]  # each once
        assert all(ref() is None for asked, ref in given if asked != "id")  # the earlier ones let go
        old = columns[name][: n - 10].copy()
        given.append((name, weakref.ref(old)))
        return old

    patched = patch_columns(held, full.version, parts, changed, index, 11)
    asked = [name for name, _ in given]
    assert patched is not None and asked[0] == "id" and sorted(asked) == sorted(columns)
    expected = {name: values.copy() for name, values in columns.items()}
    expected["status"][3] = changed["status"][0]
    got = {"id": patched.ids, "lat": patched.lat, "lon": patched.lon, "x": patched.x, "y": patched.y,
           **patched.codes, **patched.times}  # fmt: skip
    for name in columns:
        np.testing.assert_array_equal(got[name], expected[name])


def _vm_flags(address: int) -> list[str]:
    """The ``VmFlags`` of this process's mapping that holds ``address`` (Linux)."""
    lines = Path("/proc/self/smaps").read_text().splitlines()
    inside = False
    for line in lines:
        first = line.split()[0]
        if "-" in first and all(c in "0123456789abcdef-" for c in first):
            start, end = (int(part, 16) for part in first.split("-"))
            inside = start <= address < end
        elif inside and first == "VmFlags:":
            return line.split()[1:]
    raise AssertionError("no mapping holds the address")


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux's /proc/self/smaps")
def test_a_body_read_whole_is_memory_of_its_own_without_huge_pages(tmp_path):
    """The page's read lands in fresh memory that does not ask for transparent huge pages
    (``numpy.empty`` asks, and reading 800 MB into it took about twice as long here:
    benchmarks/RESULTS.md, "page27, session 27"); the bytes are the process's own, so the
    file changed in place afterwards leaves what was returned (and hashed) as it was."""
    path = tmp_path / "sealed.bin"
    body = bytes(range(256)) * (3 * 4096)  # several pages, read and hashed in chunks
    write_sealed(path, b"TESTSEAL", body)
    read = read_sealed(path, b"TESTSEAL")
    assert read is not None and bytes(read) == body
    address = np.frombuffer(read, dtype=np.uint8).ctypes.data
    flags = _vm_flags(address)
    assert "nh" in flags and "hg" not in flags  # MADV_NOHUGEPAGE, not MADV_HUGEPAGE
    with path.open("r+b") as handle:  # the file changed under the reader, in place
        handle.seek(100)
        handle.write(b"\xff" * 4096)
    assert bytes(read) == body


@pytest.mark.parametrize("offset", [0, 1, 3, 8, 13])
def test_coded_and_instant_columns_read_from_a_file_are_their_values_with_nulls_as_minus_one_and_nat(offset):
    """A file's coded columns decode to each value's code and -1 for a null; its instant
    columns to each instant and NaT for a null (:func:`geo._snapshot_file._codes`,
    ``_values``), read from the validity bitmap, at any offset into it (a sliced array),
    in several chunks or one; a column without nulls is the bytes read, never written."""
    rng = np.random.default_rng(offset)
    n = 200
    nulls = {0, 7, 8, 9, 15, 16, 63, 64, 65, 127, 128, n - 2, n - 1} | set(rng.choice(n, 40).tolist())
    codes = [None if i in nulls else int(rng.integers(0, 5)) for i in range(n)]
    ns = [None if i in nulls else int(rng.integers(1_600_000_000, 1_800_000_000)) * 10**9 + i for i in range(n)]
    labels = pa.array(["a", "b", "c", "d", "e"])
    kept = slice(offset, None)
    expected_codes = np.array([-1 if c is None else c for c in codes[kept]], dtype=np.int32)
    expected_times = np.array(["NaT" if t is None else t for t in ns[kept]], dtype="datetime64[ns]")
    coded = pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), labels)[kept]
    instants = pa.array(ns, type=pa.timestamp("ns"))[kept]
    # the sliced arrays themselves (Arrow may hand a column over at an offset into its buffers)
    np.testing.assert_array_equal(_snapshot_file._filled(coded.indices, np.int32, -1), expected_codes)
    nat = np.iinfo(np.int64).min
    np.testing.assert_array_equal(_snapshot_file._filled(instants, np.int64, nat).view("datetime64[ns]"), expected_times)
    for pieces in (1, 3):
        cut = np.linspace(0, len(coded), pieces + 1).astype(int)
        column = pa.chunked_array([coded[a:b] for a, b in itertools.pairwise(cut)])
        got, got_labels = _snapshot_file._codes(column)
        np.testing.assert_array_equal(got, expected_codes)
        assert got.dtype == np.int32 and list(got_labels) == ["a", "b", "c", "d", "e"]
        times = pa.chunked_array([instants[a:b] for a, b in itertools.pairwise(cut)])
        got_times = _snapshot_file._values(times, "time")
        assert got_times.dtype == np.dtype("datetime64[ns]")
        np.testing.assert_array_equal(got_times, expected_times)  # NaT equals NaT here
    whole = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array([c or 0 for c in codes], type=pa.int32()), labels)[kept]])
    got, _ = _snapshot_file._codes(whole)
    np.testing.assert_array_equal(got, [c or 0 for c in codes[kept]])
    assert not got.flags.writeable
    # the bytes read, not a copy (combine_chunks copies even a lone chunk: 240 MB at 10M)
    assert np.shares_memory(got, np.frombuffer(whole.chunk(0).indices.buffers()[1], dtype=np.uint8))
    no_null = pa.chunked_array([pa.array([t or 1 for t in ns], type=pa.timestamp("ns"))])
    got_times = _snapshot_file._values(no_null, "time")
    np.testing.assert_array_equal(got_times.astype(np.int64), [t or 1 for t in ns])
    assert np.shares_memory(got_times, np.frombuffer(no_null.chunk(0).buffers()[1], dtype=np.uint8))
    with pytest.raises(pa.ArrowInvalid):  # a code past its labels
        _snapshot_file._codes(pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array([0, 5], type=pa.int32()), labels, safe=False)]))


@pytest.mark.parametrize("fault", ["swapped", "repeated"])
def test_a_file_whose_ids_do_not_strictly_ascend_is_ignored(sample_store, fault):
    """Count and last id as the version says, but two ids out of order or one twice in
    the middle: every patch finds rows by ``searchsorted``, so such a file is not used."""
    good = up_to_date(None, sample_store)
    ids = good.ids.copy()
    if fault == "swapped":
        ids[[1, 2]] = ids[[2, 1]]
    else:
        ids[2] = ids[1]
    bad = IncidentSnapshot(
        version=good.version, ids=ids, lat=good.lat, lon=good.lon, x=good.x, y=good.y,
        codes=good.codes, labels=good.labels, times=good.times,
    )
    assert _snapshot_file.write(bad, sample_store) is not None
    assert _snapshot_file.read(sample_store) is None
