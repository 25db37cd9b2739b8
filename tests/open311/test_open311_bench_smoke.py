"""benchmarks/open311_bench.py runs end to end at a tiny size (numbers only, no timing
assertion): every POST answered 200, the default GET returns the stored incidents, which
are all service requests here; the server runs as two workers (``serve --workers 2``)."""

from __future__ import annotations

from benchmarks.open311_bench import run


def test_the_open311_benchmark_runs_at_a_tiny_size(tmp_path):
    result = run(posts=20, clients=2, incidents=50, gets=3, workdir=tmp_path, workers=2)
    assert result["post"]["ok"] == 20 and result["post"]["errors"] == 0
    assert result["post"]["posts_per_s"] > 0
    assert result["get"]["rows"] == 50  # all 50 were reported in the last 90 days
    assert result["get"]["p95_ms"] >= result["get"]["p50_ms"] > 0
    assert result["get"]["service_requests"] == 50
    assert 0 < result["get_filtered"]["rows"] < 50  # open sidewalk ones only
    assert result["post"]["server_cpu_ms_per_post"] > 0  # both workers' CPU is counted
