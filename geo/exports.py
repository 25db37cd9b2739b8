"""Exports of stored incidents: GeoPackage, GeoJSON, CSV, XLSX and Open311 GeoReport v2.

Field teams type whatever they like, so every text cell that a spreadsheet could run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a
leading apostrophe in CSV and XLSX — through :func:`neutralise`, the one place that does
it. GIS formats keep the text as written: QGIS does not evaluate it.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from geo import settings
from geo.crs import LOCAL_TZ
from geo.errors import StorageError
from geo.evidence import with_photo_counts
from geo.photos.media import thumbnail_url
from geo.store import IncidentFilter, queries
from geo.store import photos as stored_photos
from geo.store import wards as stored_wards
from geo.store.workflow import CLOSED_STATES
from geo.vocab import STATES, TYPES

if TYPE_CHECKING:
    from geo.store import Store

FORMATS: tuple[str, ...] = ("gpkg", "geojson", "csv", "xlsx", "open311")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Characters XLSX (XML 1.0) cannot hold at all.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Excel's limit on the characters of one cell.
XLSX_CELL_MAX = 32_767

_TYPE_LABELS = {t.code: t for t in TYPES}
_STATE_LABELS = {s.code: s for s in STATES}

#: Column order of tabular exports (others follow).
_FIRST = (
    "id", "ward_code", "ward_name", "type", "type_text", "status", "reported_at", "due_at",
    "cleared_at", "overdue", "street", "address", "note", "lat", "lon", "source", "source_id",
    "flags", "batch_id", "recurrence_of", "created_at", "updated_at",
)


def neutralise(value: Any) -> Any:
    """A string a spreadsheet would read as a formula, made inert with a leading apostrophe.

    Parameters
    ----------
    value : Any
        One cell.

    Returns
    -------
    Any
        ``value``, with ``'`` prepended when it is a string starting with ``= + - @``, a
        tab or CR; any other value unchanged.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell (and column name) neutralised; other cells untouched.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to export.

    Returns
    -------
    pandas.DataFrame
        The neutralised copy (text columns as object dtype); ``frame`` is not modified.
    """
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise).astype(object)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def _tabular(incidents: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(incidents.drop(columns="geometry", errors="ignore"))
    first = [c for c in _FIRST if c in frame.columns]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].map(lambda v: None if pd.isna(v) else v.isoformat())
    return frame


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as the CSV a spreadsheet opens safely: UTF-8 with BOM (Excel shows
    Vietnamese correctly), formula-like cells and column names neutralised, CRLF rows.

    CRLF as the row end (as Excel writes) makes the writer quote every cell or name that
    holds a CR or LF, so such a cell stays one cell instead of splitting its row.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as it should read (column names included).

    Returns
    -------
    bytes
        The CSV file's bytes.
    """
    text = neutralise_frame(frame).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def to_csv(incidents: pd.DataFrame, path: str | Path) -> Path:
    """:func:`csv_bytes` of the incidents: UTF-8 with BOM, formulas neutralised, CRLF rows.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Incidents as read from the store (a geometry column is dropped; instants become
        ISO 8601 text).
    path : str or pathlib.Path
        The ``.csv`` file to write (overwritten).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.write_bytes(csv_bytes(_tabular(incidents)))
    return path


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        value = _XML_ILLEGAL.sub("\ufffd", value)
        if len(value) > XLSX_CELL_MAX:
            value = value[: XLSX_CELL_MAX - 1] + "…"
    return value


def to_xlsx(incidents: pd.DataFrame, path: str | Path, *, sheet: str = "incidents") -> Path:
    """One sheet; formulas neutralised, control characters replaced, long cells cut.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Incidents as read from the store (a geometry column is dropped).
    path : str or pathlib.Path
        The ``.xlsx`` file to write (overwritten).
    sheet : str
        The sheet name.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    frame = neutralise_frame(_tabular(incidents))
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(_xlsx_cell)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name=sheet, index=False)
    return path


def _gis_frame(incidents: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = incidents.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].map(lambda v: None if pd.isna(v) else v.isoformat())
        elif str(out[column].dtype) in ("Int64", "boolean"):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def to_gpkg(incidents: gpd.GeoDataFrame, path: str | Path, *, layer: str = "incidents") -> Path:
    """A GeoPackage (EPSG:4326 points) that QGIS opens as is.

    Parameters
    ----------
    incidents : geopandas.GeoDataFrame
        Incidents as read from the store (EPSG:4326 points; instants become ISO 8601 text).
    path : str or pathlib.Path
        The ``.gpkg`` file, replaced if it exists.
    layer : str
        The layer name inside the GeoPackage.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    _gis_frame(incidents).to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
    return path


def to_geojson(incidents: gpd.GeoDataFrame, path: str | Path) -> Path:
    """A GeoJSON file (EPSG:4326 points, RFC 7946) for web maps and other tools.

    Parameters
    ----------
    incidents : geopandas.GeoDataFrame
        Incidents as read from the store (instants become ISO 8601 text).
    path : str or pathlib.Path
        The ``.geojson`` file, replaced if it exists.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    _gis_frame(incidents).to_file(path, driver="GeoJSON", engine="pyogrio")
    return path


def _iso(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_convert(LOCAL_TZ).isoformat()


def open311_requests(
    incidents: pd.DataFrame, ward_names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Open311 GeoReport v2 service requests, one per incident.

    ``status`` is open/closed; the workflow state is in ``status_notes``. The responsible
    agency is the ward (its name when ``ward_names`` knows it). Times are ISO 8601 in
    Hà Nội time, as GeoReport v2 asks for local time with offset.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Incidents as read from the store (``id``, ``status``, ``type``, ``ward_code``,
        ``lat``/``lon`` in EPSG:4326, UTC instants …).
    ward_names : mapping of str to str or None
        Ward code -> name, for ``agency_responsible``.

    Returns
    -------
    list of dict
        One GeoReport v2 request per incident, in the frame's order.
    """
    names = dict(ward_names or {})
    out = []
    for row in incidents.to_dict("records"):
        state = str(row.get("status"))
        label = _STATE_LABELS.get(state)
        kind = _TYPE_LABELS.get(str(row.get("type")))
        ward = row.get("ward_code")
        description = " — ".join(
            str(v) for v in (row.get("type_text"), row.get("note")) if isinstance(v, str) and v.strip()
        )
        out.append(
            {
                "service_request_id": str(row["id"]),
                "status": "closed" if state in CLOSED_STATES else "open",
                "status_notes": f"{state}: {label.label_vi} / {label.label_en}" if label else state,
                "service_code": row.get("type"),
                "service_name": f"{kind.label_vi} / {kind.label_en}" if kind else row.get("type"),
                "description": description or None,
                "agency_responsible": names.get(ward, ward) if isinstance(ward, str) else None,
                "service_notice": None,
                "requested_datetime": _iso(row.get("reported_at")),
                "updated_datetime": _iso(row.get("updated_at")),
                "expected_datetime": _iso(row.get("due_at")),
                "address": row.get("address") if isinstance(row.get("address"), str) else None,
                "address_id": None,
                "zipcode": None,
                "lat": None if pd.isna(row.get("lat")) else float(row["lat"]),
                "long": None if pd.isna(row.get("lon")) else float(row["lon"]),
                "media_url": row.get("media_url") if isinstance(row.get("media_url"), str) else None,
            }
        )
    return out


def to_open311(
    incidents: pd.DataFrame, path: str | Path, ward_names: Mapping[str, str] | None = None
) -> Path:
    """The Open311 GeoReport v2 requests as one JSON file, for city systems that speak it.

    Parameters
    ----------
    incidents : pandas.DataFrame
        Incidents as read from the store.
    path : str or pathlib.Path
        The ``.json`` file to write (UTF-8, overwritten).
    ward_names : mapping of str to str or None
        Ward code -> name, for ``agency_responsible``.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    payload = open311_requests(incidents, ward_names)
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write(
    incidents: gpd.GeoDataFrame,
    fmt: str,
    path: str | Path,
    *,
    ward_names: Mapping[str, str] | None = None,
) -> Path:
    """Write ``incidents`` (as read from the store) in one of :data:`FORMATS`.

    Parameters
    ----------
    incidents : geopandas.GeoDataFrame
        Incidents as read from the store.
    fmt : str
        One of :data:`FORMATS`: ``gpkg``, ``geojson``, ``csv``, ``xlsx``, ``open311``.
    path : str or pathlib.Path
        The file to write.
    ward_names : mapping of str to str or None
        Ward code -> name; adds a ``ward_name`` column when the frame has none.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    geo.errors.StorageError
        ``fmt`` is not one of :data:`FORMATS`.
    """
    check_format(fmt)
    frame = incidents
    if ward_names and "ward_code" in frame.columns and "ward_name" not in frame.columns:
        frame = frame.copy()
        frame.insert(1, "ward_name", frame["ward_code"].map(dict(ward_names)))
    if fmt == "gpkg":
        return to_gpkg(frame, path)
    if fmt == "geojson":
        return to_geojson(frame, path)
    if fmt == "csv":
        return to_csv(frame, path)
    if fmt == "xlsx":
        return to_xlsx(frame, path)
    return to_open311(frame, path, ward_names)


def check_format(fmt: str) -> str:
    """An export format we can write, checked before any work so a typo fails fast.

    Parameters
    ----------
    fmt : str
        The format asked for.

    Returns
    -------
    str
        ``fmt``, one of :data:`FORMATS`.

    Raises
    ------
    geo.errors.StorageError
        ``fmt`` is not one of :data:`FORMATS`.
    """
    if fmt not in FORMATS:
        raise StorageError(
            f"Định dạng xuất không hỗ trợ {fmt!r}; dùng một trong: {', '.join(FORMATS)}.",
            f"Unsupported export format {fmt!r}; use one of: {', '.join(FORMATS)}.",
        )
    return fmt


def with_photos(store: Store, incidents: gpd.GeoDataFrame, fmt: str) -> gpd.GeoDataFrame:
    """The photo evidence an export carries (issue 13).

    GeoPackage and GeoJSON get ``n_photos`` and ``photo_flags`` (the distinct flags of
    the incident's photos, comma-joined); Open311 gets ``media_url``, the thumbnail of
    the first after photo, when ``GEO_PUBLIC_MEDIA_URL`` says where thumbnails are public.

    Parameters
    ----------
    store : Store
        The store.
    incidents : gpd.GeoDataFrame
        The incidents to export.
    fmt : str
        The export format.

    Returns
    -------
    geopandas.GeoDataFrame
        ``incidents``, with the columns the format carries.
    """
    if fmt in ("gpkg", "geojson"):
        return with_photo_counts(incidents, stored_photos.summary(store))
    base = settings.public_media_url()
    if fmt == "open311" and base:
        after = stored_photos.first_after(store)
        out = incidents.copy()
        out["media_url"] = [thumbnail_url(base, after[i]) if i in after else None for i in out["id"]]
        return out
    return incidents


def export(
    store: Store,
    fmt: str,
    out: str | Path | None = None,
    flt: IncidentFilter | None = None,
    *,
    limit: int | None = None,
) -> Path | bytes:
    """Export the incidents ``flt`` selects, with ward names, in one of :data:`FORMATS`.

    Parameters
    ----------
    store
        The store.
    fmt
        One of :data:`FORMATS`.
    out
        The file to write; None returns the file's bytes instead (for a download button).
    flt
        Which incidents (None: all).
    limit
        At most this many (the lowest ids).

    Returns
    -------
    pathlib.Path or bytes
        ``out``, or the bytes of the file.
    """
    check_format(fmt)
    incidents = with_photos(store, queries.incidents(store, flt, limit=limit), fmt)
    wards = stored_wards.current(store)
    names = dict(zip(wards["code"], wards["name"], strict=True))
    if out is not None:
        return write(incidents, fmt, out, ward_names=names)
    with tempfile.TemporaryDirectory() as tmp:
        path = write(incidents, fmt, Path(tmp) / f"export.{fmt}", ward_names=names)
        return path.read_bytes()
