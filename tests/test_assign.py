"""One responsible ward per point: known places, the reference yardstick, edges and slivers."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.assign import SNAP_DISTANCE_M, assign_lonlat, assign_wards, ward_index
from geo.boundaries import load_boundaries
from geo.crs import METRIC_CRS


def _exact_reference_rule(lon, lat, wards) -> np.ndarray:
    """The documented rule computed the slow, obvious way: smallest covering code."""
    out = []
    for x, y in zip(lon, lat, strict=True):
        covering = sorted(wards.loc[wards.geometry.covers(shapely.Point(x, y)), "code"])
        out.append(covering[0] if covering else None)
    return np.array(out, dtype=object)


@pytest.mark.parametrize(
    ("lat", "lon", "code"),
    [
        (21.0365, 105.8490, "00070"),  # Hàng Mã street -> Phường Hoàn Kiếm
    ],
)
def test_known_point(wards, lat, lon, code):
    result = assign_lonlat(np.array([lon]), np.array([lat]), wards)
    assert result.loc[0, "ward_code"] == code
    assert result.loc[0, "ward_name"] == "Phường Hoàn Kiếm"
    assert result.loc[0, "assign_flag"] == ""


@pytest.mark.parametrize("code", ["00199", "00025", "00190", "00082", "00004"])
def test_points_well_inside_named_wards(wards, code):
    polygon = wards.set_index("code").geometry.to_crs(METRIC_CRS).loc[code]
    inner = gpd.GeoSeries([polygon.buffer(-100)], crs=METRIC_CRS)
    points = inner.sample_points(25, rng=7).explode().to_crs(4326)
    result = assign_lonlat(points.x.to_numpy(), points.y.to_numpy(), wards)
    assert (result["ward_code"] == code).all()


def _points_inside_reference(reference: gpd.GeoDataFrame, per_ward: int, depth_m: float):
    metric = reference.to_crs(METRIC_CRS)
    inner = metric.geometry.buffer(-depth_m)
    inner = inner[~inner.is_empty]
    samples = inner.sample_points(per_ward, rng=2025)
    codes = reference.loc[samples.index, "code"]
    points = samples.explode(index_parts=False)
    expected = codes.loc[points.index].to_numpy()
    lonlat = gpd.GeoSeries(points.to_numpy(), crs=METRIC_CRS).to_crs(4326)
    return lonlat.x.to_numpy(), lonlat.y.to_numpy(), expected


def test_agreement_with_reference_set(wards, reference_wards_path):
    reference = gpd.read_file(reference_wards_path)
    lon, lat, expected = _points_inside_reference(reference, per_ward=40, depth_m=50)
    assert len(expected) > 4000
    ours = assign_lonlat(lon, lat, wards)["ward_code"].to_numpy()
    agreement = float(np.mean(ours == expected))
    assert agreement >= 0.995, agreement

    as_layer = load_boundaries(reference_wards_path)
    theirs = assign_lonlat(lon, lat, as_layer)["ward_code"].to_numpy()
    assert float(np.mean(theirs == expected)) == 1.0


def test_points_on_shared_edges_vertices_and_slivers_get_exactly_one_ward(wards):
    metric = wards.set_index("code").geometry
    # Shared vertices and midpoints of shared edges between two neighbours.
    a, b = metric.loc["00070"], metric.loc["00082"]  # Hoàn Kiếm / Cửa Nam share an edge
    shared = a.boundary.intersection(b.boundary)
    assert not shared.is_empty
    vertices = shapely.get_coordinates(shared)
    segments = [shapely.LineString(vertices[i : i + 2]) for i in range(min(len(vertices) - 1, 30))]
    midpoints = np.array(
        [shapely.get_coordinates(s.interpolate(0.5, normalized=True))[0] for s in segments]
    )
    # A point inside the known overlap sliver of the OSM layer.
    overlap = metric.loc["00643"].intersection(metric.loc["09556"])
    sliver = shapely.get_coordinates(overlap.representative_point())
    coords = np.vstack([vertices[:30], midpoints, sliver])
    result = assign_lonlat(coords[:, 0], coords[:, 1], wards)
    assert len(result) == len(coords)
    assert result["ward_code"].notna().all()
    expected = _exact_reference_rule(coords[:, 0], coords[:, 1], wards)
    assert (result["ward_code"].to_numpy() == expected).all()
    assert result["ward_code"].iloc[-1] == "00643"  # smallest covering code wins in the sliver
    # geopandas.sjoin double-counts that sliver point: it is the case the rule settles.
    sjoin = gpd.sjoin(
        gpd.GeoDataFrame(geometry=gpd.points_from_xy(sliver[:, 0], sliver[:, 1]), crs=4326),
        wards[["code", "geometry"]],
        predicate="intersects",
    )
    assert len(sjoin) == 2


def test_fast_index_matches_exact_rule_on_random_points(wards):
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = wards.total_bounds
    lon = np.concatenate([rng.uniform(minx, maxx, 3000), rng.normal(105.84, 0.02, 3000)])
    lat = np.concatenate([rng.uniform(miny, maxy, 3000), rng.normal(21.02, 0.02, 3000)])
    result = assign_lonlat(lon, lat, wards)
    inside = result["assign_flag"] == ""
    tree = shapely.STRtree(wards.geometry.to_numpy())
    pt, ward = tree.query(shapely.points(lon, lat), predicate="covered_by")
    codes = wards["code"].to_numpy()
    expected = pd.Series(codes[ward], index=pt).groupby(level=0).min()
    assert (result.loc[expected.index, "ward_code"] == expected).all()
    assert inside.sum() == len(expected)


def test_near_miss_is_snapped_and_far_point_is_outside(wards):
    city = wards.geometry.to_crs(METRIC_CRS).union_all()
    edge_point = shapely.Point(shapely.get_coordinates(city.exterior)[0])
    centre = city.centroid
    direction = np.array([edge_point.x - centre.x, edge_point.y - centre.y])
    direction /= np.linalg.norm(direction)
    candidates = []
    for distance in (10.0, 20.0, 200.0, 5000.0):  # along the outward direction from the centre
        p = shapely.Point(
            edge_point.x + direction[0] * distance, edge_point.y + direction[1] * distance
        )
        candidates.append((p, city.distance(p)))
    pts = gpd.GeoSeries([p for p, _ in candidates], crs=METRIC_CRS).to_crs(4326)
    result = assign_lonlat(pts.x.to_numpy(), pts.y.to_numpy(), wards)
    assert result["assign_flag"].tolist() == ["snapped", "snapped", "outside", "outside"]
    for (_, distance), (_, row) in zip(candidates, result.iterrows(), strict=True):
        if distance == 0:
            continue
        if distance <= SNAP_DISTANCE_M:
            assert row["assign_flag"] == "snapped" and pd.notna(row["ward_code"])
        elif distance > SNAP_DISTANCE_M + 1:
            assert row["assign_flag"] == "outside" and pd.isna(row["ward_code"])


def test_assign_wards_keeps_index_and_reprojects(wards):
    points = (
        gpd.GeoDataFrame(
            {"id": ["a", "b"]},
            geometry=gpd.points_from_xy([105.8490, 110.0], [21.0365, 10.0]),
            crs=4326,
        )
        .set_index(pd.Index([10, 20]))
        .to_crs("EPSG:5897")
    )
    result = assign_wards(points, wards)
    assert list(result.index) == [10, 20]
    assert result.loc[10, "ward_code"] == "00070"
    assert result.loc[20, "assign_flag"] == "outside"


def test_index_is_reused_for_the_same_layer(wards):
    assert ward_index(wards) is ward_index(wards.copy())


def test_assign_cli(tmp_path, repo):
    source = tmp_path / "points.csv"
    pd.DataFrame(
        {
            "id": ["1", "2", "3"],
            "lat": ["21.0365", "21,0211", "10.0"],
            "lon": ["105.8490", "105.806", "110.0"],
        }
    ).to_csv(source, index=False)
    out = tmp_path / "out.csv"
    result = subprocess.run(
        [sys.executable, "-m", "geo", "assign", str(source), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=repo,
    )
    assert result.returncode == 0, result.stderr
    assigned = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert assigned["id"].tolist() == ["1", "2", "3"]
    assert assigned["ward_code"].tolist()[:2] == ["00070", "00199"]
    assert assigned["assign_flag"].tolist() == ["", "", "outside"]


def test_assign_cli_bad_file_message(tmp_path, repo):
    source = tmp_path / "nolat.csv"
    source.write_text("x,y\n1,2\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "geo", "assign", str(source), "--out", str(tmp_path / "o.csv")],
        capture_output=True,
        text=True,
        cwd=repo,
    )
    assert result.returncode == 2
    assert "nolat.csv" in result.stderr and "Traceback" not in result.stderr


def test_one_row_per_point_at_scale(wards):
    rng = np.random.default_rng(3)
    lon, lat = rng.normal(105.84, 0.05, 50_000), rng.normal(21.02, 0.05, 50_000)
    result = assign_lonlat(lon, lat, wards)
    assert len(result) == 50_000
    assert set(result["assign_flag"]) <= {"", "snapped", "outside"}
    assert (result["ward_code"].isna() == (result["assign_flag"] == "outside")).all()


@pytest.mark.parametrize(("north", "south"), [("00010", "00020"), ("00020", "00010")])
def test_snapped_point_at_equal_distance_to_two_wards_goes_to_the_smallest_code(north, south):
    """Rule 3's tie: the point is equally near both wards, so the smaller code wins,
    whichever wedge holds it and in whichever order the layer lists them."""
    from tests._store_data import TIE_POINT, tie_wards

    layer = tie_wards(north, south)
    metric = layer.to_crs(METRIC_CRS)
    point = gpd.GeoSeries([shapely.Point(TIE_POINT)], crs=4326).to_crs(METRIC_CRS).iloc[0]
    distances = metric.distance(point).tolist()
    assert distances[0] == distances[1] < SNAP_DISTANCE_M  # a true tie, within reach
    for ordered in (layer, layer.iloc[::-1]):
        result = assign_lonlat(np.array([TIE_POINT[0]]), np.array([TIE_POINT[1]]), ordered)
        assert result.loc[0, "assign_flag"] == "snapped"
        assert result.loc[0, "ward_code"] == "00010"
