"""Coordinate reference systems: where data lives and where it is measured.

Data is stored and displayed in WGS 84 (EPSG:4326). Distances, buffers and areas are
computed in WGS 84 / UTM 48N (EPSG:32648), a pure projection of the same datum, so no
datum shift is involved. VN-2000 (EPSG:4756 and its TM-3 zones) is read and written
through pyproj's full EPSG definitions, which keep the ~224 m datum shift in Hà Nội.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from geo.errors import CRSError

STORAGE_CRS = "EPSG:4326"
METRIC_CRS = "EPSG:32648"

#: The project's frame for time, as EPSG:32648 is its frame for distance: a bare date or a
#: naive time in a file, a filter or a form is Hà Nội local time (UTC+7, no daylight saving).
#: Defined once here so that ingest, queries, exports and the pages cannot disagree on it.
LOCAL_TZ = "Asia/Ho_Chi_Minh"

#: VN-2000 codes known to the project: geographic, UTM zones and provincial TM-3 zones.
VN2000_CODES = (4756, 3405, 3406, 5896, 5897, 5898, 5899, *range(9205, 9219))


def parse_crs(value: Any, *, source: str = "") -> CRS:
    """Turn "EPSG:5897", 5897 or a WKT into a CRS, with a bilingual error on failure.

    Parameters
    ----------
    value : Any
        Anything :meth:`pyproj.CRS.from_user_input` accepts (``"EPSG:5897"``, 5897, WKT, …).
    source : str
        The file or option the value came from, for the message.

    Returns
    -------
    pyproj.CRS
        The parsed CRS.

    Raises
    ------
    geo.errors.CRSError
        The value is not a CRS pyproj understands.
    """
    try:
        return CRS.from_user_input(value)
    except Exception as exc:  # pyproj raises its own CRSError with English-only text
        where = f" ({source})" if source else ""
        raise CRSError(
            f"Không hiểu hệ toạ độ {value!r}{where}: {exc}",
            f"Unrecognised coordinate reference system {value!r}{where}: {exc}",
        ) from exc


def require_crs(gdf: gpd.GeoDataFrame, *, source: str, crs: Any = None) -> gpd.GeoDataFrame:
    """Return ``gdf`` with a CRS: its own, or ``crs`` when the caller states one.

    A layer without a CRS is refused: guessing EPSG:4326 for VN-2000 metres would put
    Hà Nội in the ocean without any error.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer as read.
    source : str
        The file name, for the message.
    crs : Any
        The CRS to set when the layer has none (a declared CRS is kept, not overridden).

    Returns
    -------
    geopandas.GeoDataFrame
        ``gdf``, with its CRS set when it had none.

    Raises
    ------
    geo.errors.CRSError
        The layer has no CRS and ``crs`` is not given, or ``crs`` cannot be parsed.
    """
    if crs is not None:
        stated = parse_crs(crs, source=source)
        if gdf.crs is None:
            return gdf.set_crs(stated)
        return gdf
    if gdf.crs is None:
        raise CRSError(
            f"{source}: lớp dữ liệu không có hệ toạ độ (CRS). Hãy chỉ rõ, ví dụ --crs EPSG:4326.",
            f"{source}: the layer has no coordinate reference system (CRS). "
            "State one, for example --crs EPSG:4326.",
        )
    return gdf


def to_storage(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 (a no-op copy when already there).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        A layer with a CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer in :data:`STORAGE_CRS` (EPSG:4326), always a new frame.

    Raises
    ------
    geo.errors.CRSError
        The layer has no CRS.
    """
    if gdf.crs is None:
        raise CRSError("Lớp dữ liệu không có hệ toạ độ.", "The layer has no CRS.")
    if CRS.from_user_input(gdf.crs).equals(CRS.from_user_input(STORAGE_CRS)):
        return gdf.copy()
    return gdf.to_crs(STORAGE_CRS)


def metric_xy(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """Points given in :data:`STORAGE_CRS` degrees as :data:`METRIC_CRS` metres (float64).

    The one projection of bare coordinate arrays: the map's density grid and the
    snapshot's stored metres (:mod:`geo.snapshot`) both come from it, so a grid counted
    from stored metres is the grid counted from projecting the degrees. Non-finite
    input gives non-finite output (pyproj's ``inf``).

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in EPSG:4326 degrees, of one length.

    Returns
    -------
    tuple of numpy.ndarray
        ``x`` (easting) and ``y`` (northing) in EPSG:32648 metres, float64.
    """
    to_m = Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)
    x, y = to_m.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def to_metric(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to UTM 48N for any distance, buffer or area.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        A layer with a CRS.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer in :data:`METRIC_CRS` (EPSG:32648, metres).

    Raises
    ------
    geo.errors.CRSError
        The layer has no CRS.
    """
    if gdf.crs is None:
        raise CRSError("Lớp dữ liệu không có hệ toạ độ.", "The layer has no CRS.")
    return gdf.to_crs(METRIC_CRS)
