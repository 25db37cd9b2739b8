"""Stage 2, locate: coordinates in WGS 84, the ward each point is in, the nearest street.

Coordinates are read and reprojected for the whole column at once; the ward is assigned
by :func:`geo.assign.assign_lonlat`; a point outside Hà Nội whose latitude and longitude
read the other way round lands inside is swapped back (and flagged). Nearest streets are
found in a second thread (:func:`start_streets`) while the later stages run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import CRS

from geo.crs import parse_crs
from geo.errors import CRSError, GeoError, IngestError
from geo.ingest import codes
from geo.ingest._background import Background
from geo.ingest._columns import ColumnMapping
from geo.ingest._coords import Parsed, parse_combined_column, parse_pair_columns, reproject
from geo.ingest._geojson import GEOM_X, GEOM_Y
from geo.ingest._read import ReadFile
from geo.ingest._reasons import Verdicts

if TYPE_CHECKING:
    import geopandas as gpd

Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]
Texts = NDArray[np.object_]


@dataclass(frozen=True)
class Located:
    """Where each row's point is ("" / None / NaN where it cannot be told)."""

    lon: Floats
    lat: Floats
    #: How the coordinates were written ("decimal", "decimal_comma", "dms", "combined", …).
    fmt: Texts
    #: The column(s) the coordinates came from, as rejections name them.
    field: str
    #: Read in a projected CRS (never swapped: x/y order is known there).
    projected: Flags
    ward_code: Texts
    #: :func:`geo.assign.assign_lonlat`'s flag: "", "snapped" or "outside".
    assign_flag: Texts
    swapped: Flags
    #: The ward named in the file differs from the ward the point is in.
    ward_mismatch: Flags
    #: Points outside every ward of Hà Nội (``assign_flag == "outside"``).
    outside: Flags
    #: The nearest named street (None: none within reach, or the row is rejected).
    street: Texts


def coordinates(read: ReadFile, verdicts: Verdicts) -> Located:
    """Read every row's coordinates into WGS 84 and reject those that cannot be read.

    Parameters
    ----------
    read : ReadFile
        The file as read.
    verdicts : Verdicts
        Rows without coordinates or with unreadable ones are rejected here.

    Returns
    -------
    Located
        ``lon``, ``lat``, ``fmt``, ``field`` and ``projected`` set; no wards yet.

    Raises
    ------
    IngestError
        The file has no coordinate columns.
    CRSError
        A GeoJSON file states a CRS other than the one given with ``--crs``.
    """
    if len(read.table.frame) == 0:
        _check_has_coordinates(read.mapping, read.name, list(read.table.frame.columns))
    parsed, field_name, geometry = _parse(read)
    source_crs = _source_crs(read, geometry)
    n = len(parsed.first)
    projected = np.zeros(n, dtype=bool)
    if source_crs is None or source_crs.equals(CRS.from_epsg(4326)):
        # GeoJSON is (lon, lat) = (x, y) = (second, first) by construction, like the rest.
        lat, lon = parsed.first.copy(), parsed.second.copy()
    else:
        lon, lat, _ = reproject(parsed, source_crs, xy_order_known=geometry)
        parsed.fmt = np.where(parsed.fmt != "", codes.COORD_PROJECTED, "").astype(object)
        projected[:] = not source_crs.is_geographic
    for code in ("missing_coordinates", "bad_coordinates"):
        verdicts.reject(parsed.error == code, code, field_name)
    nothing = np.full(n, None, dtype=object)
    no = np.zeros(n, dtype=bool)
    return Located(
        lon=np.asarray(lon, float), lat=np.asarray(lat, float), fmt=parsed.fmt,
        field=field_name, projected=projected, ward_code=nothing, assign_flag=nothing,
        swapped=no, ward_mismatch=no, outside=no, street=nothing,
    )  # fmt: skip


def _parse(read: ReadFile) -> tuple[Parsed, str, bool]:
    """(parsed pair, the field rejections name, from a GeoJSON geometry?)."""
    frame, mapping = read.table.frame, read.mapping
    geometry = mapping.how.get("lat") == codes.HOW_GEOMETRY
    if mapping.get("lat") and mapping.get("lon"):
        parsed = parse_pair_columns(frame[mapping.roles["lat"]], frame[mapping.roles["lon"]])
        field_name = f"{mapping.roles['lat']}, {mapping.roles['lon']}"
        if geometry:
            field_name = "geometry"
            parsed.fmt = np.where(parsed.fmt != "", codes.COORD_GEOJSON, "").astype(object)
        return parsed, field_name, geometry
    if mapping.get("latlon"):
        return parse_combined_column(frame[mapping.roles["latlon"]]), mapping.roles["latlon"], geometry
    raise _no_coordinates(read.name, list(frame.columns))


def _source_crs(read: ReadFile, geometry: bool) -> CRS | None:
    """The CRS of the coordinates: the one a GeoJSON file states, else ``--crs``."""
    crs, name = read.crs, read.name
    if not geometry or read.table.geometry_crs is None:
        return crs
    file_crs = parse_crs(read.table.geometry_crs, source=name)
    if crs is not None and not file_crs.equals(crs):
        raise CRSError(
            f"{name}: tệp ghi hệ toạ độ {file_crs.to_string()} khác với --crs "
            f"{crs.to_string()}.",
            f"{name}: the file states CRS {file_crs.to_string()}, which differs "
            f"from --crs {crs.to_string()}.",
        )
    return file_crs


def _check_has_coordinates(mapping: ColumnMapping, file_name: str, columns: list[str]) -> None:
    if (mapping.get("lat") and mapping.get("lon")) or mapping.get("latlon"):
        return
    if not mapping.roles and not mapping.ignored:
        return  # an empty file: zero rows, nothing to complain about
    raise _no_coordinates(file_name, columns)


#: Headers a missing-coordinates message names at most (a wide sheet would drown it).
NAMED_COLUMNS = 20


def _no_coordinates(file_name: str, columns: list[str]) -> IngestError:
    """The file has no coordinates: say which headers would do and which the file has, as
    written, so the person can rename one (the message gave internal role codes, and
    "-" for a file none of whose headers were recognised)."""
    shown = [str(c) for c in columns if c not in (GEOM_X, GEOM_Y)]
    listed = ", ".join(shown[:NAMED_COLUMNS]) + (", …" if len(shown) > NAMED_COLUMNS else "")
    return IngestError(
        f"{file_name}: không tìm thấy cột toạ độ; cần hai cột 'vĩ độ' và 'kinh độ' (hoặc "
        f"'lat', 'lon'), hoặc một cột 'toạ độ' dạng 'vĩ độ, kinh độ'. Các cột trong tệp: "
        f"{listed or '-'}.",
        f"{file_name}: no coordinate columns found; name two columns 'lat' and 'lon' (or "
        f"'vĩ độ', 'kinh độ'), or one 'lat, lon' column. The file's columns: {listed or '-'}.",
    )


def wards(
    located: Located, layer: gpd.GeoDataFrame, verdicts: Verdicts, *, strict: bool
) -> Located:
    """Assign each readable point its ward, swapping lat/lon back where that moves an
    outside point into Hà Nội; reject coordinates out of range (and, ``strict``, points
    outside Hà Nội).

    Parameters
    ----------
    located : Located
        The result of :func:`coordinates` (its ``lon``/``lat`` are swapped in place).
    layer : geopandas.GeoDataFrame
        The ward layer (EPSG:4326).
    verdicts : Verdicts
        Rows rejected so far get no ward; out-of-range (and strict outside) rows are
        rejected here.
    strict : bool
        Reject points outside Hà Nội.

    Returns
    -------
    Located
        With ``ward_code``, ``assign_flag``, ``outside`` and ``swapped`` set.
    """
    lon, lat = located.lon, located.lat
    readable = np.isfinite(lat) & np.isfinite(lon) & verdicts.standing()
    assigned = _assign(np.where(readable, lon, np.nan), np.where(readable, lat, np.nan), layer)
    ward_code = assigned["ward_code"].to_numpy(dtype=object, copy=True)
    assign_flag = assigned["assign_flag"].to_numpy(dtype=object, copy=True)
    # Swap only when that moves the point into Hà Nội.
    swapped = np.zeros(len(lon), dtype=bool)
    try_swap = readable & (assign_flag == "outside") & ~located.projected
    if try_swap.any():
        idx = np.flatnonzero(try_swap)
        again = _assign(lat[idx], lon[idx], layer)
        inside = again["assign_flag"].to_numpy(dtype=object) != "outside"
        hit = idx[inside]
        swapped[hit] = True
        lat[hit], lon[hit] = lon[hit].copy(), lat[hit].copy()
        ward_code[hit] = again["ward_code"].to_numpy(dtype=object)[inside]
        assign_flag[hit] = again["assign_flag"].to_numpy(dtype=object)[inside]
    with np.errstate(invalid="ignore"):
        in_range = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    verdicts.reject(readable & ~in_range, "coordinates_out_of_range", located.field)
    # "inf" is read as a number but is no place: out of range, like 1e308 (was stored as inf)
    endless = verdicts.standing() & (np.isinf(lat) | np.isinf(lon))
    verdicts.reject(endless, "coordinates_out_of_range", located.field)
    outside = assign_flag == "outside"
    if strict:
        verdicts.reject(outside, "outside_jurisdiction", located.field)
    return replace(
        located, ward_code=ward_code, assign_flag=assign_flag, swapped=swapped, outside=outside
    )


def _assign(lon: Floats, lat: Floats, layer: gpd.GeoDataFrame) -> pd.DataFrame:
    from geo.assign import assign_lonlat

    return assign_lonlat(lon, lat, layer)


@dataclass(frozen=True)
class StreetJob:
    """Nearest streets being found in a second thread for ``rows``."""

    rows: NDArray[np.intp]
    job: Background[Texts]


def start_streets(
    located: Located, verdicts: Verdicts, layer: gpd.GeoDataFrame | None
) -> StreetJob:
    """Start finding the nearest streets (shapely, without the GIL) for the rows standing
    inside Hà Nội; :func:`place_names` waits for them.

    Parameters
    ----------
    located : Located
        The result of :func:`wards`.
    verdicts : Verdicts
        Rows rejected so far are skipped.
    layer : geopandas.GeoDataFrame, optional
        The street layer; None: the committed one.

    Returns
    -------
    StreetJob
        The running job.
    """
    rows = np.flatnonzero(verdicts.standing() & ~located.outside)
    return StreetJob(rows, Background(_streets, located.lon[rows], located.lat[rows], layer))


def _streets(lon: Floats, lat: Floats, layer: gpd.GeoDataFrame | None) -> Texts:
    """Nearest named street per point (None when none within 25 m or no layer)."""
    out = np.full(len(lon), None, dtype=object)
    if not len(lon):
        return out
    try:
        from geo.streets import nearest_streets

        names = nearest_streets(lon, lat, layer)
    except (ImportError, GeoError, OSError):
        return out
    values = names.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    return values


def place_names(
    read: ReadFile, located: Located, streets: StreetJob, verdicts: Verdicts
) -> Located:
    """The ward named in the file checked against the point's ward, and the nearest
    street of each row still standing (rows rejected since the job started get none).

    Parameters
    ----------
    read : ReadFile
        The file as read (its ward column, if any).
    located : Located
        The result of :func:`wards`.
    streets : StreetJob
        The job :func:`start_streets` started.
    verdicts : Verdicts
        The rows standing now.

    Returns
    -------
    Located
        With ``ward_mismatch`` and ``street`` set.
    """
    frame = read.table.frame
    ward_col = read.mapping.get("ward")
    mismatch = np.zeros(len(frame), dtype=bool)
    if ward_col is not None:
        text_codes = _ward_codes_from_text(frame[ward_col])
        named = (frame[ward_col].astype(str).str.strip() != "").to_numpy(dtype=bool)
        mismatch = named & (text_codes != located.ward_code)
        mismatch |= named & pd.isna(text_codes)
    street = np.full(len(frame), None, dtype=object)
    street[streets.rows] = streets.job.result()
    street[~(verdicts.standing() & ~located.outside)] = None
    return replace(located, ward_mismatch=mismatch, street=street)


def _ward_codes_from_text(texts: pd.Series) -> Texts:
    from geo.admin_units import ward_code_from_text

    values = texts.astype(str).str.strip()
    positions, uniques = pd.factorize(values, use_na_sentinel=True)
    table = [ward_code_from_text(v) if isinstance(v, str) and v else None for v in uniques]
    codes: Texts = np.array([*table, None], dtype=object)[positions]  # -1 (missing) → None
    return codes
