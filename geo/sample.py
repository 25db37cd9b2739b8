"""Synthetic incidents that look like a field team's sheet, for demos, tests and benchmarks.

Every row is labelled synthetic (column ``nguồn dữ liệu`` and the ``GL`` id prefix,
"giả lập"), so nobody mistakes it for a real report. The generator is deterministic for a
given seed and layers, and vectorised: a million rows take seconds, because the
benchmark issue builds its 1,000,000-row file with it.

Where the points are: a share lies along real street centrelines of the street layer
(Hàng Mã weighted up, so "Hàng Mã street progress" has something to show); the rest are
random points inside ward polygons, drawn in EPSG:32648, every ward getting some.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo.crs import METRIC_CRS, STORAGE_CRS, to_storage
from geo.errors import BoundaryError
from geo.names import strip_unit_prefix

#: Column headers, as a ward's field team writes them.
COLUMNS = (
    "mã",
    "loại vi phạm",
    "trạng thái",
    "ngày phát hiện",
    "ngày xử lý",
    "vĩ độ",
    "kinh độ",
    "địa chỉ",
    "phường",
    "ghi chú",
    "nguồn dữ liệu",
)
SYNTHETIC_LABEL = "giả lập"
ID_PREFIX = "GL"

#: Violation type code → (share of incidents, texts the field team writes for it).
TYPE_TEXTS: dict[str, tuple[float, tuple[str, ...]]] = {
    "sidewalk": (0.36, ("Lấn chiếm vỉa hè", "Lấn chiếm lòng đường", "Bày bán hàng trên vỉa hè")),
    "parking": (0.20, ("Đỗ xe trái phép", "Trông giữ xe trái phép")),
    "awning": (0.12, ("Mái che, mái vảy", "Dựng mái che lấn chiếm")),
    "signboard": (0.12, ("Biển quảng cáo", "Biển quảng cáo sai phép")),
    "materials": (0.14, ("Vật liệu xây dựng", "Tập kết vật liệu xây dựng", "Đổ rác thải")),
    "other": (0.06, ("Khác",)),
}
#: Status code → text in the sheet.
STATUS_TEXTS: dict[str, str] = {
    "reported": "Chưa xử lý",
    "verified": "Đã xác minh",
    "in_progress": "Đang xử lý",
    "cleared": "Đã xử lý",
    "recurred": "Tái phạm",
}
_STATUS_ORDER = tuple(STATUS_TEXTS)
_NOTES: dict[str, tuple[str, ...]] = {
    "sidewalk": (
        "Bày hàng hoá ra vỉa hè",
        "Kê bàn ghế quán ăn",
        "Người đi bộ phải xuống lòng đường",
    ),
    "parking": ("Xe máy đỗ tràn lòng đường", "Ô tô đỗ trên vỉa hè", "Điểm trông xe tự phát"),
    "awning": ("Mái tôn vươn ra vỉa hè", "Bạt che quá 1 m"),
    "signboard": ("Biển vượt kích thước cho phép", "Biển chắn lối thoát nạn"),
    "materials": ("Cát, gạch để trên vỉa hè", "Phế thải xây dựng để qua đêm"),
    "other": ("Chăng dây điện tự phát", "Cần kiểm tra thêm"),
}
#: Median days to clear, by type, before the ward's own speed is applied.
_TYPE_DAYS = {
    "sidewalk": 1.5,
    "parking": 0.3,
    "awning": 6.0,
    "signboard": 9.0,
    "materials": 2.0,
    "other": 4.0,
}
STREET_SHARE = 0.2  # of incidents along the street layer's centrelines
HANG_MA = "Hàng Mã"
HANG_MA_SHARE = 0.12  # of the street incidents
PERIOD_START = np.datetime64("2025-07-01T00:00")
PERIOD_END = np.datetime64("2026-01-01T00:00")  # exclusive; also the "as of" moment
_HOUR_WEIGHTS = np.array(
    [1, 0, 0, 0, 0, 1, 3, 7, 10, 11, 10, 9, 6, 6, 8, 9, 9, 10, 9, 7, 5, 3, 2, 1], dtype=float
)
_STREET_CLASS_WEIGHT = {
    "primary": 1.0, "secondary": 1.0, "tertiary": 1.0, "residential": 1.0,
    "living_street": 1.0, "pedestrian": 0.8, "unclassified": 0.6, "trunk": 0.4,
}  # fmt: skip
_INSET_M = 15.0  # ward points keep this far from the ward's edge (boundary sources differ)


@dataclass(frozen=True)
class _Wards:
    codes: np.ndarray
    names: np.ndarray
    kinds: np.ndarray
    metric: np.ndarray  # polygons in EPSG:32648, inset by _INSET_M where possible


def _prepare_wards(wards: gpd.GeoDataFrame) -> _Wards:
    missing = [c for c in ("code", "name", "geometry") if c not in wards.columns]
    if missing:
        raise BoundaryError(
            f"Lớp ranh giới thiếu cột {', '.join(missing)}",
            f"Boundary layer lacks column(s) {', '.join(missing)}",
        )
    layer = to_storage(wards).sort_values("code", kind="stable")
    metric = layer.geometry.to_crs(METRIC_CRS).values
    inset = shapely.buffer(metric, -_INSET_M)
    usable = ~shapely.is_empty(inset) & (shapely.area(inset) > 0.25 * shapely.area(metric))
    polygons = np.where(usable, inset, metric)
    shapely.prepare(polygons)
    kinds = layer["kind"].to_numpy() if "kind" in layer.columns else np.full(len(layer), "phuong")
    return _Wards(
        layer["code"].astype(str).to_numpy(),
        layer["name"].astype(str).to_numpy(),
        np.asarray(kinds, dtype=object),
        polygons,
    )


def _points_in_polygons(
    rng: np.random.Generator, polygons: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` uniform random points inside ``polygons[i]`` (rejection in the bbox)."""
    total = int(counts.sum())
    xs = np.empty(total)
    ys = np.empty(total)
    start = 0
    for polygon, count in zip(polygons, counts, strict=True):
        need = int(count)
        if need == 0:
            continue
        minx, miny, maxx, maxy = shapely.bounds(polygon)
        fill = shapely.area(polygon) / max((maxx - minx) * (maxy - miny), 1.0)
        got = 0
        while got < need:
            draw = int((need - got) / max(fill, 0.05) * 1.2) + 16
            x = rng.uniform(minx, maxx, draw)
            y = rng.uniform(miny, maxy, draw)
            inside = shapely.contains_xy(polygon, x, y)
            take = min(int(inside.sum()), need - got)
            xs[start + got : start + got + take] = x[inside][:take]
            ys[start + got : start + got + take] = y[inside][:take]
            got += take
        start += need
    return xs, ys


def _street_points(
    rng: np.random.Generator, streets: gpd.GeoDataFrame, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, street name) of ``n`` points along centrelines, a few metres to either side."""
    from geo.streets import street_segments

    segments = street_segments(streets)
    highway: dict[str, str] = dict(zip(streets["name"], streets["highway"], strict=False))
    class_weight = segments["name"].map(
        lambda name: _STREET_CLASS_WEIGHT.get(highway.get(str(name), ""), 0.15)
    )
    weights = (segments["length_m"] * class_weight).to_numpy(dtype=float, copy=True)
    is_hang_ma = (segments["name"] == HANG_MA).to_numpy()
    if is_hang_ma.any() and weights[~is_hang_ma].sum() > 0:
        weights[is_hang_ma] *= (HANG_MA_SHARE / (1 - HANG_MA_SHARE)) * (
            weights[~is_hang_ma].sum() / weights[is_hang_ma].sum()
        )
    if weights.sum() <= 0:
        weights = np.ones(len(segments))
    pick = rng.choice(len(segments), size=n, p=weights / weights.sum())
    x0, y0, x1, y1, length = (
        segments[c].to_numpy()[pick] for c in ("x0", "y0", "x1", "y1", "length_m")
    )
    t = rng.uniform(0.0, 1.0, n)
    side = rng.choice(np.array([-1.0, 1.0]), size=n) * rng.uniform(1.0, 8.0, n)
    safe = np.where(length > 0, length, 1.0)
    nx, ny = -(y1 - y0) / safe, (x1 - x0) / safe  # unit normal: the sidewalk side
    x = x0 + t * (x1 - x0) + side * nx
    y = y0 + t * (y1 - y0) + side * ny
    return x, y, segments["name"].to_numpy(dtype=object)[pick]


def _format_minutes(values: np.ndarray) -> np.ndarray:
    """datetime64[m] → "dd/mm/yyyy HH:MM" strings ("" for NaT), without a Python loop."""
    iso = np.datetime_as_string(values, unit="m").astype("U16")
    chars = iso.view("U1").reshape(-1, 16)
    out = np.empty_like(chars)
    out[:, 0:2] = chars[:, 8:10]
    out[:, 2] = "/"
    out[:, 3:5] = chars[:, 5:7]
    out[:, 5] = "/"
    out[:, 6:10] = chars[:, 0:4]
    out[:, 10] = " "
    out[:, 11:16] = chars[:, 11:16]
    text = out.view("U16").ravel().astype(object)
    text[np.isnat(values)] = ""
    return text


def sample_incidents(
    n: int,
    seed: int = 0,
    *,
    wards: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """``n`` synthetic incidents as text columns (:data:`COLUMNS`), deterministic per seed.

    Parameters
    ----------
    n : int
        How many incidents (0 or more).
    seed : int
        The random seed; the same seed, layers and ``n`` give the same frame.
    wards : geopandas.GeoDataFrame or None
        The ward layer (default: :func:`geo.boundaries.load_boundaries`).
    streets : geopandas.GeoDataFrame or None
        The street layer (default: :func:`geo.streets.load_streets`).

    Returns
    -------
    pandas.DataFrame
        The Vietnamese-headed :data:`COLUMNS` of a ward team's sheet: dates as
        ``dd/mm/yyyy HH:MM`` text between :data:`PERIOD_START` and :data:`PERIOD_END`,
        EPSG:4326 coordinates rounded to 6 decimals, every row labelled synthetic.

    Raises
    ------
    ValueError
        ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"n phải ≥ 0 / n must be ≥ 0: {n}")
    if wards is None:
        from geo.boundaries import load_boundaries

        wards = load_boundaries()
    if streets is None:
        from geo.streets import load_streets

        streets = load_streets()
    w = _prepare_wards(wards)
    n_wards = len(w.codes)
    rng = np.random.default_rng(seed)

    # Per-ward character, drawn first so a ward's performance does not depend on n.
    handled_share = rng.beta(4.0, 2.0, n_wards)  # most wards act on most reports
    speed_days = rng.lognormal(0.0, 0.7, n_wards)  # × type median: the ward's pace
    activity = rng.lognormal(0.0, 0.5, n_wards) * np.where(w.kinds == "xa", 1.0, 4.0)

    # Where: streets first, then wards (each ward at least once when n allows).
    n_street = round(n * STREET_SHARE) if len(streets) else 0
    n_ward = n - n_street
    first = rng.permutation(n_wards)[: min(n_ward, n_wards)]
    rest = rng.choice(n_wards, size=n_ward - first.size, p=activity / activity.sum())
    ward_pos = np.sort(np.concatenate([first, rest]))
    counts = np.bincount(ward_pos, minlength=n_wards)
    wx, wy = _points_in_polygons(rng, w.metric, counts)
    if n_street:
        sx, sy, street_name = _street_points(rng, streets, n_street)
    else:
        sx = sy = np.empty(0)
        street_name = np.empty(0, dtype=object)
    x = np.concatenate([sx, wx])
    y = np.concatenate([sy, wy])
    on_street = np.arange(n) < n_street
    lon_raw, lat_raw = Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True).transform(x, y)
    lon = np.round(np.asarray(lon_raw), 6)
    lat = np.round(np.asarray(lat_raw), 6)

    # Ward of each point: drawn for ward points, assigned for street points.
    ward_of = np.full(n, -1)
    ward_of[~on_street] = ward_pos
    if n_street:
        from geo.assign import assign_lonlat

        assigned = assign_lonlat(lon[on_street], lat[on_street], wards)["ward_code"]
        position = {code: i for i, code in enumerate(w.codes)}
        ward_of[on_street] = assigned.map(lambda c: position.get(c, -1)).to_numpy(dtype=int)

    # What, when, and how it went.
    type_codes = np.array(list(TYPE_TEXTS), dtype=object)
    type_p = np.array([share for share, _ in TYPE_TEXTS.values()])
    type_i = rng.choice(type_codes.size, size=n, p=type_p / type_p.sum())
    variant = rng.integers(0, 1 << 30, n)
    type_text = np.empty(n, dtype=object)
    note = np.empty(n, dtype=object)
    for i, code in enumerate(type_codes):
        rows = type_i == i
        texts = np.array(TYPE_TEXTS[code][1], dtype=object)
        notes = np.array(_NOTES[code], dtype=object)
        type_text[rows] = texts[variant[rows] % texts.size]
        note[rows] = notes[(variant[rows] // 7) % notes.size]

    period_min = int((PERIOD_END - PERIOD_START) / np.timedelta64(1, "m"))
    day = rng.integers(0, period_min // 1440, n)
    hour = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    minute = rng.integers(0, 60, n)
    reported = PERIOD_START + (day * 1440 + hour * 60 + minute).astype("timedelta64[m]")

    known_ward = ward_of >= 0
    wpos = np.where(known_ward, ward_of, 0)
    handled = rng.random(n) < np.where(known_ward, handled_share[wpos], 0.6)
    median_days = np.array([_TYPE_DAYS[c] for c in type_codes])[type_i] * np.where(
        known_ward, speed_days[wpos], 1.0
    )
    clear_min = np.maximum(30, median_days * 1440 * rng.lognormal(0.0, 0.9, n)).astype(int)
    cleared_at = reported + clear_min.astype("timedelta64[m]")
    done = handled & (cleared_at < PERIOD_END)
    age_days = (PERIOD_END - reported) / np.timedelta64(1, "D")
    roll = rng.random(n)
    code_of = {c: i for i, c in enumerate(_STATUS_ORDER)}
    status_i = np.full(n, code_of["reported"])
    status_i[~done & handled & (age_days > 1)] = code_of["in_progress"]
    status_i[~done & handled & (age_days <= 1) & (roll < 0.5)] = code_of["verified"]
    status_i[~done & ~handled & (roll < 0.15)] = code_of["verified"]
    waiting = ~done & ~handled & (roll >= 0.15) & (roll < 0.4) & (age_days > 2)
    status_i[waiting] = code_of["in_progress"]
    status_i[done] = code_of["cleared"]
    status_i[done & (roll < 0.04)] = code_of["recurred"]
    cleared_text = np.full(n, "", dtype=object)
    cleared_text[done] = _format_minutes(cleared_at[done])
    cleared_text[status_i == code_of["recurred"]] = ""

    # Addresses and the ward column as the team would write them.
    house = rng.integers(1, 200, n)
    hamlet = rng.integers(1, 25, n)
    blank_ward = rng.random(n) < 0.03
    ward_name = np.append(w.names, "").astype(object)[ward_of]
    ward_kind = np.append(w.kinds, "").astype(object)[ward_of]
    address = np.empty(n, dtype=object)
    street_rows = np.flatnonzero(on_street)
    address[street_rows] = [
        f"Số {h} {s}" for h, s in zip(house[street_rows], street_name, strict=True)
    ]
    other_rows = np.flatnonzero(~on_street)
    unit = np.where(ward_kind[other_rows] == "xa", "Thôn", "Tổ")
    short = np.array([strip_unit_prefix(name) for name in w.names] + [""], dtype=object)
    address[other_rows] = [
        f"{u} {k}, {wn}"
        for u, k, wn in zip(unit, hamlet[other_rows], short[ward_of[other_rows]], strict=True)
    ]
    ward_name[blank_ward] = ""

    # Shuffle so street and ward rows interleave like a real sheet; ids stay in order.
    order = rng.permutation(n)
    digits = max(7, len(str(n)))
    ids = pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(digits)
    columns = {
        "mã": (f"{ID_PREFIX}{seed}-" + ids).to_numpy(dtype=object),
        "loại vi phạm": type_text[order],
        "trạng thái": np.array([STATUS_TEXTS[c] for c in _STATUS_ORDER], dtype=object)[
            status_i[order]
        ],
        "ngày phát hiện": _format_minutes(reported[order]),
        "ngày xử lý": cleared_text[order],
        "vĩ độ": lat[order],
        "kinh độ": lon[order],
        "địa chỉ": address[order],
        "phường": ward_name[order],
        "ghi chú": note[order],
        "nguồn dữ liệu": np.full(n, SYNTHETIC_LABEL, dtype=object),
    }
    return pd.DataFrame(columns, columns=list(COLUMNS))


def write_sample(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write a sample as UTF-8 CSV with 6-decimal coordinates (same frame → same bytes).

    Parameters
    ----------
    frame : pandas.DataFrame
        :func:`sample_incidents`.
    out : str or pathlib.Path
        The CSV file to write (its folder is created).

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(target, index=False, encoding="utf-8", lineterminator="\n", float_format="%.6f")
    return target
