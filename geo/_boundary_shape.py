"""The project's shape of a ward layer: standard columns, official codes, repairs and checks.

Every layer, whatever it was read from, gets the same :data:`COLUMNS` and official codes
(:func:`standardise`), valid geometries (:func:`repair`) and a measured report of what
was wrong (:func:`check_layer`), so that assignment, storage and maps can rely on one
shape. Overlaps and gaps are measured in metres (EPSG:32648), never in degrees.
:mod:`geo.boundaries` re-exports the public names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.admin_units import canonical_names, codes_by_name
from geo.crs import METRIC_CRS
from geo.errors import BoundaryError
from geo.names import nfc, unit_kind

COLUMNS = ["code", "name", "name_en", "kind", "area_km2", "population", "osm_id", "geometry"]

_CODE_COLUMNS = ("code", "ma", "ma_xa", "ma_phuong", "wardcode", "ward_code", "maxa")
_NAME_COLUMNS = ("fullname", "full_name", "name", "ten", "ten_xa", "ward", "name_vi")
_NAME_EN_COLUMNS = ("name_en", "nameen", "fullnameen", "name:en")
_POP_COLUMNS = ("population", "dan_so", "danso", "pop")


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
