"""Density grid in EPSG:32648, its GeoTIFF, its Web-Mercator overlay, the maps and the CLI."""

from __future__ import annotations

import io

import numpy as np
import pytest
import rasterio
from PIL import Image
from pyproj import Transformer

from geo.choropleth import density_map
from geo.density import (
    HANOI_BBOX,
    MAX_GRID_CELLS,
    DensityGrid,
    density_grid,
    geotiff_bytes,
    overlay_png,
    to_web_mercator,
    write_geotiff,
)
from geo.errors import MetricError
from geo.store import IncidentFilter, queries
from tests._incidents import incident_frame, make_store, random_incidents
from tests._signin import ensure_account

TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)

# two points 20 m apart on Hàng Mã and one in Láng
LON = np.array([105.8490, 105.84919, 105.8106])
LAT = np.array([21.0365, 21.0365, 21.0128])


def test_points_are_counted_in_their_metre_cell():
    grid = density_grid(LON, LAT, cell_m=200, bbox=HANOI_BBOX)
    assert grid.total == 3
    assert grid.crs == "EPSG:32648"
    a, _, x0, _, e, y1 = grid.transform[:6]
    assert (a, e) == (200, -200)
    assert x0 % 200 == 0 and y1 % 200 == 0  # cell edges on multiples of the cell size
    x, y = TO_UTM.transform(105.8490, 21.0365)
    row, col = int((y1 - y) // 200), int((x - x0) // 200)
    assert grid.counts[row, col] >= 1
    # the two Hàng Mã points are 20 m apart: same cell unless a cell edge runs between them
    assert grid.counts.max() in (1, 2)
    assert int((grid.counts > 0).sum()) in (2, 3)


def test_cell_size_changes_the_grid_not_the_total():
    fine = density_grid(LON, LAT, cell_m=100, bbox=HANOI_BBOX)
    coarse = density_grid(LON, LAT, cell_m=1000, bbox=HANOI_BBOX)
    assert fine.total == coarse.total == 3
    assert fine.shape[0] > coarse.shape[0] * 9


def test_empty_points_give_a_zero_grid_over_hanoi():
    grid = density_grid([], [])
    assert grid.total == 0
    assert grid.shape[0] > 100 and grid.shape[1] > 100


def test_points_outside_the_box_are_dropped_and_bad_sizes_refused():
    grid = density_grid([105.85, 100.0], [21.03, 10.0], bbox=HANOI_BBOX)
    assert grid.total == 1
    with pytest.raises(MetricError):
        density_grid(LON, LAT, cell_m=0)
    with pytest.raises(MetricError, match="too large"):
        density_grid(LON, LAT, cell_m=1, bbox=HANOI_BBOX)
    assert MAX_GRID_CELLS >= 400 * 400


def test_geotiff_keeps_crs_transform_and_counts(tmp_path):
    rng = np.random.default_rng(1)
    lon, lat = 105.85 + rng.normal(0, 0.02, 500), 21.03 + rng.normal(0, 0.02, 500)
    grid = density_grid(lon, lat, cell_m=200, bbox=HANOI_BBOX)
    path = write_geotiff(grid, tmp_path / "d.tif")
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32648
        assert src.transform == grid.transform
        band = src.read(1)
        assert band.dtype == np.uint32
        assert int(band.sum()) == 500
        np.testing.assert_array_equal(band, grid.counts)
        assert src.tags()["cell_m"] == "200.0"
    with rasterio.MemoryFile(geotiff_bytes(grid)) as mem, mem.open() as src:
        np.testing.assert_array_equal(src.read(1), grid.counts)
        assert src.crs.to_epsg() == 32648


def test_overlay_is_reprojected_to_web_mercator():
    """A lone cell must land where it is when Leaflet stretches the PNG in Web Mercator."""
    lon, lat = np.array([105.9]), np.array([21.2])
    grid = density_grid(lon, lat, cell_m=200, bbox=HANOI_BBOX)
    values, (west, south, east, north) = to_web_mercator(grid)
    rows, cols = np.nonzero(values)
    assert rows.size >= 1
    # Leaflet's linear placement in EPSG:3857 between the bounds
    merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (wx, ex), (sy, ny) = merc.transform([west, east], [south, north])
    px, py = merc.transform(105.9, 21.2)
    col = (px - wx) / (ex - wx) * values.shape[1]
    row = (ny - py) / (ny - sy) * values.shape[0]
    assert abs(cols.mean() - col) <= 1.5 and abs(rows.mean() - row) <= 1.5
    png, bounds = overlay_png(grid)
    assert bounds == [[south, west], [north, east]]
    image = np.asarray(Image.open(io.BytesIO(png)))
    assert image.shape[:2] == values.shape and image.shape[2] == 4
    assert (image[..., 3] > 0).sum() == (values > 0).sum()  # empty cells transparent


def test_density_map_switches_from_heatmap_to_grid_image(wards):
    rng = np.random.default_rng(2)
    lon, lat = 105.85 + rng.normal(0, 0.02, 300), 21.03 + rng.normal(0, 0.02, 300)
    heat = density_map(wards, lon, lat, assets="cdn").get_root().render()
    assert "L.heatLayer" in heat and "L.imageOverlay" not in heat
    grid = density_map(wards, lon, lat, max_points=100, assets="cdn").get_root().render()
    assert "L.imageOverlay" in grid and "L.heatLayer" not in grid
    assert "data:image/png;base64," in grid
    # the payload does not grow with the points above the threshold
    many = 105.85 + rng.normal(0, 0.02, 200_000), 21.03 + rng.normal(0, 0.02, 200_000)
    big = density_map(wards, *many, max_points=100, assets="cdn").get_root().render()
    assert len(big) < len(grid) * 2 + 500_000


def _density_cli(out, store, *options: str) -> int:
    from geo.cli import main

    account = ensure_account(store.url, "viewer")
    return main(["density", "--out", str(out), "--database", store.url, "--user", account, *options])


def test_density_cli_writes_a_geotiff(tmp_path, wards, capsys):
    store = make_store(
        tmp_path / "s.sqlite", wards, [random_incidents(47, seed=3), incident_frame()]
    )
    out = tmp_path / "out" / "density.tif"
    rc = _density_cli(out, store, "--cell", "500")
    assert rc == 0
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 32648
        assert src.transform.a == 500
        total = int(src.read(1).sum())
    assert total == 50
    assert "50 incidents" in capsys.readouterr().out
    rc = _density_cli(out, store, "--status", "cleared")
    with rasterio.open(out) as src:
        cleared = int(src.read(1).sum())
    assert rc == 0 and 0 < cleared < 50
    assert (
        _density_cli(out, store, "--status", "nonsense")
        == 2
    )
    rc = _density_cli(out, store, "--ward", "Hoàn Kiếm")
    with rasterio.open(out) as src:
        assert rc == 0 and int(src.read(1).sum()) == 2  # the two Hàng Mã incidents


def test_grid_dataclass_bounds_match_transform():
    grid = DensityGrid(np.zeros((3, 4), dtype=np.uint32), density_grid([], []).transform, 200.0)
    minx, miny, maxx, maxy = grid.bounds
    assert maxx - minx == 800 and maxy - miny == 600


def test_incident_points_match_the_store_filters(sample_store_url):
    from geo.density import incident_points
    from geo.store import open_store

    store = open_store(sample_store_url)
    for filters in (
        {},
        {"statuses": ["cleared"]},
        {"wards": ["00070"], "types": ["awning"]},
        {"date_from": "2025-09-01", "date_to": "2025-09-30"},
    ):
        lon, lat = incident_points(store, IncidentFilter(**filters))
        frame = queries.incidents(store, IncidentFilter(**filters))
        assert len(lon) == len(frame) > 0
        np.testing.assert_allclose(np.sort(lat), np.sort(frame["lat"].to_numpy(float)))
    store.close()


@pytest.mark.parametrize("cell_m", [100, 200, 500])
def test_compares_grid_of_the_snapshots_stored_metres_is_the_grid_of_its_degrees(sample_store_url, wards, cell_m):
    """Compare's density counts the metres its snapshot stores (:func:`snapshot_metres`);
    the grid, over Hà Nội or over the points' extent, is the one projecting every point's
    lon/lat to EPSG:32648 gives, cell for cell, and so are its GeoTIFF and its image."""
    from geo.density import snapshot_metres
    from geo.snapshot import load_snapshot
    from geo.store import open_store

    store = open_store(sample_store_url)
    snapshot = load_snapshot(store)
    store.close()
    for filters in ({}, {"statuses": ["cleared"]}, {"wards": ["00070"]}):
        lon, lat, x, y = snapshot_metres(snapshot, IncidentFilter(**filters))
        assert len(lon) == len(x) > 50
        for bbox in (HANOI_BBOX, None):
            stored = density_grid(lon, lat, cell_m=cell_m, bbox=bbox, metres=(x, y))
            projected = density_grid(lon, lat, cell_m=cell_m, bbox=bbox)
            np.testing.assert_array_equal(stored.counts, projected.counts)
            assert stored.transform == projected.transform and stored.total == projected.total == len(lon)
        assert geotiff_bytes(stored) == geotiff_bytes(projected)
    shown, drawn = (
        density_map(wards, lon, lat, cell_m=cell_m, max_points=10, assets="cdn", metres=metres)
        .get_root().render().split("data:image/png;base64,")[1].split('"')[0]
        for metres in ((x, y), None)
    )  # the image overlay's PNG
    assert len(shown) > 100 and shown == drawn
    with pytest.raises(MetricError, match="metre coordinates"):
        density_grid(lon, lat, metres=(x[1:], y[1:]))


def test_incident_points_read_an_empty_list_as_nothing_selected(sample_store_url):
    """An empty list selects no ward/type/status, as it does in the store's queries
    (an officer who unticks every ward sees nothing, not the whole city)."""
    from geo.density import incident_points
    from geo.store import open_store

    store = open_store(sample_store_url)
    for filters in ({"wards": []}, {"types": []}, {"statuses": []}):
        lon, lat = incident_points(store, IncidentFilter(**filters))
        assert len(queries.incidents(store, IncidentFilter(**filters))) == 0
        assert len(lon) == len(lat) == 0, filters
    store.close()


def _pairs(lon, lat) -> np.ndarray:
    order = np.lexsort((np.asarray(lat, float), np.asarray(lon, float)))
    return np.column_stack([np.asarray(lon, float)[order], np.asarray(lat, float)[order]])


def test_snapshot_points_are_the_store_filters_points_after_changes(store, tmp_path):
    """Compare's density reads the map's snapshot: the same points as the filter's rows in
    the store (SQLite and PostGIS), with their metres as projected from them, and still
    so after a status move and a new batch."""
    from geo.crs import metric_xy
    from geo.density import snapshot_metres
    from geo.ingest import ingest
    from geo.sample import sample_incidents, write_sample
    from geo.snapshot import load_snapshot, up_to_date
    from geo.store import workflow
    from tests.conftest import REPO

    ingest(REPO / "data" / "incidents" / "sample_incidents.csv", store, actor="test")
    asks = ({}, {"statuses": ["cleared"]}, {"statuses": ["reported", "assigned"], "date_from": "2025-03-01"},
            {"date_from": "2025-09-01", "date_to": "2025-09-30"}, {"statuses": []})  # fmt: skip

    def check(snapshot) -> None:
        for filters in asks:
            flt = IncidentFilter(**filters)
            rows = queries.incidents(store, flt)
            rows = rows[rows["lon"].notna() & rows["lat"].notna()]
            lon, lat, x, y = snapshot_metres(snapshot, flt)
            np.testing.assert_array_equal(_pairs(lon, lat), _pairs(rows["lon"], rows["lat"]))
            np.testing.assert_array_equal(np.stack([x, y]), np.stack(metric_xy(lon, lat)))

    snapshot = load_snapshot(store)
    check(snapshot)
    shown = queries.incidents(store)
    moved = int(shown.loc[shown["status"] == "reported", "id"].min())
    workflow.change_status(store, moved, "cleared", actor="test")
    extra = write_sample(sample_incidents(30, seed=5), tmp_path / "extra.csv")
    assert ingest(extra, store, actor="test").summary()["accepted"] == 30
    snapshot = up_to_date(snapshot, store)
    check(snapshot)
