"""The officers' map builder, the incident view and ``python -m geo map``."""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest

from geo.cli import main as cli_main
from geo.maps import (
    MAX_MARKERS,
    density_grid,
    incident_payload,
    map_html,
    ward_features,
    ward_map,
)
from geo.store import IncidentFilter, queries
from geo.store.filters import match_streets
from geo.views import load_view
from tests._incidents import incident_frame, make_store, random_incidents
from tests._signin import ensure_account

TWO_MB = 2_000_000


def _html(fmap) -> str:
    return fmap.get_root().render()


def _external_links(page: str) -> list[str]:
    return re.findall(r"<(?:script|link)\b[^>]*(?:src|href)=\"([^\"]+)\"", page)


@pytest.fixture(scope="module")
def store(tmp_path_factory, wards):
    return make_store(tmp_path_factory.mktemp("store") / "s.sqlite", wards)


def test_ward_map_draws_all_wards_with_names_and_local_assets(wards):
    page = _html(ward_map(wards))
    for name in ("Phường Hoàn Kiếm", "Phường Láng", "Xã Sóc Sơn"):
        assert json.dumps(name)[1:-1] in page  # inside the JSON-encoded tooltips
    assert page.count('"code": "') == 126 or page.count('"code":"') == 126
    links = _external_links(page)
    assert links and all(url.startswith("/app/static/vendor/") for url in links), links
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page
    assert "openstreetmap.org/copyright" in page and "OpenStreetMap" in page
    assert len(page) < TWO_MB


def test_ward_map_does_not_touch_its_inputs(wards):
    before = wards.copy()
    incidents = incident_frame().assign(id=[1, 2, 3])
    incidents_before = incidents.copy()
    ward_map(wards, incidents, selected=["00070"])
    pd.testing.assert_frame_equal(wards, before)
    pd.testing.assert_frame_equal(incidents, incidents_before)


def test_ward_names_and_incident_strings_are_escaped(wards):
    hostile = wards.copy()
    hostile.loc[hostile["code"] == "00070", "name"] = "<img src=x onerror=alert(1)>"
    incidents = incident_frame()
    incidents["id"] = range(1, len(incidents) + 1)
    features = ward_features(hostile)["features"]
    tip = next(f["properties"]["tip"] for f in features if f["properties"]["code"] == "00070")
    assert "<b>&lt;img src=x onerror=alert(1)&gt;</b>" in tip
    page = _html(ward_map(hostile, incidents))
    assert "<img src=x onerror" not in page
    assert "<script>alert(" not in page
    payload = incident_payload(incidents)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in payload
    assert "</" not in payload  # cannot close the surrounding <script>


def test_markers_up_to_the_cap_then_density(wards):
    few = random_incidents(50)
    few["id"] = range(len(few))
    page = _html(ward_map(wards, few))
    assert "markerClusterGroup" in page and "heatLayer" not in page
    assert "leaflet.markercluster.js" in page

    many = random_incidents(60, seed=1)
    many["id"] = range(len(many))
    page = _html(ward_map(wards, many, max_markers=40))
    assert "heatLayer" in page and "markerClusterGroup" not in page
    assert "folium-heat/leaflet_heat.min.js" in page


def test_payload_stays_bounded_at_the_cap_and_at_a_million(wards):
    rows = random_incidents(MAX_MARKERS, seed=2)
    rows["id"] = range(len(rows))
    assert len(_html(ward_map(wards, rows))) < TWO_MB

    import numpy as np

    rng = np.random.default_rng(3)
    n = 1_000_000
    big = pd.DataFrame(
        {
            "id": np.arange(n),
            "type": "sidewalk",
            "status": "reported",
            "lat": rng.uniform(20.6, 21.3, n),
            "lon": rng.uniform(105.3, 105.95, n),
        }
    )
    page = _html(ward_map(wards, big))
    assert "heatLayer" in page
    assert len(page) < TWO_MB


def test_density_grid_counts_only_points_with_a_position():
    """An incident stored without coordinates (lat/lon may be NULL) has no cell: the grid
    is the grid of the other points, and a view of such points alone draws no cell."""
    rows = random_incidents(300, seed=5)
    holed = rows.copy()
    holed.loc[holed.index[::7], ["lat", "lon"]] = np.nan
    expected = density_grid(holed.dropna(subset=["lat", "lon"]))
    pd.testing.assert_frame_equal(density_grid(holed).reset_index(drop=True), expected.reset_index(drop=True))
    assert density_grid(holed.iloc[::7]).empty


def test_density_grid_keeps_every_incident():
    rows = random_incidents(500, seed=4)
    grid = density_grid(rows)
    assert grid["count"].sum() == 500
    assert len(grid) < 500  # the 150 m cells merge neighbours
    coarse = density_grid(rows, max_cells=10)
    assert len(coarse) <= 10 and coarse["count"].sum() == 500


def _grid_by_the_rule(x: np.ndarray, y: np.ndarray, cell_m: float, max_cells: int) -> pd.DataFrame:
    """The density grid as its rule states it: every point counted in cell
    (floor(x / size), floor(y / size)), the size doubled from ``cell_m`` until at most
    ``max_cells`` cells hold points; busiest first, ties in ascending (x, y) cell order;
    cell centres in EPSG:4326 rounded to 6 decimals."""
    from pyproj import Transformer

    size = cell_m
    while True:
        cells = pd.DataFrame({"cx": np.floor(x / size).astype(np.int64), "cy": np.floor(y / size).astype(np.int64)})
        counted = cells.groupby(["cx", "cy"]).size()  # sorted by (cx, cy)
        if len(counted) <= max_cells:
            break
        size *= 2
    counted = counted.sort_values(ascending=False, kind="stable")
    cx, cy = counted.index.get_level_values("cx").to_numpy(), counted.index.get_level_values("cy").to_numpy()
    lon, lat = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True).transform(
        (cx + 0.5) * size, (cy + 0.5) * size
    )
    return pd.DataFrame({"lat": np.round(lat, 6), "lon": np.round(lon, 6), "count": counted.to_numpy()})


@pytest.mark.parametrize("counting", ["one-chunk", "many-chunks", "sorted"])
@pytest.mark.parametrize("where", ["city", "around-zero"])
@pytest.mark.parametrize("max_cells", [30_000, 2_000, 300, 40, 4])
def test_density_grid_is_the_rules_grid_after_every_doubling(max_cells, where, counting, monkeypatch):
    """Doubling the cell merges cells instead of counting the points again, and the points
    are counted a chunk at a time, into one array of counts or (a grid too large for
    one) by sorting each chunk's cells: every way, the result must be the grid counted
    from the points at the final size, cell for cell, for points on and one ulp either
    side of cell edges at every size, in the city's metres and around and below zero."""
    from geo import _map_density

    if counting != "one-chunk":
        monkeypatch.setattr(_map_density, "CHUNK_POINTS", 999)
    if counting == "sorted":
        monkeypatch.setattr(_map_density, "_BINCOUNT_MAX_KEYS", 0)
    rng = np.random.default_rng(26)
    edges = 150.0 * 2.0 ** np.arange(8)  # 150 m doubled seven times
    if where == "city":
        x, y = rng.uniform(560_000, 640_000, 20_000), rng.uniform(2_280_000, 2_360_000, 20_000)
        on_x = np.concatenate([k * edges for k in (3_745, 3_811, 4_001)])
        on_y = np.concatenate([k * edges for k in (15_201, 15_333, 15_555)])
    else:
        x, y = rng.uniform(-20_000, 20_000, 20_000), rng.uniform(-20_000, 20_000, 20_000)
        on_x = np.concatenate([k * edges for k in (-7, -1, 0, 5)] + [[-1.0, -150.5]])
        on_y = np.concatenate([k * edges for k in (-3, -1, 1, 9)] + [[-449.9, -0.5]])
    near_x = np.concatenate([on_x, np.nextafter(on_x, -np.inf), np.nextafter(on_x, np.inf)])
    near_y = np.concatenate([on_y, np.nextafter(on_y, -np.inf), np.nextafter(on_y, np.inf)])
    x, y = np.concatenate([x, near_x]), np.concatenate([y, near_y])
    points = pd.DataFrame({"lat": np.zeros(len(x)), "lon": np.zeros(len(x)), "x": x, "y": y})
    got = density_grid(points, max_cells=max_cells)
    pd.testing.assert_frame_equal(got, _grid_by_the_rule(x, y, 150.0, max_cells))
    assert len(got) <= max_cells and got["count"].sum() == len(x)


def test_standalone_html_inlines_everything(wards):
    page = map_html(ward_map(wards, incident_frame().assign(id=[1, 2, 3]), assets="inline"), "x")
    assert _external_links(page) == []
    assert "L.MarkerClusterGroup" in page  # the plugin itself, inlined
    assert len(page) < TWO_MB


def test_match_streets_with_and_without_diacritics():
    names = ["Hàng Mã", "Hàng Mả", "Phố Huế", "Láng"]
    assert match_streets("Hàng Mã", names) == ["Hàng Mã"]
    assert match_streets("hang ma", names) == ["Hàng Mã", "Hàng Mả"]
    assert match_streets("HUẾ", names) == ["Phố Huế"]
    assert match_streets("  ", names) == []


def test_view_filters_in_the_store(store):
    everything = load_view(store, IncidentFilter(), marker_limit=100)
    assert everything.matched == 3
    hoan_kiem = load_view(store, IncidentFilter(wards=("00070",)), marker_limit=100)
    assert set(hoan_kiem.incidents["street"]) == {"Hàng Mã"}
    assert hoan_kiem.matched == 2
    names = queries.street_names(store)
    typed = load_view(store, IncidentFilter.from_choices(street="hang ma", street_names=names), marker_limit=100)
    assert typed.matched == 2
    nowhere = load_view(
        store, IncidentFilter.from_choices(street="Không Có Phố", street_names=names), marker_limit=100
    )
    assert nowhere.matched == 0
    # 2025-07-01T17:30Z is 00:30 on 2 July in Hà Nội: not in a view ending 1 July
    july_first = load_view(store, IncidentFilter(date_to=dt.date(2025, 7, 1)), marker_limit=100)
    assert july_first.matched == 0
    july = load_view(
        store,
        IncidentFilter(date_from=dt.date(2025, 7, 2), date_to=dt.date(2025, 7, 31)),
        marker_limit=100,
    )
    assert july.matched == 2
    cleared = load_view(store, IncidentFilter(statuses=("cleared",)), marker_limit=100)
    assert list(cleared.incidents["type"]) == ["awning"]
    # over the limit the whole view is read for the density grid
    capped = load_view(store, IncidentFilter(), marker_limit=2)
    assert capped.matched == 3 and len(capped.incidents) == 3


def test_cli_map_writes_a_standalone_filtered_file(store, tmp_path, capsys):
    out = tmp_path / "hoan_kiem.html"
    code = cli_main(
        [
            "map",
            "--out",
            str(out),
            "--ward",
            "Phường Hoàn Kiếm",
            "--status",
            "reported",
            "--database",
            store.url,
            "--user",
            ensure_account(store.url, "viewer"),
        ]
    )
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert _external_links(page) == []
    data = json.loads(re.search(r"var d = (\{.*?\});\n", page).group(1))
    assert len(data["p"]) == 1 and "12 Hàng Mã" in data["p"][0][3]
    assert "1 incidents" in capsys.readouterr().out
    field_user = ensure_account(store.url, "field")  # may see maps, not export them
    denied = cli_main(["map", "--out", str(out), "--database", store.url, "--user", field_user])
    assert denied == 2 and "export" in capsys.readouterr().err


def test_cli_map_rejects_unknown_values_with_bilingual_message(store, tmp_path, capsys):
    account = ["--database", store.url, "--user", ensure_account(store.url, "viewer")]
    code = cli_main(["map", "--out", str(tmp_path / "x.html"), "--status", "flying", *account])
    assert code == 2
    err = capsys.readouterr().err
    assert "không hiểu" in err and "not understood" in err and "--status" in err
    code = cli_main(
        ["map", "--out", str(tmp_path / "x.html"), "--ward", "Phường Atlantis", *account]
    )
    assert code == 2
    assert "--ward" in capsys.readouterr().err


def test_ward_names_are_written_on_the_map_as_text(wards):
    from geo.maps import map_html, ward_labels, ward_map

    hostile = wards.copy()
    hostile.loc[0, "name"] = '<img src=x onerror="alert(1)">'
    labels = ward_labels(hostile)
    assert len(labels) == 126
    assert labels[0][2] == '<img src=x onerror="alert(1)">'  # kept as text, set via textContent
    lat, lon = labels[0][0], labels[0][1]
    import shapely

    assert hostile.geometry.iloc[0].contains(shapely.Point(lon, lat))
    page = map_html(ward_map(hostile, tiles=False))
    assert "geo-ward-label" in page and "textContent" in page
    assert '<img src=x onerror="alert(1)">' not in page


def test_the_grid_heat_map_hands_folium_the_same_cells_as_folium_would():
    """GridHeatMap checks the cells in bulk instead of row by row: the same data reaches
    the template as with folium's own HeatMap, and bad cells are still refused."""
    from folium.plugins import HeatMap

    from geo._map_elements import GridHeatMap
    from geo.errors import MetricError

    rng = np.random.default_rng(4)
    cells = np.column_stack([rng.uniform(20.9, 21.1, 500), rng.uniform(105.7, 105.9, 500), rng.integers(1, 900, 500)])
    ours, theirs = GridHeatMap(cells, radius=12, blur=10), HeatMap(cells.tolist(), radius=12, blur=10)
    assert ours.data == theirs.data and ours.options == theirs.options
    for bad in (np.nan, 95.0):
        broken = cells.copy()
        broken[7, 0] = bad
        with pytest.raises(MetricError, match="Density cell 7"):
            GridHeatMap(broken)


def test_st_folium_sends_the_same_map_without_its_own_whole_page_render(wards, sample_store_url):
    """The map and Compare pages pass ``render=False`` to st_folium: the HTML, header,
    Leaflet script and bounds it sends must be those of the default (whole page rendered
    first)."""
    import itertools

    import branca.element as be
    from streamlit_folium import _get_header, _get_html, _get_map_string

    rng = np.random.default_rng(2)
    many = pd.DataFrame({"lat": rng.uniform(20.95, 21.1, MAX_MARKERS + 50),
                         "lon": rng.uniform(105.75, 105.9, MAX_MARKERS + 50)})  # fmt: skip

    def sent(render: bool, build) -> tuple:
        counter = itertools.count()  # the same element ids in both builds
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(be.Element, "_generate_id", classmethod(lambda cls: f"{next(counter):032x}"))
            fmap = build()
            if render:
                fmap.get_root().render()  # what st_folium does with render=True
            fmap.render()
            return _get_html(fmap), _get_header(fmap), _get_map_string(fmap), fmap.get_bounds()

    few = many.head(20).assign(id=range(20), type="awning", status="reported")
    for incidents in (many, few):
        def build(incidents=incidents):
            return ward_map(wards, incidents, lang="vi")

        assert sent(True, build) == sent(False, build)
    # Compare's two maps: the choropleth and the density (heat map, then the grid image)
    from geo.choropleth import choropleth_map, density_map
    from geo.metrics import load_ward_metrics
    from geo.store import open_store

    store = open_store(sample_store_url)
    try:
        metrics = load_ward_metrics(store, wards, None, None)
    finally:
        store.close()
    for make in (
        lambda: choropleth_map(wards, metrics, "open", lang="vi"),
        lambda: density_map(wards, many["lon"].to_numpy(), many["lat"].to_numpy(), lang="vi"),
        lambda: density_map(wards, few["lon"].to_numpy(), few["lat"].to_numpy(), lang="vi"),
    ):
        assert sent(True, make) == sent(False, make)


def _coordinates(geometry) -> list[tuple[float, float]]:
    """Every (lon, lat) pair of a GeoJSON geometry dict, walked by its nesting."""
    found: list[tuple[float, float]] = []

    def walk(value) -> None:
        if len(value) and isinstance(value[0], (int, float)):
            found.append((float(value[0]), float(value[1])))
        else:
            for part in value:
                walk(part)

    walk(geometry["coordinates"])
    return found


@pytest.mark.parametrize("shift", [0.0, 0.25], ids=["wards", "moved-wards"])
def test_the_ward_layer_s_bounds_are_those_of_every_coordinate_it_draws(wards, shift):
    """streamlit-folium reads the map's bounds on every run; the ward layer's must be the
    least and greatest lat/lon of the coordinates the map draws for these wards (moved
    wards: the bounds move with them, whichever map was drawn before), and the map's bounds
    with a density layer or markers on top are still the outlines' (points have none)."""
    import geopandas as gpd
    import shapely

    from geo.crs import STORAGE_CRS

    layer = wards.to_crs(STORAGE_CRS)
    if shift:
        layer = gpd.GeoDataFrame(layer.drop(columns="geometry"), geometry=shapely.transform(
            layer.geometry.values, lambda xy: xy + np.array([shift, -shift])), crs=STORAGE_CRS)
    ward_map(wards)  # another layer's map first: nothing of it may carry over
    incidents = random_incidents(50, seed=3)
    incidents["id"] = range(len(incidents))
    for drawn in (ward_map(layer), ward_map(layer, incidents, max_markers=10), ward_map(layer, incidents)):
        data = json.loads(re.search(r"geo_json_\w+_add\((\{.*?\})\);", _html(drawn), re.S).group(1))
        points = [xy for feature in data["features"] for xy in _coordinates(feature["geometry"])]
        lons, lats = zip(*points, strict=True)
        expected = [[min(lats), min(lons)], [max(lats), max(lons)]]
        assert drawn.get_bounds() == expected
    assert expected[0][1] == pytest.approx(float(wards.to_crs(STORAGE_CRS).total_bounds[0]) + shift, abs=1e-6)
