"""Ward and commune boundaries: reading any layer, official identity, checks and the default.

Every layer, whatever its format or CRS, comes out of :func:`load_boundaries` with the
same columns (``code``, ``name``, ``name_en``, ``kind``, ``area_km2``, ``population``,
``osm_id``, ``geometry``) in EPSG:4326, sorted by official code. Everything else in the
project (assignment, storage, maps) relies on that shape.

The work is kept in private modules of one topic each, re-exported here (the one door for
callers): reading any file (:mod:`geo._boundary_read`), the standard shape, repairs and
checks (:mod:`geo._boundary_shape`), and building the committed default layer
(:mod:`geo._boundary_build`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import settings
from geo._boundary_build import build_default_layer, fetch_from_overpass, simplify_coverage
from geo._boundary_read import MAX_ZIP_RATIO, MAX_ZIP_UNPACKED_BYTES, read_layer
from geo._boundary_shape import (
    COLUMNS,
    BoundaryReport,
    check_layer,
    measure_overlaps_and_gaps,
    repair,
    standardise,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BOUNDARIES = settings.boundaries.default


def boundaries_path() -> Path:
    """The layer the app and CLI use: ``GEO_BOUNDARIES`` if set, else the committed default.

    Returns
    -------
    pathlib.Path
        The ward layer file (not checked to exist).
    """
    return settings.boundaries()


def layer_from_stored(stored: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The store's ward table (:func:`geo.store.wards.current`) in :func:`load_boundaries`' shape.

    The app and the CLI use the stored layer wherever they used the file, so it must
    look the same: the file's columns only (no ``valid_from``), the text and number
    dtypes that reading a file gives, sorted by code.

    Parameters
    ----------
    stored
        The current ward versions as read from the store.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`COLUMNS`, in the stored CRS.
    """
    out = stored.drop(columns=[c for c in stored.columns if c not in COLUMNS])
    for column in ("code", "name", "name_en", "kind", "osm_id"):
        # rebuilt from plain values: the text dtype pandas infers, as reading a file gives
        values = out[column].astype(object).where(out[column].notna(), None).tolist()
        out[column] = pd.Series(values, index=out.index)
    out["area_km2"] = pd.to_numeric(out["area_km2"], errors="coerce").astype(float)
    out["population"] = pd.to_numeric(out["population"], errors="coerce").astype("Int64")
    out = out.sort_values("code").reset_index(drop=True)[COLUMNS]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=stored.crs)


def load_boundaries(path: str | Path | None = None, *, crs: Any = None) -> gpd.GeoDataFrame:
    """The ward layer in the project's shape (EPSG:4326, sorted by code), repaired if needed.

    Parameters
    ----------
    path : str or pathlib.Path or None
        The layer file (default: :func:`boundaries_path`).
    crs : Any
        The CRS to assume when the file declares none.

    Returns
    -------
    geopandas.GeoDataFrame
        The :data:`COLUMNS`, in EPSG:4326, sorted by code, with valid geometries.

    Raises
    ------
    geo.errors.BoundaryError
        The file cannot be read or is not a polygon layer (see :func:`read_layer`).
    geo.errors.CRSError
        The layer has no usable CRS.
    """
    source = Path(path) if path is not None else boundaries_path()
    raw = read_layer(source, crs=crs)
    if set(COLUMNS) <= set(raw.columns) and raw["code"].notna().all():
        layer = raw[COLUMNS].copy()
        layer["code"] = layer["code"].astype(str).str.zfill(5)
        layer["population"] = pd.to_numeric(layer["population"], errors="coerce").astype("Int64")
        layer = layer.sort_values("code").reset_index(drop=True)
        return repair(layer)[0]
    return repair(standardise(raw, source=str(source)))[0]


def check_boundaries(path: str | Path | None = None, *, crs: Any = None) -> BoundaryReport:
    """Read a layer and report validity, overlaps, gaps and code matching.

    Parameters
    ----------
    path : str or pathlib.Path or None
        The layer file (default: :func:`boundaries_path`).
    crs : Any
        The CRS to assume when the file declares none.

    Returns
    -------
    BoundaryReport
        The report of :func:`check_layer`.

    Raises
    ------
    geo.errors.BoundaryError
        The file cannot be read or is not a polygon layer.
    geo.errors.CRSError
        The layer has no usable CRS.
    """
    source = Path(path) if path is not None else boundaries_path()
    return check_layer(read_layer(source, crs=crs), source=str(source))[1]


__all__ = [
    "COLUMNS", "DEFAULT_BOUNDARIES", "MAX_ZIP_RATIO", "MAX_ZIP_UNPACKED_BYTES", "REPO_ROOT",
    "BoundaryReport", "boundaries_path", "build_default_layer", "check_boundaries",
    "check_layer", "fetch_from_overpass", "layer_from_stored", "load_boundaries",
    "measure_overlaps_and_gaps", "read_layer", "repair", "simplify_coverage", "standardise",
]
