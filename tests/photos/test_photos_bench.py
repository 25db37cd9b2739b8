"""The photo benchmark runs end to end on a tiny bundle (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_photo_benchmark_runs_every_variant(tmp_path):
    out = tmp_path / "results.json"
    cmd = [sys.executable, "-m", "benchmarks.photos_bench", "--photos", "10", "--size", "320x240",
           "--workdir", str(tmp_path / "work"), "--out", str(out)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    variants = results["variants"]
    assert set(variants) == {"store", "library", "library_1_thread", "baseline"}
    for name, row in variants.items():
        assert "error" not in row, (name, row)
        assert row["stored"] == 10 and row["refused"] == 0
        assert row["peak_rss_mb"] > 0 and row["media_bytes"] > 0
    # Every tenth photo arrives without metadata; the library flags exactly that one.
    assert variants["library"]["flags"]["photo_no_gps"] == 1
    assert variants["library"]["flags"]["photo_no_time"] == 1
    assert variants["library"]["flags"] == variants["library_1_thread"]["flags"]
    # through the store: every row an incident, every photo a row, the same flags raised
    assert variants["store"]["incidents"] == 10 and variants["store"]["photo_rows"] == 10
    assert variants["store"]["flags"] == variants["library"]["flags"]
    assert not list((tmp_path / "work").glob("media_*"))  # each run cleans its store
