"""The first Compare and Progress figures after a change: the server's work, per read.

``python -m benchmarks.aftermove_bench STORE_URL`` prints one JSON line: the CPU and wall
seconds of each read the Compare and Progress pages make on their first run in a fresh
process (the map's snapshot, the per-ward metrics, the sustained-order measures, the
verified-photo share, the week matrix, the progress series, the per-ward and per-street
figures), in the order the pages make them. Run it after one status move on a store whose
figures were all kept on disk before the move: every kept answer is then stale, which is
what a leader meets after any upload (issue 15, target 3). Put another checkout first on
``PYTHONPATH`` for a same-run "before"; a read that checkout cannot make over the snapshot
is made its own way.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def _timed(out: dict[str, Any], name: str, read: Callable[[], object]) -> None:
    cpu, wall = time.process_time(), time.perf_counter()
    read()
    out[name] = {"cpu_s": round(time.process_time() - cpu, 3), "wall_s": round(time.perf_counter() - wall, 3)}


def main(url: str) -> dict[str, Any]:
    from geo import services
    from geo import snapshot as geo_snapshot
    from geo.auth import User
    from geo.services import photos as photo_services
    from geo.store import open_store

    user = User("aftermove_bench", frozenset({"admin"}))
    out: dict[str, Any] = {"load_avg": round(os.getloadavg()[0], 2)}
    cpu, wall = time.process_time(), time.perf_counter()
    store = open_store(url)
    layer = services.active_wards(store)
    held: dict[str, Any] = {}

    def snapshot() -> Any:
        held["s"] = services.incident_snapshot(store, user, held.get("s"))
        return held["s"]

    over = {"snapshot": snapshot} if "snapshot" in inspect.signature(services.ward_stats).parameters else {}
    series = {"snapshot": snapshot} if hasattr(geo_snapshot, "over_snapshot") else {}
    _timed(out, "snapshot", snapshot)
    _timed(out, "ward_metrics", lambda: services.ward_metrics(store, user, layer, None, None, **over))
    _timed(out, "sustain_measures", lambda: services.sustain_measures(store, user, by="ward", **series))
    _timed(out, "verified_share", lambda: photo_services.verified_share(store, user, None, None, **series))
    _timed(out, "week_counts", lambda: services.week_counts(store, user, **series))
    _timed(out, "progress", lambda: services.progress(store, user, "city", None, "W", None, None, **series))
    _timed(out, "ward_stats", lambda: services.ward_stats(store, user, None, None, **over))
    _timed(out, "street_stats", lambda: services.street_stats(store, user, None, None, None, **series))
    out["total"] = {"cpu_s": round(time.process_time() - cpu, 3), "wall_s": round(time.perf_counter() - wall, 3)}
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])), flush=True)
