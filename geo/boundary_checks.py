"""Checks that a candidate ward layer can be the official one, before anything is stored.

The administration page and ``python -m geo boundaries replace`` show
:func:`preview_boundaries`' report first; :func:`geo.services.replace_boundaries` stores
only a layer that :func:`check_boundary_layer` accepts. A layer is refused when a unit
matches no official ward, a code repeats, or polygons lie far from their ward's official
location (a wrong code or, for most wards at once, a wrong CRS). Nothing here reads or
writes the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geo.errors import BoundaryError

if TYPE_CHECKING:
    import geopandas as gpd

#: A ward whose polygon lies farther than this from its official location is refused:
#: a wrong code, or (for most wards at once) a wrong CRS.
MAX_WARD_OFFSET_M = 2000.0


@dataclass
class BoundaryPreview:
    """A candidate ward layer after its checks: what the admin page shows before confirming."""

    layer: gpd.GeoDataFrame
    report: dict[str, Any]
    refusal: BoundaryError | None = None


def preview_boundaries(
    layer: gpd.GeoDataFrame | str | Path, *, crs: Any = None, source: str | None = None
) -> BoundaryPreview:
    """Read and check a candidate ward layer; nothing is written.

    ``layer`` is shaped like :func:`geo.boundaries.load_boundaries`' output, ``report`` is
    :func:`geo.boundaries.check_layer`'s, and ``refusal`` says why the layer cannot be the
    official one: units whose name or code matches no official ward, duplicate codes, or
    polygons far from their ward's official location (a wrong CRS or wrong codes). A file
    that cannot be read at all (no CRS, broken) raises instead.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame or str or pathlib.Path
        The candidate layer, or its file.
    crs : Any
        The CRS to assume when the layer declares none.
    source : str or None
        The name used in messages (default: the path, or ``"(layer)"``).

    Returns
    -------
    BoundaryPreview
        The candidate layer, its report as a dict, and the refusal (None when acceptable).

    Raises
    ------
    geo.errors.BoundaryError
        The file cannot be read or is not a polygon layer.
    geo.errors.CRSError
        The layer has no usable CRS.
    """
    from geo.boundaries import check_layer, read_layer
    from geo.crs import require_crs, to_storage

    if isinstance(layer, str | Path):
        name = source or str(layer)
        raw = read_layer(layer, crs=crs)
    else:
        name = source or "(layer)"
        raw = to_storage(require_crs(layer, source=name, crs=crs))
    clean, report = check_layer(raw, source=name)
    candidate = _trusted_or_clean(raw, clean)
    refusal: BoundaryError | None = None
    try:
        _refuse_unmatched(candidate, report.unmatched, name)
        _refuse_misplaced(candidate, name)
    except BoundaryError as exc:
        refusal = exc
    return BoundaryPreview(candidate, report.as_dict(), refusal)


def check_boundary_layer(
    layer: gpd.GeoDataFrame | str | Path, *, crs: Any = None, source: str | None = None
) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    """:func:`preview_boundaries`, raising its refusal: the layer to store and its report.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame or str or pathlib.Path
        The candidate layer, or its file.
    crs : Any
        The CRS to assume when the layer declares none.
    source : str or None
        The name used in messages.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, dict)
        The layer to store (EPSG:4326) and its check report.

    Raises
    ------
    geo.errors.BoundaryError
        The layer is unreadable, or refused (unmatched names/codes, duplicates, misplaced).
    geo.errors.CRSError
        The layer has no usable CRS.
    """
    checked = preview_boundaries(layer, crs=crs, source=source)
    if checked.refusal is not None:
        raise checked.refusal
    return checked.layer, checked.report


def _trusted_or_clean(raw: gpd.GeoDataFrame, clean: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A frame already in the project's shape keeps its own names (as ``load_boundaries``)."""
    from geo.boundaries import COLUMNS, repair

    if not (set(COLUMNS) <= set(raw.columns) and raw["code"].notna().all()):
        return clean
    own = raw[COLUMNS].copy()
    own["code"] = own["code"].astype(str).str.zfill(5)
    own["population"] = pd.to_numeric(own["population"], errors="coerce").astype("Int64")
    return repair(own.sort_values("code").reset_index(drop=True))[0]


def _refuse_unmatched(layer: gpd.GeoDataFrame, unmatched: list[str], source: str) -> None:
    from geo.admin_units import official_wards

    official = set(official_wards()["code"].astype(str))
    codes = layer["code"]
    unknown = sorted({str(c) for c in codes.dropna() if str(c) not in official})
    problems = [*unmatched, *unknown]
    if problems:
        shown = ", ".join(problems[:10]) + (" …" if len(problems) > 10 else "")
        raise BoundaryError(
            f"{source}: {len(problems)} đơn vị không khớp phường, xã chính thức nào ({shown}); "
            "lớp không được nạp. Sửa tên hoặc mã (cột code, 5 chữ số) rồi thử lại.",
            f"{source}: {len(problems)} unit(s) match no official ward ({shown}); the layer "
            "was not loaded. Fix their names or codes (a 5-digit code column) and try again.",
        )
    duplicated = sorted({str(c) for c in codes[codes.duplicated()].dropna()})
    if duplicated:
        raise BoundaryError(
            f"{source}: mã phường lặp lại ({', '.join(duplicated[:10])}); mỗi phường chỉ một vùng.",
            f"{source}: repeated ward code(s) ({', '.join(duplicated[:10])}); one polygon per ward.",
        )


def _refuse_misplaced(layer: gpd.GeoDataFrame, source: str) -> None:
    """Each polygon must lie near its ward's official point (UTM 48N distances)."""
    import geopandas as gpd

    from geo.admin_units import official_wards
    from geo.crs import METRIC_CRS

    points = official_wards()[["code", "lat", "lon"]].astype({"code": str})
    placed = layer[["code", "geometry"]].merge(points, on="code", how="inner")
    if placed.empty:
        return
    where = gpd.GeoSeries(gpd.points_from_xy(placed["lon"], placed["lat"]), crs="EPSG:4326")
    offset = gpd.GeoSeries(placed.geometry.to_numpy(), crs=layer.crs).to_crs(METRIC_CRS).distance(
        where.to_crs(METRIC_CRS), align=False
    )
    near = offset.to_numpy() <= MAX_WARD_OFFSET_M  # NaN (degrees out of range) is not near
    far = placed.loc[~near, "code"].astype(str).tolist()
    if len(far) > len(placed) / 2:
        raise BoundaryError(
            f"{source}: {len(far)}/{len(placed)} phường nằm cách vị trí chính thức hơn "
            f"{MAX_WARD_OFFSET_M / 1000:g} km — hệ toạ độ (CRS) của lớp sai. Hãy chỉ rõ CRS "
            "đúng (ví dụ VN-2000 EPSG:5897).",
            f"{source}: {len(far)}/{len(placed)} wards lie more than "
            f"{MAX_WARD_OFFSET_M / 1000:g} km from their official location — the layer's CRS "
            "is wrong. State the right one (e.g. VN-2000 EPSG:5897).",
        )
    if far:
        shown = ", ".join(far[:10])
        raise BoundaryError(
            f"{source}: vùng của mã {shown} nằm cách vị trí chính thức của phường đó hơn "
            f"{MAX_WARD_OFFSET_M / 1000:g} km — mã gán sai?",
            f"{source}: the polygon of code(s) {shown} lies more than "
            f"{MAX_WARD_OFFSET_M / 1000:g} km from that ward's official location — wrong code?",
        )
