"""Building the committed default ward layer: fetch from Overpass, check, simplify, write.

Run rarely, by a maintainer (``boundaries build``/``fetch``), so it stays apart from the
reading the app does on every start. Simplification keeps neighbours' shared edges
identical and works in metres (EPSG:32648). :mod:`geo.boundaries` re-exports the names.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo._boundary_read import read_layer
from geo._boundary_shape import BoundaryReport, check_layer
from geo.crs import METRIC_CRS
from geo.errors import BoundaryError


def simplify_coverage(layer: gpd.GeoDataFrame, max_shift_m: float = 2.0) -> gpd.GeoDataFrame:
    """Simplify shared edges once for both neighbours, moving no boundary more than ``max_shift_m``.

    Works in UTM 48N (never in degrees). ``coverage_simplify`` keeps neighbours'
    shared edges identical, so simplification opens no gap and makes no overlap; the
    tolerance is lowered until every unit's Hausdorff shift is within the limit.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        A valid ward layer (any CRS), edges shared exactly between neighbours.
    max_shift_m : float
        The largest Hausdorff distance, in metres, any unit's boundary may move.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with simplified geometries, back in the layer's CRS.
    """
    metric = layer.geometry.to_crs(METRIC_CRS).to_numpy()
    tolerance = max_shift_m
    for _ in range(8):
        simplified = shapely.coverage_simplify(metric, tolerance)
        shift = shapely.hausdorff_distance(shapely.boundary(metric), shapely.boundary(simplified))
        if float(np.max(shift)) <= max_shift_m:
            break
        tolerance /= 1.5
    else:  # pragma: no cover - the last tolerance is tiny; keep the exact geometry
        simplified = metric
    out = layer.copy()
    out["geometry"] = gpd.GeoSeries(simplified, index=layer.index, crs=METRIC_CRS).to_crs(layer.crs)
    return out


def build_default_layer(
    osm_path: str | Path, out: str | Path, *, max_shift_m: float = 2.0
) -> BoundaryReport:
    """Build the committed ward layer from an OSM XML extract; return its check report.

    Parameters
    ----------
    osm_path : str or pathlib.Path
        The OSM XML extract of the city's wards.
    out : str or pathlib.Path
        The GeoJSON to write (replaced atomically; coordinates rounded to 6 decimals).
    max_shift_m : float
        The largest boundary shift allowed by :func:`simplify_coverage`, in metres.

    Returns
    -------
    BoundaryReport
        The check report of the extract (before simplification).

    Raises
    ------
    geo.errors.BoundaryError
        The extract cannot be read or some unit matches no official code (nothing written).
    """
    osm_path, out = Path(osm_path), Path(out)
    clean, report = check_layer(read_layer(osm_path), source=str(osm_path))
    if report.unmatched:
        raise BoundaryError(
            f"{osm_path}: {len(report.unmatched)} đơn vị không khớp mã chính thức: {report.unmatched}.",
            f"{osm_path}: {len(report.unmatched)} units match no official code: {report.unmatched}.",
        )
    simplified = simplify_coverage(clean, max_shift_m=max_shift_m)
    simplified["area_km2"] = (simplified.geometry.to_crs(METRIC_CRS).area / 1e6).round(3)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    simplified.to_file(
        tmp, driver="GeoJSON", engine="pyogrio", layer_options={"COORDINATE_PRECISION": 6}
    )
    tmp.replace(out)
    return report


def fetch_from_overpass(
    place: str, out_osm: str | Path, *, admin_level: str = "6", parent_level: str = "4"
) -> Path:
    """Download a city's ward boundaries from Overpass as OSM XML (the format osmnx reads).

    Uses osmnx's configured Overpass endpoint (``osmnx.settings.overpass_url``), so the
    same code runs against a recorded local server in the tests.

    Parameters
    ----------
    place : str
        The city, e.g. ``"Hà Nội, Việt Nam"`` (the part before the first comma is used).
    out_osm : str or pathlib.Path
        The OSM XML file to write.
    admin_level : str
        OSM ``admin_level`` of the units to fetch (``"6"``: the 2025 wards and communes).
    parent_level : str
        OSM ``admin_level`` of the city (``"4"``).

    Returns
    -------
    pathlib.Path
        ``out_osm``.

    Raises
    ------
    geo.errors.NetworkUnavailable
        The Overpass request fails.
    """
    import osmnx
    import requests

    city = place.split(",")[0].strip()
    query = (
        "[out:xml][timeout:180];"
        f'(area["name"="{city}"]["admin_level"="{parent_level}"];'
        f'area["name"="Thành phố {city}"]["admin_level"="{parent_level}"];)->.parent;'
        f'(relation(area.parent)["boundary"="administrative"]["admin_level"="{admin_level}"];'
        f"relation(pivot.parent););(._;>;);out body;"
    )
    url = osmnx.settings.overpass_url.rstrip("/") + "/interpreter"
    try:
        response = requests.post(url, data={"data": query}, timeout=osmnx.settings.requests_timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        from geo.errors import NetworkUnavailable

        raise NetworkUnavailable(
            f"Không tải được ranh giới từ Overpass ({url}): {exc}. Dùng lớp có sẵn khi không có mạng.",
            f"Cannot fetch boundaries from Overpass ({url}): {exc}. Use the committed layer offline.",
        ) from exc
    out_osm = Path(out_osm)
    out_osm.parent.mkdir(parents=True, exist_ok=True)
    out_osm.write_bytes(response.content)
    return out_osm
