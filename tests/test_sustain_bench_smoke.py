"""The sustained-order benchmark runs end to end at a tiny N (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO


def test_sustain_benchmark_runs_and_its_checks_hold() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "benchmarks.sustain_bench", "--quick"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("BENCH_RESULT "))
    result = json.loads(line.removeprefix("BENCH_RESULT "))
    assert result["places"]["baseline_differ"] == 0
    assert result["increment"]["differ_from_one_pass"] == 0
    assert result["measures"]["max_abs_diff_vs_lifelines"] <= 1e-9
    assert result["measures"]["clearances"] > 0 and result["measures"]["wards"] == 126
    assert result["adversarial"]["one_spot"]["places"] == 1
    assert result["adversarial"]["sorted_line"]["places"] == result["adversarial"]["sorted_line"]["incidents"] // 2
    for step in ("places", "increment", "measures"):
        assert result[step]["wall_s"] > 0 and result[step]["cpu_s"] >= 0
