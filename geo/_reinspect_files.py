"""The files of a re-inspection round (:func:`geo.reinspect.due_list`): CSV, XLSX, GeoJSON, GPX.

Officers open these on a phone or in Excel, so each format is made safe for where it is
read: formulas neutralised (CSV, XLSX), control characters replaced (XML cannot hold
them), long cells cut to what Excel keeps, and a GPX route in walking order that a map
app can follow. Public names are re-exported by :mod:`geo.reinspect`.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import InvalidArgument
from geo.exports import XLSX_CELL_MAX, neutralise_frame
from geo.safe_text import display_text

FORMATS: tuple[str, ...] = ("csv", "xlsx", "geojson", "gpx")
GPX_NS = "http://www.topografix.com/GPX/1/1"
_XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
#: Columns of a due list, in order (and of every file written from one).
DUE_COLUMNS: tuple[str, ...] = (
    "ward_code", "stop", "place_id", "address", "street", "type", "cleared_date",
    "days_since_clearance", "check_day", "due_date", "days_overdue", "lat", "lon",
)  # fmt: skip


def _plain(value: Any) -> Any:
    """JSON/CSV-ready: ISO dates, None for missing, Python numbers."""
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value.astype("datetime64[D]"))
    if isinstance(value, pd.Timestamp | dt.date):
        return value.strftime("%Y-%m-%d")
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    return value


def _records(due: pd.DataFrame) -> list[dict[str, Any]]:
    table = due[list(DUE_COLUMNS)].astype(object)
    for column in ("cleared_date", "due_date"):
        days = pd.to_datetime(due[column])
        table[column] = days.dt.strftime("%Y-%m-%d").astype(object).where(days.notna(), None)
    return [{str(k): _plain(v) for k, v in row.items()} for row in table.to_dict("records")]


def _sheet(due: pd.DataFrame) -> pd.DataFrame:
    """The due list as spreadsheet cells, formulas neutralised: the CSV and the XLSX are
    both opened in Excel, so both are made safe the same way."""
    return neutralise_frame(pd.DataFrame(_records(due), columns=list(DUE_COLUMNS)))


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = display_text(value)  # XML 1.0 cannot hold control characters at all
        if len(value) > XLSX_CELL_MAX:
            value = value[: XLSX_CELL_MAX - 1] + "…"
    return value


def to_csv(due: pd.DataFrame, path: str | Path) -> Path:
    """UTF-8 with BOM (Excel shows Vietnamese), CRLF rows, formulas neutralised.

    Parameters
    ----------
    due
        A due list.
    path
        The file to write.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    table = _sheet(due)
    table.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def to_xlsx(due: pd.DataFrame, path: str | Path) -> Path:
    """One sheet, formulas neutralised, control characters replaced, long cells cut.

    Parameters
    ----------
    due
        A due list.
    path
        The file to write.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    table = _sheet(due)
    for column in table.columns:
        table[column] = table[column].map(_cell)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name="re-inspection", index=False)
    return path


def to_geojson(due: pd.DataFrame, path: str | Path) -> Path:
    """RFC 7946 FeatureCollection of points (lon, lat); unlocated places get a null geometry.

    Parameters
    ----------
    due
        A due list.
    path
        The file to write.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    features = []
    for row in _records(due):
        located = row["lon"] is not None and row["lat"] is not None
        geometry = {"type": "Point", "coordinates": [row["lon"], row["lat"]]} if located else None
        features.append({"type": "Feature", "geometry": geometry, "properties": row})
    payload = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def _waypoint_name(row: Mapping[str, Any]) -> str:
    return f"{row['stop']}. #{row['place_id']} {row['type']} ({row['check_day']} ngày/days)"


def _waypoint_desc(row: Mapping[str, Any]) -> str:
    when = (
        f"xử lý / cleared {row['cleared_date']}, {row['days_since_clearance']} ngày/days; "
        f"hạn kiểm tra / check due {row['due_date']}"
    )
    where = row["address"] or row["street"]
    return f"{where} — {when}" if where else when


def to_gpx(due: pd.DataFrame, path: str | Path, *, name: str = "Tái kiểm tra / Re-inspection") -> Path:
    """GPX 1.1: one waypoint per located place (name, desc, type) and one route through
    them in walking order, so a phone's map app shows the stops and the round.

    Parameters
    ----------
    due
        A due list.
    path
        The file to write.
    name
        The GPX metadata name.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    ET.register_namespace("", GPX_NS)
    ET.register_namespace("xsi", _XSI_NS)
    root = ET.Element(
        f"{{{GPX_NS}}}gpx",
        {
            "version": "1.1",
            "creator": "hanoi-urban-order",
            f"{{{_XSI_NS}}}schemaLocation": f"{GPX_NS} {GPX_NS}/gpx.xsd",
        },
    )
    metadata = ET.SubElement(root, f"{{{GPX_NS}}}metadata")
    ET.SubElement(metadata, f"{{{GPX_NS}}}name").text = display_text(name)
    rows = [r for r in _records(due) if r["lon"] is not None and r["lat"] is not None]
    for row in rows:
        point = ET.SubElement(root, f"{{{GPX_NS}}}wpt", _latlon(row))
        ET.SubElement(point, f"{{{GPX_NS}}}name").text = display_text(_waypoint_name(row))
        ET.SubElement(point, f"{{{GPX_NS}}}desc").text = display_text(_waypoint_desc(row))
        ET.SubElement(point, f"{{{GPX_NS}}}type").text = display_text(row["type"])
    route = ET.SubElement(root, f"{{{GPX_NS}}}rte")
    ET.SubElement(route, f"{{{GPX_NS}}}name").text = display_text(name)
    for row in rows:
        stop = ET.SubElement(route, f"{{{GPX_NS}}}rtept", _latlon(row))
        ET.SubElement(stop, f"{{{GPX_NS}}}name").text = display_text(_waypoint_name(row))
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="UTF-8", xml_declaration=True)
    return path


def _latlon(row: Mapping[str, Any]) -> dict[str, str]:
    return {"lat": f"{row['lat']:.7f}", "lon": f"{row['lon']:.7f}"}


def write_due_list(due: pd.DataFrame, fmt: str, path: str | Path) -> Path:
    """Write a :func:`geo.reinspect.due_list` in one of :data:`FORMATS`.

    Parameters
    ----------
    due
        A due list.
    fmt
        One of :data:`FORMATS`.
    path
        The file to write.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    writers = {"csv": to_csv, "xlsx": to_xlsx, "geojson": to_geojson, "gpx": to_gpx}
    if fmt not in writers:
        raise InvalidArgument(
            f"Định dạng {fmt!r} không hỗ trợ; dùng một trong: {', '.join(FORMATS)}.",
            f"Unsupported format {fmt!r}; use one of: {', '.join(FORMATS)}.",
        )
    return writers[fmt](due, path)
