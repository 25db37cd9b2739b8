"""Reading a boundary layer from any supported file into raw attributes in EPSG:4326.

Uploaded files are untrusted: a missing CRS is refused rather than guessed, broken JSON
and zip archives get messages naming the file (not GDAL's), and a zipped shapefile is
checked for zip bombs before any byte is decompressed. :mod:`geo.boundaries` re-exports
:func:`read_layer`.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio

from geo import _osm
from geo._zipsafe import ZipLimits, checked_members, open_zip
from geo.crs import require_crs, to_storage
from geo.errors import BoundaryError

#: Zipped shapefiles: refuse archives that would unpack to more than this, or that
#: compress suspiciously well (a zip bomb), before any byte is decompressed.
MAX_ZIP_UNPACKED_BYTES = 500 * 1024 * 1024
MAX_ZIP_RATIO = 200


def read_layer(path: str | Path, *, crs: Any = None) -> gpd.GeoDataFrame:
    """Read a polygon layer from GeoJSON, GeoPackage, Shapefile (or .zip), KML or OSM XML.

    Returns the raw attributes in EPSG:4326. A layer without a CRS is refused unless
    ``crs`` states one; lines, points, empty and unreadable files are refused with a
    message that names the file.

    Parameters
    ----------
    path : str or pathlib.Path
        The file: ``.geojson``/``.json``, ``.gpkg``, ``.shp`` or a zipped Shapefile, ``.kml``,
        or OSM XML (``.osm``/``.xml``).
    crs : Any
        The CRS to assume when the file declares none (anything ``pyproj`` parses); a
        declared CRS is kept.

    Returns
    -------
    geopandas.GeoDataFrame
        The (Multi)Polygon features with their raw attributes, in EPSG:4326; empty and
        missing geometries dropped.

    Raises
    ------
    geo.errors.BoundaryError
        The file is missing, empty, unreadable, has no features or is not polygons.
    geo.errors.CRSError
        The layer has no CRS and ``crs`` is not given, or ``crs`` cannot be parsed.
    """
    path = Path(path)
    if not path.exists():
        raise BoundaryError(f"{path}: không tìm thấy tệp.", f"{path}: file not found.")
    if path.stat().st_size == 0:
        raise BoundaryError(f"{path}: tệp rỗng.", f"{path}: the file is empty.")

    suffix = path.suffix.lower()
    if suffix in (".osm", ".xml"):
        layer: gpd.GeoDataFrame = _osm.read_admin_units(path)
    else:
        source = _zipped_source(path) if suffix == ".zip" else str(path)
        if suffix in (".geojson", ".json"):
            _check_json(path)
        try:
            layer = gpd.read_file(source, engine="pyogrio")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
            raise BoundaryError(
                f"{path}: không đọc được lớp ranh giới ({exc}).",
                f"{path}: cannot read the boundary layer ({exc}).",
            ) from exc
    if layer.empty:
        raise BoundaryError(
            f"{path}: lớp không có đối tượng nào.", f"{path}: the layer has no features."
        )
    layer = layer[~layer.geometry.isna() & ~layer.geometry.is_empty]
    kinds = set(layer.geom_type.unique())
    if not kinds or not kinds <= {"Polygon", "MultiPolygon"}:
        found = ", ".join(sorted(str(k) for k in kinds)) or "none"
        raise BoundaryError(
            f"{path}: lớp ranh giới phải là vùng (Polygon), nhưng có {found}.",
            f"{path}: a boundary layer must hold polygons, but it holds {found}.",
        )
    layer = require_crs(layer, source=str(path), crs=crs)
    return to_storage(layer)


def _check_json(path: Path) -> None:
    """Give broken JSON a message with its line and column instead of GDAL's."""
    try:
        with path.open("rb") as handle:
            json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BoundaryError(
            f"{path}: GeoJSON hỏng, không phải JSON hợp lệ ({exc}).",
            f"{path}: broken GeoJSON, not valid JSON ({exc}).",
        ) from exc


def _zipped_source(path: Path) -> str:
    """Validate a zipped shapefile and return a GDAL /vsizip/ path.

    The archive is never extracted to disk, and its names and declared sizes are
    checked (:mod:`geo._zipsafe`) before GDAL or ``testzip`` decompresses anything.
    """
    limits = ZipLimits(max_unpacked=MAX_ZIP_UNPACKED_BYTES, max_ratio=MAX_ZIP_RATIO)
    with open_zip(path, label=str(path), error=BoundaryError) as archive:
        members = checked_members(archive, label=str(path), limits=limits, error=BoundaryError)
        try:
            bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise BoundaryError(
                f"{path}: tệp zip hỏng ({exc}).", f"{path}: corrupt zip file ({exc})."
            ) from exc
    if bad is not None:
        raise BoundaryError(f"{path}: tệp zip hỏng ở {bad}.", f"{path}: corrupt zip member {bad}.")
    shapefiles = [m.filename for m in members if m.filename.lower().endswith(".shp")]
    if len(shapefiles) != 1:
        raise BoundaryError(
            f"{path}: zip phải chứa đúng một tệp .shp (có {len(shapefiles)}).",
            f"{path}: the zip must hold exactly one .shp file (it holds {len(shapefiles)}).",
        )
    return f"/vsizip/{path.resolve()}/{shapefiles[0]}"
