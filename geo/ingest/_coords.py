"""Coordinates as field teams write them, turned into WGS 84 longitude/latitude.

Clean decimal columns go through one vectorised pass; only the values that fail it
(degrees-minutes-seconds, odd separators) are parsed one by one. Projected VN-2000
coordinates are reprojected with pyproj's full EPSG definitions, so the ~224 m datum
shift between VN-2000 and WGS 84 in Hà Nội is kept; surveyors write X for the northing
and Y for the easting, so the order is decided per row from where each reading lands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from geo.crs import STORAGE_CRS
from geo.ingest import codes
from geo.ingest._text import cell_text

#: Rough bounding box of Việt Nam (lon, lat): where a sensible reading of a row must land.
VN_BOUNDS = (101.5, 7.5, 110.5, 24.0)

_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_COMBINED_POINT = re.compile(
    rf"^\s*({_NUMBER})\s*[,; ]\s*({_NUMBER})(?:\s+{_NUMBER}){{0,2}}\s*$"
)
_COMBINED_COMMA = re.compile(r"^\s*([-+]?\d+,\d+)\s*(?:;|\s|,\s)\s*([-+]?\d+,\d+)\s*$")
_TOKEN = re.compile(r"(-?\d+(?:[.,]\d+)?)|([NSEWBĐ])", re.IGNORECASE)
_DMS_MARK = re.compile(r"[°º˚'′’\"″”:]|\s|[NSEWBĐ]", re.IGNORECASE)
_HEMI_SIGN = {"N": 1, "B": 1, "E": 1, "Đ": 1, "S": -1, "W": -1}
_HEMI_AXIS = {"N": "lat", "S": "lat", "B": "lat", "E": "lon", "W": "lon", "Đ": "lon"}


@dataclass
class Parsed:
    """Two coordinate arrays read from a file, before any CRS or swap decision."""

    first: np.ndarray  # latitude / northing-ish column, or first value of a pair
    second: np.ndarray  # longitude / easting-ish column, or second value of a pair
    fmt: np.ndarray  # per-row format name, "" when unparsed
    error: np.ndarray  # per-row reason code, "" when fine


#: Plain decimals (the common case), which pyarrow reads exactly as pandas does.
_PLAIN_DECIMAL = r"^[-+]?[0-9]+(\.[0-9]+)?$"


def _plain_floats(text: pd.Series) -> np.ndarray | None:
    """Floats (NaN for blanks) when every cell is blank or a plain decimal, else None."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(text, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    blank = pc.equal(arr, "")
    plain = pc.match_substring_regex(arr, _PLAIN_DECIMAL)
    if not pc.all(pc.or_(pc.fill_null(blank, True), pc.fill_null(plain, False))).as_py():
        return None
    numbers = pc.cast(pc.if_else(blank, pa.scalar(None, pa.string()), arr), pa.float64())
    return np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=float).copy()


def to_float(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Decimal numbers with "." or "," as the decimal mark.

    Parameters
    ----------
    values : pandas.Series
        Text cells.

    Returns
    -------
    tuple of numpy.ndarray
        (floats, NaN where not a plain decimal; whether the cell used a decimal comma).
    """
    return _text_to_float(cell_text(values))


def _text_to_float(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`to_float` of cells made :func:`~geo.ingest._text.cell_text` already."""
    plain = _plain_floats(text)
    if plain is not None:
        return plain, np.zeros(len(plain), dtype=bool)
    comma = text.str.contains(",", regex=False).to_numpy(dtype=bool)
    dotted = text.str.contains(".", regex=False).to_numpy(dtype=bool)
    fixed = text.where(~(comma & ~dotted), text.str.replace(",", ".", regex=False))
    numbers = np.array(pd.to_numeric(fixed, errors="coerce"), dtype=float)  # writable copy
    return numbers, comma & ~dotted


def dms_value(text: str) -> tuple[float, str | None] | None:
    """One DMS/DM/decimal reading, e.g. 21°02'11.4"N → (21.0365, "lat").

    Parameters
    ----------
    text : str
        One coordinate as written.

    Returns
    -------
    tuple or None
        (decimal degrees, the axis its hemisphere letter names or None); None when the
        text is not one such reading.
    """
    if not text or not _DMS_MARK.search(text):
        return None
    if _DMS_MARK.sub("", _TOKEN.sub("", text)):
        return None  # something that is no number, mark or hemisphere: "@SUM(A1:A9)" is no S 1°9'
    numbers: list[float] = []
    hemi: str | None = None
    negative = False
    for number, letter in _TOKEN.findall(text):
        if letter:
            if hemi is not None:
                return None
            hemi = letter.upper()
        else:
            if not numbers and number.startswith("-"):
                negative = True
            numbers.append(abs(float(number.replace(",", "."))))
    if not 1 <= len(numbers) <= 3:
        return None
    if any(v >= 60 for v in numbers[1:]):
        return None
    if len(numbers) > 1 and any(v != int(v) for v in numbers[:-1]):
        return None  # only the last component may have decimals
    value = numbers[0] + sum(v / 60**i for i, v in enumerate(numbers[1:], start=1))
    sign = -1 if negative else 1
    if hemi is not None:
        sign *= _HEMI_SIGN[hemi]
    return sign * value, (_HEMI_AXIS[hemi] if hemi else None)


def dms_pair(text: str) -> tuple[float, float] | None:
    """A combined "lat lon" reading in DMS (or decimals).

    Parameters
    ----------
    text : str
        Both coordinates in one cell, e.g. ``21°02'11"N 105°50'56"E``.

    Returns
    -------
    tuple or None
        (lat, lon), ordered by hemisphere letters when given; None if unreadable.
    """
    tokens = [(num, hemi.upper()) for num, hemi in _TOKEN.findall(text)]
    letters = [i for i, (_, hemi) in enumerate(tokens) if hemi]
    if len(letters) == 2:
        if letters[0] == 0:  # prefix style: N21 02 11 E105 50 56
            parts = [tokens[: letters[1]], tokens[letters[1] :]]
        else:  # postfix style: 21 02 11 N 105 50 56 E
            parts = [tokens[: letters[0] + 1], tokens[letters[0] + 1 :]]
    elif not letters and len(tokens) in (2, 4, 6):
        half = len(tokens) // 2
        parts = [tokens[:half], tokens[half:]]
    else:
        return None
    readings = []
    for part in parts:
        piece = " ".join(num or hemi for num, hemi in part)
        reading = dms_value(piece + " ")
        if reading is None:
            return None
        readings.append(reading)
    (a, axis_a), (b, axis_b) = readings
    if axis_a == "lon" or axis_b == "lat":
        a, b = b, a
    return a, b


def parse_pair_columns(first: pd.Series, second: pd.Series) -> Parsed:
    """Two separate columns (lat/lon, or X/Y): vectorised first, DMS for the rest.

    Parameters
    ----------
    first, second : pandas.Series
        The latitude (or northing-ish) and longitude (or easting-ish) columns.

    Returns
    -------
    Parsed
        Both readings per row with their format and reason code.
    """
    first_s = cell_text(first)  # a cell without a value: missing, like an empty one
    second_s = cell_text(second)
    a, comma_a = _text_to_float(first_s)  # the cells made text once (a million rows each)
    b, comma_b = _text_to_float(second_s)
    n = len(a)
    fmt = np.where(comma_a | comma_b, codes.COORD_DECIMAL_COMMA, codes.COORD_DECIMAL).astype(object)
    error = np.full(n, "", dtype=object)
    missing = ((first_s == "") | (second_s == "")).to_numpy(dtype=bool)
    error[missing] = "missing_coordinates"
    fmt[missing] = ""
    failed = np.flatnonzero((np.isnan(a) | np.isnan(b)) & ~missing)
    # Python strings only for the rows the vectorised pass could not read.
    first_text = dict(zip(failed.tolist(), first_s.iloc[failed].tolist(), strict=True))
    second_text = dict(zip(failed.tolist(), second_s.iloc[failed].tolist(), strict=True))
    for i in failed.tolist():  # the slow path
        ra = dms_value(first_text[i]) if np.isnan(a[i]) else (float(a[i]), None)
        rb = dms_value(second_text[i]) if np.isnan(b[i]) else (float(b[i]), None)
        if ra is None or rb is None:
            error[i], fmt[i] = "bad_coordinates", ""
            a[i] = b[i] = np.nan
            continue
        a[i], b[i] = ra[0], rb[0]
        if ra[1] == "lon" or rb[1] == "lat":  # hemisphere letters say the columns are swapped
            a[i], b[i] = b[i], a[i]
        fmt[i] = codes.COORD_DMS
    return Parsed(a, b, fmt, error)


def parse_combined_column(values: pd.Series) -> Parsed:
    """One "lat, lon" column (also Kobo's "lat lon alt acc" and DMS pairs).

    Parameters
    ----------
    values : pandas.Series
        The combined column.

    Returns
    -------
    Parsed
        Both readings per row with their format and reason code.
    """
    text = cell_text(values)
    n = len(text)
    a = np.full(n, np.nan)
    b = np.full(n, np.nan)
    fmt = np.full(n, "", dtype=object)
    error = np.full(n, "", dtype=object)
    point = text.str.extract(_COMBINED_POINT.pattern)
    ok = point[0].notna().to_numpy(dtype=bool)
    a[ok] = point.loc[ok, 0].astype(float).to_numpy()
    b[ok] = point.loc[ok, 1].astype(float).to_numpy()
    fmt[ok] = codes.COORD_COMBINED
    rest = ~ok
    if rest.any():
        comma = text[rest].str.extract(_COMBINED_COMMA.pattern)
        got = comma[0].notna()
        idx = np.flatnonzero(rest)[got.to_numpy(dtype=bool)]
        a[idx] = comma.loc[got, 0].str.replace(",", ".").astype(float).to_numpy()
        b[idx] = comma.loc[got, 1].str.replace(",", ".").astype(float).to_numpy()
        fmt[idx] = codes.COORD_COMBINED_COMMA
    raw = text.to_numpy(dtype=object)
    for i in np.flatnonzero(fmt == ""):
        if not raw[i]:
            error[i] = "missing_coordinates"
            continue
        pair = dms_pair(raw[i])
        if pair is None:
            error[i] = "bad_coordinates"
            continue
        a[i], b[i] = pair
        fmt[i] = codes.COORD_DMS
    return Parsed(a, b, fmt, error)


def _in_bounds(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = VN_BOUNDS
    with np.errstate(invalid="ignore"):
        return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def reproject(
    parsed: Parsed, crs: CRS, *, xy_order_known: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lon, lat, order) in EPSG:4326 from readings in ``crs``.

    ``order`` is "xy" where the second value was read as easting/longitude, "yx" where
    the first one was. A geographic CRS reads (first=lat, second=lon). A projected CRS
    tries both orders per row and keeps the one that lands in Việt Nam, falling back to
    the surveyors' convention (the larger value is the northing).

    Parameters
    ----------
    parsed : Parsed
        The readings.
    crs : pyproj.CRS
        Their CRS.
    xy_order_known : bool
        The order is (x, y) by construction (a GeoJSON geometry): no per-row guess.

    Returns
    -------
    tuple of numpy.ndarray
        (lon, lat, order) per row.
    """
    to_wgs84 = Transformer.from_crs(crs, CRS.from_user_input(STORAGE_CRS), always_xy=True)
    first, second = parsed.first, parsed.second
    if crs.is_geographic:
        lon, lat = to_wgs84.transform(second, first)
        return np.asarray(lon, float), np.asarray(lat, float), np.full(len(first), "xy", object)
    if xy_order_known:  # GeoJSON geometry: (x, y) = (second, first) by construction
        lon, lat = to_wgs84.transform(second, first)
        return np.asarray(lon, float), np.asarray(lat, float), np.full(len(first), "xy", object)
    lon_a, lat_a = (np.asarray(v, float) for v in to_wgs84.transform(second, first))
    lon_b, lat_b = (np.asarray(v, float) for v in to_wgs84.transform(first, second))
    in_a = _in_bounds(lon_a, lat_a)
    in_b = _in_bounds(lon_b, lat_b)
    with np.errstate(invalid="ignore"):
        convention_b = first < second  # the larger value is the northing
    use_b = (in_b & ~in_a) | (~in_a & ~in_b & convention_b)
    lon = np.where(use_b, lon_b, lon_a)
    lat = np.where(use_b, lat_b, lat_a)
    return lon, lat, np.where(use_b, "yx", "xy").astype(object)
