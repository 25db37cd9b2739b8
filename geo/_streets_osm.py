"""Fetching a ward's streets from OpenStreetMap through osmnx (the only online path).

osmnx is imported lazily: it is slow to import and only this online command needs it.
The Overpass endpoint can be pointed elsewhere (env ``GEO_OVERPASS_URL`` or the
``overpass_url`` argument), which is how the offline test serves recorded data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry.base import BaseGeometry

from geo import settings
from geo.crs import STORAGE_CRS
from geo.errors import NetworkUnavailable, NotFound
from geo.streets import merge_streets

#: OSM ``highway`` values that are not streets an officer would name in a report.
_NOT_STREETS = {"proposed", "construction", "abandoned", "platform", "raceway", "elevator"}


@contextmanager
def _osmnx_settings(overpass_url: str | None, cache_folder: str | Path | None) -> Iterator[Any]:
    """osmnx with the project's settings, restored afterwards (osmnx settings are global)."""
    import osmnx as ox

    names = ("overpass_url", "use_cache", "cache_folder", "log_console")
    saved = {name: getattr(ox.settings, name) for name in names}
    try:
        url = overpass_url or settings.overpass_url()
        if url:
            ox.settings.overpass_url = url
        ox.settings.use_cache = cache_folder is not None
        if cache_folder is not None:
            ox.settings.cache_folder = str(cache_folder)
        ox.settings.log_console = False
        yield ox
    finally:
        for name, value in saved.items():
            setattr(ox.settings, name, value)


def _ward_polygon(ward: str, wards: gpd.GeoDataFrame | None) -> tuple[str, str, BaseGeometry]:
    """(code, name, polygon in EPSG:4326) of a ward given by code or by name."""
    from geo.admin_units import ward_code_from_text

    if wards is None:
        from geo.boundaries import load_boundaries

        wards = load_boundaries()
    text = str(ward).strip()
    code = text if text.isdigit() else ward_code_from_text(text)
    if code is not None and text.isdigit():
        code = code.zfill(5)
    match = wards[wards["code"].astype(str) == code] if code else wards.iloc[0:0]
    if match.empty:
        raise NotFound(
            f"Không có phường/xã {ward!r} trong lớp ranh giới (126 đơn vị của Hà Nội)",
            f"No ward {ward!r} in the boundary layer (Hà Nội's 126 units)",
        )
    row = match.to_crs(STORAGE_CRS).iloc[0]
    return str(row["code"]), str(row["name"]), row.geometry


def osm_features_to_segments(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """osmnx features (index element/id) to segments with name, osm_id and highway."""
    empty = gpd.GeoDataFrame(
        {"name": [], "osm_id": [], "highway": []}, geometry=[], crs=STORAGE_CRS
    )
    if features.empty or "highway" not in features.columns or "name" not in features.columns:
        return empty
    frame = features.reset_index()
    if "element" in frame.columns:
        frame = frame[frame["element"] == "way"]
    frame = frame[frame.geom_type.isin(["LineString", "MultiLineString"])]
    frame = frame[frame["name"].notna() & ~frame["highway"].isin(_NOT_STREETS)]
    if frame.empty:
        return empty
    return gpd.GeoDataFrame(
        {
            "name": frame["name"].astype(str).to_numpy(),
            "osm_id": frame["id"].astype(str).to_numpy(),
            "highway": frame["highway"].astype(str).to_numpy(),
        },
        geometry=frame.geometry.to_numpy(),
        crs=features.crs or STORAGE_CRS,
    )


def fetch_ward_streets(
    ward: str,
    *,
    wards: gpd.GeoDataFrame | None = None,
    overpass_url: str | None = None,
    cache_folder: str | Path | None = None,
) -> gpd.GeoDataFrame:
    """A ward's named streets from Overpass, in the committed layer's schema.

    Raises NetworkUnavailable when Overpass cannot be reached.
    """
    import requests
    from osmnx._errors import InsufficientResponseError

    code, name, polygon = _ward_polygon(ward, wards)
    with _osmnx_settings(overpass_url, cache_folder) as ox:
        try:
            # Ask the status endpoint first: unreachable, osmnx would sleep 60 s and retry.
            requests.get(ox.settings.overpass_url.rstrip("/") + "/status", timeout=15)
            features = ox.features_from_polygon(polygon, tags={"highway": True})
        except InsufficientResponseError:
            features = gpd.GeoDataFrame(geometry=[], crs=STORAGE_CRS)
        except requests.RequestException as exc:
            raise NetworkUnavailable(
                f"Không kết nối được Overpass ({ox.settings.overpass_url}) để tải đường phố "
                f"của {name} ({code}): {exc}",
                f"Cannot reach Overpass ({ox.settings.overpass_url}) to fetch the streets "
                f"of {name} ({code}): {exc}",
            ) from exc
    segments = osm_features_to_segments(features)
    # Keep what lies in the ward: Overpass returns whole ways that cross its edge.
    if not segments.empty:
        segments = segments[segments.intersects(polygon)]
    return merge_streets(segments, source=f"Overpass {code}")
