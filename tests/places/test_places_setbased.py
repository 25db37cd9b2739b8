"""Set-based placing (issues 12 and 15) gives what the rule gives, on SQLite and PostGIS.

The expected places and recurrence links come from the rule as the issue states it,
computed here by a plain loop in incident order, independently of :mod:`geo.places`:
same type, same ward, within GEO_PLACE_RADIUS_M of a place's first incident in EPSG:32648
(``dx² + dy² <= r²``), nearest wins, ties to the smaller id, else a new place; a new
incident at a place whose incidents so far are all cleared, reported after the latest
clearance, with no link of its own, recurs from that clearance's incident (the later
incident on equal clearance times), which moves to ``recurred`` with its history.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from sqlalchemy import text

from geo.store import _place_plan, batches, chain
from geo.store import places as stored_places
from tests._store_data import EAST, NO_UPDATES, WEST, batch, incidents, ts

RADIUS = 15.0
_TO_M = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
_TO_DEG = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)


def expected(frame: pd.DataFrame, radius: float = RADIUS) -> tuple[list[int], dict[int, int]]:
    """(place of each row, {row: row it recurs from}) by the rule, rows in incident order.

    ``frame``: type, ward_code, lon, lat, reported_at, cleared_at, status (as imported),
    own (a link of its own).
    """
    places: list[tuple[int, object, object, float, float]] = []  # id, type, ward, x, y
    out: list[int] = []
    for row in frame.itertuples():
        x, y = _TO_M.transform(row.lon, row.lat)
        ward = None if row.ward_code is None or pd.isna(row.ward_code) else row.ward_code
        best: tuple[float, int] | None = None
        if math.isfinite(x) and math.isfinite(y):
            for pid, ptype, pward, px, py in places:
                if ptype != row.type or pward != ward or not math.isfinite(px):
                    continue
                d2 = (x - px) * (x - px) + (y - py) * (y - py)
                if d2 <= radius * radius and (best is None or (d2, pid) < best):
                    best = (d2, pid)
        if best is None:
            places.append((len(places) + 1, row.type, ward, x, y))
            out.append(len(places))
        else:
            out.append(best[1])
    links: dict[int, int] = {}
    state: dict[int, dict] = {}
    for pos, row in enumerate(frame.itertuples()):
        st = state.setdefault(out[pos], {"open": False, "last": None})
        last = st["last"]
        if (not st["open"] and last is not None and last[2] and not row.own
                and row.reported_at > last[0]):  # fmt: skip
            links[pos] = last[1]
        if pd.isna(row.cleared_at):
            st["open"] = True
        elif last is None or row.cleared_at >= last[0]:
            st["last"] = (row.cleared_at, pos, row.status == "cleared")
    return out, links


def _offset(lon: float, lat: float, metres: float, angle: float) -> tuple[float, float]:
    x, y = _TO_M.transform(lon, lat)
    return _TO_DEG.transform(x + metres * math.cos(angle), y + metres * math.sin(angle))


def edge_batch(seed: int, n: int = 400) -> pd.DataFrame:
    """Reports around a few spots, many of them within millimetres of the radius, with
    clearances before and after later reports, two types and a ward-less share."""
    rng = np.random.default_rng(seed)
    spots = [(105.801 + 0.0015 * (k % 6), 21.001 + 0.0015 * (k // 6)) for k in range(18)]
    rows = []
    start = ts("2025-01-01 08:00")
    for _ in range(n):
        lon0, lat0 = spots[int(rng.integers(len(spots)))]
        kind = rng.random()
        metres = (RADIUS + rng.uniform(-2e-3, 2e-3) if kind < 0.4
                  else rng.uniform(0, RADIUS) if kind < 0.7 else rng.uniform(RADIUS, 3 * RADIUS))  # fmt: skip
        lon, lat = _offset(lon0, lat0, metres, rng.uniform(0, 2 * math.pi))
        reported = start + pd.Timedelta(hours=int(rng.integers(0, 24 * 120)))
        cleared = reported + pd.Timedelta(hours=int(rng.integers(1, 24 * 20)))
        done = rng.random() < 0.75
        rows.append({
            "lon": lon, "lat": lat,
            "type": "sidewalk" if rng.random() < 0.8 else "awning",
            "ward_code": WEST if rng.random() < 0.9 else None,
            "reported_at": reported,
            "status": "cleared" if done else "reported",
            "cleared_at": cleared if done else pd.NaT,
        })  # fmt: skip
    # equal clearance times at one place: the later incident is the one a report recurs from
    rows[1].update(lon=rows[0]["lon"], lat=rows[0]["lat"], type=rows[0]["type"],
                   ward_code=rows[0]["ward_code"], status="cleared",
                   cleared_at=rows[0]["cleared_at"] if rows[0]["status"] == "cleared" else ts("2025-02-01"))  # fmt: skip
    return pd.DataFrame(rows)


def commit_parts(store, parts, name: str) -> None:
    """Each part of a frame committed as a batch of its own, ``<name><k>.csv``."""
    for k, part in enumerate(parts):
        batches.commit_batch(store, batch(f"{name}{k}.csv"), incidents(part.to_dict("records"), source=f"{name}{k}.csv"),
                             NO_UPDATES, actor="tester")  # fmt: skip


def placed_as(store, want_place: list[int], want_links: dict[int, int]) -> None:
    """The stored places and recurrence links are the rule's (:func:`expected`)."""
    place, link, status = stored(store)
    ids = sorted(status)
    assert [place[i] for i in ids] == want_place
    assert {ids[p]: ids[o] for p, o in want_links.items()} == {i: r for i, r in link.items() if r is not None}


def stored(store) -> tuple[dict[int, int], dict[int, int | None], dict[int, str]]:
    with store.read() as conn:
        place = dict(conn.execute(text("SELECT incident_id, place_id FROM incident_places")).all())
        rows = conn.execute(text("SELECT id, recurrence_of, status FROM incidents ORDER BY id")).all()
    return place, {r[0]: r[1] for r in rows}, {r[0]: r[2] for r in rows}


@pytest.mark.parametrize("bulk_from", [None, 1, 0, -1], ids=["default", "bulk-history", "bulk-csv", "staged"])
def test_a_random_batch_near_the_radius_edge_is_placed_and_linked_by_the_rule(store, bulk_from, monkeypatch):
    """``bulk-history``: every history append takes the bulk path, whose stored forms the
    chain check then verifies (it recomputes each row's hash from what was stored);
    ``bulk-csv``: on PostGIS that path's rows (and every other COPY) go as Arrow-written
    CSV or binary, as a large ingest's do; ``staged``: on SQLite each batch goes through
    the scratch file of a large batch, staged before its links are decided, which are
    joined into its rows at insert."""
    from geo.store import _chain, _pg_copy, _sqlite_bulk

    if bulk_from is not None and bulk_from >= 0:
        monkeypatch.setattr(_chain, "BULK_APPEND_ROWS", max(bulk_from, 1))
    if bulk_from == 0:
        monkeypatch.setattr(_pg_copy, "CSV_COPY_MIN_ROWS", 1)
    if bulk_from == -1:
        monkeypatch.setattr(_sqlite_bulk, "STAGE_MIN_ROWS", 1)
    frame = edge_batch(seed=7)
    want_place, want_links = expected(frame.assign(own=False))
    assert len(set(want_place)) < len(want_place) - 50  # places are shared
    assert len(want_links) > 20  # recurrences, inside one batch and across batches
    parts = (frame.iloc[:150], frame.iloc[150:151], frame.iloc[151:])
    for k, part in enumerate(parts):
        rows = part.to_dict("records")
        batches.commit_batch(store, batch(f"edge{k}.csv"), incidents(rows, source=f"edge{k}.csv"),
                             NO_UPDATES, actor="tester")  # fmt: skip
    place, link, status = stored(store)
    ids = sorted(status)
    assert [place[i] for i in ids] == want_place
    assert {ids[p]: ids[o] for p, o in want_links.items()} == {i: r for i, r in link.items() if r is not None}
    olds = {ids[o] for o in want_links.values()}
    assert {i for i, s in status.items() if s == "recurred"} == olds
    with store.read() as conn:
        events = conn.execute(text(
            "SELECT incident_id FROM status_events WHERE from_status = 'cleared' AND to_status = 'recurred'"
        )).scalars().all()  # fmt: skip
        audited = conn.execute(text(
            "SELECT object_id FROM audit_log WHERE action = 'status' AND object_type = 'incident'"
        )).scalars().all()  # fmt: skip
    assert sorted(events) == sorted(olds)
    assert sorted(int(a) for a in audited) == sorted(olds)
    assert all(state.ok for state in chain.verify(store))


def test_points_beyond_the_cell_keys_reach_are_matched_against_their_wards_places(store, monkeypatch):
    """A point farther from the projection's origin than cell keys stay exact for
    (``_CELL_BOUND_M``; none on Earth, so here every point is made one) is matched against
    every stored place of its batch's wards (of every ward when one is missing, as in
    batch one), and the result is still the rule's: the same places and links as the loop
    above."""
    monkeypatch.setattr(_place_plan, "_CELL_BOUND_M", 0.0)
    read: list[int] = []
    real = _place_plan._places_of_wards
    monkeypatch.setattr(_place_plan, "_places_of_wards", lambda *a: read.append(1) or real(*a))
    frame = edge_batch(seed=11, n=200)
    frame.loc[60:, "ward_code"] = [(WEST, EAST)[k % 2] for k in range(60, len(frame))]  # batch two: named only
    want_place, want_links = expected(frame.assign(own=False))
    assert want_links  # recurrences across the two batches too
    commit_parts(store, (frame.iloc[:120], frame.iloc[120:]), "far")
    placed_as(store, want_place, want_links)
    assert read == [1, 1]  # both batches took that way

def _at(x: float, y: float, **row) -> dict:
    lon, lat = _TO_DEG.transform(x, y)
    return {"lon": lon, "lat": lat, "type": "sidewalk", "ward_code": WEST, **row}


#: How a batch reads the stored places near it: one index probe per cell range (small
#: batches), or one pass over the places table (batches with more ranges than places).
READ_BY = {"probe": math.inf, "scan": 0.0}


@pytest.mark.parametrize("read_by", sorted(READ_BY))
def test_a_second_batch_finds_stored_places_across_cell_lines_and_reads_only_those_near_it(
    store, monkeypatch, read_by
):
    """Batch two joins places of batch one that lie just across a line of the 16 m grid the
    store indexes places by (column, row and corner), recurs from their clearances as the
    rule says, and reads only the stored places near its points: not the far ones of the
    same ward and type, nor a near one of another type. Expected values: the loop above.
    Both ways of reading them (index probes, one pass) give the same."""
    monkeypatch.setattr(_place_plan, "_SCAN_ABOVE", READ_BY[read_by])
    x0, y0 = 586_000.0, 2_323_000.0  # multiples of 16 m: cell lines (EPSG:32648, Hà Nội)
    day = ts("2025-01-01 08:00")
    first = [  # stored places, each just across a cell line from a point of batch two
        _at(x0 - 0.001, y0 + 5, reported_at=day, status="cleared", cleared_at=day + pd.Timedelta(days=1)),
        _at(x0 + 100 + 3, y0 - 0.001, reported_at=day, status="cleared", cleared_at=day + pd.Timedelta(days=2)),
        _at(x0 + 200 - 0.001, y0 - 0.001, reported_at=day, status="reported", cleared_at=pd.NaT),
        _at(x0 + 300 + 1, y0 + 1, type="awning", reported_at=day, status="cleared",
            cleared_at=day + pd.Timedelta(days=1)),
        *[_at(x0 + 5_000 + 40 * k, y0 + 3_000, reported_at=day, status="reported", cleared_at=pd.NaT)
          for k in range(30)],  # far away, same ward and type
    ]  # fmt: skip
    later = day + pd.Timedelta(days=10)
    second = [
        _at(x0 + 14.99, y0 + 5, reported_at=later, status="reported", cleared_at=pd.NaT),  # column
        _at(x0 + 103, y0 + 14.99, reported_at=later, status="reported", cleared_at=pd.NaT),  # row
        _at(x0 + 200 + 10, y0 + 10, reported_at=later, status="reported", cleared_at=pd.NaT),  # corner
        _at(x0 + 300 + 1, y0 + 1, reported_at=later, status="reported", cleared_at=pd.NaT),  # other type
        _at(x0 + 15.02, y0 + 5, reported_at=later, status="reported", cleared_at=pd.NaT),  # just out
    ]  # fmt: skip
    frame = pd.DataFrame(first + second)
    want_place, want_links = expected(frame.assign(own=False))
    n = len(first)
    assert want_place[n:n + 3] == [1, 2, 3] and len(set(want_place[n + 3:])) == 2  # the rule's cases
    assert want_links == {n: 0, n + 1: 1}
    read: list[int] = []
    real = _place_plan._stored_places

    def spy(*args, **kwargs):
        found = real(*args, **kwargs)
        read.append(len(found))
        return found

    monkeypatch.setattr(_place_plan, "_stored_places", spy)
    for k, part in enumerate((first, second)):
        batches.commit_batch(store, batch(f"cells{k}.csv"), incidents(part, source=f"cells{k}.csv"),
                             NO_UPDATES, actor="tester")  # fmt: skip
    place, link, status = stored(store)
    ids = sorted(status)
    assert [place[i] for i in ids] == want_place
    assert {ids[p]: ids[o] for p, o in want_links.items()} == {i: r for i, r in link.items() if r is not None}
    assert read[0] == 0  # an empty store: nothing to read
    assert read[1] == 3  # the three places of its ward and type near batch two, not the 30 far ones


def test_probes_and_one_pass_read_the_same_places_and_every_one_within_the_radius(store):
    """Random places in two wards and three types (some without a ward, many on cell lines)
    and a random batch: both ways of reading the stored places near the batch return the
    same rows, which hold every stored place within the radius of a batch point of its
    ward and type (what the rule can match) and none farther than a cell's diagonal beyond
    the radius (what the cell ranges allow). Expected sets: distances computed here."""
    rng = np.random.default_rng(23)
    x0, y0 = 586_000.0, 2_323_000.0
    types, wards = np.array(["sidewalk", "awning", "parking"]), np.array([WEST, EAST, None], dtype=object)

    def points(n: int) -> pd.DataFrame:
        snap = rng.random(n) < 0.3  # on a cell line, or a hair either side of it
        x = np.where(snap, x0 + 16.0 * rng.integers(0, 40, n) + rng.choice([-1e-3, 0, 1e-3], n), x0 + rng.random(n) * 640)
        y = np.where(snap, y0 + 16.0 * rng.integers(0, 40, n) + rng.choice([-1e-3, 0, 1e-3], n), y0 + rng.random(n) * 640)
        return pd.DataFrame({"x": x, "y": y, "type": rng.choice(types, n), "ward_code": rng.choice(wards, n)})

    stored_pts = points(600)
    lon, lat = _TO_DEG.transform(stored_pts["x"].to_numpy(), stored_pts["y"].to_numpy())
    rows = [{"lon": a, "lat": b, "type": t, "ward_code": w, "reported_at": ts("2025-01-01 08:00"),
             "status": "reported", "cleared_at": pd.NaT}
            for a, b, t, w in zip(lon, lat, stored_pts["type"], stored_pts["ward_code"], strict=True)]  # fmt: skip
    batches.commit_batch(store, batch("stored.csv"), incidents(rows, source="stored.csv"), NO_UPDATES, actor="tester")
    near = points(80)
    with store.read() as conn:
        places = pd.DataFrame(
            conn.execute(text("SELECT id, type, ward_code, x, y FROM places ORDER BY id")).all(),
            columns=["place_id", "type", "ward_code", "x", "y"],
        )
    read = {}
    for way, share in READ_BY.items():
        with store.engine.begin() as conn:
            _place_plan._SCAN_ABOVE, saved = share, _place_plan._SCAN_ABOVE
            try:
                read[way] = _place_plan._stored_places(store, conn, near, RADIUS)
            finally:
                _place_plan._SCAN_ABOVE = saved
    pd.testing.assert_frame_equal(read["probe"], read["scan"])
    got = set(read["scan"]["place_id"].tolist())
    within, beyond = set(), set()
    for place in places.itertuples():
        ward = "" if pd.isna(place.ward_code) else place.ward_code
        same = near[(near["type"] == place.type) & (near["ward_code"].fillna("") == ward)]
        d = np.hypot(same["x"].to_numpy() - place.x, same["y"].to_numpy() - place.y)
        if len(d) and d.min() <= RADIUS:
            within.add(place.place_id)
        if not len(d) or d.min() > math.sqrt(2) * (RADIUS + 16.0) + 1e-6:  # a corner cell's far corner
            beyond.add(place.place_id)
    assert within and within <= got  # every place the rule can match is read
    assert not got & beyond  # and none the cells cannot reach
    assert len(got) < len(places) / 2  # the rest of the 640 m square is not read


def test_one_pass_keeps_a_place_only_inside_a_range_of_its_own_ward_and_type(store):
    """The pass over the places searches every range at once (ordered by group, then
    first key): a place whose key lies inside another group's range, before any range of
    its own group, is not read; one inside a range of its own group is, and so is one of
    the other group inside that group's range. Expected: written out from the ranges."""
    day = ts("2025-01-01 08:00")
    x0, y0 = 586_008.0, 2_323_000.0  # cell centres (x / 16 and y / 16 end in .5)
    rows = [_at(x0, y0, reported_at=day, status="reported", cleared_at=pd.NaT),  # P: sidewalk
            _at(x0 + 16.0, y0, reported_at=day, status="reported", cleared_at=pd.NaT),  # Q: next column
            _at(x0, y0, type="awning", reported_at=day, status="reported", cleared_at=pd.NaT)]  # R  # fmt: skip
    batches.commit_batch(store, batch("groups.csv"), incidents(rows, source="groups.csv"), NO_UPDATES, actor="tester")
    with store.read() as conn:
        found = conn.execute(text("SELECT id, type, x, y FROM places ORDER BY id")).all()
    ids = {(t, round(x)): i for i, t, x, _ in found}
    key = {name: int(_place_plan._cell_keys(np.array([x]), np.array([y]))[0])
           for name, (_, t, x, y) in zip("PQ", found, strict=False)}  # fmt: skip
    assert key["Q"] > key["P"] + 5  # Q's column comes after P's cell and its neighbours
    ranges = _place_plan.CellRanges(
        pd.Index([WEST], dtype=object), pd.Index(["awning", "sidewalk"], dtype=object),
        group=np.array([0, 1]),  # awning's range holds P's and R's cell; sidewalk's only Q's
        lo=np.array([key["P"] - 5, key["Q"]]), hi=np.array([key["P"] + 5, key["Q"]]),
    )
    with store.engine.begin() as conn:
        got = _place_plan._scan_ranges(store, conn, ranges)
    want = {ids[("sidewalk", round(x0 + 16.0))], ids[("awning", round(x0))]}  # Q and R, not P
    assert set(got["place_id"].tolist()) == want


def test_cell_ranges_probe_the_places_index_on_either_database(store):
    """Many ranges against few places: PostgreSQL's planner, left alone, hashes or merges
    the places of each group and filters every pair (minutes at a million places); inside
    ``index_probes`` it probes ``ix_places_cell`` once per range, and the session's join
    settings are as they were afterwards. SQLite's plan searches the index either way."""
    rows = [_at(586_000.0 + 40 * k, 2_323_000.0, reported_at=ts("2025-01-01 08:00"), status="reported",
                cleared_at=pd.NaT) for k in range(50)]  # fmt: skip
    batches.commit_batch(store, batch("few.csv"), incidents(rows, source="few.csv"), NO_UPDATES, actor="tester")
    ranges = [(WEST, "sidewalk", 10 * k, 10 * k + 3) for k in range(50_000)]
    sql = _place_plan._NEAR_SQL.format(cell=store.backend.place_cell)
    postgis = store.url.startswith("postgresql")
    explain = "EXPLAIN " if postgis else "EXPLAIN QUERY PLAN "
    spec = "g_ward TEXT, g_type TEXT, lo BIGINT, hi BIGINT"
    with store.engine.begin() as conn:
        if postgis:
            conn.exec_driver_sql("ANALYZE places")
        with _place_plan.scratch(store, conn, "geo_place_ranges", ("g_ward", "g_type", "lo", "hi"), ranges, spec=spec):
            before = [r[0] for r in conn.exec_driver_sql("SHOW enable_mergejoin").all()] if postgis else []
            with store.backend.index_probes(conn):
                plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql(explain + sql).all())
            after = [r[0] for r in conn.exec_driver_sql("SHOW enable_mergejoin").all()] if postgis else []
        conn.rollback()
    assert "ix_places_cell" in plan, plan
    assert "Hash" not in plan and "Merge" not in plan, plan
    assert before == after


def sample_frame(store) -> pd.DataFrame:
    """Every stored incident in id order with the status it was imported with."""
    with store.read() as conn:
        rows = conn.execute(text(
            "SELECT i.id, i.type, i.ward_code, i.lon, i.lat, i.reported_at, i.cleared_at, e.to_status "
            "FROM incidents i JOIN status_events e ON e.incident_id = i.id AND e.from_status IS NULL "
            "ORDER BY i.id"
        )).all()  # fmt: skip
    frame = pd.DataFrame(rows, columns=["id", "type", "ward_code", "lon", "lat", "reported_at",
                                        "cleared_at", "status"])  # fmt: skip
    for column in ("reported_at", "cleared_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame[["lon", "lat"]] = frame[["lon", "lat"]].astype(float)
    return frame.assign(own=False)


def test_both_samples_are_placed_and_linked_by_the_rule_and_every_result_is_accepted(store):
    """Seeded as the app seeds them (main sample, sustained-order sample, its results), the
    places and links are the rule's, and no result is refused: no report of the main sample
    shares a place with the sustained-order sample's spots."""
    from geo.ingest import IngestOptions, ingest
    from geo.ingest.recheck import ingest_results
    from geo.seed import RECHECKS_CSV, SAMPLE_CSV, SUSTAIN_CSV

    ingest(SAMPLE_CSV, store, actor="system")
    ingest(SUSTAIN_CSV, store, IngestOptions(source="sample_sustain"), actor="system")
    frame = sample_frame(store)
    want_place, want_links = expected(frame)
    place, link, _ = stored(store)
    ids = frame["id"].tolist()
    assert [place[i] for i in ids] == want_place
    assert len(want_links) > 50
    assert {ids[p]: ids[o] for p, o in want_links.items()} == {i: r for i, r in link.items() if r is not None}
    summary = ingest_results(store, RECHECKS_CSV, actor="system").summary()
    assert (summary["rejected"], summary["reasons"]) == (0, {})
    assert summary["accepted"] == summary["rows"] == len(pd.read_csv(RECHECKS_CSV))


def test_rebuild_links_the_recurrences_the_new_places_show(store, monkeypatch):
    def east(metres: float) -> float:
        return _offset(105.805, 21.005, metres, 0.0)[0]

    rows = [
        {"lon": east(0), "status": "cleared", "reported_at": ts("2025-03-01 09:00"),
         "cleared_at": ts("2025-03-02 09:00")},
        {"lon": east(20), "reported_at": ts("2025-03-10 09:00")},   # 20 m: another place at 15 m
        {"lon": east(40), "reported_at": ts("2025-02-10 09:00")},   # before the clearance
    ]  # fmt: skip
    batches.commit_batch(store, batch(), incidents(rows), NO_UPDATES, actor="tester")
    assert stored(store)[1] == {1: None, 2: None, 3: None}
    monkeypatch.setenv("GEO_PLACE_RADIUS_M", "25")
    assert stored_places.rebuild(store, actor="planner") == (2, 3)
    place, link, status = stored(store)
    assert place == {1: 1, 2: 1, 3: 2}
    assert link == {1: None, 2: 1, 3: None}
    assert status == {1: "recurred", 2: "reported", 3: "reported"}
    with store.read() as conn:
        moves = conn.execute(text(
            "SELECT from_status, to_status, actor FROM status_events WHERE incident_id = 1 ORDER BY id"
        )).all()  # fmt: skip
        audits = conn.execute(text("SELECT action FROM audit_log ORDER BY id")).scalars().all()
    assert [tuple(m) for m in moves] == [(None, "cleared", "tester"), ("cleared", "recurred", "planner")]
    assert audits[-2:] == ["status", "places_rebuild"]
    count = len(audits)
    assert stored_places.rebuild(store, actor="planner") == (2, 3)  # twice: nothing new
    assert stored(store) == (place, link, status)
    with store.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == count + 1
    assert all(state.ok for state in chain.verify(store))


@pytest.mark.parametrize("seed", [1, 2])
def test_the_bulk_rule_matches_the_loop_on_random_histories(seed):
    """:func:`geo.places.recurrence_links` against the loop, with a stored state."""
    from geo.places import recurrence_links

    rng = np.random.default_rng(seed)
    n = 3000
    place = rng.integers(1, 1500, n)
    reported = pd.Series(pd.Timestamp("2025-01-01", tz="UTC")
                         + pd.to_timedelta(rng.integers(0, 400, n), unit="D"))  # fmt: skip
    cleared = reported + pd.to_timedelta(rng.integers(0, 30, n), unit="D")
    cleared = cleared.where(rng.random(n) < 0.95)
    status = np.where(cleared.isna(), "reported", np.where(rng.random(n) < 0.9, "cleared", "recurred"))
    own = rng.random(n) < 0.05
    frame = pd.DataFrame({"reported_at": reported, "cleared_at": cleared, "status": status, "own": own,
                          "place": place})  # fmt: skip
    # the first 1000 rows are "stored": their state is what the batch starts from
    head, tail = frame.iloc[:1000], frame.iloc[1000:].reset_index(drop=True)
    states = []
    for pid, group in head.groupby("place"):
        done = group[group["cleared_at"].notna()]
        last = done.iloc[np.lexsort((done.index.to_numpy(), done["cleared_at"].to_numpy()))[-1]] if len(done) else None
        states.append({"place_id": pid, "open": bool(group["cleared_at"].isna().any()),
                       "last_id": None if last is None else int(last.name) + 1,
                       "last_cleared": None if last is None else last["cleared_at"],
                       "last_linkable": last is not None and last["status"] == "cleared"})  # fmt: skip
    positions, olds = recurrence_links(
        tail["place"].to_numpy(), tail["reported_at"], tail["cleared_at"],
        (tail["status"] == "cleared").to_numpy(), tail["own"].to_numpy(),
        np.arange(1001, n + 1), pd.DataFrame(states),
    )  # fmt: skip
    # the loop over all rows, places given
    links: dict[int, int] = {}
    state: dict[int, dict] = {}
    for pos, row in enumerate(frame.itertuples()):
        st = state.setdefault(row.place, {"open": False, "last": None})
        last = st["last"]
        if not st["open"] and last is not None and last[2] and not row.own and row.reported_at > last[0]:
            links[pos + 1] = last[1]
        if pd.isna(row.cleared_at):
            st["open"] = True
        elif last is None or row.cleared_at >= last[0]:
            st["last"] = (row.cleared_at, pos + 1, row.status == "cleared")
    want = {k: v for k, v in links.items() if k > 1000}
    assert len(want) > 100
    assert dict(zip((positions + 1001).tolist(), olds.tolist(), strict=True)) == want


#: Ordered by name and definition: a primary key is both an index and a constraint of one name.
_PLACE_SCHEMA = """
SELECT indexname, indexdef FROM pg_indexes
WHERE tablename IN ('places', 'incident_places') AND schemaname = current_schema()
UNION ALL
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid IN (CAST('places' AS regclass), CAST('incident_places' AS regclass))
ORDER BY 1, 2
"""


@pytest.mark.postgis
def test_postgis_places_of_a_large_batch_are_written_with_their_indexes_rebuilt(postgis_url, monkeypatch):
    """A batch with at least as many links as are stored is written with the places'
    indexes and foreign keys dropped and rebuilt: the rule's places, and every index and
    constraint back as it was."""
    from geo.store import _pg_bulk, open_store

    monkeypatch.setattr(_pg_bulk, "REBUILD_MIN_ROWS", 100)
    dropped = []
    real = _pg_bulk._rebuilt

    def spy(conn, tables):
        dropped.append(tuple(tables))
        return real(conn, tables)

    monkeypatch.setattr(_pg_bulk, "_rebuilt", spy)
    frame = edge_batch(seed=3, n=300)
    want_place, _ = expected(frame.assign(own=False))
    store = open_store(postgis_url)
    try:
        with store.read() as conn:
            schema = conn.execute(text(_PLACE_SCHEMA)).all()
        assert len(schema) >= 6  # keys, foreign keys, the ward/type and GiST indexes
        batches.commit_batch(store, batch("big.csv"), incidents(frame.to_dict("records"), source="big.csv"),
                             NO_UPDATES, actor="tester")  # fmt: skip
        assert _pg_bulk.PLACE_TABLES in dropped
        with store.read() as conn:
            assert conn.execute(text(_PLACE_SCHEMA)).all() == schema
        place, _, status = stored(store)
        assert [place[i] for i in sorted(status)] == want_place
    finally:
        store.close()


_SQLITE_PLACE_INDEXES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
    "AND tbl_name IN ('places', 'incident_places') ORDER BY name"
)


def _spied_drops(monkeypatch) -> list[str]:
    """Lower the SQLite rebuild threshold to test sizes and record each table whose
    secondary indexes ``_sqlite_bulk.drop_indexes`` drops."""
    from geo.store import _sqlite_bulk

    monkeypatch.setattr(_sqlite_bulk, "REBUILD_MIN_ROWS", 100)
    dropped: list[str] = []
    real = _sqlite_bulk.drop_indexes

    def spy(conn, table, keep=None):
        dropped.append(table)
        return real(conn, table, keep)

    monkeypatch.setattr(_sqlite_bulk, "drop_indexes", spy)
    return dropped


def test_sqlite_indexes_are_rebuilt_only_into_a_table_small_next_to_the_batch(tmp_path, monkeypatch):
    """The rule of ``_sqlite_bulk.rebuild_indexes_for``: a batch's places, links and
    incidents are written with the table's secondary indexes rebuilt only when the table
    holds at most ``REBUILD_TABLE_PER_BATCH`` times the batch's rows (links and places: as
    many; incidents: a quarter); otherwise the indexes are kept and updated. After either
    way every index is back and agrees with its table (``PRAGMA integrity_check`` reads
    each index against the rows), and the places are the rule's."""
    from geo.store import open_store

    dropped = _spied_drops(monkeypatch)
    frame = edge_batch(seed=5, n=750)
    want_place, _ = expected(frame.assign(own=False))
    store = open_store(f"sqlite:///{tmp_path / 'rule.sqlite'}")
    try:
        with store.read() as conn:
            schema = conn.execute(text(_SQLITE_PLACE_INDEXES)).all()
        assert {"ix_places_cell", "ix_places_ward_type", "ix_incident_places_place_id"} <= {n for n, _ in schema}
        # (rows, links stored before, incidents stored before): 200 into empty tables,
        # 150 onto 200 (the old "half the table" rule rebuilt the links), 400 onto 350
        for k, (lo, hi) in enumerate(((0, 200), (200, 350), (350, 750))):
            with store.read() as conn:
                places_before = conn.execute(text("SELECT count(*) FROM places")).scalar_one()
            part = frame.iloc[lo:hi]
            batches.commit_batch(store, batch(f"r{k}.csv"), incidents(part.to_dict("records"), source=f"r{k}.csv"),
                                 NO_UPDATES, actor="tester")  # fmt: skip
            with store.read() as conn:
                new_places = conn.execute(text("SELECT count(*) FROM places")).scalar_one() - places_before
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert conn.execute(text(_SQLITE_PLACE_INDEXES)).all() == schema
            rows = hi - lo
            assert ("incident_places" in dropped) == (lo <= rows), k
            assert ("incidents" in dropped) == (lo <= rows / 4), k
            assert ("places" in dropped) == (new_places >= 100 and places_before <= new_places), k
            dropped.clear()
        place, _, status = stored(store)
        assert [place[i] for i in sorted(status)] == want_place
    finally:
        store.close()
