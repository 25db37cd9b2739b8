"""GeoJSON point features: properties become columns, the point's coordinates two more."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import IngestError
from geo.ingest._excel import excel_text
from geo.ingest._table import RawTable, unique_headers

#: Column names given to a GeoJSON feature's point coordinates.
GEOM_X = "__geometry_x"
GEOM_Y = "__geometry_y"

def _property_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return excel_text(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _geojson_crs(doc: dict[str, Any]) -> Any:
    """The legacy ``crs`` member (GeoJSON 2008) if any; RFC 7946 files are EPSG:4326."""
    member = doc.get("crs")
    if not isinstance(member, dict):
        return None
    props = member.get("properties") or {}
    name = props.get("name") if isinstance(props, dict) else None
    return name or None


def read_geojson(text: str, file_name: str) -> RawTable:
    """Read GeoJSON point features: properties become columns, coordinates two more.

    Parameters
    ----------
    text : str
        The decoded file.
    file_name : str
        The name shown in messages.

    Returns
    -------
    RawTable
        One row per feature; a feature that is not a point is marked
        ``geometry_not_point`` (its properties may still carry coordinates).

    Raises
    ------
    IngestError
        The text is not JSON, or not a Feature or FeatureCollection.
    """
    doc, features = _features(text, file_name)
    records: list[dict[str, str]] = []
    xs = np.full(len(features), np.nan)
    ys = np.full(len(features), np.nan)
    problems = np.full(len(features), "", dtype=object)
    for i, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        records.append(
            {str(k): _property_text(v) for k, v in props.items()} if isinstance(props, dict)
            else {}
        )  # fmt: skip
        point = _point(feature)
        if point is None:
            problems[i] = "geometry_not_point"
        elif point:
            xs[i], ys[i] = point
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame = frame.reindex(range(len(features)))
    frame = frame.astype(object).fillna("")
    frame.columns = pd.Index(unique_headers([str(c) for c in frame.columns]), dtype=object)
    for column in frame.columns:
        frame[column] = frame[column].astype(str)
    if not np.isnan(xs).all():  # else the properties must carry the coordinates
        frame[GEOM_X] = [repr(float(v)) if v == v else "" for v in xs]
        frame[GEOM_Y] = [repr(float(v)) if v == v else "" for v in ys]
    return RawTable(
        frame,
        np.arange(1, len(features) + 1, dtype=np.int64),
        "geojson",
        encoding="utf-8",
        geometry_crs=_geojson_crs(doc) if isinstance(doc, dict) else None,
        row_problems=problems,
    )


def _features(text: str, file_name: str) -> tuple[Any, list[Any]]:
    """(the parsed document, its features)."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise IngestError(
            f"{file_name}: GeoJSON không hợp lệ: {exc}", f"{file_name}: invalid GeoJSON: {exc}"
        ) from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        return doc, [doc]
    if isinstance(doc, dict) and isinstance(doc.get("features"), list):
        return doc, list(doc["features"])
    raise IngestError(
        f"{file_name}: không phải FeatureCollection GeoJSON.",
        f"{file_name}: not a GeoJSON FeatureCollection.",
    )


def _point(feature: Any) -> tuple[float, float] | tuple[()] | None:
    """A feature's (x, y); () without a geometry; None when it is not a point."""
    if not isinstance(feature, dict):
        return None
    geom = feature.get("geometry")
    if geom is None:
        return ()  # the properties may still carry coordinates
    coords = geom.get("coordinates") if isinstance(geom, dict) else None
    kind = geom.get("type") if isinstance(geom, dict) else None
    if kind == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Point", coords[0]
    if kind != "Point" or not isinstance(coords, list) or len(coords) < 2:
        return None
    try:
        return float(coords[0]), float(coords[1])
    except (TypeError, ValueError):
        return None
