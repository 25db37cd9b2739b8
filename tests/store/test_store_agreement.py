"""The same 100,000 incidents get the same wards from SQLite + geopandas and from PostGIS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.assign import assign_lonlat
from geo.store import batches, open_store
from geo.store import wards as stored_wards
from tests._store_data import NO_UPDATES, batch, synthetic

N = 100_000


@pytest.fixture(scope="module")
def points(wards) -> pd.DataFrame:
    """Random points over the city's bounding box plus points exactly on ward boundaries
    (vertices shared by neighbours), where the smallest-code rule decides."""
    minx, miny, maxx, maxy = wards.total_bounds
    frame = synthetic(N - 3000, seed=7, bounds=(minx - 0.01, miny - 0.01, maxx + 0.01, maxy + 0.01))
    rng = np.random.default_rng(8)
    vertices = shapely.get_coordinates(wards.boundary.to_numpy())
    pick = vertices[rng.choice(len(vertices), 3000, replace=False)]
    edge = synthetic(3000, seed=9, source="edge")
    edge["lon"], edge["lat"] = pick[:, 0], pick[:, 1]
    return pd.concat([frame, edge], ignore_index=True).assign(row_number=np.arange(1, N + 1))


@pytest.mark.postgis
def test_sqlite_geopandas_and_postgis_assign_the_same_wards(points, wards, postgis_url, tmp_path):
    sqlite_store = open_store(f"sqlite:///{tmp_path / 'agree.sqlite'}")
    pg_store = open_store(postgis_url)
    results = []
    for store in (sqlite_store, pg_store):
        stored_wards.ensure(store, wards)
        batches.commit_batch(store, batch("agree.csv"), points, NO_UPDATES, actor="test")
        results.append(stored_wards.assign_in_store(store).set_index("id"))
        store.close()
    lite, pg = results
    assert len(lite) == len(pg) == N
    # per-ward counts agree exactly, and so does every single point
    key = ["ward_code", "assign_flag"]
    assert lite.fillna({"ward_code": "-"}).value_counts(key).equals(pg.fillna({"ward_code": "-"}).value_counts(key))
    for column in key:
        assert lite[column].fillna("-").tolist() == pg[column].fillna("-").tolist(), column
    # the agreement is not vacuous: inside, snapped, outside and shared-edge points all occur
    flags = set(lite["assign_flag"])
    assert flags == {"", "snapped", "outside"}
    assert lite["ward_code"].nunique() == 126
    direct = assign_lonlat(points["lon"].to_numpy(), points["lat"].to_numpy(), wards)
    assert direct["ward_code"].fillna("-").tolist() == lite["ward_code"].fillna("-").tolist()


@pytest.mark.parametrize(("north", "south"), [("00010", "00020"), ("00020", "00010")])
def test_stored_point_at_equal_distance_to_two_wards_goes_to_the_smallest_code(store, north, south):
    """The store's own assignment (SQL on PostGIS, geopandas on SQLite) breaks the snapping
    tie as the rule says: equally near two wards, the smaller code wins."""
    from tests._store_data import TIE_POINT, tie_wards

    stored_wards.ensure(store, tie_wards(north, south))
    point = synthetic(1, source="tie").assign(lon=TIE_POINT[0], lat=TIE_POINT[1])
    batches.commit_batch(store, batch("tie.csv"), point, NO_UPDATES, actor="test")
    assigned = stored_wards.assign_in_store(store)
    assert assigned[["ward_code", "assign_flag"]].to_dict("records") == [
        {"ward_code": "00010", "assign_flag": "snapped"}
    ]
