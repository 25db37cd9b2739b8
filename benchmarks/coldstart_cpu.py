"""CPU time of a fresh process's first map on a store: the server-side work of the first page.

``python -m benchmarks.coldstart_cpu STORE_URL`` prints one JSON line: the CPU seconds
(``time.process_time``) of opening the store and building the map page's content the
way ``app_pages/map.py`` does (ward layer, snapshot through the service, map view,
folium map rendered to HTML), imports excluded, plus the load average. Run it with
another checkout first on ``PYTHONPATH`` for a same-run "before" (issue 15, target 3).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(url: str) -> dict[str, float]:
    from geo import services
    from geo.auth import User
    from geo.maps import MAX_MARKERS, ward_map
    from geo.store import IncidentFilter, open_store

    load = os.getloadavg()[0]
    user = User("coldstart_bench", frozenset({"admin"}))
    cpu, wall = time.process_time(), time.perf_counter()
    store = open_store(url)
    layer = services.active_wards(store)
    snapshot = services.incident_snapshot(store, user, None)
    after_snapshot = time.process_time() - cpu
    view = services.map_view(store, user, IncidentFilter(), marker_limit=MAX_MARKERS, snapshot=snapshot)
    html = ward_map(layer, view.incidents, lang="vi").get_root().render()
    return {
        "cpu_s": time.process_time() - cpu, "snapshot_cpu_s": after_snapshot,
        "wall_s": time.perf_counter() - wall, "html_bytes": len(html), "load_avg": round(load, 2),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])), flush=True)
