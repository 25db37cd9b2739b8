"""A synthetic sample of sustained order (issue 12): campaign wards, steady wards, Hàng Mã.

The main sample (:mod:`geo.sample`) scatters single reports; it cannot show whether a
clearance lasts. This one follows *places* through time, so a newcomer sees the two
patterns the measures are built to tell apart:

- **campaign** wards clear every place in one week of October, then most places are
  reported again within weeks (the 2017 sidewalk campaign's story);
- **steady** wards clear a few places every week from July and check them at 7, 30 and
  90 days; few come back;
- **Hàng Mã** (Hoàn Kiếm): awnings removed in mid-August along the street, checked after
  7, 30 and 90 days, some returning.

Two files in the formats a ward sends: incidents (the sample's own columns; recurrences
are new reports at the same spot, linked at ingest) and re-inspection results (lat/lon,
date, result), matched to places by the rule. Every row is labelled synthetic.
Deterministic for a seed and layers.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.sample import COLUMNS, ID_PREFIX, STATUS_TEXTS, SYNTHETIC_LABEL

#: Ward codes of each pattern (Hoàn Kiếm holds Hàng Mã).
CAMPAIGN_WARDS: tuple[str, ...] = ("00004", "00008", "00025")
STEADY_WARDS: tuple[str, ...] = ("00082", "00091", "00097")
HANG_MA_WARD = "00070"
HANG_MA = "Hàng Mã"
#: Columns of the results file.
RESULT_COLUMNS: tuple[str, ...] = (
    "vĩ độ", "kinh độ", "loại vi phạm", "ngày tái kiểm tra", "kết quả", "ghi chú",
)  # fmt: skip
AS_OF = pd.Timestamp("2026-01-01 00:00")  # Hà Nội time; nothing is dated after it
_SPACING_M = 40.0  # places of one ward this far apart (more than the 15 m radius)
_TEXT = {"sidewalk": "Lấn chiếm vỉa hè", "awning": "Mái che, mái vảy", "parking": "Đỗ xe trái phép"}


def _grid_points(polygon: shapely.Geometry, n: int) -> np.ndarray:
    """``n`` points inside ``polygon`` (metres) on a grid around its centre, nearest first."""
    centre = polygon.representative_point()
    side = int(np.ceil(np.sqrt(n * 4))) + 2
    offsets = (np.arange(side) - side // 2) * _SPACING_M
    gx, gy = np.meshgrid(centre.x + offsets, centre.y + offsets)
    pts = np.c_[gx.ravel(), gy.ravel()]
    inside = shapely.contains_xy(polygon.buffer(-20), pts[:, 0], pts[:, 1])
    pts = pts[inside]
    order = np.argsort(np.hypot(pts[:, 0] - centre.x, pts[:, 1] - centre.y), kind="stable")
    return pts[order][:n]


def _street_points(streets: gpd.GeoDataFrame, n: int) -> np.ndarray:
    line = shapely.line_merge(shapely.union_all(streets.loc[streets["name"] == HANG_MA].to_crs(METRIC_CRS).geometry))
    if isinstance(line, shapely.MultiLineString):
        line = max(line.geoms, key=lambda g: g.length)
    spots = [line.interpolate(d) for d in np.linspace(10, max(line.length - 10, 10), n)]
    return np.array([[p.x, p.y] for p in spots])


class _Writer:
    """Rows of both files, in incident order."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.incidents: list[dict[str, object]] = []
        self.results: list[dict[str, object]] = []

    def report(self, lonlat: tuple[float, float], ward: str, type_code: str, reported: pd.Timestamp,
               cleared: pd.Timestamp | None, address: str, note: str) -> None:  # fmt: skip
        n = len(self.incidents) + 1
        self.incidents.append({
            "mã": f"{ID_PREFIX}S2025-{n:05d}", "loại vi phạm": _TEXT[type_code],
            "trạng thái": STATUS_TEXTS["cleared" if cleared is not None else "reported"],
            "ngày phát hiện": reported.strftime("%d/%m/%Y %H:%M"),
            "ngày xử lý": "" if cleared is None else cleared.strftime("%d/%m/%Y %H:%M"),
            "vĩ độ": f"{lonlat[1]:.6f}", "kinh độ": f"{lonlat[0]:.6f}", "địa chỉ": address,
            "phường": ward, "ghi chú": note, "nguồn dữ liệu": SYNTHETIC_LABEL,
        })  # fmt: skip

    def check(self, lonlat: tuple[float, float], when: pd.Timestamp, clear: bool, note: str = "",
              type_code: str = "sidewalk") -> None:  # fmt: skip
        if when >= AS_OF:
            return
        self.results.append({
            "vĩ độ": f"{lonlat[1]:.6f}", "kinh độ": f"{lonlat[0]:.6f}", "loại vi phạm": _TEXT[type_code],
            "ngày tái kiểm tra": when.strftime("%d/%m/%Y %H:%M"),
            "kết quả": "còn thông thoáng" if clear else "tái vi phạm", "ghi chú": note,
        })  # fmt: skip

    def day(self, start: str, spread_days: int) -> pd.Timestamp:
        base = pd.Timestamp(start)
        return base + pd.Timedelta(minutes=int(self.rng.integers(0, spread_days * 24 * 60)))


def _campaign(w: _Writer, points: list[tuple[float, float]], ward: str, name: str) -> None:
    for k, spot in enumerate(points):
        reported = w.day("2025-09-22 07:00", 10)
        cleared = w.day("2025-10-06 08:00", 6)  # the campaign week
        w.report(spot, name, "sidewalk", reported, cleared, f"Điểm {k + 1}, {name}", "chiến dịch ra quân")
        back = w.rng.random() < 0.6
        comes_back = cleared + pd.Timedelta(days=float(w.rng.uniform(12, 35))) if back else None
        if w.rng.random() < 0.5:
            w.check(spot, cleared + pd.Timedelta(days=7, hours=2), True)
        if comes_back is None:
            if w.rng.random() < 0.5:
                w.check(spot, cleared + pd.Timedelta(days=30, hours=3), True)
            continue
        w.report(spot, name, "sidewalk", comes_back, None, f"Điểm {k + 1}, {name}", "tái lấn chiếm")


def _steady(w: _Writer, points: list[tuple[float, float]], ward: str, name: str) -> None:
    for k, spot in enumerate(points):
        reported = w.day("2025-07-01 07:00", 130)
        cleared = reported + pd.Timedelta(hours=float(w.rng.uniform(4, 48)))
        w.report(spot, name, "parking", reported, cleared, f"Điểm {k + 1}, {name}", "xử lý thường xuyên")
        if w.rng.random() < 0.1:
            back = cleared + pd.Timedelta(days=float(w.rng.uniform(60, 100)))
            if back < AS_OF:
                w.check(spot, cleared + pd.Timedelta(days=7, hours=1), True, type_code="parking")
                w.check(spot, cleared + pd.Timedelta(days=30, hours=1), True, type_code="parking")
                w.report(spot, name, "parking", back, None, f"Điểm {k + 1}, {name}", "tái phạm")
                continue
        for day in (7, 30, 90):
            w.check(spot, cleared + pd.Timedelta(days=day, hours=1), True, type_code="parking")


def _hang_ma(w: _Writer, points: list[tuple[float, float]], name: str) -> None:
    for k, spot in enumerate(points):
        address = f"{10 + 2 * k} {HANG_MA}"
        reported = w.day("2025-08-04 08:00", 6)
        cleared = w.day("2025-08-14 08:00", 3)  # awnings taken down
        w.report(spot, name, "awning", reported, cleared, address, "tháo dỡ mái che")
        w.check(spot, cleared + pd.Timedelta(days=7, hours=2), True, type_code="awning")
        if k % 3 == 1:  # every third shop puts its awning back
            if k % 2:
                w.check(spot, cleared + pd.Timedelta(days=30, hours=2), False, "dựng lại mái che", "awning")
            else:
                w.report(spot, name, "awning", cleared + pd.Timedelta(days=float(w.rng.uniform(35, 60))),
                         None, address, "dựng lại mái che")  # fmt: skip
            continue
        w.check(spot, cleared + pd.Timedelta(days=30, hours=2), True, type_code="awning")
        w.check(spot, cleared + pd.Timedelta(days=90, hours=2), True, type_code="awning")


def sustain_sample(
    wards: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, *, seed: int = 12
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(incidents, results) of the patterns in the module docstring.

    Parameters
    ----------
    wards
        The ward layer (``code``, ``name``).
    streets
        The street layer (``name``), holding Hàng Mã.
    seed
        The random seed.

    Returns
    -------
    tuple of pandas.DataFrame
        The incidents (the sample's columns) and the results (:data:`RESULT_COLUMNS`).
    """
    rng = np.random.default_rng(seed)
    w = _Writer(rng)
    metric = wards.to_crs(METRIC_CRS).set_index("code")
    to_lonlat = gpd.GeoSeries(crs=METRIC_CRS)

    def lonlat(points: np.ndarray) -> list[tuple[float, float]]:
        geo = gpd.GeoSeries(gpd.points_from_xy(points[:, 0], points[:, 1]), crs=to_lonlat.crs)
        geo = geo.to_crs(STORAGE_CRS)
        return list(zip(geo.x.round(6), geo.y.round(6), strict=True))

    for code in CAMPAIGN_WARDS:
        _campaign(w, lonlat(_grid_points(metric.loc[code].geometry, 90)), code, metric.loc[code, "name"])
    for code in STEADY_WARDS:
        _steady(w, lonlat(_grid_points(metric.loc[code].geometry, 25)), code, metric.loc[code, "name"])
    _hang_ma(w, lonlat(_street_points(streets, 12)), metric.loc[HANG_MA_WARD, "name"])
    incidents = pd.DataFrame(w.incidents, columns=list(COLUMNS))
    # incident order is report order: recurrences after the clearances they follow
    order = pd.to_datetime(incidents["ngày phát hiện"], format="%d/%m/%Y %H:%M").argsort(kind="stable")
    incidents = incidents.iloc[order].reset_index(drop=True)
    incidents["mã"] = [f"{ID_PREFIX}S2025-{n:05d}" for n in range(1, len(incidents) + 1)]
    results = pd.DataFrame(w.results, columns=list(RESULT_COLUMNS))
    at = pd.to_datetime(results["ngày tái kiểm tra"], format="%d/%m/%Y %H:%M")
    results = results.iloc[at.argsort(kind="stable")].reset_index(drop=True)
    return incidents, results


def write_sustain_sample(
    wards: gpd.GeoDataFrame, streets: gpd.GeoDataFrame, out_dir: str | Path, *, seed: int = 12
) -> tuple[Path, Path]:
    """Write ``sample_sustain.csv`` and ``sample_rechecks.csv`` into ``out_dir``.

    Parameters
    ----------
    wards
        The ward layer.
    streets
        The street layer.
    out_dir
        Where to write.
    seed
        The random seed.

    Returns
    -------
    tuple of pathlib.Path
        The incidents file and the results file.
    """
    incidents, results = sustain_sample(wards, streets, seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "sample_sustain.csv", out / "sample_rechecks.csv"
    incidents.to_csv(paths[0], index=False, encoding="utf-8")
    results.to_csv(paths[1], index=False, encoding="utf-8")
    return paths
