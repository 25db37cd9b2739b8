"""Named streets: the project's street layer and nearest-street attribution.

A street name is what makes "Hàng Mã street progress" possible, so every accepted
incident gets the nearest *named* street within 25 m, or none. Distances are measured
in UTM 48N (EPSG:32648); the layer is stored in EPSG:4326 like every other layer.

The committed layer (``data/streets/``) covers the Old Quarter and around it; most of
Hà Nội is outside it, so points far from the layer's extent are dropped by a bounding
box test before anything is projected or queried.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo import settings
from geo.crs import METRIC_CRS, STORAGE_CRS, require_crs, to_storage
from geo.errors import BoundaryError
from geo.names import clean_spaces, nfc

REPO = Path(__file__).resolve().parents[1]
DEFAULT_STREETS = settings.streets.default
STREET_COLUMNS = ("name", "osm_id", "highway", "geometry")
DEFAULT_MAX_DISTANCE_M = 25.0

#: Road classes from most to least important; a merged street takes the class that
#: covers most of its length, ties going to the more important one.
HIGHWAY_RANK = (
    "motorway", "trunk", "primary", "secondary", "tertiary", "unclassified",
    "residential", "living_street", "pedestrian", "service", "track", "road",
    "motorway_link", "trunk_link", "primary_link", "secondary_link", "tertiary_link",
    "busway", "footway", "cycleway", "path", "bridleway", "steps", "corridor",
)  # fmt: skip


def streets_path() -> Path:
    """The street layer in use: env ``GEO_STREETS`` if set, else the committed one.

    Returns
    -------
    pathlib.Path
        The street layer file (not checked to exist).
    """
    return settings.streets()


def load_streets(path: str | Path | None = None) -> gpd.GeoDataFrame:
    """Read a street layer (name, osm_id, highway, geometry) in EPSG:4326.

    Parameters
    ----------
    path : str or pathlib.Path or None
        The layer file (default: :func:`streets_path`).

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`STREET_COLUMNS` in EPSG:4326; missing names, ids and types as None.

    Raises
    ------
    geo.errors.BoundaryError
        The file is missing, unreadable, or lacks a column.
    geo.errors.CRSError
        The layer has no CRS.
    """
    source = Path(path) if path is not None else streets_path()
    if not source.exists():
        raise BoundaryError(
            f"Không tìm thấy lớp đường phố: {source}",
            f"Street layer not found: {source}",
        )
    try:
        gdf = gpd.read_file(source)
    except Exception as exc:  # pyogrio/GDAL raise many kinds
        raise BoundaryError(
            f"Không đọc được lớp đường phố {source}: {exc}",
            f"Cannot read street layer {source}: {exc}",
        ) from exc
    gdf = to_storage(require_crs(gdf, source=str(source)))
    missing = [c for c in STREET_COLUMNS if c not in gdf.columns]
    if missing:
        raise BoundaryError(
            f"{source}: lớp đường phố thiếu cột {', '.join(missing)}",
            f"{source}: street layer lacks column(s) {', '.join(missing)}",
        )
    gdf = gdf[list(STREET_COLUMNS)]
    for column in ("name", "osm_id", "highway"):
        gdf[column] = gdf[column].astype(object).where(gdf[column].notna(), None)
    return gdf


# --------------------------------------------------------------------------- building


def _clean_name(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = clean_spaces(nfc(value))
    return text or None


def _main_highway(highways: pd.Series, lengths: pd.Series) -> str | None:
    by_class = lengths.groupby(highways.fillna("")).sum()
    by_class = by_class[by_class.index != ""]
    if by_class.empty:
        return None
    rank = {h: i for i, h in enumerate(HIGHWAY_RANK)}
    best = max(by_class.items(), key=lambda kv: (round(kv[1], 3), -rank.get(str(kv[0]), 99)))
    return str(best[0])


def _join_ids(ids: Iterable[Any]) -> str:
    unique = {str(i).strip() for i in ids if i is not None and str(i).strip()}
    return ";".join(sorted(unique, key=lambda s: (len(s), s)))


def merge_streets(segments: gpd.GeoDataFrame, *, source: str = "segments") -> gpd.GeoDataFrame:
    """One feature per street name from line segments with name, osm_id and highway.

    Unnamed segments are dropped (an unnamed lane is no use for "street progress").
    Segments are merged by exact (NFC, space-cleaned) name; touching pieces are joined
    with ``line_merge`` and the vertices are kept as they are (no simplification).

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Line segments (any declared CRS) with ``name``, ``osm_id`` and ``highway``.
    source : str
        The file name, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        One MultiLineString per name in EPSG:4326, sorted by name, with the ``osm_id``
        values joined by ``;`` and the ``highway`` type of greatest total length.

    Raises
    ------
    geo.errors.BoundaryError
        A column is missing.
    geo.errors.CRSError
        The segments have no CRS.
    """
    missing = [c for c in ("name", "osm_id", "highway") if c not in segments.columns]
    if missing:
        raise BoundaryError(
            f"{source}: thiếu cột {', '.join(missing)}",
            f"{source}: missing column(s) {', '.join(missing)}",
        )
    segs = to_storage(require_crs(segments, source=source))
    segs = segs[segs.geometry.notna() & ~segs.geometry.is_empty]
    segs = segs[segs.geom_type.isin(["LineString", "MultiLineString"])].copy()
    segs["name"] = segs["name"].map(_clean_name)
    segs = segs[segs["name"].notna()]
    if segs.empty:
        return gpd.GeoDataFrame(
            {"name": [], "osm_id": [], "highway": []}, geometry=[], crs=STORAGE_CRS
        )
    segs["_length"] = segs.geometry.to_crs(METRIC_CRS).length
    rows = []
    for name, group in segs.groupby("name", sort=True):
        merged = shapely.line_merge(shapely.union_all(group.geometry.values))
        parts = shapely.get_parts(merged)
        rows.append(
            {
                "name": name,
                "osm_id": _join_ids(group["osm_id"]),
                "highway": _main_highway(group["highway"], group["_length"]),
                "geometry": shapely.multilinestrings(list(parts)),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)


def build_streets(roads: str | Path) -> gpd.GeoDataFrame:
    """The project's street layer from an OSM road extract (fields name, osm_id, type).

    Parameters
    ----------
    roads : str or pathlib.Path
        A road file GDAL reads, with ``name``, ``osm_id`` and ``highway`` (or ``type``).

    Returns
    -------
    geopandas.GeoDataFrame
        The merged layer of :func:`merge_streets` (EPSG:4326).

    Raises
    ------
    geo.errors.BoundaryError
        The file cannot be read or lacks a column.
    geo.errors.CRSError
        The file has no CRS.
    """
    source = Path(roads)
    try:
        raw = gpd.read_file(source)
    except Exception as exc:
        raise BoundaryError(
            f"Không đọc được tệp đường {source}: {exc}",
            f"Cannot read road file {source}: {exc}",
        ) from exc
    raw = require_crs(raw, source=str(source))
    if "highway" not in raw.columns and "type" in raw.columns:
        raw = raw.rename(columns={"type": "highway"})
    return merge_streets(raw, source=str(source))


def write_streets(streets: gpd.GeoDataFrame, out: str | Path) -> Path:
    """Write a street layer as GeoJSON with OSM's own 7-decimal precision.

    Parameters
    ----------
    streets : geopandas.GeoDataFrame
        A street layer with :data:`STREET_COLUMNS` (any CRS; written in EPSG:4326).
    out : str or pathlib.Path
        The GeoJSON file, replaced if it exists (its folder is created).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    geo.errors.CRSError
        The layer has no CRS.
    """
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    layer = to_storage(streets)[list(STREET_COLUMNS)]
    layer.to_file(
        target, driver="GeoJSON", engine="pyogrio", layer_options={"COORDINATE_PRECISION": 7}
    )
    return target


# ------------------------------------------------------------------------- attribution


@dataclass(frozen=True)
class _StreetIndex:
    """Street lines cut into two-point segments, in metres.

    Small segment envelopes keep the tree query tight; whole multi-part streets would
    make every point near the Old Quarter a candidate for dozens of long streets.
    """

    tree: shapely.STRtree
    segments: np.ndarray  # two-point LineStrings in EPSG:32648
    owner: np.ndarray  # row of ``names`` each segment belongs to
    names: np.ndarray
    bounds: tuple[float, float, float, float]  # lon/lat extent of the layer


@lru_cache(maxsize=1)
def _to_metric() -> Transformer:
    return Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)


def _build_index(streets: gpd.GeoDataFrame) -> _StreetIndex:
    layer = to_storage(require_crs(streets, source="streets"))
    if "name" not in layer.columns:
        raise BoundaryError("Lớp đường phố thiếu cột name", "Street layer lacks the column 'name'")
    keep = layer.geometry.notna() & ~layer.geometry.is_empty & layer["name"].notna()
    layer = layer[keep & layer.geom_type.isin(["LineString", "MultiLineString"])]
    names = np.asarray(layer["name"].astype(object), dtype=object)
    metric = layer.geometry.to_crs(METRIC_CRS).values
    parts = shapely.get_parts(metric)
    part_owner = np.repeat(np.arange(len(metric)), shapely.get_num_geometries(metric))
    coords, part = shapely.get_coordinates(parts, return_index=True)
    same = part[1:] == part[:-1]
    starts, ends = coords[:-1][same], coords[1:][same]
    segments = (
        shapely.linestrings(np.stack([starts, ends], axis=1))
        if len(starts)
        else (np.empty(0, dtype=object))
    )
    owner = part_owner[part[:-1][same]]
    if len(layer):
        minx, miny, maxx, maxy = (float(v) for v in layer.total_bounds)
    else:
        minx = miny = maxx = maxy = float("nan")
    return _StreetIndex(shapely.STRtree(segments), segments, owner, names, (minx, miny, maxx, maxy))


@lru_cache(maxsize=4)
def _default_index(path: str, mtime_ns: int) -> _StreetIndex:
    return _build_index(load_streets(path))


def _index_for(streets: gpd.GeoDataFrame | None) -> _StreetIndex:
    if streets is None:
        path = streets_path()
        mtime = path.stat().st_mtime_ns if path.exists() else 0
        return _default_index(str(path), mtime)
    return _build_index(streets)


def street_matches(
    lon: Any,
    lat: Any,
    streets: gpd.GeoDataFrame | None = None,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
) -> pd.DataFrame:
    """Nearest named street within ``max_distance_m`` metres and its distance.

    Returns columns ``street`` (name or None) and ``distance_m`` (NaN when none), on a
    RangeIndex over the input arrays. Non-finite coordinates get no street.

    Parameters
    ----------
    lon : array_like
        Longitudes in degrees (EPSG:4326).
    lat : array_like
        Latitudes in degrees (EPSG:4326), same length as ``lon``.
    streets : geopandas.GeoDataFrame or None
        The street layer (default: :func:`load_streets`).
    max_distance_m : float
        The search radius in metres, measured in EPSG:32648 (positive).

    Returns
    -------
    pandas.DataFrame
        ``street`` (object) and ``distance_m`` (float, metres), one row per point.

    Raises
    ------
    ValueError
        ``lon`` and ``lat`` differ in length, or ``max_distance_m`` is not positive.
    """
    lon_a = np.asarray(lon, dtype="float64").ravel()
    lat_a = np.asarray(lat, dtype="float64").ravel()
    if lon_a.shape != lat_a.shape:
        raise ValueError(
            f"Số kinh độ ({lon_a.size}) và vĩ độ ({lat_a.size}) khác nhau / "
            f"lon ({lon_a.size}) and lat ({lat_a.size}) differ in length"
        )
    if not np.isfinite(max_distance_m) or max_distance_m <= 0:
        raise ValueError(f"max_distance_m phải dương / must be positive: {max_distance_m!r}")
    index = _index_for(streets)
    n = lon_a.size
    street = np.full(n, None, dtype=object)
    distance = np.full(n, np.nan)
    minx, miny, maxx, maxy = index.bounds
    if n and index.segments.size:
        # Cheap prefilter in degrees, generous on purpose (a metre of longitude shrinks
        # with latitude): the exact test is the metric query below.
        max_abs_lat = min(max(abs(miny), abs(maxy)) + 1.0, 89.0)
        pad_lat = 2.0 * max_distance_m / 110_000.0
        pad_lon = 2.0 * max_distance_m / (111_320.0 * np.cos(np.radians(max_abs_lat)))
        with np.errstate(invalid="ignore"):
            near = (
                (lon_a >= minx - pad_lon)
                & (lon_a <= maxx + pad_lon)
                & (lat_a >= miny - pad_lat)
                & (lat_a <= maxy + pad_lat)
            )
        candidates = np.flatnonzero(near)
        if candidates.size:
            x, y = _to_metric().transform(lon_a[candidates], lat_a[candidates])
            points = shapely.points(np.asarray(x), np.asarray(y))
            # All segments within reach, then the nearest per point. Ties go to the
            # street listed first in the layer, so the answer never depends on the tree.
            point_i, seg_i = index.tree.query(points, predicate="dwithin", distance=max_distance_m)
            dist = shapely.distance(points[point_i], index.segments[seg_i])
            street_i = index.owner[seg_i]
            order = np.lexsort((street_i, dist, point_i))
            point_i, street_i, dist = point_i[order], street_i[order], dist[order]
            first = np.r_[True, point_i[1:] != point_i[:-1]] if point_i.size else point_i
            rows = candidates[point_i[first]]
            street[rows] = index.names[street_i[first]]
            distance[rows] = dist[first]
    return pd.DataFrame({"street": pd.Series(street, dtype=object), "distance_m": distance})


def nearest_streets(
    lon: Any,
    lat: Any,
    streets: gpd.GeoDataFrame | None = None,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
) -> pd.Series:
    """Name of the nearest named street within ``max_distance_m`` metres, else None.

    ``streets`` defaults to the committed layer (env ``GEO_STREETS`` overrides); the
    result has a RangeIndex over the input arrays.

    Parameters
    ----------
    lon : array_like
        Longitudes in degrees (EPSG:4326).
    lat : array_like
        Latitudes in degrees (EPSG:4326), same length as ``lon``.
    streets : geopandas.GeoDataFrame or None
        The street layer (default: :func:`load_streets`).
    max_distance_m : float
        The search radius in metres (positive).

    Returns
    -------
    pandas.Series
        The street name per point (None when none is near), named ``street``.

    Raises
    ------
    ValueError
        ``lon`` and ``lat`` differ in length, or ``max_distance_m`` is not positive.
    """
    return street_matches(lon, lat, streets, max_distance_m)["street"].rename("street")


def street_segments(streets: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Every two-point piece of every named street in EPSG:32648 metres.

    Columns ``name``, ``x0``, ``y0``, ``x1``, ``y1``, ``length_m``: enough to place
    points along street centrelines without touching geometries (the sample generator).

    Parameters
    ----------
    streets : geopandas.GeoDataFrame or None
        The street layer (default: :func:`load_streets`).

    Returns
    -------
    pandas.DataFrame
        One row per segment; coordinates and ``length_m`` in EPSG:32648 metres.
    """
    index = _index_for(streets)
    coords = shapely.get_coordinates(index.segments).reshape(-1, 4)
    frame = pd.DataFrame(coords, columns=["x0", "y0", "x1", "y1"])
    frame.insert(0, "name", pd.Series(index.names[index.owner], dtype=object))
    frame["length_m"] = np.hypot(frame["x1"] - frame["x0"], frame["y1"] - frame["y0"])
    return frame
