"""The benchmark suite runs end to end at a tiny N (no timing assertions: see benchmarks/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
N = 300


def test_benchmark_runs_at_tiny_n_and_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("GEO_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "benchmarks", "--sizes", str(N), "--quick",
           "--workdir", str(tmp_path / "work"), "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    results = json.loads((tmp_path / "work" / "results.json").read_text())
    (size,) = results["sizes"]
    steps = ("data", "baseline", "ingest_sqlite", "same_spot_sqlite", "assign", "payload", "rerun")
    if os.environ.get("GEO_TEST_POSTGIS_URL"):
        steps += ("ingest_postgis", "same_spot_postgis")
    for step in steps:
        assert "error" not in size[step], (step, size[step])
        assert size[step]["peak_rss_mb"] > 0, step

    ingest = size["ingest_sqlite"]
    assert ingest["accepted"] + ingest["duplicate"] + ingest["rejected"] == N
    assert ingest["stored"] == ingest["accepted"] > 0
    spot = size["same_spot_sqlite"]
    assert spot["accepted"] + spot["duplicate"] + spot["rejected"] == spot["rows"] == N
    assert size["baseline"]["rows_read"] == N
    assign = size["assign"]
    assert assign["points"] == N
    assert assign["differ"] == 0
    assert (
        assign["same"]
        + assign["sjoin_double_counted"]
        + assign["on_edge_missed_by_sjoin"]
        + (assign["snapped_missed_by_sjoin"] + assign["edge_of_smaller_code"])
        == N
    )
    views = size["payload"]["views"]
    assert views["city"]["incidents"] == ingest["stored"]
    assert 0 < views["ward"]["incidents"] < views["city"]["incidents"]
    assert all(v["bytes"] > 100_000 for v in views.values())  # ward polygons are always drawn
    rerun = size["rerun"]
    assert rerun["errors"] == []
    assert rerun["first_component_bytes"] > 100_000
    assert len(rerun["reruns"]) == 4

    text = out.read_text(encoding="utf-8")
    for heading in ("## Machine", "## Targets", "## Ingest, end to end", "## Same spot", "## Assignment alone",
                    "## Map payload", "## Page rerun", "## Peak memory"):  # fmt: skip
        assert heading in text, heading
    assert f"| {N:,} | SQLite |" in text


def test_aftermove_bench_times_every_read_of_the_pages(tmp_path: Path) -> None:
    """``benchmarks.aftermove_bench`` runs on a small SQLite store and names each read."""
    from geo.ingest import ingest
    from geo.store import open_store

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    ingest(REPO / "data" / "incidents" / "sample_incidents.csv", open_store(url), actor="bench")
    env = {**os.environ, "PYTHONPATH": str(REPO), "GEO_SNAPSHOT_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "benchmarks.aftermove_bench", url]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    reads = ("snapshot", "ward_metrics", "sustain_measures", "verified_share", "week_counts", "progress",
             "ward_stats", "street_stats", "total")  # fmt: skip
    assert set(reads) <= set(out)
    assert all(out[r]["cpu_s"] >= 0 and out[r]["wall_s"] >= 0 for r in reads)
    assert list((tmp_path / "cache").glob("frame-*.parquet"))  # the figures were kept
