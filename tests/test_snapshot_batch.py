"""geo._snapshot_batch: an ingest leaves the map's snapshot file as a full read of the
store would be, for the version it names, or leaves the old file.

Every test compares the file with :func:`geo.snapshot.load_snapshot` (a full read of the
store) on SQLite and PostGIS; the store's rules say what must be in it, not the patch.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from geo import _snapshot_file
from geo.ingest import IngestOptions, ingest, preview
from geo.sample import sample_incidents, write_sample
from geo.snapshot import IncidentSnapshot, load_snapshot, store_version, up_to_date
from geo.store import IncidentFilter, batches, queries, workflow
from tests._snapshots import assert_metres_of_degrees, decoded, resent

TEAM = IngestOptions(source="team")  # one namespace of ids: a row sent again is the same incident


@pytest.fixture
def snapshot_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "snapshots"
    monkeypatch.setenv("GEO_SNAPSHOT_DIR", str(folder))
    return folder


def _stored(store, tmp_path: Path, n: int = 1500) -> pd.DataFrame:
    frame = sample_incidents(n, seed=31)
    assert ingest(write_sample(frame, tmp_path / "first.csv"), store, TEAM, actor="test").summary()["accepted"] == n
    return frame


def _file(store) -> IncidentSnapshot:
    kept = _snapshot_file.read(store)
    assert kept is not None
    return kept


def _first_ids(store, status: str, n: int) -> list[int]:
    return queries.incidents(store, IncidentFilter(statuses=status), limit=n)["id"].astype(int).tolist()


def _status_of(snapshot: IncidentSnapshot, incident: int) -> str:
    pos = int(np.flatnonzero(snapshot.ids == incident)[0])
    return str(snapshot.labels["status"][snapshot.codes["status"][pos]])


def _rows_streamed(store, monkeypatch) -> list[int]:
    """Counts the rows read through the backend's row stream (the snapshot's reads)
    while the ingest brings the file up to date."""
    import geo._snapshot_batch

    seen: list[int] = []
    stream, follow = store.backend.stream_rows, geo._snapshot_batch.follow
    following = []

    def counted(*args, **kwargs):
        for rows in stream(*args, **kwargs):
            if following:
                seen.append(len(rows))
            yield rows

    def followed(*args, **kwargs):
        following.append(True)
        try:
            return follow(*args, **kwargs)
        finally:
            following.clear()

    monkeypatch.setattr(store.backend, "stream_rows", counted)
    monkeypatch.setattr(geo._snapshot_batch, "follow", followed)
    return seen


def test_an_ingest_leaves_the_file_a_full_read_would_write(store, tmp_path, snapshot_dir):
    """New incidents, moves of stored ones (a re-sent file) and the recurrences a batch
    causes: the file after the ingest is the store's, at the store's version, and the
    ingest read back only the incidents the audit log names, not its new rows."""
    first_file = _stored(store, tmp_path)
    up_to_date(None, store)  # the file a page left
    before = store_version(store)
    batch = pd.concat([resent(first_file, 200, "Đã xử lý"), sample_incidents(700, seed=32)], ignore_index=True)
    with pytest.MonkeyPatch.context() as patched:
        streamed = _rows_streamed(store, patched)
        summary = ingest(write_sample(batch, tmp_path / "b.csv"), store, TEAM, actor="test").summary()
    assert (summary["accepted"], summary["status_updates"]) == (700, 200)

    kept = _file(store)
    assert kept.version == store_version(store) != before
    assert_metres_of_degrees(kept)  # the batch's own rows among them
    fresh = load_snapshot(store)
    pd.testing.assert_frame_equal(decoded(kept), decoded(fresh))
    with store.read() as conn:  # the incidents the batch's audit entries name: moves, recurrences
        named = conn.execute(
            text("SELECT count(DISTINCT object_id) FROM audit_log WHERE id > :v AND object_type = 'incident'"),
            {"v": int(before[2])},
        ).scalar()
    assert 200 <= int(named) < 700
    assert sum(streamed) == named  # the 700 new rows came from the ingest's own arrays
    assert up_to_date(None, store).rows_read == 0  # a new process starts from a current file


def test_a_file_behind_by_other_writes_is_brought_up_to_date_too(store, tmp_path, snapshot_dir):
    """Writes between the file and the batch (a status move, a batch written without
    following the file): the ingest reads what they changed and added."""
    _stored(store, tmp_path)
    up_to_date(None, store)
    moved = _first_ids(store, "reported", 1)[0]
    workflow.change_status(store, moved, "verified", actor="test")
    other = preview(write_sample(sample_incidents(40, seed=33), tmp_path / "o.csv"), TEAM, store=store)
    batches.commit_batch(
        store, {"file_name": "o.csv"}, other.incidents(), other.status_updates(), actor="test"
    )  # another writer: adds 40 incidents and leaves the file alone
    assert _file(store).version != store_version(store)
    assert ingest(write_sample(sample_incidents(60, seed=34), tmp_path / "n.csv"), store, TEAM, actor="test").summary()[
        "accepted"
    ] == 60

    kept = _file(store)
    assert kept.version == store_version(store)
    assert_metres_of_degrees(kept)  # the other writer's rows, read from the store, too
    pd.testing.assert_frame_equal(decoded(kept), decoded(load_snapshot(store)))
    assert _status_of(kept, moved) == "verified"


def test_a_write_between_the_batch_and_the_file_is_not_hidden(store, tmp_path, snapshot_dir):
    """Another officer moves an incident after the batch commits, before the ingest
    writes the file: the file must not claim the store's newest version without that
    move (a fresh page would then trust it and show the old status)."""
    _stored(store, tmp_path)
    up_to_date(None, store)
    moved = _first_ids(store, "reported", 1)[0]
    opened = _snapshot_file.opened

    def opened_after_a_move(store_):
        workflow.change_status(store_, moved, "verified", actor="someone else")
        return opened(store_)

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(_snapshot_file, "opened", opened_after_a_move)
        ingest(write_sample(sample_incidents(50, seed=35), tmp_path / "n.csv"), store, TEAM, actor="test")

    current = store_version(store)
    fresh = load_snapshot(store)
    kept = _file(store)
    if kept.version == current:  # whatever file is there holds what its version says
        pd.testing.assert_frame_equal(decoded(kept), decoded(fresh))
    else:
        assert _status_of(kept, moved) == "reported"  # the old file, for the old version
    seen = up_to_date(None, store)
    assert _status_of(seen, moved) == "verified"
    pd.testing.assert_frame_equal(decoded(seen), decoded(fresh))


def test_a_failure_while_updating_the_file_keeps_the_batch_and_the_old_file(store, tmp_path, snapshot_dir, caplog):
    _stored(store, tmp_path)
    old = up_to_date(None, store)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    with pytest.MonkeyPatch.context() as patched, caplog.at_level(logging.WARNING, logger="geo._snapshot_batch"):
        patched.setattr(_snapshot_file, "write", broken)
        result = ingest(write_sample(sample_incidents(50, seed=36), tmp_path / "n.csv"), store, TEAM, actor="test")
    assert result.batch_id is not None and result.summary()["accepted"] == 50
    assert store.row_counts()["incidents"] == len(old) + 50  # committed
    assert "not brought up to date" in caplog.text
    assert _file(store).version == old.version  # the old file stays
    seen = up_to_date(None, store)  # and the page patches it as before
    assert seen.rows_read == 50
    pd.testing.assert_frame_equal(decoded(seen), decoded(load_snapshot(store)))


def test_an_ingest_without_a_file_writes_none(store, tmp_path, snapshot_dir):
    """A 10M snapshot is never built from nothing inside an ingest: only a page starts one."""
    _stored(store, tmp_path)
    ingest(write_sample(sample_incidents(50, seed=37), tmp_path / "n.csv"), store, TEAM, actor="test")
    assert not _snapshot_file.path_for(store).exists()


def test_a_batch_of_moves_only_keeps_the_file_current(store, tmp_path, snapshot_dir):
    """A file sent again with new statuses and no new incident: the file follows the moves."""
    first_file = _stored(store, tmp_path)
    up_to_date(None, store)
    summary = ingest(
        write_sample(resent(first_file, 30, "Đã xử lý"), tmp_path / "again.csv"), store, TEAM, actor="test"
    ).summary()
    assert (summary["accepted"], summary["status_updates"]) == (0, 30)
    kept = _file(store)
    assert kept.version == store_version(store)
    pd.testing.assert_frame_equal(decoded(kept), decoded(load_snapshot(store)))
