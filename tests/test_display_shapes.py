"""The ward outlines the city-wide maps draw (geo.display_shapes): simplified in metres,
every ward's area within 1 % of the layer's own, no overlap made, fewer vertices; and the
GeoJSON the maps send rounds coordinates to 6 decimals (about 0.1 m)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.display_shapes import display_layer

METRIC = "EPSG:32648"


def _areas(layer) -> np.ndarray:
    return layer.geometry.to_crs(METRIC).area.to_numpy()


def _overlaps_m2(layer) -> float:
    """The summed area shared by any two wards, in m²."""
    geoms = layer.geometry.to_crs(METRIC).to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    return float(shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]])).sum())


def _vertices(layer) -> int:
    return int(shapely.get_num_coordinates(layer.geometry.to_numpy()).sum())


@pytest.fixture(scope="module")
def drawn(wards):
    return display_layer(wards)


def test_every_ward_keeps_its_area_within_one_percent_with_fewer_vertices(wards, drawn):
    assert len(drawn) == 126 and drawn.crs == wards.crs
    assert drawn["code"].tolist() == wards["code"].tolist()
    pd.testing.assert_frame_equal(drawn.drop(columns="geometry"), wards.drop(columns="geometry"))
    change = np.abs(_areas(drawn) / _areas(wards) - 1)
    assert change.max() <= 0.01
    assert shapely.is_valid(drawn.geometry.to_numpy()).all()
    assert _vertices(drawn) < 0.8 * _vertices(wards)  # 27,500 → about 19,900


def test_the_wards_stay_apart_and_cover_the_same_city(wards, drawn):
    # no overlap beyond what the layer itself has (shared edges simplified once for both)
    assert _overlaps_m2(drawn) <= _overlaps_m2(wards) + 1.0
    city, drawn_city = (shapely.union_all(x.geometry.to_crs(METRIC).to_numpy()) for x in (wards, drawn))
    assert abs(drawn_city.area / city.area - 1) <= 0.001
    # and every ward is still where it was: its own point inside its drawn outline
    inside = drawn.geometry.to_crs(METRIC).buffer(50).contains(wards.geometry.to_crs(METRIC).representative_point())
    assert inside.all()


def test_simplified_in_metres_whatever_the_layer_crs(wards, drawn):
    """The same outlines from the layer in degrees and in metres: the tolerance is metres."""
    from_metres = display_layer(wards.to_crs(METRIC)).to_crs(wards.crs)
    shift = shapely.hausdorff_distance(
        drawn.geometry.to_crs(METRIC).to_numpy(), from_metres.geometry.to_crs(METRIC).to_numpy()
    )
    assert shift.max() < 0.01


def test_a_coarse_tolerance_is_lowered_until_every_ward_keeps_its_area(wards):
    coarse = display_layer(wards, tolerance_m=2000)  # 2 km would erase the small inner wards
    assert np.abs(_areas(coarse) / _areas(wards) - 1).max() <= 0.01
    assert shapely.is_valid(coarse.geometry.to_numpy()).all()
    tight = display_layer(wards, max_area_change=0.001)
    assert np.abs(_areas(tight) / _areas(wards) - 1).max() <= 0.001


def _coordinates(obj) -> list[float]:
    if isinstance(obj, (int, float)):
        return [float(obj)]
    if isinstance(obj, list):
        return [c for item in obj for c in _coordinates(item)]
    return []


def test_the_maps_geojson_has_six_decimals(wards, drawn):
    from geo.choropleth import _features
    from geo.maps import ward_features

    props = pd.DataFrame({"code": wards["code"].astype(str).to_numpy()})
    shifted = drawn.copy()  # vertices off the layer's own 6-decimal grid
    shifted["geometry"] = drawn.geometry.translate(1.2345678e-7, 2.3456789e-7)
    for collection in (ward_features(shifted), _features(shifted, props)):
        text = json.dumps(collection)
        coords = np.array(
            [c for f in json.loads(text)["features"] for c in _coordinates(f["geometry"]["coordinates"])]
        )
        assert len(coords) == 2 * _vertices(drawn)
        assert np.abs(coords * 1e6 - np.round(coords * 1e6)).max() < 1e-4
