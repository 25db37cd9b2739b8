"""The four assignment rules of ``geo/assign.py`` on a hand-made layer, and its refusals:
tests added for the mutants ``python -m benchmarks.mutation --module assign`` left alive.

Expected wards come from the rules (inside one ward → it; covered by several → smallest
code; within 30 m of a ward → nearest, ties to the smallest code, flagged ``snapped``;
else no ward, ``outside``), worked out by hand for the squares below.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geo.assign import assign_lonlat, assign_wards, ward_index, ward_positions
from geo.errors import BoundaryError

#: Metres per degree of latitude near 21° N (WGS 84 meridian arc), for offsets south.
M_PER_DEG_LAT = 110_700.0


def layer(with_names: bool = True) -> gpd.GeoDataFrame:
    """A (00005) and B (00003) share the edge lon = 105.81; C (00004) overlaps B in the
    sliver 105.818–105.82. Listed out of code order on purpose."""
    frame = gpd.GeoDataFrame(
        {"code": ["00005", "00003", "00004"]},
        geometry=[
            box(105.80, 21.00, 105.81, 21.01),
            box(105.81, 21.00, 105.82, 21.01),
            box(105.818, 21.00, 105.83, 21.01),
        ],
        crs="EPSG:4326",
    )
    if with_names:
        frame["name"] = ["Phường A", "Phường B", "Phường C"]
    return frame


def south(lat: float, metres: float) -> float:
    return lat - metres / M_PER_DEG_LAT


CASES = [
    # (lon, lat, code, flag)
    (105.805, 21.005, "00005", ""),  # rule 1: inside A only
    (105.81, 21.005, "00003", ""),  # rule 2: on the A|B edge → smaller code
    (105.819, 21.005, "00003", ""),  # rule 2: in the B∩C sliver → smaller code
    (105.825, 21.005, "00004", ""),  # rule 1: C only
    (105.80, 21.01, "00005", ""),  # rule 1: on A's outer corner (boundary counts)
    (105.805, south(21.00, 10), "00005", "snapped"),  # rule 3: 10 m south of A
    (105.81, south(21.00, 10), "00003", "snapped"),  # rule 3: tie A/B → smaller code
    (105.805, south(21.00, 25), "00005", "snapped"),  # rule 3: still within 30 m
    (105.805, south(21.00, 40), None, "outside"),  # rule 4: 40 m away
    (105.805, south(21.00, 500), None, "outside"),  # rule 4
    (0.0, 0.0, None, "outside"),  # far off the grid
    (np.nan, np.nan, None, "outside"),  # no coordinates
]


def test_each_rule_on_a_hand_made_layer():
    lon = np.array([c[0] for c in CASES])
    lat = np.array([c[1] for c in CASES])
    result = assign_lonlat(lon, lat, layer())
    assert list(result.index) == list(range(len(CASES)))
    assert result["ward_code"].tolist() == [c[2] for c in CASES]
    assert result["assign_flag"].tolist() == [c[3] for c in CASES]
    names = {"00005": "Phường A", "00003": "Phường B", "00004": "Phường C", None: None}
    assert result["ward_name"].tolist() == [names[c[2]] for c in CASES]
    assert all(v is None or isinstance(v, str) for v in result["ward_code"])
    # "a RangeIndex frame of object columns" (assign_lonlat's docstring): plain str or
    # None, not pandas' inferred string dtype, whose missing value is NaN
    assert result.dtypes.to_dict() == {"ward_code": object, "ward_name": object, "assign_flag": object}


def test_a_layer_without_names_names_wards_by_code():
    result = assign_lonlat(np.array([105.805, 1.0]), np.array([21.005, 1.0]), layer(False))
    assert result["ward_name"].tolist() == ["00005", None]


def test_the_same_answer_on_a_coarse_and_a_fine_index():
    """The raster is only a shortcut: any cell size gives the rules' answer."""
    lon = np.array([c[0] for c in CASES])
    lat = np.array([c[1] for c in CASES])
    for cell in (0.002, 0.0001):
        index = ward_index(layer(), cell=cell)
        assert index.cell == cell
        result = assign_lonlat(lon, lat, layer())
        assert result["ward_code"].tolist() == [c[2] for c in CASES]


def test_empty_input_gives_an_empty_frame():
    result = assign_lonlat(np.array([]), np.array([]), layer())
    assert len(result) == 0
    assert list(result.columns) == ["ward_code", "ward_name", "assign_flag"]


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(np.zeros(2), np.zeros(3)), (np.zeros((2, 2)), np.zeros((2, 2)))],
)
def test_coordinates_must_be_two_equal_1d_arrays(lon, lat):
    with pytest.raises(ValueError, match=r"^lon and lat must be 1-D arrays of the same length$"):
        assign_lonlat(lon, lat, layer())


def test_coordinates_from_object_columns_with_missing_cells():
    """A column pandas reads with an empty cell among numbers can be of object dtype with
    None in it: the coordinates are taken as degrees (float64), a missing one as NaN, so
    that point has no coordinates and is ``outside`` (rule 4) while the others are placed."""
    lon = pd.Series([105.805, None, 105.825], dtype=object)
    lat = pd.Series([21.005, 21.005, None], dtype=object)
    result = assign_lonlat(lon, lat, layer())
    assert result["ward_code"].tolist() == ["00005", None, None]
    assert result["assign_flag"].tolist() == ["", "outside", "outside"]


def test_ward_positions_returns_int64_positions_and_a_bool_snapped_flag():
    """``ward_positions``' documented result: int64 positions (-1 outside) and a bool
    array (callers negate and mask with it)."""
    lon = np.array([105.805, 105.805, 105.805])
    lat = np.array([21.005, south(21.00, 10), south(21.00, 500)])
    index = ward_index(layer())
    positions, snapped = ward_positions(lon, lat, index)
    assert positions.dtype == np.int64
    assert snapped.dtype == np.bool_
    assert [index.codes[p] if p >= 0 else None for p in positions] == ["00005", "00005", None]
    assert snapped.tolist() == [False, True, False]
    assert (~snapped).tolist() == [True, False, True]


@pytest.mark.parametrize("broken", ["empty", "no code"])
def test_an_unusable_layer_is_refused_in_both_languages(broken):
    wards = layer().iloc[0:0] if broken == "empty" else layer().rename(columns={"code": "ma"})
    with pytest.raises(BoundaryError) as err:
        assign_lonlat(np.array([105.805]), np.array([21.005]), wards)
    assert err.value.message_vi == "Lớp ranh giới rỗng hoặc thiếu cột 'code'."
    assert err.value.message_en == "The boundary layer is empty or has no 'code' column."


def test_points_without_crs_are_refused_in_both_languages():
    points = gpd.GeoDataFrame(geometry=[Point(105.805, 21.005)])
    with pytest.raises(BoundaryError) as err:
        assign_wards(points, layer())
    assert err.value.message_vi == "Lớp điểm không có hệ toạ độ (CRS)."
    assert err.value.message_en == "The point layer has no coordinate reference system."


def test_only_points_are_assigned():
    lines = gpd.GeoDataFrame(
        geometry=[Point(105.805, 21.005), LineString([(105.80, 21.0), (105.81, 21.01)])],
        crs="EPSG:4326",
    )
    with pytest.raises(BoundaryError) as err:
        assign_wards(lines, layer())
    assert err.value.message_vi == "Chỉ gán được điểm (Point)."
    assert err.value.message_en == "Only Point geometries can be assigned."


def test_assign_wards_on_an_empty_layer_of_points():
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    assert len(assign_wards(empty, layer())) == 0


def test_the_last_four_layers_are_kept():
    layers = [layer().assign(code=[f"1{i}001", f"1{i}002", f"1{i}003"]) for i in range(6)]
    first = [ward_index(w) for w in layers[:5]]
    # the fifth layer pushed the first one out; the other four are reused as they are
    for w, built in zip(layers[1:5], first[1:], strict=True):
        assert ward_index(w) is built
    assert ward_index(layers[0]) is not first[0]
    assert ward_index(layers[0]) is ward_index(layers[0].copy())
    # a different cell size is a different index
    assert ward_index(layers[0], cell=0.001) is not ward_index(layers[0])
    pd.testing.assert_index_equal(
        pd.Index(ward_index(layers[0]).codes), pd.Index(["10001", "10002", "10003"])
    )


def test_dilate_grows_a_mask_by_whole_squares():
    """The index marks cells near a boundary for the exact test; the band must be a full
    square of ``cells`` around every marked cell, in all 8 directions."""
    from geo.assign import _dilate

    mask = np.zeros((9, 9), dtype=bool)
    mask[4, 4] = True
    mask[0, 8] = True  # a corner: the square is cut by the grid's edge
    grown = _dilate(mask, 2)
    expected = np.zeros((9, 9), dtype=bool)
    expected[2:7, 2:7] = True
    expected[0:3, 6:9] = True
    np.testing.assert_array_equal(grown, expected)
    np.testing.assert_array_equal(_dilate(mask, 0), mask)
    assert mask.sum() == 2  # the input is left alone


def test_first_per_point_takes_the_smallest_ward_position():
    from geo.assign import _first_per_point

    points = np.array([0, 2, 0, 2, 2])
    wards = np.array([5, 7, 3, 1, 4])
    best = _first_per_point(points, wards, 4)
    assert best.tolist() == [3, -1, 1, -1]
    assert best.dtype == np.int64


def test_points_just_past_the_grid_are_outside():
    """One cell beyond the grid's last column or row is off the grid (not an index error)."""
    index = ward_index(layer())
    ny, nx = index.grid.shape
    half = index.cell / 2
    lon = np.array([index.x0 + nx * index.cell + half, index.x0 + half, index.x0 - half])
    lat = np.array([index.y0 - half, index.y0 - ny * index.cell - half, index.y0 - half])
    labels = index.cell_labels(lon, lat)
    assert labels.tolist() == [-1, -1, -1]
    assert labels.dtype == np.int16


def _east_and_north_of(ward, metres: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points ``metres`` east of the ward's east edge and north of its north edge (moved in
    UTM 48N, the metric CRS the snapping rule measures in), and each one's distance to
    the ward in that CRS."""
    from pyproj import Transformer
    from shapely import ops

    to_metric = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    to_degrees = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True)
    minx, miny, maxx, maxy = ward.bounds
    ex, ey = to_metric.transform(maxx, (miny + maxy) / 2)
    nx_, ny_ = to_metric.transform((minx + maxx) / 2, maxy)
    x = np.concatenate([ex + metres, np.full(len(metres), nx_)])
    y = np.concatenate([np.full(len(metres), ey), ny_ + metres])
    lon, lat = to_degrees.transform(x, y)
    metric_ward = ops.transform(to_metric.transform, ward)
    distance = shapely.distance(metric_ward, shapely.points(x, y))
    return np.asarray(lon), np.asarray(lat), distance


@pytest.mark.parametrize("cell", [0.00025, 0.0001, 0.00002])
def test_every_point_within_the_snapping_distance_is_snapped_whatever_the_cell(cell):
    """Rule 3 does not depend on the raster: a point 0.5–29.5 m outside a ward is snapped
    to it, a point 30.5–60 m away is outside, on the default grid (about 26 m cells), a
    finer one, and one of about 2 m cells, whose 30 m reach is 15 cells (more than the
    grid's old fixed pad of 8 cells: points there fell off the grid and were outside).
    Distances are measured in UTM 48N, as the rule says; half-metre steps put points at
    every offset inside a cell. The ward's east edge lies 0.9 cell or more into a cell
    of each grid (its width is 0.009998°), where a point 29.5 m out is furthest away in
    cells."""
    ward = box(105.80, 21.00, 105.809998, 21.009998)
    wards = gpd.GeoDataFrame({"code": ["00001"]}, geometry=[ward], crs="EPSG:4326")
    metres = np.concatenate([np.arange(0.5, 29.6, 0.5), np.arange(30.5, 60.1, 0.5)])
    lon, lat, distance = _east_and_north_of(ward, metres)
    near = distance <= 30.0
    assert near.sum() == 2 * 59 and (np.abs(distance - 30.0) > 0.1).all()
    positions, snapped = ward_positions(lon, lat, ward_index(wards, cell=cell))
    assert positions.tolist() == np.where(near, 0, -1).tolist()
    assert snapped.tolist() == near.tolist()


def test_the_index_grid_is_int16():
    """The grid is stored as int16 (``CELL_DEG``'s comment: about 3,000 × 3,300 cells over
    Hà Nội, 2 bytes each), not the int32 or float64 it is built in."""
    index = ward_index(layer())
    assert index.grid.dtype == np.int16


def test_layers_that_split_names_differently_get_their_own_index():
    """Two layers with the same wards and codes whose names differ only in where a "|"
    falls are two layers: each point gets its own layer's name (the cache key must tell
    them apart)."""
    first = layer().iloc[:2].assign(name=["A|B", "C"])
    second = layer().iloc[:2].assign(name=["A", "B|C"])
    lon, lat = np.array([105.805, 105.815]), np.array([21.005, 21.005])
    assert assign_lonlat(lon, lat, first)["ward_name"].tolist() == ["A|B", "C"]
    assert assign_lonlat(lon, lat, second)["ward_name"].tolist() == ["A", "B|C"]
