"""One incident counted once under concurrency (issue 16), on SQLite and on PostGIS.

Several processes ingest the same file at the same moment, each having classified it
against the store before any of them wrote: the store must hold each incident once, and
the processes' ``accepted`` must add up to what is stored (the losers report the rows as
duplicates). Several processes move one incident at the same moment: every move that
reports success is in its history, the history is a valid chain, and the final status
is the last one recorded.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from geo.store import can_transition, open_store, queries
from geo.store import wards as stored_wards

REPO = Path(__file__).resolve().parents[2]

#: Rows of the file raced over: above the SQLite index-rebuild threshold (20,000), so the
#: loser's conflict surfaces when the unique indexes are rebuilt as well as on insert.
ROWS = 24_000
#: Every 10th row has no id (at a spot of its own); 50 ids and 50 id-less rows repeat.
NO_ID_EVERY = 10
REPEATS = 50

_INGESTER = r"""
import json, sys, time
from pathlib import Path
from geo.ingest import IngestOptions, commit, preview
from geo.store import open_store

url, path, name, ready, go = sys.argv[1:6]
store = open_store(url)
p = preview(path, IngestOptions(source="same"), store=store)  # before anyone writes
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.002)
result = commit(p, store, actor=name)
print(json.dumps({**result.summary(), "store_counts": result.preview.counts()}), flush=True)
"""

_MOVER = r"""
import json, sys, time
from pathlib import Path
from geo.errors import WorkflowError
from geo.store import open_store, workflow

url, ids, target, name, ready, go = sys.argv[1:7]
store = open_store(url)
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.002)
done = {}
for incident in map(int, ids.split(",")):
    try:
        workflow.change_status(store, incident, target, actor=name)
        done[incident] = "moved"
    except WorkflowError:
        done[incident] = "refused"
print(json.dumps(done), flush=True)
"""


def _race(script: str, argv: list[list[str]], tmp_path: Path) -> list[dict]:
    """Start one process per argument list; release them together once all are ready."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(len(argv))]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, *args, str(flag), str(go)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for args, flag in zip(argv, ready, strict=True)
    ]
    try:
        while not all(flag.exists() for flag in ready):
            failed = [p for p in procs if p.poll() not in (None, 0)]
            assert not failed, failed[0].communicate()[1][-3000:]
            time.sleep(0.01)
        go.touch()
        outs = [p.communicate(timeout=900) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]


def _raced_file(path: Path) -> tuple[Path, int]:
    """The file, and how many incidents it holds by the identity rule."""
    lines = ["Mã,Vĩ độ,Kinh độ,Loại vi phạm,Trạng thái,Ngày phát hiện"]
    ids, spots = set(), set()
    for i in range(ROWS - 2 * REPEATS):
        lat, lon = 21.0200 + (i // 200) * 1e-4, 105.8400 + (i % 200) * 1e-4
        source_id = "" if i % NO_ID_EVERY == 0 else f"S{i}"
        lines.append(f"{source_id},{lat:.4f},{lon:.4f},Lấn chiếm vỉa hè,chưa xử lý,08/07/2025")
        if source_id:
            ids.add(source_id)
        else:
            spots.add((lat, lon))
    lines += lines[1 : 1 + REPEATS * NO_ID_EVERY : NO_ID_EVERY]  # id-less rows again
    lines += lines[2 : 2 + REPEATS]  # rows with ids again
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, len(ids) + len(spots)


@pytest.mark.parametrize("processes", [2, 4])
def test_processes_ingesting_one_file_at_once_store_each_incident_once(
    store_url, tmp_path, wards, processes
):
    path, incidents = _raced_file(tmp_path / "same.csv")
    with open_store(store_url) as store:
        stored_wards.ensure(store, wards)  # the ward table is not what is raced for here
    results = _race(
        _INGESTER, [[store_url, str(path), f"team{i}"] for i in range(processes)], tmp_path
    )
    with open_store(store_url) as store:
        stored = store.row_counts()
        with store.read() as conn:
            keys = conn.execute(
                text("SELECT count(DISTINCT source_id) + count(DISTINCT fingerprint) "
                     "FILTER (WHERE source_id IS NULL) FROM incidents")
                if store.backend.name == "postgis" else
                text("SELECT count(DISTINCT source_id) + (SELECT count(DISTINCT fingerprint) "
                     "FROM incidents WHERE source_id IS NULL) FROM incidents")
            ).scalar()  # fmt: skip
            batch_counts = [
                json.loads(c) if isinstance(c, str) else c
                for c in conn.execute(text("SELECT counts FROM batches ORDER BY id")).scalars()
            ]
    assert stored["incidents"] == keys == incidents
    assert sum(r["accepted"] for r in results) == stored["incidents"]
    for r in results:  # every row accounted for, in each process
        assert r["accepted"] + r["duplicate"] + r["rejected"] == r["rows"] == ROWS
        assert r["rejected"] == 0
    winners = [r for r in results if r["accepted"]]
    assert len(winners) == 1 and winners[0]["duplicate"] == 2 * REPEATS
    # each batch records what its process reported
    assert sorted(c["accepted"] for c in batch_counts) == sorted(r["accepted"] for r in results)
    assert stored["batches"] == processes and stored["status_events"] == incidents


def _history_is_a_valid_chain(history: pd.DataFrame) -> bool:
    states = [None, *history["to_status"].tolist()]
    return history["from_status"].tolist()[1:] == states[1:-1] and all(
        can_transition(a, b) for a, b in itertools.pairwise(states[1:])
    )


@pytest.mark.parametrize("targets", [("verified", "in_progress"), ("verified", "in_progress", "cleared", "recurred")])
def test_concurrent_status_changes_of_one_incident_lose_no_update(store_url, tmp_path, targets):
    from geo.store import batches
    from tests._store_data import NO_UPDATES, batch, incidents

    n = 30
    with open_store(store_url) as store:
        batches.commit_batch(store, batch(), incidents([{} for _ in range(n)]), NO_UPDATES, actor="t")
        ids = sorted(queries.incidents(store, limit=None)["id"].tolist())
    argv = [[store_url, ",".join(map(str, ids)), target, f"officer{k}"] for k, target in enumerate(targets)]
    results = _race(_MOVER, argv, tmp_path)
    with open_store(store_url) as store:
        for incident in ids:
            detail = queries.incident(store, incident)
            history = detail.history  # as the pages show it: by time, then id
            assert history["id"].is_monotonic_increasing, (incident, history)  # commit order
            moved = sorted(t for t, r in zip(targets, results, strict=True) if r[str(incident)] == "moved")
            assert sorted(history["to_status"].tolist()[1:]) == moved, (incident, history)
            assert _history_is_a_valid_chain(history), (incident, history)
            assert detail.incident["status"] == history["to_status"].tolist()[-1]
