"""Reading administrative boundaries out of OSM XML with osmnx.

The same function serves the committed extract and a fresh Overpass download (which
:mod:`geo.boundaries` saves as OSM XML first), so both go through one code path.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geo.errors import BoundaryError

_POLYGONAL = ("Polygon", "MultiPolygon")


def read_admin_units(
    path: Path,
    *,
    admin_level: str = "6",
    parent_level: str | None = "4",
    parent_name: str | None = None,
) -> gpd.GeoDataFrame:
    """Administrative relations of ``admin_level`` whose interior lies in the parent unit.

    Returns columns ``name``, ``name_en``, ``population``, ``osm_id`` and ``geometry``
    (EPSG:4326, as osmnx builds it).
    """
    import osmnx

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            features = osmnx.features_from_xml(path, tags={"boundary": "administrative"})
    except Exception as exc:  # osmnx raises ValueError/XML errors without the file name
        raise BoundaryError(
            f"{path}: không đọc được tệp OSM XML ({exc}).",
            f"{path}: cannot read the OSM XML file ({exc}).",
        ) from exc

    polygons = features[features.geom_type.isin(_POLYGONAL)]
    if "admin_level" not in polygons.columns:
        polygons = polygons.assign(admin_level=None)
    units = polygons[polygons["admin_level"].astype(str) == str(admin_level)]
    if units.empty:
        raise BoundaryError(
            f"{path}: không có ranh giới hành chính admin_level={admin_level}.",
            f"{path}: no administrative boundary with admin_level={admin_level}.",
        )
    if parent_level is not None:
        parents = polygons[polygons["admin_level"].astype(str) == str(parent_level)]
        if parent_name is not None:
            parents = parents[parents["name"] == parent_name]
        if parents.empty:
            raise BoundaryError(
                f"{path}: không tìm thấy đơn vị cha admin_level={parent_level} {parent_name or ''}.",
                f"{path}: parent unit admin_level={parent_level} {parent_name or ''} not found.",
            )
        parent = parents.geometry.union_all()
        inside = units.geometry.representative_point().within(parent)
        units = units[inside.to_numpy()]

    def column(name: str) -> pd.Series:
        if name in units.columns:
            return units[name]
        return pd.Series(None, index=units.index, dtype=object)

    osm_ids = [f"{element}/{osm_id}" for element, osm_id in units.index]
    return gpd.GeoDataFrame(
        {
            "name": column("name").to_numpy(),
            "name_en": column("name:en").to_numpy(),
            "population": pd.to_numeric(column("population"), errors="coerce").to_numpy(),
            "osm_id": osm_ids,
        },
        geometry=units.geometry.to_numpy(),
        crs=units.crs,
    )
