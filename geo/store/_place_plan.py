"""Deciding a batch's places before anything is written (issue 12): which stored places
are near its points, which place each incident takes, and which incidents recur.

Apart from :mod:`geo.store.places`, which writes: a plan reads only what was stored
before the batch (the places of its wards by cell range, and the state of those it
joins), so :func:`geo.store.batches.commit_batch` plans before its incidents are written
and carries the recurrence links in their rows. The matching rule itself is
:mod:`geo.places`'s; here are its reads, set-based, and its results as Arrow tables.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, func, select

from geo import settings
from geo.places import (
    STATE_COLUMNS,
    assign_places_metric,
    empty_places,
    project_lonlat,
    recurrence_links,
)
from geo.store._instants import SQLITE_TS_FORMAT
from geo.store._schema import PLACE_CELL_M, PLACE_CELL_STRIDE, PLACE_WARD_SQL
from geo.store._values import clean, utcnow

if TYPE_CHECKING:
    from geo.store._core import Store
    from geo.store.workflow import Move

#: Batch points farther than this from the projection's origin (metres; none on Earth)
#: are matched against every place of their wards: cell keys stay exact integers below it.
_CELL_BOUND_M = 1e12
#: The reach of a point is the radius widened by this share: a distance that rounds to
#: at most the radius in float64 is never cut off by the rounding of a cell bound.
_REACH_SLACK = 1e-6

#: A batch reads the stored places by one index probe per cell range up to this many
#: ranges per stored place, and by one pass over the places table beyond
#: (:func:`_scan_ranges`). On 1.3 million stored places a probe cost about 6 µs on both
#: databases and the pass 3.5–5 s, so they cross near a million ranges (RESULTS.md,
#: "nearscan, session 23").
_SCAN_ABOVE = 0.75
#: Places read per chunk by that pass.
_SCAN_CHUNK = 100_000

#: The stored places whose group (ward, type) and cell key fall in one of the batch's
#: ranges (``ix_places_cell``: one index range per row of ``geo_place_ranges``). CROSS
#: JOIN keeps SQLite's loop order (ranges outside, the index inside); the expressions are
#: the index's, character for character. ``|| ''`` and ``+ 0`` take the declared type's
#: affinity off the range columns: SQLite uses an expression index only when the other
#: side of the comparison brings no affinity of its own (same values on both databases).
_NEAR_SQL = (
    "SELECT places.id, places.type, places.ward_code, places.x, places.y FROM geo_place_ranges r "  # noqa: S608
    "CROSS JOIN places WHERE " + PLACE_WARD_SQL + " = r.g_ward || '' AND type = r.g_type "
    "AND {cell} BETWEEN r.lo + 0 AND r.hi + 0"
)


@dataclass(frozen=True)
class CellRanges:
    """A batch's cell key ranges (:func:`_cell_ranges`), as arrays: range ``k`` covers keys
    ``lo[k]..hi[k]`` of the group (ward, type) ``group[k]``, numbered ``ward × len(types) +
    type`` over ``wards``/``types`` (a missing ward is ''). Sorted by group, then key;
    the ranges of one group neither touch nor overlap."""

    wards: pd.Index
    types: pd.Index
    group: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    def __len__(self) -> int:
        return len(self.lo)

    def rows(self) -> list[tuple[str, str, int, int]]:
        """(ward, type, first key, last key) per range, for the probes' scratch table."""
        n = len(self.types)
        ward_of = np.asarray(self.wards, dtype=object)[self.group // n]
        type_of = np.asarray(self.types, dtype=object)[self.group % n]
        return list(zip(ward_of.tolist(), type_of.tolist(), self.lo.tolist(), self.hi.tolist(), strict=True))


def _cell_ranges(types: pd.Series, wards: pd.Series, x: np.ndarray, y: np.ndarray, radius: float
                 ) -> CellRanges:  # fmt: skip
    """The cells within the radius of the batch's points, per group (ward, type), as few
    key ranges as possible.

    A place within ``radius`` of a point lies in a column between those of ``x ± reach``
    and a row between those of ``y ± reach`` (cells are monotone in the coordinate), so
    each point needs one key range per column it reaches; ranges of a group that touch or
    overlap are merged. Only positions decide what is read: the matching itself stays
    :func:`geo.places.assign_places_metric`'s, on exactly the places that can matter.
    Kept as arrays: a million points make over a million ranges, and a tuple each cost
    more than finding them (RESULTS.md, "pgingest, session 25").
    """
    valid = np.isfinite(x) & np.isfinite(y)
    ward_codes, ward_keys = pd.factorize(wards.where(wards.notna(), "").astype(object))
    type_codes, type_keys = pd.factorize(types.astype(object))
    group = (ward_codes.astype(np.int64) * len(type_keys) + type_codes)[valid]
    x, y = x[valid], y[valid]
    reach = radius * (1.0 + _REACH_SLACK)

    def cells(values: np.ndarray) -> np.ndarray:
        return np.trunc(values / PLACE_CELL_M).astype(np.int64)

    c0, c1, r0, r1 = cells(x - reach), cells(x + reach), cells(y - reach), cells(y + reach)
    span = c1 - c0 + 1
    point = np.repeat(np.arange(len(x)), span)
    column = c0[point] + np.arange(len(point)) - np.repeat(np.cumsum(span) - span, span)
    lo = column * PLACE_CELL_STRIDE + r0[point]
    hi = column * PLACE_CELL_STRIDE + r1[point]
    g = group[point]
    order = np.lexsort((lo, g))
    g, lo, hi = g[order], lo[order], hi[order]
    reached = pd.Series(hi).groupby(g).cummax().to_numpy()  # the group's farthest key so far
    start = np.ones(len(lo), dtype=bool)
    start[1:] = (g[1:] != g[:-1]) | (lo[1:] > reached[:-1] + 1)
    first = np.flatnonzero(start)
    last_hi = np.maximum.reduceat(hi, first) if len(first) else hi[:0]
    return CellRanges(pd.Index(ward_keys, dtype=object), pd.Index(type_keys, dtype=object),
                      g[first], lo[first], last_hi)  # fmt: skip


def _stored_places(store: Store, conn: Connection, batch: pd.DataFrame, radius: float) -> pd.DataFrame:
    """The stored places that can be within ``radius`` of a point of the batch of the same
    ward and type (:data:`geo.places.PLACE_COLUMNS`), read by ``ix_places_cell``: what a
    batch reads depends on the batch, not on how many places are stored.

    ``batch``: ``type``, ``ward_code``, ``x``, ``y`` (EPSG:32648 metres). Points farther
    than :data:`_CELL_BOUND_M` (none on Earth) fall back to every place of their wards.
    """
    x, y = batch["x"].to_numpy(dtype=float), batch["y"].to_numpy(dtype=float)
    columns = ["place_id", "type", "ward_code", "x", "y"]
    with np.errstate(invalid="ignore"):
        far = (np.abs(x) > _CELL_BOUND_M) | (np.abs(y) > _CELL_BOUND_M)
    if far.any():
        return _places_of_wards(store, conn, pd.unique(batch["ward_code"]).tolist())
    if conn.exec_driver_sql("SELECT 1 FROM places LIMIT 1").first() is None:
        return empty_places()
    ranges = _cell_ranges(batch["type"], batch["ward_code"], x, y, radius)
    if not ranges:
        return empty_places()
    stored = int(conn.exec_driver_sql("SELECT max(id) FROM places").scalar() or 0)
    if len(ranges) > _SCAN_ABOVE * stored:
        found = _scan_ranges(store, conn, ranges)
    else:
        spec = "g_ward TEXT, g_type TEXT, lo BIGINT, hi BIGINT"
        with (
            scratch(store, conn, "geo_place_ranges", ("g_ward", "g_type", "lo", "hi"), ranges.rows(), spec=spec),
            store.backend.index_probes(conn),
        ):
            rows = store.backend.fetch_rows(conn, _NEAR_SQL.format(cell=store.backend.place_cell))
        found = pd.DataFrame(rows, columns=columns) if rows else empty_places()
    # one order whichever way they were read (a probe returns them by range)
    return found.sort_values("place_id", kind="stable", ignore_index=True) if len(found) else empty_places()


def _scan_ranges(store: Store, conn: Connection, ranges: CellRanges) -> pd.DataFrame:
    """The stored places inside ``ranges`` (:func:`_cell_ranges`), found by one pass over
    the places table instead of one index probe per range.

    A batch of a million points spans about 1.3 million ranges, more than the places
    stored: probing the index once per range then costs more than reading every place, and
    PostgreSQL, whose planner cannot know that, joined the ranges to the places of their
    group (ward, type) and compared every pair (over five minutes for the second million
    incidents). The places are read a chunk at a time and only those inside a range are
    kept, so memory holds what the probes would have returned. Same rows as the probes:
    the cell key is the index's (IEEE division by :data:`PLACE_CELL_M`, truncated).

    Each place finds the range of its group starting at or before its key by one binary
    search over all ranges at once: the ranges are ordered by (group, first key), and a
    key's rank among the ranges' first keys keeps that order in one integer
    (group × (ranks + 1) + rank), which cannot overflow however far the keys reach.
    """
    # the ranges are ordered by group: number the groups they name 0…, in that order
    dense = np.concatenate([[0], np.cumsum(ranges.group[1:] != ranges.group[:-1])]).astype(np.int64)
    groups = np.full(len(ranges.wards) * len(ranges.types), -1, dtype=np.int64)
    groups[ranges.group] = dense
    starts = np.sort(ranges.lo)  # ranks: a first key's position among them, plus one
    width = len(starts) + 1
    ordered = dense * width + np.searchsorted(starts, ranges.lo, side="right")
    kept: list[pd.DataFrame] = []
    sql = "SELECT id, type, ward_code, x, y FROM places"
    for rows in store.backend.stream_rows(conn, sql, _SCAN_CHUNK):
        ids, ptype, pward, xs, ys = zip(*rows, strict=True)
        w = _positions(ranges.wards, ["" if v is None else v for v in pward])  # a missing ward: group ''
        t = _positions(ranges.types, ptype)
        code = np.where((w >= 0) & (t >= 0), groups[np.maximum(w, 0) * len(ranges.types) + np.maximum(t, 0)], -1)
        px, py = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        key = _cell_keys(px, py)
        code[~(np.isfinite(px) & np.isfinite(py))] = -1  # no key: no range holds it (NULL in SQL)
        by_key = np.argsort(key, kind="stable")  # sorted needles: each search starts near the last
        rank = np.empty(len(key), dtype=np.int64)
        rank[by_key] = np.searchsorted(starts, key[by_key], side="right")  # first keys at or below
        wanted = np.maximum(code, 0) * width + rank
        by_want = np.argsort(wanted, kind="stable")
        k = np.empty(len(key), dtype=np.int64)
        k[by_want] = np.searchsorted(ordered, wanted[by_want], side="right") - 1
        k0 = np.maximum(k, 0)
        inside = (code >= 0) & (k >= 0) & (dense[k0] == code) & (key >= ranges.lo[k0]) & (key <= ranges.hi[k0])
        if inside.any():
            at = np.flatnonzero(inside)
            kept.append(pd.DataFrame({
                "place_id": np.asarray(ids, dtype=np.int64)[at], "type": np.asarray(ptype, dtype=object)[at],
                "ward_code": np.asarray(pward, dtype=object)[at], "x": px[at], "y": py[at],
            }))  # fmt: skip
    return pd.concat(kept, ignore_index=True) if kept else empty_places()


def _positions(index: pd.Index, values: Sequence[Any]) -> np.ndarray:
    """Each value's position in ``index`` (-1: not there), hashed in C."""
    return np.asarray(index.get_indexer(pd.Index(values, dtype=object)), dtype=np.int64)


def _cell_keys(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``ix_places_cell``'s key of each place (:func:`geo.store._schema.place_cell_sql`)."""
    with np.errstate(invalid="ignore"):
        column = np.trunc(x / PLACE_CELL_M).astype(np.int64)
        row = np.trunc(y / PLACE_CELL_M).astype(np.int64)
    return column * PLACE_CELL_STRIDE + row


def _places_of_wards(store: Store, conn: Connection, wards: Sequence[Any]) -> pd.DataFrame:
    """Every stored place of the given wards (all places when one is missing)."""
    p = store.tables["places"]
    query = select(p.c.id, p.c.type, p.c.ward_code, p.c.x, p.c.y).order_by(p.c.id)
    named = [w for w in wards if isinstance(w, str)]
    if len(named) == len(wards):
        query = query.where(p.c.ward_code.in_(named))
    rows = conn.execute(query).all()
    if not rows:
        return empty_places()
    return pd.DataFrame([tuple(r) for r in rows], columns=["place_id", "type", "ward_code", "x", "y"])


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector held off for the duration, as it was after.

    The plan reads its places and states through the driver's rows: over a million
    tuples of plain values, none in a cycle. Their allocations set off the collector's
    generations again and again, and each full collection walks every tracked object
    alive, the chunks being read included: 1.5 of the pass's 4.1 CPU s on the second
    1M batch (RESULTS.md, "near28, session 28"). Whatever cycles the plan makes are
    collected at the next collection after it. Process-wide: another thread's
    collections wait for the plan too; one already off stays off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def scratch(store: Store, conn: Connection, name: str, columns: Sequence[str],
             rows: Sequence[tuple[Any, ...]], *, spec: str | None = None) -> Iterator[None]:  # fmt: skip
    """A temporary table holding ``rows``, for one set-based statement: integer columns,
    the first one the key, unless ``spec`` gives the columns' definitions.

    Created and dropped inside the open transaction (a failure rolls it back with the rest
    on both databases, so it is not dropped then); filled by the backend's bulk means
    (COPY, ``executemany``).
    """
    if spec is None:
        spec = ", ".join(f"{c} BIGINT" + (" PRIMARY KEY" if k == 0 else "") for k, c in enumerate(columns))
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ({spec})")
    store.backend.bulk_insert(conn, name, columns, rows)
    yield
    conn.exec_driver_sql(f"DROP TABLE {name}")


def stored_states(store: Store, conn: Connection, place_ids: Iterable[int], *, linkable: Sequence[str]
            ) -> pd.DataFrame:  # fmt: skip
    """:data:`geo.places.STATE_COLUMNS` of stored places (only those with incidents):
    whether an incident is open, and the latest clearance (latest ``cleared_at``, then
    the larger id), read by one statement of the backend's
    (:meth:`~geo.store._backend.Backend.place_states_sql`).

    ``linkable``: the statuses a latest clearance may be linked from.
    """
    wanted = sorted({int(p) for p in place_ids})
    if not wanted:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in STATE_COLUMNS})
    names = ["place_id", "is_open", "id", "status", "cleared_at"]
    with scratch(store, conn, "geo_place_ids", ("id",), [(p,) for p in wanted]):
        rows = store.backend.fetch_rows(conn, store.backend.place_states_sql(conn, len(wanted)))
    frame = pd.DataFrame([r[: len(names)] for r in rows], columns=names)
    closed = frame["cleared_at"].notna()
    return pd.DataFrame(
        {
            "place_id": frame["place_id"].astype(np.int64),
            "open": frame["is_open"].astype(int).astype(bool),
            "last_id": frame["id"].where(closed),
            "last_cleared": pd.to_datetime(frame["cleared_at"], utc=True),
            "last_linkable": frame["status"].isin(list(linkable)) & closed,
        }
    )


@dataclass(frozen=True)
class Placing:
    """A batch's places decided and not yet written (:func:`plan_places`).

    ``places``/``links``: the new places and every incident's link, as Arrow tables for
    :meth:`~geo.store._backend.Backend.insert_places`; ``positions``/``olds``: the batch
    positions that recur and the incidents they recur from (their ``recurrence_of``);
    ``moves``: those incidents' moves to ``recurred``.
    """

    places: pa.Table
    links: pa.Table
    positions: np.ndarray
    olds: np.ndarray
    moves: list[Move]
    ids: np.ndarray


def plan_places(
    store: Store,
    conn: Connection,
    incidents: pd.DataFrame,
    ids: Sequence[int],
    *,
    link: bool = True,
    linkable: Sequence[str] = ("cleared",),
) -> Placing:
    """Decide each new incident's place and recurrence link, writing nothing yet.

    Reads only what was stored before the batch (the places of its wards and the state
    of those it joins), so it may run before the batch's incidents are written: a batch
    then carries its links in the incidents' own rows instead of updating them after.
    The places table is locked here, until the transaction ends.

    Parameters
    ----------
    store, conn
        The store and a connection in its open write transaction.
    incidents, ids, link, linkable
        As for :func:`geo.store.places.place_incidents`.

    Returns
    -------
    Placing
        What :func:`geo.store.places.write_places` writes, the links and the moves.
    """
    with _no_cycle_collection():
        return _plan(store, conn, incidents, ids, link=link, linkable=linkable)


def _plan(store: Store, conn: Connection, incidents: pd.DataFrame, ids: Sequence[int], *, link: bool,
          linkable: Sequence[str]) -> Placing:  # fmt: skip
    """:func:`plan_places`, with the cycle collector held off by its caller."""
    ids_array = np.asarray(ids, dtype=np.int64)
    none = np.zeros(0, dtype=np.int64)
    store.backend.lock_places(conn)
    radius = settings.place_radius_m()
    batch = incidents[["type", "ward_code"]].reset_index(drop=True)
    lon, lat = incidents["lon"].to_numpy(dtype=float), incidents["lat"].to_numpy(dtype=float)
    batch["lon"], batch["lat"] = lon, lat
    batch["x"], batch["y"] = project_lonlat(lon, lat)
    existing = _stored_places(store, conn, batch, radius)
    p = store.tables["places"]
    top = conn.execute(select(func.max(p.c.id))).scalar()
    first_new = int(top or 0) + 1
    assigned = assign_places_metric(batch, existing, radius_m=radius, next_id=first_new)
    place = np.asarray(assigned.place_id, dtype=np.int64)
    tables = (_new_places_table(store, assigned.new_places, ids_array), _links_table(ids_array, place))
    if not link:
        return Placing(*tables, none, none, [], ids_array)
    before = stored_states(store, conn, place[place < first_new].tolist(), linkable=linkable)
    positions, olds = _recurrences(incidents, ids_array, place, before, linkable)
    # the place recurred when the new report was made (after the clearance, by the rule)
    seen = pd.to_datetime(incidents["reported_at"], utc=True).iloc[positions]
    moves: list[Move] = [
        (old, "recurred", at, f"tái phạm tại điểm / recurred at its place as incident {new}")
        for new, old, at in zip(ids_array[positions].tolist(), olds.tolist(), seen.tolist(), strict=True)
    ]
    return Placing(*tables, positions, olds, moves, ids_array)


def _new_places_table(store: Store, new: pd.DataFrame, ids: np.ndarray) -> pa.Table:
    """The batch's new places as Arrow columns (the ``places`` table's, ``created_at`` as
    the bulk-written instant text)."""
    stamp = utcnow().strftime(SQLITE_TS_FORMAT) + store.backend.stamp_suffix
    first = ids[new["first_incident"].to_numpy(dtype=np.int64)]
    return pa.table(
        {
            "id": pa.array(new["place_id"].to_numpy(dtype=np.int64)),
            "type": pa.array(new["type"].to_numpy(dtype=object), type=pa.string()),
            "ward_code": _texts(new["ward_code"]),
            **{c: _floats(new[c]) for c in ("lon", "lat", "x", "y")},
            "first_incident": pa.array(first, type=pa.int64()),
            "created_at": pa.array(np.full(len(new), stamp, dtype=object), type=pa.string()),
        }
    )  # fmt: skip


def _texts(values: pd.Series) -> pa.Array:
    """Texts cleaned as :func:`geo.store._values.clean` does, anything else null; each
    distinct value once (a batch's hundreds of thousands of places share 126 wards)."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    cleaned = np.array([clean(u) if isinstance(u, str) else None for u in uniques] + [None], dtype=object)
    return pa.array(cleaned[codes], type=pa.string())  # code -1 (missing) takes the last: None


def _links_table(ids: np.ndarray, place: np.ndarray) -> pa.Table:
    return pa.table({"incident_id": pa.array(ids, type=pa.int64()),
                     "place_id": pa.array(place, type=pa.int64())})  # fmt: skip


def _floats(values: pd.Series) -> pa.Array:
    """Floats with every non-finite value null (nothing to measure from)."""
    array = values.to_numpy(dtype=float)
    return pa.array(array, mask=~np.isfinite(array), type=pa.float64())


def _recurrences(
    incidents: pd.DataFrame,
    ids: np.ndarray,
    place: np.ndarray,
    stored: pd.DataFrame,
    linkable: Sequence[str],
) -> tuple[np.ndarray, np.ndarray]:
    """The batch positions that start a new episode at their place, and the last
    clearance each recurs from (decided in bulk by :func:`geo.places.recurrence_links`)."""
    status = incidents["status"].astype(object)
    own = (incidents["recurrence_of"].notna().to_numpy() if "recurrence_of" in incidents
           else np.zeros(len(ids), dtype=bool))  # fmt: skip
    positions, olds = recurrence_links(
        place, incidents["reported_at"], incidents["cleared_at"],
        status.isin(list(linkable)).to_numpy(), own, ids, stored,
    )  # fmt: skip
    return np.asarray(positions, dtype=np.int64), np.asarray(olds, dtype=np.int64)
