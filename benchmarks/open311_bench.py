"""Open311 server speed (issue 14): POSTs per second sustained, GET requests.json p95,
and the map page's filter rerun while the POST load runs.

Run from the checkout (``nice -n 10`` on a shared machine)::

    python -m benchmarks.open311_bench --posts 3000 --clients 8 --incidents 1000000 \
        --get-store /tmp/get1m.sqlite --map

Steps, each against a real ``python -m geo serve`` on 127.0.0.1:

1. **POST load:** ``--posts`` reports (each from its own device, so none is a repeat)
   sent by ``--clients`` threads, each on one keep-alive connection, to a fresh SQLite
   store; a bounded loop: every POST is sent once, and the rate is POSTs / wall-clock
   seconds. Target: >= 200/s on 2 cores.
2. **GET requests.json:** ``--incidents`` incidents stored through the batch path (random
   points in Hà Nội, reported in the last 90 days; ``--get-store`` keeps the file for the
   next run), ``--share`` of them marked as service requests (the state accepting or
   merging reports leaves, set in SQL: a million moderations would take hours); then
   ``--gets`` calls of the default ``GET requests.json`` (the newest 1,000) and as many of
   a filtered one (status=open, one service code). Target: p95 <= 100 ms at 1M.
3. **Map under load** (``--map``): the map page's filter reruns (``benchmarks.steps.rerun``,
   AppTest in its own process) on a store of ``--map-incidents``, once quiet and once while
   the POST load runs against a server on the same store. Target: a filter change <= 1 s.

The machine is shared, so besides wall-clock numbers each step reports the server's CPU
time per request (from /proc, all its worker processes) and the load average around it.
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


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _cpu_s(int(child))
    except (OSError, IndexError, ValueError):
        pass
    return total


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _mark(url: str, share: float) -> int:
    """Mark every ``1/share``-th incident as a service request; returns how many are."""
    from sqlalchemy import text

    from geo.store import open_store

    step = max(1, round(1 / share))
    store = open_store(url)
    try:
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE incidents SET service_request = (id % :step = 0) "
                              "WHERE service_request <> (id % :step = 0)"), {"step": step})
            return int(conn.execute(text("SELECT count(*) FROM incidents WHERE service_request")).scalar() or 0)
    finally:
        store.close()


def _prepare(url: str, incidents: int, admin: str = "bench") -> str:
    """Admin, ward layer, an API key and ``incidents`` random incidents; returns the key."""
    from geo import services
    from geo.services import reports as moderation
    from geo.store import batches, open_store

    store = open_store(url)
    try:
        boss = services.create_first_admin(store, admin, "a-long-bench-password")
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


def _start(url: str, port: int, log: Path, workers: int = 1) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GEO_DATABASE_URL": url, "GEO_SEED_SAMPLE": "0", "PYTHONPATH": str(REPO),
           "GEO_SERVE_RATE_PER_KEY": "10000000/minute", "GEO_SERVE_RATE_PER_ADDRESS": "10000000/minute"}
    command = [sys.executable, "-m", "geo", "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
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


def _post_load(port: int, key: str, posts: int, clients: int, server: int) -> dict[str, Any]:
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
    load, cpu, own = _load(), _cpu_s(server), time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    server_ms = (_cpu_s(server) - cpu) * 1000 / posts
    return {"posts": posts, "clients": clients, "seconds": round(seconds, 3),
            "posts_per_s": round(posts / seconds, 1),
            "server_cpu_ms_per_post": round(server_ms, 2),
            "client_cpu_ms_per_post": round((time.process_time() - own) * 1000 / posts, 2),
            "posts_per_cpu_s": round(1000 / server_ms, 1) if server_ms else None,
            "load_before": load, "load_after": _load(),
            "ok": statuses.count(200), "errors": len(statuses) - statuses.count(200)}


#: The filtered GET measured besides the default one.
FILTERED = "/requests.json?status=open&service_code=sidewalk"


def _get_p95(port: int, gets: int, server: int, path: str = "/requests.json") -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    times, rows = [], 0
    load, cpu = _load(), _cpu_s(server)
    for _ in range(gets):
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        times.append(time.perf_counter() - started)
        rows = len(json.loads(body))
    ms = np.array(times) * 1000
    return {"path": path, "gets": gets, "rows": rows, "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "max_ms": round(float(ms.max()), 1),
            "server_cpu_ms_per_get": round((_cpu_s(server) - cpu) * 1000 / gets, 1),
            "load_before": load, "load_after": _load()}


def _rerun(url: str) -> dict[str, Any]:
    """``benchmarks.steps.rerun`` in its own process (AppTest; no GIL shared with the load)."""
    from benchmarks.steps import RESULT_PREFIX

    env = {**os.environ, "PYTHONPATH": str(REPO), "GEO_SEED_SAMPLE": "0"}
    load = _load()
    done = subprocess.run([sys.executable, "-m", "benchmarks.steps", "rerun", json.dumps({"url": url})],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith(RESULT_PREFIX)), None)
    if line is None:
        return {"failed": done.stderr[-2000:]}
    result = json.loads(line[len(RESULT_PREFIX):])
    return {"max_rerun_s": round(result["seconds"], 2),
            "reruns_s": {k: round(v["seconds"], 2) for k, v in result["reruns"].items()},
            "reruns_cpu_s": {k: round(v["cpu_s"], 2) for k, v in result["reruns"].items()},
            "errors": result["errors"], "load_before": load, "load_after": _load()}


def _map_under_load(workdir: Path, incidents: int, posts: int, clients: int, workers: int) -> dict[str, Any]:
    from benchmarks.steps import BENCH_USER

    url = f"sqlite:///{workdir / 'map.sqlite'}"
    key = _prepare(url, incidents, admin=BENCH_USER)  # the rerun step signs in as this admin
    quiet = _rerun(url)
    port = _free_port()
    process = _start(url, port, workdir / "map.log", workers)
    try:
        loaded: dict[str, Any] = {}
        load = threading.Thread(target=lambda: loaded.update(_post_load(port, key, posts, clients, process.pid)))
        load.start()
        time.sleep(2)  # the load is running
        busy = _rerun(url)
        busy["posts_still_running"] = load.is_alive()
        load.join()
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {"incidents": incidents, "quiet": quiet, "under_post_load": busy, "post_load": loaded}


def _store_of(step: str, workdir: Path, get_store: Path | None, get_url: str | None) -> tuple[str, Path]:
    """The step's store URL and the file its API key is kept in."""
    if step == "get" and get_url is not None:
        return get_url, workdir / "get_url.key"
    path = get_store if step == "get" and get_store is not None else workdir / f"{step}.sqlite"
    return f"sqlite:///{path}", path.with_suffix(".key")


def run(
    posts: int, clients: int, incidents: int, gets: int, workdir: Path, *, share: float = 1.0,
    workers: int = 1, get_store: Path | None = None, get_url: str | None = None,
    map_incidents: int = 0,
) -> dict[str, Any]:
    """The steps on SQLite stores in ``workdir``; the GET step's store is ``get_url`` (a
    PostGIS URL, say) or the SQLite file ``get_store`` when given, each prepared once and
    reused while its key file in ``workdir`` (or beside the file) exists."""
    result: dict[str, Any] = {"cpus": os.cpu_count(), "workers": workers}
    for step in ("post", "get"):
        url, keyfile = _store_of(step, workdir, get_store, get_url)
        if step == "get" and keyfile.exists():
            key = keyfile.read_text().strip()
        else:
            key = _prepare(url, incidents if step == "get" else 0)
            keyfile.write_text(key)
        marked = _mark(url, share) if step == "get" else 0
        port = _free_port()
        process = _start(url, port, workdir / f"{step}.log", workers)
        try:
            if step == "post":
                result["post"] = _post_load(port, key, posts, clients, process.pid)
            else:
                _get_p95(port, 3, process.pid)  # warm the page cache of the index
                result["get"] = {"incidents": incidents, "service_requests": marked,
                                 **_get_p95(port, gets, process.pid)}
                result["get_filtered"] = _get_p95(port, gets, process.pid, FILTERED)
        finally:
            process.terminate()
            process.wait(timeout=30)
    if map_incidents:
        result["map"] = _map_under_load(workdir, map_incidents, posts, clients, workers)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--gets", type=int, default=100)
    parser.add_argument("--share", type=float, default=1.0,
                        help="share of the incidents that are service requests")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--get-store", type=Path, default=None,
                        help="SQLite file of the GET step, kept and reused")
    parser.add_argument("--get-url", default=None,
                        help="store URL of the GET step (PostGIS, say), prepared once")
    parser.add_argument("--map-incidents", type=int, default=0,
                        help="run the map-under-load step on a store of this many incidents")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run(args.posts, args.clients, args.incidents, args.gets, workdir, share=args.share,
                     workers=args.workers, get_store=args.get_store, get_url=args.get_url,
                     map_incidents=args.map_incidents)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
