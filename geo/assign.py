"""One responsible ward per point.

The rule, everywhere in the project (Python, SQL, tests):

1. A point inside or on the boundary of exactly one ward belongs to it.
2. A point covered by several wards — on a shared edge or vertex, or inside a sliver where
   two polygons overlap — belongs to the covering ward with the **smallest official code**.
3. A point covered by no ward but within :data:`SNAP_DISTANCE_M` metres of one (a river
   bank, a gap between polygons) belongs to the nearest ward (ties: smallest code), with
   the flag ``snapped``.
4. Any other point gets no ward and the flag ``outside``.

The geometry tests run on the polygons as stored (EPSG:4326); snapping distances are
measured in UTM 48N. A raster index over the wards answers most points with one array
lookup; only points in cells that a boundary touches go through the exact STRtree test.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from rasterio import features
from rasterio.transform import from_origin

from geo.crs import METRIC_CRS, STORAGE_CRS, to_storage
from geo.errors import BoundaryError

SNAP_DISTANCE_M = 30.0
FLAG_INSIDE = ""
FLAG_SNAPPED = "snapped"
FLAG_OUTSIDE = "outside"

#: Index cell size in degrees (~27 m at Hà Nội). Smaller cells send fewer points to the
#: exact test but cost memory: the int16 grid over Hà Nội is about 3,000 × 3,300 cells.
CELL_DEG = 0.00025
_OUTSIDE = -1  # the whole cell is further than SNAP_DISTANCE_M from every ward
_AMBIGUOUS = -2  # a boundary crosses the cell: test exactly
_NEAR = -3  # outside every ward but possibly within snapping distance
_TO_METRIC = Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)


@dataclass(frozen=True)
class WardIndex:
    """Wards prepared for fast assignment; build once per layer with :func:`ward_index`."""

    codes: np.ndarray
    names: np.ndarray
    tree: shapely.STRtree  # holds the polygons, in code order (``tree.geometries``)
    metric_tree: shapely.STRtree
    grid: np.ndarray
    x0: float
    y0: float
    cell: float

    def cell_labels(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Grid label per point: ward position, ``_OUTSIDE`` or ``_AMBIGUOUS``.

        Parameters
        ----------
        lon : numpy.ndarray
            Longitudes in degrees (EPSG:4326).
        lat : numpy.ndarray
            Latitudes in degrees (EPSG:4326), same shape as ``lon``.

        Returns
        -------
        numpy.ndarray
            int16 labels, shaped like ``lon``; points off the grid (or NaN) are ``_OUTSIDE``.
        """
        ny, nx = self.grid.shape
        # NaN stays NaN and compares False below: no floating-point "invalid" to silence
        col = np.floor((lon - self.x0) / self.cell)
        row = np.floor((self.y0 - lat) / self.cell)
        on_grid = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
        labels = np.full(lon.shape, _OUTSIDE, dtype=np.int16)
        labels[on_grid] = self.grid[row[on_grid].astype(np.intp), col[on_grid].astype(np.intp)]
        return labels


_INDEX_CACHE: OrderedDict[str, WardIndex] = OrderedDict()


def _layer_key(wards: gpd.GeoDataFrame) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    # names too: a layer that only renames wards must not get the cached index's names.
    # JSON keeps the lists apart: ["A|B", "C"] and ["A", "B|C"] are different texts
    names = wards["name"] if "name" in wards.columns else []
    parts = [list(map(str, wards["code"])), list(map(str, names))]
    digest.update(json.dumps(parts).encode())
    for wkb in shapely.to_wkb(wards.geometry.to_numpy()):
        digest.update(wkb)
    return digest.hexdigest()


def ward_index(wards: gpd.GeoDataFrame, *, cell: float = CELL_DEG) -> WardIndex:
    """Build (or reuse) the index for a ward layer; wards are ranked by code.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        The ward layer (any CRS) with a ``code`` column and optionally ``name``.
    cell : float
        Grid cell size in degrees of EPSG:4326 (default :data:`CELL_DEG`, about 28 m).

    Returns
    -------
    WardIndex
        The raster grid and STRtrees (EPSG:4326 and metric); cached for the last 4 layers.

    Raises
    ------
    geo.errors.BoundaryError
        The layer is empty or has no ``code`` column.
    """
    if wards.empty or "code" not in wards.columns:
        raise BoundaryError(
            "Lớp ranh giới rỗng hoặc thiếu cột 'code'.",
            "The boundary layer is empty or has no 'code' column.",
        )
    key = f"{_layer_key(wards)}:{cell}"
    if key in _INDEX_CACHE:
        _INDEX_CACHE.move_to_end(key)
        return _INDEX_CACHE[key]

    ordered = to_storage(wards).sort_values("code", kind="stable")
    polygons = ordered.geometry.to_numpy()
    shapely.prepare(polygons)
    metric = ordered.geometry.to_crs(METRIC_CRS).to_numpy()

    minx, miny, maxx, maxy = shapely.total_bounds(polygons)
    # Cells within this many of a boundary cell may hold a point within snapping reach:
    # a cell's east-west width in metres is smallest at the layer's northern edge.
    cell_m = cell * 111_000 * np.cos(np.radians(maxy))
    reach = int(np.ceil(SNAP_DISTANCE_M / cell_m)) + 1
    # Pad beyond that reach: points off the grid are simply outside. (A fixed 8 cells was
    # too few for cells under about 5 m, whose reach is longer.)
    pad = cell * (reach + 5)
    x0, y0 = minx - pad, maxy + pad
    shape = (int(np.ceil((y0 - miny + pad) / cell)), int(np.ceil((maxx - x0 + pad) / cell)))
    transform = from_origin(x0, y0, cell, cell)
    # Burn the largest code first so that, where polygons overlap, the smallest code wins.
    order = range(len(polygons) - 1, -1, -1)
    grid = features.rasterize(
        ((polygons[i], i) for i in order),
        out_shape=shape,
        transform=transform,
        fill=_OUTSIDE,
        all_touched=False,
        dtype="int32",
    )
    edges = features.rasterize(
        ((shapely.boundary(p), 1) for p in polygons),
        out_shape=shape,
        transform=transform,
        fill=0,
        all_touched=True,
        dtype="uint8",
    ).astype(bool)
    # A cell no boundary touches lies wholly in one ward (or none), so its label is exact.
    # Outside cells within reach of a boundary must still be checked for snapping.
    near = _dilate(edges, reach)
    grid[near & (grid == _OUTSIDE)] = _NEAR
    grid[_dilate(edges, 1)] = _AMBIGUOUS

    index = WardIndex(
        codes=ordered["code"].astype(str).to_numpy(),
        names=ordered["name"].astype(object).to_numpy()
        if "name" in ordered
        else ordered["code"].to_numpy(),
        tree=shapely.STRtree(polygons),
        metric_tree=shapely.STRtree(metric),
        grid=grid.astype(np.int16),
        x0=x0,
        y0=y0,
        cell=cell,
    )
    _INDEX_CACHE[key] = index
    while len(_INDEX_CACHE) > 4:
        _INDEX_CACHE.popitem(last=False)
    return index


def _dilate(mask: np.ndarray, cells: int) -> np.ndarray:
    """Grow a boolean mask by ``cells`` in the 8 directions (a square structuring element)."""
    grown = mask.copy()
    for _ in range(cells):
        step = grown.copy()
        step[1:, :] |= grown[:-1, :]
        step[:-1, :] |= grown[1:, :]
        step[:, 1:] |= step[:, :-1].copy()
        step[:, :-1] |= step[:, 1:].copy()
        grown = step
    return grown


def _first_per_point(point_idx: np.ndarray, ward_pos: np.ndarray, n: int) -> np.ndarray:
    """For (point, ward) pairs, the smallest ward position per point (-1 where none)."""
    best = np.full(n, np.iinfo(np.int32).max, dtype=np.int64)
    np.minimum.at(best, point_idx, ward_pos)
    best[best == np.iinfo(np.int32).max] = _OUTSIDE
    return best


def ward_positions(
    lon: np.ndarray, lat: np.ndarray, index: WardIndex
) -> tuple[np.ndarray, np.ndarray]:
    """Ward position (into ``index.codes``) per point, and whether it was snapped.

    Parameters
    ----------
    lon : numpy.ndarray
        Longitudes in degrees (EPSG:4326), float64, 1-D.
    lat : numpy.ndarray
        Latitudes in degrees (EPSG:4326), same length as ``lon``.
    index : WardIndex
        The ward layer's index (:func:`ward_index`).

    Returns
    -------
    tuple of numpy.ndarray
        Position into ``index.codes`` per point (int64, -1 when outside every ward and
        further than :data:`SNAP_DISTANCE_M` metres), and a bool array, True where snapped.
    """
    n = len(lon)
    positions = index.cell_labels(lon, lat).astype(np.int64)

    exact = np.flatnonzero(positions == _AMBIGUOUS)
    if exact.size:
        points = shapely.points(lon[exact], lat[exact])
        pt, ward = index.tree.query(points, predicate="covered_by")
        found = _first_per_point(pt, ward, exact.size)
        positions[exact] = np.where(found == _OUTSIDE, _NEAR, found)

    snapped = np.zeros(n, dtype=bool)
    missing = np.flatnonzero(positions == _NEAR)
    if missing.size:
        x, y = _TO_METRIC.transform(lon[missing], lat[missing])
        points = shapely.points(x, y)
        pt, ward = index.metric_tree.query_nearest(
            points, max_distance=SNAP_DISTANCE_M, all_matches=True
        )
        found = _first_per_point(pt, ward, missing.size)
        positions[missing] = found
        snapped[missing] = found != _OUTSIDE
    positions[positions < 0] = _OUTSIDE
    return positions, snapped


def assign_lonlat(
    lon: np.ndarray | pd.Series, lat: np.ndarray | pd.Series, wards: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Assign EPSG:4326 coordinates; one row per point with ward_code, ward_name, assign_flag.

    Parameters
    ----------
    lon : numpy.ndarray or pandas.Series
        Longitudes in degrees (EPSG:4326).
    lat : numpy.ndarray or pandas.Series
        Latitudes in degrees (EPSG:4326), same 1-D shape as ``lon``.
    wards : geopandas.GeoDataFrame
        The ward layer (any CRS) with ``code`` and optionally ``name``.

    Returns
    -------
    pandas.DataFrame
        A RangeIndex frame of object columns ``ward_code``, ``ward_name`` (None when outside)
        and ``assign_flag`` (:data:`FLAG_INSIDE`, :data:`FLAG_SNAPPED` or :data:`FLAG_OUTSIDE`).

    Raises
    ------
    ValueError
        ``lon`` and ``lat`` are not 1-D arrays of the same length.
    geo.errors.BoundaryError
        The ward layer is empty or has no ``code`` column.
    """
    lon_arr = np.asarray(lon, dtype="float64")
    lat_arr = np.asarray(lat, dtype="float64")
    if lon_arr.shape != lat_arr.shape or lon_arr.ndim != 1:
        raise ValueError("lon and lat must be 1-D arrays of the same length")
    index = ward_index(wards)
    positions, snapped = ward_positions(lon_arr, lat_arr, index)
    found = positions >= 0
    # Plain object columns (str or None): callers may fillna/compare freely. Indexing the
    # 126-entry label arrays is cheap; dtype=object skips pandas' per-row string inference.
    lookup = np.where(found, positions, -1)  # -1 picks the trailing None
    none = np.array([None], dtype=object)
    codes = np.concatenate([index.codes.astype(object), none])[lookup]
    names = np.concatenate([index.names.astype(object), none])[lookup]
    flag_labels = np.array([FLAG_INSIDE, FLAG_SNAPPED, FLAG_OUTSIDE], dtype=object)
    flags = flag_labels[np.where(found, np.where(snapped, 1, 0), 2)]
    return pd.DataFrame(
        {
            "ward_code": pd.Series(codes, dtype=object),
            "ward_name": pd.Series(names, dtype=object),
            "assign_flag": pd.Series(flags, dtype=object),
        }
    )


def assign_wards(points: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> pd.DataFrame:
    """Assign each point of a GeoDataFrame (any CRS) to one ward; indexed like ``points``.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Point geometries in any declared CRS (reprojected to EPSG:4326).
    wards : geopandas.GeoDataFrame
        The ward layer (any CRS) with ``code`` and optionally ``name``.

    Returns
    -------
    pandas.DataFrame
        ``ward_code``, ``ward_name`` and ``assign_flag`` as in :func:`assign_lonlat`.

    Raises
    ------
    geo.errors.BoundaryError
        The points have no CRS or are not all Points, or the ward layer is unusable.
    """
    if points.crs is None:
        raise BoundaryError(
            "Lớp điểm không có hệ toạ độ (CRS).",
            "The point layer has no coordinate reference system.",
        )
    if len(points) and not points.geom_type.dropna().eq("Point").all():
        raise BoundaryError("Chỉ gán được điểm (Point).", "Only Point geometries can be assigned.")
    located = to_storage(points)
    result = assign_lonlat(located.geometry.x.to_numpy(), located.geometry.y.to_numpy(), wards)
    result.index = points.index
    return result
