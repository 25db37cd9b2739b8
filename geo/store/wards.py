"""The stored ward layer: its versions, the current wards, and wards of stored incidents.

A ward whose name or polygon changes gets a new row and the old one a ``valid_to``, so an
incident keeps pointing at the ward as it was when it was assigned; the current layer is
the rows without ``valid_to``. Rights checks are :mod:`geo.services`' business.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, func, insert, select, update

from geo.crs import STORAGE_CRS, to_storage
from geo.errors import InvalidArgument, StorageError
from geo.store._instants import Instant, to_utc
from geo.store._values import utcnow

if TYPE_CHECKING:
    from geo.store._core import Store

#: Columns of :func:`current` besides ``geometry``.
COLUMNS: tuple[str, ...] = (
    "code", "name", "name_en", "kind", "area_km2", "population", "osm_id", "valid_from",
)
#: Incident ids per ``IN (…)`` list (below SQLite's parameter limit).
_IDS_PER_QUERY = 500


def current(store: Store, *, conn: Connection | None = None) -> gpd.GeoDataFrame:
    """The current ward layer as stored.

    Parameters
    ----------
    store
        The store.
    conn
        Read inside this connection's transaction (default: a read of its own).

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`COLUMNS` and ``geometry`` (EPSG:4326), one row per ward, sorted by code.
    """
    if conn is None:
        with store.read() as own:
            return current(store, conn=own)
    t = store.tables["wards"]
    stmt = (
        select(*(t.c[name] for name in COLUMNS), store.backend.geometry_wkb(t.c.geom).label("wkb"))
        .where(t.c.valid_to.is_(None))
        .order_by(t.c.code)
    )
    rows = conn.execute(stmt).all()
    frame = pd.DataFrame([r[:-1] for r in rows], columns=list(COLUMNS))
    geometry = shapely.from_wkb([bytes(r[-1]) for r in rows]) if rows else []
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=STORAGE_CRS), crs=STORAGE_CRS)


def _value(row: Mapping[str, Any], key: str) -> Any:
    """A field of a layer row, None when missing (pandas reads a missing text as NaN)."""
    v = row.get(key)
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else v


def _multipolygon(geom: shapely.Geometry) -> shapely.Geometry:
    if geom is not None and geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    return geom


def _record(row: Mapping[str, Any]) -> dict[str, Any]:
    """The stored columns of one layer row (less geometry and validity)."""
    population = _value(row, "population")
    osm_id = _value(row, "osm_id")
    return {
        "code": str(row["code"]),
        "name": _value(row, "name"),
        "name_en": _value(row, "name_en"),
        "kind": _value(row, "kind"),
        "area_km2": _value(row, "area_km2"),
        "population": None if population is None else int(row["population"]),
        "osm_id": None if osm_id is None else str(row["osm_id"]),
    }


def _unchanged(old: Any, record: Mapping[str, Any], geom: Any) -> bool:
    same = all(_value({k: getattr(old, k)}, k) == record[k] for k in ("name", "name_en", "kind"))
    return same and bool(shapely.equals_exact(old.geometry, geom, 1e-12))


def ensure(
    store: Store,
    layer: gpd.GeoDataFrame,
    *,
    actor: str = "system",
    valid_from: Instant | None = None,
) -> dict[str, int]:
    """Load or refresh the ward table from a boundaries layer, keeping history.

    A ward whose name or polygon changed gets a new version (the old one gets
    ``valid_to``), so incidents keep pointing at the ward as it was when assigned; a ward
    missing from the layer is retired. One transaction, audited when anything changed.

    Parameters
    ----------
    store
        The store.
    layer
        Shaped like :func:`geo.boundaries.load_boundaries`' output (``code``, ``name``,
        ``geometry`` at least), in any CRS.
    actor
        Named in the audit entry.
    valid_from
        When the new versions start (default: now).

    Returns
    -------
    dict
        ``added``, ``changed`` and ``retired`` ward counts.
    """
    for column in ("code", "name", "geometry"):
        if column not in layer.columns:
            raise StorageError(
                f"Lớp ranh giới thiếu cột {column!r}.",
                f"The boundary layer has no {column!r} column.",
            )
    rows = to_storage(layer).to_dict("records")
    since = to_utc(valid_from) if valid_from is not None else utcnow()
    table = store.tables["wards"]

    def retire(conn: Connection, code: str) -> None:
        conn.execute(
            update(table).where(table.c.code == code, table.c.valid_to.is_(None)).values(valid_to=since)
        )

    def work(conn: Connection) -> dict[str, int]:
        stored = {w.code: w for w in current(store, conn=conn).itertuples(index=False)}
        added = changed = retired = 0
        seen: set[str] = set()
        for row in rows:
            record = _record(row)
            seen.add(record["code"])
            geom = _multipolygon(row["geometry"])
            old = stored.get(record["code"])
            if old is not None:
                if _unchanged(old, record, geom):
                    continue
                retire(conn, record["code"])
                changed += 1
            else:
                added += 1
            geom_value = store.backend.geometry_param(geom)
            conn.execute(insert(table).values(**record, valid_from=since, geom=geom_value))
        for code in set(stored) - seen:
            retire(conn, code)
            retired += 1
        counts = {"added": added, "changed": changed, "retired": retired}
        if added or changed or retired:
            store.audit(actor, "wards", "wards", None, counts, conn=conn)
        return counts

    return store.write(work)


def check_valid_from(store: Store, valid_from: Instant | None) -> None:
    """Refuse a new layer version that would start before the one in use.

    Its predecessors' ``valid_to`` would then precede their ``valid_from``, and incidents
    assigned in between would point at a ward version that never held. Without
    ``valid_from`` the new layer starts now, which is always allowed.

    Parameters
    ----------
    store
        The store.
    valid_from
        When the new version would start.

    Returns
    -------
    None
        ``valid_from`` is acceptable.

    Raises
    ------
    InvalidArgument
        When ``valid_from`` is before the latest version in use.
    """
    if valid_from is None:
        return
    stored = current(store)
    if stored.empty:
        return
    start = pd.Timestamp(valid_from)
    start = start.tz_localize("UTC") if start.tzinfo is None else start
    latest = pd.to_datetime(stored["valid_from"], utc=True).max()
    if start < latest:
        raise InvalidArgument(
            f"Ngày áp dụng {start.date()} sớm hơn phiên bản ranh giới đang dùng (từ "
            f"{latest.date()}); chọn ngày muộn hơn hoặc bỏ trống để áp dụng từ bây giờ.",
            f"The valid-from date {start.date()} is before the ward layer in use (from "
            f"{latest.date()}); choose a later date, or none to apply it from now.",
        )


def version(store: Store) -> tuple[int, int, str]:
    """A cheap value that changes whenever the ward table does (a cache key for the app).

    Every added or changed ward adds a row (history is kept) and every retirement lowers
    the current count; the latest ``valid_from`` moves with a replacement too.

    Parameters
    ----------
    store : Store
        The store.

    Returns
    -------
    tuple
        (rows, retired rows, latest ``valid_from`` as text).
    """
    t = store.tables["wards"]
    stmt = select(func.count(), func.count(t.c.valid_to), func.max(t.c.valid_from)).select_from(t)
    with store.read() as conn:
        total, retired, latest = conn.execute(stmt).one()
    return int(total or 0), int(retired or 0), str(latest or "")


def of_incidents(store: Store, ids: Iterable[int]) -> dict[int, str | None]:
    """The ward code stored on each of the given incidents.

    Parameters
    ----------
    store
        The store.
    ids
        Incident ids; ids that are not stored are left out of the answer.

    Returns
    -------
    dict
        Incident id → its ``ward_code`` (None when it has none).
    """
    wanted = sorted({int(i) for i in ids})
    t = store.tables["incidents"]
    found: dict[int, str | None] = {}
    with store.read() as conn:
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            rows = conn.execute(select(t.c.id, t.c.ward_code).where(t.c.id.in_(chunk))).all()
            found.update({int(r.id): r.ward_code for r in rows})
    return found


def assign_in_store(store: Store) -> pd.DataFrame:
    """Ward of every stored incident under the project rule (see :mod:`geo.assign`).

    PostGIS computes it in SQL (ST_Covers, smallest code, 30 m snapping in UTM 48N);
    SQLite reads the points and uses :func:`geo.assign.assign_lonlat` on the stored wards.

    Parameters
    ----------
    store : Store
        The store (its current ward layer and its incidents are read).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``ward_code``, ``assign_flag``, sorted by id (incidents with a position).
    """
    with store.read() as conn:
        in_sql = store.backend.assign_in_database(conn)
    if in_sql is not None:
        return in_sql
    from geo.assign import assign_lonlat

    t = store.tables["incidents"]
    with store.read() as conn:
        rows = conn.execute(
            select(t.c.id, t.c.lon, t.c.lat).where(t.c.lat.is_not(None)).order_by(t.c.id)
        ).all()
    points = pd.DataFrame(rows, columns=["id", "lon", "lat"])
    assigned = assign_lonlat(points["lon"].to_numpy(float), points["lat"].to_numpy(float), current(store))
    return pd.DataFrame(
        {"id": points["id"], "ward_code": assigned["ward_code"], "assign_flag": assigned["assign_flag"]}
    )
