"""Open311 server speed (issue 14): POSTs per second sustained, and GET requests.json p95.

Run from the checkout::

    python -m benchmarks.open311_bench --posts 3000 --clients 8 --incidents 1000000

Steps, each against a real ``python -m geo serve`` on 127.0.0.1 and a fresh SQLite store:

1. **POST load:** ``--posts`` reports (each from its own device, so none is a repeat)
   sent by ``--clients`` threads, each on one keep-alive connection; a bounded loop: every
   POST is sent once, and the rate is POSTs / wall-clock seconds. Target: >= 200/s on 2
   cores.
2. **GET requests.json:** ``--incidents`` incidents stored first through the batch path
   (random points in Hà Nội, reported in the last 90 days), then ``--gets`` calls of the
   default ``GET requests.json`` (the newest 1,000); p50/p95 of the response time. Target:
   p95 <= 100 ms at 1M incidents.

Prints one JSON object (``--out FILE`` writes it too). No assertion: numbers only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
#: Central Hà Nội, where the random points fall (all inside wards).
CENTRE = (21.028, 105.850)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare(url: str, incidents: int) -> str:
    """Admin, ward layer, an API key and ``incidents`` random incidents; returns the key."""
    from geo import services
    from geo.services import reports as moderation
    from geo.store import batches, open_store

    store = open_store(url)
    try:
        boss = services.create_first_admin(store, "bench", "a-long-bench-password")
        services.active_wards(store)
        key = moderation.add_api_key(store, boss, "bench")
        if incidents:
            batches.commit_batch(
                store, {"file_name": "bench.csv", "sha256": "b" * 64, "source": "bench"},
                _incidents(incidents), pd.DataFrame(columns=["incident_id", "to_status", "at", "note"]),
                actor="bench",
            )
    finally:
        store.close()
    return key


def _incidents(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(14)
    now = pd.Timestamp.now(tz="UTC")
    frame = pd.DataFrame({
        "type": rng.choice(["sidewalk", "parking", "awning", "materials"], n),
        "status": rng.choice(["reported", "verified", "in_progress", "cleared"], n),
        "lat": CENTRE[0] + rng.normal(0, 0.02, n),
        "lon": CENTRE[1] + rng.normal(0, 0.02, n),
        "reported_at": now - pd.to_timedelta(rng.uniform(0, 89, n), unit="D"),
    })
    frame["cleared_at"] = frame["reported_at"].where(frame["status"] == "cleared")
    return frame.assign(
        source="bench", source_id=[f"b{i}" for i in range(n)], fingerprint=[f"bf{i}" for i in range(n)],
        type_text=frame["type"], note="", flags="", ward_code="00070", street="", address="",
        row_number=np.arange(1, n + 1),
    )


def _start(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GEO_DATABASE_URL": url, "GEO_SEED_SAMPLE": "0", "PYTHONPATH": str(REPO),
           "GEO_SERVE_RATE_PER_KEY": "10000000/minute", "GEO_SERVE_RATE_PER_ADDRESS": "10000000/minute"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "geo", "serve", "--port", str(port)],
                                   cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/discovery.json")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(log.read_text(errors="replace"))


def _post_load(port: int, key: str, posts: int, clients: int) -> dict[str, Any]:
    statuses: list[int] = []
    lock = threading.Lock()
    rng = np.random.default_rng(311)
    points = CENTRE + rng.normal(0, 0.01, (posts, 2))

    def client(part: range) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        for i in part:
            body = urllib.parse.urlencode({
                "api_key": key, "service_code": "sidewalk", "lat": f"{points[i, 0]:.6f}",
                "long": f"{points[i, 1]:.6f}", "description": f"bench {i}", "device_id": f"dev{i}",
            })
            conn.request("POST", "/requests.json", body,
                         {"Content-Type": "application/x-www-form-urlencoded"})
            response = conn.getresponse()
            response.read()
            mine.append(response.status)
        with lock:
            statuses.extend(mine)

    parts = [range(c, posts, clients) for c in range(clients)]
    threads = [threading.Thread(target=client, args=(p,)) for p in parts]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"posts": posts, "clients": clients, "seconds": round(seconds, 3),
            "posts_per_s": round(posts / seconds, 1),
            "ok": statuses.count(200), "errors": len(statuses) - statuses.count(200)}


def _get_p95(port: int, gets: int) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    times, rows = [], 0
    for _ in range(gets):
        started = time.perf_counter()
        conn.request("GET", "/requests.json")
        response = conn.getresponse()
        body = response.read()
        times.append(time.perf_counter() - started)
        rows = len(json.loads(body))
    ms = np.array(times) * 1000
    return {"gets": gets, "rows": rows, "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(float(ms.max()), 1)}


def run(posts: int, clients: int, incidents: int, gets: int, workdir: Path) -> dict[str, Any]:
    """Both steps on fresh SQLite stores in ``workdir``."""
    result: dict[str, Any] = {"cpus": os.cpu_count()}
    for step in ("post", "get"):
        url = f"sqlite:///{workdir / f'{step}.sqlite'}"
        key = _prepare(url, incidents if step == "get" else 0)
        port = _free_port()
        process = _start(url, port, workdir / f"{step}.log")
        try:
            if step == "post":
                result["post"] = _post_load(port, key, posts, clients)
            else:
                result["get"] = {"incidents": incidents, **_get_p95(port, gets)}
        finally:
            process.terminate()
            process.wait(timeout=30)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--gets", type=int, default=100)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run(args.posts, args.clients, args.incidents, args.gets, workdir)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
