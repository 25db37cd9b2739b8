"""Ward and commune boundaries: reading any layer, official identity, checks and the default.

Every layer, whatever its format or CRS, comes out of :func:`load_boundaries` with the
same columns (``code``, ``name``, ``name_en``, ``kind``, ``area_km2``, ``population``,
``osm_id``, ``geometry``) in EPSG:4326, sorted by official code. Everything else in the
project (assignment, storage, maps) relies on that shape.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo import _osm, settings
from geo._zipsafe import ZipLimits, checked_members, open_zip
from geo.admin_units import canonical_names, codes_by_name
from geo.crs import METRIC_CRS, require_crs, to_storage
from geo.errors import BoundaryError
from geo.names import nfc, unit_kind

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BOUNDARIES = settings.BOUNDARIES.default
COLUMNS = ["code", "name", "name_en", "kind", "area_km2", "population", "osm_id", "geometry"]

#: Zipped shapefiles: refuse archives that would unpack to more than this, or that
#: compress suspiciously well (a zip bomb), before any byte is decompressed.
MAX_ZIP_UNPACKED_BYTES = 500 * 1024 * 1024
MAX_ZIP_RATIO = 200

_CODE_COLUMNS = ("code", "ma", "ma_xa", "ma_phuong", "wardcode", "ward_code", "maxa")
_NAME_COLUMNS = ("fullname", "full_name", "name", "ten", "ten_xa", "ward", "name_vi")
_NAME_EN_COLUMNS = ("name_en", "nameen", "fullnameen", "name:en")
_POP_COLUMNS = ("population", "dan_so", "danso", "pop")


def boundaries_path() -> Path:
    """The layer the app and CLI use: ``GEO_BOUNDARIES`` if set, else the committed default.

    Returns
    -------
    pathlib.Path
        The ward layer file (not checked to exist).
    """
    return settings.boundaries()


@dataclass
class BoundaryReport:
    """What reading and checking a layer found; printed by ``boundaries check``."""

    source: str
    count: int = 0
    invalid: int = 0
    repairs: list[dict[str, Any]] = field(default_factory=list)
    overlaps_m2: float = 0.0
    overlap_pairs: list[dict[str, Any]] = field(default_factory=list)
    gaps_m2: float = 0.0
    gap_count: int = 0
    codes_matched: int = 0
    unmatched: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data, for JSON output, the CLI and the admin page.

        Returns
        -------
        dict of str to Any
            Every field; areas in m², rounded to 0.1 m².
        """
        return {
            "source": self.source,
            "count": self.count,
            "invalid": self.invalid,
            "repairs": self.repairs,
            "overlaps_m2": round(self.overlaps_m2, 1),
            "overlap_pairs": self.overlap_pairs,
            "gaps_m2": round(self.gaps_m2, 1),
            "gap_count": self.gap_count,
            "codes_matched": self.codes_matched,
            "unmatched": self.unmatched,
            "kinds": self.kinds,
        }


# --------------------------------------------------------------------------- reading


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


# ------------------------------------------------------------------ standard shape


def _pick(columns: pd.Index, candidates: tuple[str, ...]) -> str | None:
    lowered = {str(c).lower(): str(c) for c in columns}
    for candidate in candidates:
        if candidate in lowered:
            return lowered[candidate]
    return None


def standardise(layer: gpd.GeoDataFrame, *, source: str = "") -> gpd.GeoDataFrame:
    """Give any ward layer the project's columns, with official codes and names attached.

    A valid 5-digit ``code`` column is trusted; otherwise codes come from the names
    through :mod:`geo.admin_units`. Units that match no code keep their own name and an
    empty code, and are reported by :func:`check_layer`.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        A raw ward layer (with a code and/or name column in any of the known spellings).
    source : str
        The file name, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The :data:`COLUMNS` (``code``, ``name``, ``name_en``, ``kind``, ``area_km2`` measured in
        EPSG:32648, ``population``, ``osm_id``, geometry) in the layer's CRS, sorted by code,
        unmatched units last.

    Raises
    ------
    geo.errors.BoundaryError
        The layer has neither a code nor a name column.
    """
    code_col = _pick(layer.columns, _CODE_COLUMNS)
    name_col = _pick(layer.columns, _NAME_COLUMNS)
    if code_col is None and name_col is None:
        raise BoundaryError(
            f"{source}: lớp ranh giới không có cột mã hay tên đơn vị.",
            f"{source}: the boundary layer has neither a code nor a name column.",
        )
    names = layer[name_col].astype("string").map(nfc, na_action="ignore") if name_col else None
    codes = pd.Series(None, index=layer.index, dtype=object)
    if code_col is not None:
        raw = layer[code_col].astype("string").str.strip().str.zfill(5)
        codes = raw.where(raw.str.fullmatch(r"\d{5}").fillna(False), None).astype(object)
    if names is not None:
        codes = codes.where(codes.notna(), codes_by_name(names.astype(object)))
    official = canonical_names(codes)
    name = official.where(official.notna(), names if names is not None else None)

    en_col = _pick(layer.columns, _NAME_EN_COLUMNS)
    pop_col = _pick(layer.columns, _POP_COLUMNS)
    osm_col = _pick(layer.columns, ("osm_id",))
    metric = layer.geometry.to_crs(METRIC_CRS)
    result = gpd.GeoDataFrame(
        {
            "code": codes.astype(object),
            "name": name.astype(object),
            "name_en": layer[en_col].astype(object) if en_col else None,
            "kind": name.map(lambda n: unit_kind(n) if isinstance(n, str) else None),
            "area_km2": (metric.area / 1e6).round(3),
            "population": pd.to_numeric(layer[pop_col], errors="coerce").astype("Int64")
            if pop_col
            else pd.array([pd.NA] * len(layer), dtype="Int64"),
            "osm_id": layer[osm_col].astype(object) if osm_col else None,
        },
        geometry=layer.geometry,
        crs=layer.crs,
    )
    return result.sort_values("code", na_position="last").reset_index(drop=True)[COLUMNS]


def repair(layer: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[dict[str, Any]]]:
    """Make invalid geometries valid, keeping only their polygonal parts; report each repair.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        A ward layer (``code`` and ``name`` columns are used in the report when present).

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, list of dict)
        A copy with valid geometries, and one ``{"code", "name", "reason"}`` per repair
        (``reason`` from GEOS).
    """
    geoms = layer.geometry.to_numpy()
    invalid = ~shapely.is_valid(geoms)
    repairs: list[dict[str, Any]] = []
    if not invalid.any():
        return layer.copy(), repairs
    fixed = geoms.copy()
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        valid = shapely.make_valid(geoms[i])
        polygonal = [
            g for g in shapely.get_parts(valid) if g.geom_type in ("Polygon", "MultiPolygon")
        ]
        fixed[i] = shapely.union_all(polygonal) if polygonal else valid
        row = layer.iloc[i]
        repairs.append({"code": row.get("code"), "name": row.get("name"), "reason": reason})
    out = layer.copy()
    out["geometry"] = gpd.GeoSeries(fixed, index=layer.index, crs=layer.crs)
    return out, repairs


def measure_overlaps_and_gaps(
    layer: gpd.GeoDataFrame,
) -> tuple[float, list[dict[str, Any]], float, int]:
    """Overlap area between units and gap area inside the union, both in m² (UTM 48N).

    Overlaps are summed over every intersecting pair, so a sliver shared by two wards
    counts once. Gaps are the holes of the union that no unit covers.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        The ward layer in any CRS (measured in EPSG:32648).

    Returns
    -------
    tuple of (float, list of dict, float, int)
        Total overlap in m²; the overlapping pairs ``{"a", "b", "m2"}`` over 0.01 m²,
        largest first; total gap area in m²; the number of gaps.
    """
    metric = shapely.make_valid(layer.geometry.to_crs(METRIC_CRS).to_numpy())
    tree = shapely.STRtree(metric)
    left, right = tree.query(metric, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    areas = shapely.area(shapely.intersection(metric[left], metric[right]))
    codes = layer["code"].to_numpy() if "code" in layer else np.arange(len(layer)).astype(str)
    pairs = [
        {"a": codes[a], "b": codes[b], "m2": round(float(m2), 1)}
        for a, b, m2 in zip(left, right, areas, strict=True)
        if m2 > 0.01
    ]
    union = shapely.union_all(metric)
    holes = [
        shapely.Polygon(ring)
        for polygon in shapely.get_parts(union)
        if polygon.geom_type == "Polygon"
        for ring in polygon.interiors
    ]
    gaps = float(sum(h.area for h in holes))
    return float(areas.sum()), sorted(pairs, key=lambda p: -p["m2"]), gaps, len(holes)


def check_layer(raw: gpd.GeoDataFrame, *, source: str) -> tuple[gpd.GeoDataFrame, BoundaryReport]:
    """Standardise, repair and measure a layer; return the clean layer and its report.

    Parameters
    ----------
    raw : geopandas.GeoDataFrame
        The layer as read (:func:`read_layer`).
    source : str
        The file name, for messages and the report.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, BoundaryReport)
        The standardised, repaired layer, and the report (invalid count, repairs, overlaps,
        up to 20 overlapping pairs, gaps, codes matched, unmatched names, kinds).

    Raises
    ------
    geo.errors.BoundaryError
        The layer has neither a code nor a name column.
    """
    standard = standardise(raw, source=source)
    report = BoundaryReport(source=source, count=len(standard))
    report.invalid = int((~shapely.is_valid(standard.geometry.to_numpy())).sum())
    clean, report.repairs = repair(standard)
    overlaps, pairs, gaps, n_gaps = measure_overlaps_and_gaps(clean)
    report.overlaps_m2, report.overlap_pairs, report.gaps_m2, report.gap_count = (
        overlaps,
        pairs[:20],
        gaps,
        n_gaps,
    )
    matched = clean["code"].notna()
    report.codes_matched = int(matched.sum())
    report.unmatched = [str(n) for n in clean.loc[~matched, "name"]]
    report.kinds = {str(k): int(v) for k, v in clean["kind"].value_counts().items()}
    return clean, report


# --------------------------------------------------------------------- public API


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
