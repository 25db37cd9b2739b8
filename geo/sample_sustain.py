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
from scipy.spatial import cKDTree

from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.sample import COLUMNS, ID_PREFIX, STATUS_TEXTS, SYNTHETIC_LABEL
from geo.vocab import type_codes

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


#: A spot is kept farther than this from every report of the main sample (:mod:`geo.sample`)
#: of its type: seeded together, such a report within the place radius (15 m) would share
#: the spot's place and, open, keep its re-inspections from being accepted (``not_cleared``).
_CLEAR_OF_MAIN_M = 16.0


class _Blocked:
    """The main sample's reports in metres, asked "is this spot too close to one?"."""

    def __init__(self, xy: np.ndarray) -> None:
        self.tree = cKDTree(xy) if len(xy) else None

    def free(self, pts: np.ndarray) -> np.ndarray:
        if self.tree is None or not len(pts):
            return np.ones(len(pts), dtype=bool)
        distance, _ = self.tree.query(pts, distance_upper_bound=_CLEAR_OF_MAIN_M)
        return ~np.isfinite(distance)


def _grid_points(polygon: shapely.Geometry, n: int, blocked: _Blocked) -> np.ndarray:
    """``n`` points inside ``polygon`` (metres) on a grid around its centre, nearest first,
    clear of the main sample's reports."""
    centre = polygon.representative_point()
    side = int(np.ceil(np.sqrt(n * 4))) + 2
    offsets = (np.arange(side) - side // 2) * _SPACING_M
    gx, gy = np.meshgrid(centre.x + offsets, centre.y + offsets)
    pts = np.c_[gx.ravel(), gy.ravel()]
    inside = shapely.contains_xy(polygon.buffer(-20), pts[:, 0], pts[:, 1])
    pts = pts[inside & blocked.free(pts)]
    order = np.argsort(np.hypot(pts[:, 0] - centre.x, pts[:, 1] - centre.y), kind="stable")
    return pts[order][:n]


#: Shopfronts stand this far either side of the street's centre line.
_SHOPFRONT_M = 8.0


def _street_points(
    streets: gpd.GeoDataFrame, n: int, blocked: _Blocked, ward: shapely.Geometry
) -> np.ndarray:
    """``n`` shopfronts along Hàng Mã (both sides, inside the ward), spread evenly over the
    street, each clear of the main sample's reports of its type and more than 20 m from
    the others (one place each).

    The main sample reports awnings along Hàng Mã too, so the spots are picked from every
    metre of both building lines rather than at fixed distances.
    """
    line = shapely.line_merge(shapely.union_all(streets.loc[streets["name"] == HANG_MA].to_crs(METRIC_CRS).geometry))
    if isinstance(line, shapely.MultiLineString):
        line = max(line.geoms, key=lambda g: g.length)
    along = np.arange(10.0, max(line.length - 10, 10.0), 1.0)
    sides = []
    for offset in (-_SHOPFRONT_M, _SHOPFRONT_M):
        edge = line.offset_curve(offset)
        # the offset curve's own length differs a little from the line's: measure by fraction
        pts = shapely.get_coordinates(edge.interpolate(along / line.length, normalized=True))
        sides.append(np.c_[pts, along])
    cands = np.concatenate(sides)
    cands = cands[np.argsort(cands[:, 2], kind="stable")]
    keep = blocked.free(cands[:, :2]) & shapely.contains_xy(ward.buffer(-2), cands[:, 0], cands[:, 1])
    picked: list[np.ndarray] = []
    for p in cands[keep, :2]:
        if all(np.hypot(*(p - q)) > _SPACING_M / 2 for q in picked):
            picked.append(p)
    chosen = np.asarray(picked)[np.unique(np.linspace(0, len(picked) - 1, n).round().astype(int))]
    return chosen


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


def main_sample_points(path: str | Path) -> pd.DataFrame:
    """``lon``, ``lat`` and ``type`` (code) of every report of a main sample file
    (:mod:`geo.sample`'s columns) that has coordinates.

    Parameters
    ----------
    path
        The sample CSV.

    Returns
    -------
    pandas.DataFrame
        ``lon``, ``lat``, ``type``.
    """
    frame = pd.read_csv(path, usecols=[COLUMNS[1], COLUMNS[5], COLUMNS[6]], dtype=str,
                        keep_default_na=False)  # fmt: skip
    out = pd.DataFrame({
        "lon": pd.to_numeric(frame[COLUMNS[6]], errors="coerce"),
        "lat": pd.to_numeric(frame[COLUMNS[5]], errors="coerce"),
        "type": type_codes(frame[COLUMNS[1]]),
    })  # fmt: skip
    return out.dropna(subset=["lon", "lat"]).reset_index(drop=True)


def sustain_sample(
    wards: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    *,
    seed: int = 12,
    avoid: pd.DataFrame | None = None,
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
    avoid
        ``lon``, ``lat``, ``type`` of the reports seeded beside this sample
        (:func:`main_sample_points` of the main sample): every spot keeps 16 m from those
        of its type by more than the place radius, so none of them shares a spot's place
        (the app seeds both).

    Returns
    -------
    tuple of pandas.DataFrame
        The incidents (the sample's columns) and the results (:data:`RESULT_COLUMNS`).
    """
    rng = np.random.default_rng(seed)
    w = _Writer(rng)
    metric = wards.to_crs(METRIC_CRS).set_index("code")
    to_lonlat = gpd.GeoSeries(crs=METRIC_CRS)
    near = pd.DataFrame({"lon": [], "lat": [], "type": []}) if avoid is None else avoid
    moved = gpd.GeoSeries(gpd.points_from_xy(near["lon"], near["lat"]), crs=STORAGE_CRS).to_crs(METRIC_CRS)

    def blocked(type_code: str) -> _Blocked:
        mine = (near["type"] == type_code).to_numpy()
        return _Blocked(np.c_[moved.x.to_numpy()[mine], moved.y.to_numpy()[mine]])

    def lonlat(points: np.ndarray) -> list[tuple[float, float]]:
        geo = gpd.GeoSeries(gpd.points_from_xy(points[:, 0], points[:, 1]), crs=to_lonlat.crs)
        geo = geo.to_crs(STORAGE_CRS)
        return list(zip(geo.x.round(6), geo.y.round(6), strict=True))

    for code in CAMPAIGN_WARDS:
        _campaign(w, lonlat(_grid_points(metric.loc[code].geometry, 90, blocked("sidewalk"))), code, metric.loc[code, "name"])
    for code in STEADY_WARDS:
        _steady(w, lonlat(_grid_points(metric.loc[code].geometry, 25, blocked("parking"))), code, metric.loc[code, "name"])
    _hang_ma(w, lonlat(_street_points(streets, 12, blocked("awning"), metric.loc[HANG_MA_WARD].geometry)), metric.loc[HANG_MA_WARD, "name"])
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
    wards: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    out_dir: str | Path,
    *,
    seed: int = 12,
    avoid: pd.DataFrame | None = None,
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
    avoid
        The main sample's reports (see :func:`sustain_sample`).

    Returns
    -------
    tuple of pathlib.Path
        The incidents file and the results file.
    """
    incidents, results = sustain_sample(wards, streets, seed=seed, avoid=avoid)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "sample_sustain.csv", out / "sample_rechecks.csv"
    incidents.to_csv(paths[0], index=False, encoding="utf-8")
    results.to_csv(paths[1], index=False, encoding="utf-8")
    return paths
