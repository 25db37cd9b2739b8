"""The benchmark steps; each runs in its own process: ``python -m benchmarks.steps NAME JSON``.

A step prints one line ``BENCH_RESULT {json}`` last; the JSON always carries
``peak_rss_mb`` (``ru_maxrss`` of this process, so of this step alone, imports included).
Timings use ``time.perf_counter`` around the measured call only; loading the inputs a
step compares (the CSV's coordinates for the assignment, say) is not timed.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geo.store import IncidentFilter, queries, workflow

REPO = Path(__file__).resolve().parents[1]
RESULT_PREFIX = "BENCH_RESULT "
#: The ward of the "one ward" map view: Hoàn Kiếm.
WARD_VIEW = "00070"
#: The administrator the page-rerun step signs in as (created only in a store without users).
BENCH_USER = "benchmark"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


# --------------------------------------------------------------------------- data


def generate(n: int, seed: int, out: str) -> dict[str, Any]:
    """The synthetic file, through ``geo.sample`` exactly as ``python -m geo sample`` does."""
    from geo.boundaries import load_boundaries
    from geo.sample import sample_incidents, write_sample
    from geo.streets import load_streets

    wards, streets = load_boundaries(), load_streets()
    frame, gen_s = _timed(lambda: sample_incidents(n, seed, wards=wards, streets=streets))
    _, write_s = _timed(lambda: write_sample(frame, out))
    return {
        "rows": len(frame),
        "generate_s": gen_s,
        "write_s": write_s,
        "seconds": gen_s + write_s,
        "bytes": Path(out).stat().st_size,
    }


# --------------------------------------------------------------------------- ingest


def baseline_ingest(csv: str, db: str) -> dict[str, Any]:
    """The issue's naive pipeline: read_csv + points_from_xy + sjoin(within) + to_sql."""
    import geopandas as gpd
    import pandas as pd

    from geo.boundaries import boundaries_path
    from geo.sample import COLUMNS

    lat_col, lon_col = COLUMNS[5], COLUMNS[6]
    stages: dict[str, float] = {}
    started = time.perf_counter()
    frame, stages["read_csv"] = _timed(lambda: pd.read_csv(csv))
    wards, stages["read_wards"] = _timed(lambda: gpd.read_file(boundaries_path()))

    def join() -> gpd.GeoDataFrame:
        points = gpd.GeoDataFrame(
            frame, geometry=gpd.points_from_xy(frame[lon_col], frame[lat_col]), crs="EPSG:4326"
        )
        return gpd.sjoin(points, wards[["code", "geometry"]], how="left", predicate="within")

    joined, stages["points_sjoin"] = _timed(join)
    table = pd.DataFrame(joined.drop(columns=["geometry", "index_right"]))

    def store() -> None:
        with sqlite3.connect(db) as con:
            table.to_sql("incidents", con, index=False, if_exists="replace")
        con.close()

    _, stages["to_sql"] = _timed(store)
    return {
        "seconds": time.perf_counter() - started,
        "rows_read": len(frame),
        "rows_stored": len(table),
        "stages": stages,
    }


def ingest(csv: str, url: str, profile: str | None = None) -> dict[str, Any]:
    """The project's ingest, end to end into an empty store: open, preview, commit."""
    from geo.ingest import ingest as run_ingest
    from geo.store import open_store

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    store, open_s = _timed(lambda: open_store(url))
    try:
        result, ingest_s = _timed(lambda: run_ingest(csv, store, actor="benchmark"))
        stored = int(store.row_counts().get("incidents", -1))
    finally:
        store.close()
    seconds = open_s + ingest_s
    if profiler is not None and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    summary = result.summary()
    return {
        "seconds": seconds,
        "wall_s": time.perf_counter() - started,
        "rows": summary["rows"],
        "accepted": summary["accepted"],
        "duplicate": summary["duplicate"],
        "rejected": summary["rejected"],
        "flags": summary.get("flags", {}),
        "stored": stored,
        "stages": {"open_store": open_s, **dict(result.preview.timings)},
    }


#: One spot, one day, one type: every row of :func:`ingest_same_spot` has this fingerprint.
SAME_SPOT_ROW = ("21.0365", "105.8490", "Đỗ xe", "chưa xử lý", "08/07/2025")


def write_same_spot(path: Path, prefix: str, n: int) -> Path:
    """``n`` parking reports at one spot on one day, with ids ``<prefix>0…``."""
    lat, lon, kind, status, day = SAME_SPOT_ROW
    lines = ["Mã,Vĩ độ,Kinh độ,Loại vi phạm,Trạng thái,Ngày phát hiện"]
    lines += [f"{prefix}{i},{lat},{lon},{kind},{status},{day}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def ingest_same_spot(n: int, url: str, workdir: str) -> dict[str, Any]:
    """Issue 11's worst case: ``n`` rows with ids A0… at one spot on one day, then the
    same rows with ids B0… (another file). Times and measures the second ingest: every
    row shares one fingerprint with every stored one, so a lookup that pairs rows with
    stored rows grows as n²; distinct ids are distinct incidents, so all are accepted."""
    from geo.ingest import ingest as run_ingest
    from geo.store import open_store

    first = write_same_spot(Path(workdir) / f"same_spot_a_{n}.csv", "A", n)
    second = write_same_spot(Path(workdir) / f"same_spot_b_{n}.csv", "B", n)
    store = open_store(url)
    try:
        _, first_s = _timed(lambda: run_ingest(first, store, actor="benchmark"))
        before_mb = peak_rss_mb()
        result, seconds = _timed(lambda: run_ingest(second, store, actor="benchmark"))
        stored = int(store.row_counts().get("incidents", -1))
    finally:
        store.close()
    summary = result.summary()
    return {
        "seconds": seconds,
        "first_s": first_s,
        "rss_before_mb": before_mb,
        "rows": summary["rows"],
        "accepted": summary["accepted"],
        "duplicate": summary["duplicate"],
        "rejected": summary["rejected"],
        "stored": stored,
    }


# --------------------------------------------------------------------------- assignment


def compare_assignment(
    lon: Any,
    lat: Any,
    project_codes: Any,
    project_flags: Any,
    join_points: Any,
    join_codes: Any,
    wards: Any,
) -> dict[str, int]:
    """Classify each point: agreement, documented boundary-rule cases, or a real difference.

    ``join_points``/``join_codes`` are sjoin's (point position, ward code) pairs. Boundary
    cases: sjoin gives several wards (overlap sliver: we keep the smallest code), none
    while the point is on an edge (``within`` excludes the boundary, we use ``covers``),
    none while we snap (rule 3), or one while the point is also on a smaller code's edge.
    """
    import numpy as np
    import shapely

    n = len(lon)
    join_points = np.asarray(join_points, dtype=np.int64)
    join_codes = np.asarray(join_codes, dtype=object)
    count = np.bincount(join_points, minlength=n)
    single = np.full(n, None, dtype=object)
    ones = count[join_points] == 1
    single[join_points[ones]] = join_codes[ones]
    project = np.asarray(project_codes, dtype=object)
    flags = np.asarray(project_flags, dtype=object)
    assigned = np.array([c is not None for c in project])

    agree_one = (count == 1) & (project == single)
    differ_one = (count == 1) & ~agree_one
    # One sjoin ward but ours differs: a boundary case only if our ward covers the point.
    edge_smaller = np.zeros(n, dtype=bool)
    if differ_one.any():
        polygons = dict(zip(wards["code"].astype(str), wards.geometry, strict=True))
        for i in np.flatnonzero(differ_one):
            poly = polygons.get(str(project[i])) if project[i] is not None else None
            edge_smaller[i] = poly is not None and bool(
                shapely.covers(poly, shapely.Point(lon[i], lat[i]))
            )
    multi = count >= 2
    multi_ok = np.zeros(n, dtype=bool)
    if multi.any():
        sets: dict[int, set[str]] = {}
        for p, c in zip(join_points[~ones], join_codes[~ones], strict=True):
            sets.setdefault(int(p), set()).add(str(c))
        for i in np.flatnonzero(multi):
            multi_ok[i] = project[i] is not None and str(project[i]) in sets[int(i)]
    none = count == 0
    on_edge = none & assigned & (flags == "")
    snapped = none & assigned & (flags == "snapped")
    both_outside = none & ~assigned
    differ = (differ_one & ~edge_smaller) | (multi & ~multi_ok)
    return {
        "points": n,
        "same": int(agree_one.sum() + both_outside.sum()),
        "differ": int(differ.sum()),
        "sjoin_double_counted": int(multi.sum()),
        "sjoin_extra_rows": int(count[multi].sum() - multi.sum()),
        "on_edge_missed_by_sjoin": int(on_edge.sum()),
        "snapped_missed_by_sjoin": int(snapped.sum()),
        "edge_of_smaller_code": int(edge_smaller.sum()),
        "outside_both": int(both_outside.sum()),
    }


def assign(csv: str, repeats: int = 3) -> dict[str, Any]:
    """``geo.assign.assign_lonlat`` vs ``geopandas.sjoin(predicate="within")``, same points."""
    import geopandas as gpd
    import pandas as pd

    from geo.assign import assign_lonlat
    from geo.boundaries import load_boundaries
    from geo.sample import COLUMNS

    lat_col, lon_col = COLUMNS[5], COLUMNS[6]
    frame = pd.read_csv(csv, usecols=[lat_col, lon_col])
    lon = frame[lon_col].to_numpy(dtype="float64")
    lat = frame[lat_col].to_numpy(dtype="float64")
    wards = load_boundaries()
    join_wards = wards[["code", "geometry"]]

    # First call builds the raster index (cached per layer for the process).
    ours, cold_s = _timed(lambda: assign_lonlat(lon, lat, wards))
    warm = [_timed(lambda: assign_lonlat(lon, lat, wards))[1] for _ in range(repeats)]

    def sjoin() -> gpd.GeoDataFrame:
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        return gpd.sjoin(points, join_wards, predicate="within")

    joined = None
    join_times = []
    for _ in range(repeats):
        joined, secs = _timed(sjoin)
        join_times.append(secs)
    assert joined is not None
    diff = compare_assignment(
        lon,
        lat,
        ours["ward_code"].to_numpy(),
        ours["assign_flag"].to_numpy(),
        joined.index.to_numpy(),
        joined["code"].astype(str).to_numpy(),
        wards,
    )
    project_s = statistics.median(warm)
    sjoin_s = statistics.median(join_times)
    return {
        "seconds": project_s,
        "project_s": project_s,
        "project_cold_s": cold_s,
        "sjoin_s": sjoin_s,
        "speedup": sjoin_s / project_s if project_s else None,
        "speedup_cold": sjoin_s / cold_s if cold_s else None,
        "repeats": repeats,
        **diff,
    }


# --------------------------------------------------------------------------- map


def payload(url: str) -> dict[str, Any]:
    """Bytes of the officers' map for the city view and one ward's view.

    Built as the map page builds it (``geo.views.load_view`` on the store and its
    snapshot → ``geo.maps.ward_map`` with served assets); the bytes are the HTML document
    with its embedded data, the Leaflet files themselves being static and cached.
    """
    from geo.boundaries import load_boundaries
    from geo.maps import MAX_MARKERS, map_html, ward_map
    from geo.store import open_store
    from geo.views import load_view

    layer = load_boundaries()
    store = open_store(url)
    views = {}
    try:
        snapshot = None
        try:
            from geo.snapshot import load_snapshot
        except ImportError:  # an older page without the snapshot
            pass
        else:
            snapshot, snapshot_s = _timed(lambda: load_snapshot(store))
        for name, flt in (("city", IncidentFilter()), ("ward", IncidentFilter(wards=(WARD_VIEW,)))):

            def build(flt: IncidentFilter = flt) -> tuple[int, str]:
                view = load_view(store, flt, marker_limit=MAX_MARKERS, snapshot=snapshot)
                fmap = ward_map(layer, view.incidents, lang="vi", selected=flt.wards or ())
                return view.matched, map_html(fmap)

            (shown_n, text), secs = _timed(build)
            views[name] = {
                "incidents": shown_n,
                "mode": "markers"
                if 0 < shown_n <= MAX_MARKERS
                else "density"
                if shown_n
                else "none",
                "bytes": len(text.encode("utf-8")),
                "build_s": secs,
            }
        stored = int(store.row_counts().get("incidents", -1))
    finally:
        store.close()
    return {
        "seconds": sum(v["build_s"] for v in views.values()),
        "snapshot_s": snapshot_s if snapshot is not None else None,
        "stored": stored,
        "views": views,
    }


def _component_bytes(at: Any) -> int | None:
    """Bytes of the map component's arguments in the last run (what the browser gets)."""

    def walk(node: Any) -> Any:
        if getattr(node, "type", None) == "component_instance":
            yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)

    sizes = []
    for elem in walk(at._tree):
        proto = elem.proto
        size = len(proto.json_args.encode("utf-8"))
        for arg in getattr(proto, "special_args", []):
            size += arg.ByteSize()
        sizes.append(size)
    return max(sizes) if sizes else None


def _sign_in(at: Any, url: str) -> None:
    """Sign the AppTest session in as an administrator (created on a store without users)."""
    try:
        from geo import services
    except ImportError:  # no access control in this version of the app
        return
    import datetime as dt
    import secrets

    from geo.store import open_store

    store = open_store(url)
    try:
        if services.needs_first_admin(store):
            services.create_first_admin(store, BENCH_USER, secrets.token_urlsafe(24))
        start = getattr(services, "start_session", None)  # server-side sessions (issue 11)
        if start is not None:
            from geo import sessions

            user = services.load_user(store, BENCH_USER)
            at.session_state["auth_session"] = sessions.digest(start(store, user))
    finally:
        store.close()
    at.session_state["auth_user"] = BENCH_USER
    at.session_state["auth_last"] = dt.datetime.now(dt.UTC)  # versions before the sessions


def rerun(url: str) -> dict[str, Any]:
    """Server time of map-page reruns after filter changes, through ``AppTest``."""
    from geo import settings

    # AppTest runs app.py in this process, and the app finds its store as a deployment
    # does: through GEO_DATABASE_URL (read by geo.settings when the page runs).
    os.environ[settings.database_url.name] = url
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=900)
    _sign_in(at, url)
    _, first_s = _timed(at.run)
    errors = [str(e.value) for e in at.exception]
    city_bytes = _component_bytes(at)
    runs: dict[str, dict[str, Any]] = {}

    def change(name: str, key: str, value: Any) -> None:
        widget = at.sidebar.multiselect(key=key)
        widget.set_value(value)
        cpu = time.process_time()  # the rerun's CPU (AppTest runs the page in this process)
        _, secs = _timed(at.run)
        cpu_s = time.process_time() - cpu
        errors.extend(str(e.value) for e in at.exception)
        runs[name] = {"seconds": secs, "cpu_s": cpu_s, "component_bytes": _component_bytes(at)}

    change("status=reported", "f_statuses", ["reported"])
    change("ward=00070", "f_wards", [WARD_VIEW])
    change("status=any", "f_statuses", [])
    # an officer elsewhere changes a status: the next rerun must not reload the store
    from geo.store import open_store

    store = open_store(url)
    try:
        first = queries.incidents(store, IncidentFilter(statuses=("reported",)), limit=1)
        if len(first):
            workflow.change_status(store, int(first["id"].iloc[0]), "verified", actor=BENCH_USER)
    finally:
        store.close()
    change("after a write: status=verified", "f_statuses", ["verified"])
    return {
        "seconds": max(r["seconds"] for r in runs.values()),
        "first_run_s": first_s,
        "first_component_bytes": city_bytes,
        "reruns": runs,
        "errors": errors,
    }


STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    "generate": generate,
    "baseline_ingest": baseline_ingest,
    "ingest": ingest,
    "ingest_same_spot": ingest_same_spot,
    "assign": assign,
    "payload": payload,
    "rerun": rerun,
}


def main(argv: list[str]) -> int:
    name, params = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    result = STEPS[name](**params)
    result["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
