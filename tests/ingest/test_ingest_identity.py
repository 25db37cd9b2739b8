"""The identity rule (docs/storage.md, "Identity"), within one file and across files.

With a source id, a row is the incident with the same (source, source_id); without one,
it is the incident without an id that has its fingerprint (type, position to ~1 m, Hà
Nội day), from any source. Every pair of rows below is ingested twice over: as two files
(the second checked against the store) and, where both share a source, as two rows of
one file. The expected answers come from the rule, and must agree between the two.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from geo.ingest import IngestOptions, ingest
from geo.store import queries

REPO = Path(__file__).resolve().parents[2]
HEADER = "Mã,Vĩ độ,Kinh độ,Loại vi phạm,Trạng thái,Ngày phát hiện"
SPOT = ("21.0365", "105.8490")
ELSEWHERE = ("21.0371", "105.8487")  # about 70 m away: another fingerprint
DAY = "08/07/2025"


def line(source_id: str | None, spot: tuple[str, str] = SPOT, day: str = DAY) -> str:
    """One parking report; ``source_id`` None leaves the id cell blank."""
    return f"{source_id or ''},{spot[0]},{spot[1]},Đỗ xe,chưa xử lý,{day}"


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


# (name, first row, its source, second row, its source, same incident?)
CASES = [
    ("same id, same source", line("7"), "team_a", line("7"), "team_a", True),
    ("same id, same source, moved", line("7"), "team_a", line("7", ELSEWHERE), "team_a", True),
    ("same id, other source", line("7"), "team_a", line("7"), "team_b", False),
    ("other id, same fingerprint, same source", line("7"), "team_a", line("8"), "team_a", False),
    ("other id, same fingerprint, other source", line("7"), "team_a", line("8"), "team_b", False),
    ("no id, same fingerprint, same source", line(None), "team_a", line(None), "team_a", True),
    ("no id, same fingerprint, other source", line(None), "team_a", line(None), "team_b", True),
    ("no id, other fingerprint", line(None), "team_a", line(None, ELSEWHERE), "team_a", False),
    ("no id, other day", line(None), "team_a", line(None, day="09/07/2025"), "team_a", False),
    ("no id after an id, same fingerprint", line("7"), "team_a", line(None), "team_a", False),
    ("id after no id, same fingerprint", line(None), "team_a", line("7"), "team_a", False),
    ("no id after an id, other source", line("7"), "team_a", line(None), "team_b", False),
]


@pytest.mark.parametrize(
    ("first", "first_source", "second", "second_source", "same"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_identity_across_files(store, tmp_path, wards, first, first_source, second, second_source, same):
    before = ingest(
        write(tmp_path / "first.csv", first), store,
        IngestOptions(source=first_source, wards=wards), actor="a",
    ).summary()  # fmt: skip
    assert before["accepted"] == 1
    result = ingest(
        write(tmp_path / "second.csv", second), store,
        IngestOptions(source=second_source, wards=wards), actor="b",
    )  # fmt: skip
    s = result.summary()
    assert (s["accepted"], s["duplicate"]) == ((0, 1) if same else (1, 0))
    stored = queries.incidents(store, limit=None)
    assert len(stored) == (1 if same else 2)
    if same:
        (first_id,) = stored["id"].tolist()
        assert result.preview.rows["duplicate_of_incident"].tolist() == [first_id]


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [pytest.param(c[1], c[3], c[5], id=c[0]) for c in CASES if c[2] == c[4]],
)
def test_identity_within_one_file_agrees(store, tmp_path, wards, first, second, same):
    result = ingest(
        write(tmp_path / "both.csv", first, second), store,
        IngestOptions(source="team_a", wards=wards), actor="a",
    )  # fmt: skip
    s = result.summary()
    assert (s["accepted"], s["duplicate"]) == ((1, 1) if same else (2, 0))
    assert len(queries.incidents(store, limit=None)) == (1 if same else 2)
    if same:
        assert result.preview.rows["duplicate_of_row"].tolist()[1] == 1


def test_many_ids_at_one_spot_are_many_incidents_in_every_file(store, tmp_path, wards):
    """Issue 11: 2 files of rows with distinct ids at one spot on one day (two parking
    violations there are real and distinct): every row is a new incident, in the first
    file as in the second; re-sending a file changes nothing."""
    n = 300
    a = write(tmp_path / "a.csv", *(line(f"A{i}") for i in range(n)))
    b = write(tmp_path / "b.csv", *(line(f"B{i}") for i in range(n)))
    options = IngestOptions(source="same", wards=wards)
    assert ingest(a, store, options, actor="t").summary()["accepted"] == n
    assert ingest(b, store, options, actor="t").summary()["accepted"] == n
    again = ingest(b, store, options, actor="t").summary()
    assert (again["accepted"], again["duplicate"]) == (0, n)
    assert len(queries.incidents(store, limit=None)) == 2 * n


# --------------------------------------------------------------------------- memory

#: Rows of each file in the memory test; the issue's bound is 500 MB at 50,000 rows.
SAME_SPOT_ROWS = 50_000
MEMORY_BOUND_MB = 500

_MEASURE = textwrap.dedent(
    """
    import json, resource, sys, tracemalloc
    from pathlib import Path
    from benchmarks.steps import write_same_spot
    from geo.ingest import ingest
    from geo.store import open_store

    url, work, n, prefix = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    page = resource.getpagesize()
    # A regression must fail here, not take the machine down: cap the address space.
    cap = int(Path("/proc/self/statm").read_text().split()[0]) * page + 3 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    path = write_same_spot(work / f"{prefix}.csv", prefix, n)
    store = open_store(url)
    rss_before = int(Path("/proc/self/statm").read_text().split()[1]) * page
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    result = ingest(path, store, actor="t").summary()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "accepted": result["accepted"], "duplicate": result["duplicate"],
        "stored": store.row_counts()["incidents"],
        "traced_peak_mb": traced_peak / 2**20,
        "rss_growth_mb": max(0, peak - max(rss_before, peak_before)) / 2**20,
        "peak_mb": peak / 2**20,
    }))
    """
)


def _ingest_measured(url: str, work: Path, prefix: str) -> dict:
    """Ingest :data:`SAME_SPOT_ROWS` same-spot rows with ids ``<prefix>0…`` in a fresh
    process (so its peak memory is this ingest's, not an earlier one's) and measure it."""
    import json

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, url, str(work), str(SAME_SPOT_ROWS), prefix],
        cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    measured: dict = json.loads(proc.stdout.strip().splitlines()[-1])
    return measured


def test_same_spot_ingest_memory_is_linear(tmp_path):
    """Issue 11: 50,000 rows with ids B… on top of 50,000 stored rows with ids A…, all
    at one spot on one day. A lookup that pairs every row with every stored row sharing
    its fingerprint needs 2.5 billion pairs; the rule's lookup needs one per row. The
    second ingest runs in a process of its own, so its peak is its own: Python
    allocations by tracemalloc, the growth of the resident peak by getrusage, under an
    address-space cap so that a regression fails fast instead of exhausting the machine."""
    url = f"sqlite:///{tmp_path / 'spot.sqlite'}"
    assert _ingest_measured(url, tmp_path, "A")["accepted"] == SAME_SPOT_ROWS
    measured = _ingest_measured(url, tmp_path, "B")
    assert (measured["accepted"], measured["duplicate"]) == (SAME_SPOT_ROWS, 0)
    assert measured["stored"] == 2 * SAME_SPOT_ROWS
    assert measured["traced_peak_mb"] < MEMORY_BOUND_MB, measured
    assert measured["rss_growth_mb"] < MEMORY_BOUND_MB, measured
