"""Street layer and nearest-street attribution (geo.streets), and the osmnx fetch.

The fetch runs osmnx's real Overpass code path against a local HTTP server on 127.0.0.1
that answers with OSM data recorded from the shared road extract.
"""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString

from geo.cli import main
from geo.crs import METRIC_CRS
from geo.errors import CRSError, NetworkUnavailable, NotFound
from geo.streets import (
    DEFAULT_STREETS,
    STREET_COLUMNS,
    build_streets,
    load_streets,
    nearest_streets,
    street_matches,
    street_segments,
    write_streets,
)

HOAN_KIEM = "00070"


@pytest.fixture(scope="module")
def streets() -> gpd.GeoDataFrame:
    return load_streets()


@pytest.fixture(scope="module")
def streets_m(streets: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return streets.to_crs(METRIC_CRS)


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = gpd.GeoSeries(shapely.points(x, y), crs=METRIC_CRS).to_crs("EPSG:4326")
    return pts.x.to_numpy(), pts.y.to_numpy()


def _brute_force(streets_m: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Distance from each point to every street, the slow obvious way (geopandas)."""
    rows = []
    for px, py in zip(x, y, strict=True):
        d = streets_m.distance(shapely.Point(px, py))
        rows.append((streets_m["name"].iloc[int(np.argmin(d))], float(d.min())))
    return pd.DataFrame(rows, columns=["name", "distance"])


# ----------------------------------------------------------------------------- the layer


def test_committed_layer_schema(streets: gpd.GeoDataFrame) -> None:
    assert DEFAULT_STREETS.stat().st_size < 2_000_000
    assert tuple(streets.columns) == STREET_COLUMNS
    assert streets.crs.to_epsg() == 4326
    assert set(streets.geom_type) == {"MultiLineString"}
    assert streets["name"].notna().all()
    assert streets["name"].is_unique
    assert all(unicodedata.is_normalized("NFC", n) and n == n.strip() for n in streets["name"])
    assert streets["osm_id"].str.fullmatch(r"\d+(;\d+)*").all()
    assert streets["highway"].notna().all()
    assert "Hàng Mã" in set(streets["name"])
    minx, miny, maxx, maxy = streets.total_bounds
    assert 105.82 < minx < maxx < 105.88 and 21.01 < miny < maxy < 21.05


def test_committed_layer_is_what_the_build_command_makes(
    tmp_path: Path, osm_roads: Path, streets: gpd.GeoDataFrame
) -> None:
    out = tmp_path / "streets.geojson"
    assert main(["streets", "build", "--roads", str(osm_roads), "--out", str(out)]) == 0
    rebuilt = load_streets(out)
    assert rebuilt["name"].tolist() == streets["name"].tolist()
    assert rebuilt["osm_id"].tolist() == streets["osm_id"].tolist()
    assert rebuilt["highway"].tolist() == streets["highway"].tolist()
    assert rebuilt.geometry.geom_equals_exact(streets.geometry, tolerance=1e-9).all()


def test_build_keeps_every_named_vertex(osm_roads: Path) -> None:
    raw = gpd.read_file(osm_roads)
    named = raw[raw["name"].notna()]
    built = build_streets(osm_roads)
    # No simplification: every vertex of a named segment is still in the layer.
    raw_pts = {tuple(c) for c in np.round(shapely.get_coordinates(named.geometry.values), 7)}
    built_pts = {tuple(c) for c in np.round(shapely.get_coordinates(built.geometry.values), 7)}
    assert raw_pts == built_pts
    hang_ma = built[built["name"] == "Hàng Mã"].iloc[0]
    assert "28103074" in hang_ma["osm_id"].split(";")
    # Same total length (merging does not drop or double segments), measured in metres.
    named_len = named.to_crs(METRIC_CRS).length.sum()
    assert built.to_crs(METRIC_CRS).length.sum() == pytest.approx(named_len, rel=1e-3)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_load_refuses_missing_crs_and_columns(tmp_path: Path) -> None:
    no_crs = tmp_path / "no_crs.geojson"
    gdf = gpd.GeoDataFrame(
        {"name": ["X"], "osm_id": ["1"], "highway": ["residential"]},
        geometry=[LineString([(586000, 2326000), (586100, 2326000)])],
    )
    gdf.to_file(no_crs, driver="GeoJSON")
    # A GeoJSON without a "crs" member is read as EPSG:4326 by GDAL: use a GPKG for "none".
    gpkg = tmp_path / "no_crs.gpkg"
    gdf.to_file(gpkg, driver="GPKG")
    with pytest.raises(CRSError):
        load_streets(gpkg)
    bad = tmp_path / "bad.geojson"
    gdf.set_crs(METRIC_CRS).drop(columns="highway").to_file(bad, driver="GeoJSON")
    with pytest.raises(ValueError, match="highway"):
        load_streets(bad)
    with pytest.raises(ValueError, match="not found"):
        load_streets(tmp_path / "nope.geojson")


# ------------------------------------------------------------------------- attribution


def test_point_on_hang_ma_is_hang_ma(streets_m: gpd.GeoDataFrame) -> None:
    line = streets_m.loc[streets_m["name"] == "Hàng Mã", "geometry"].iloc[0]
    on = shapely.line_interpolate_point(line, np.linspace(0.05, 0.95, 9), normalized=True)
    lon, lat = _lonlat(shapely.get_x(on), shapely.get_y(on))
    result = nearest_streets(lon, lat)
    assert isinstance(result.index, pd.RangeIndex)
    assert (result == "Hàng Mã").sum() >= 8  # an end point may sit on a crossing street
    assert nearest_streets([105.8480], [21.0366]).tolist() == ["Hàng Mã"]


def test_shared_readme_point_is_nearer_cha_ca_in_the_2019_layer() -> None:
    # The shared README calls 21.0365 N, 105.8490 E "a point on Hàng Mã"; in this layer
    # it is 33 m from Hàng Mã's centreline and 16 m from Chả Cá.
    m = street_matches([105.8490], [21.0365])
    assert m["street"].tolist() == ["Chả Cá"]
    assert 14 < m["distance_m"].iloc[0] < 18
    assert nearest_streets([105.8490], [21.0365], max_distance_m=10).tolist() == [None]


def test_distances_are_metres_and_match_brute_force(streets_m: gpd.GeoDataFrame) -> None:
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = streets_m.total_bounds
    x = rng.uniform(minx, maxx, 300)
    y = rng.uniform(miny, maxy, 300)
    lon, lat = _lonlat(x, y)
    got = street_matches(lon, lat, max_distance_m=25.0)
    truth = _brute_force(streets_m, x, y)
    within = truth["distance"] <= 25.0
    assert within.sum() > 50 and (~within).sum() > 50  # both cases are exercised
    assert got["street"].isna().eq(~within).all()
    np.testing.assert_allclose(
        got.loc[within, "distance_m"], truth.loc[within, "distance"], atol=0.01
    )
    # Same name wherever the nearest street is not a near-tie.
    assert (got.loc[within, "street"] == truth.loc[within, "name"]).mean() > 0.97


def test_point_40_m_from_any_street_gets_none(streets_m: gpd.GeoDataFrame) -> None:
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = streets_m.total_bounds
    x = rng.uniform(minx, maxx, 400)
    y = rng.uniform(miny, maxy, 400)
    truth = _brute_force(streets_m, x, y)
    far = truth.index[(truth["distance"] > 38) & (truth["distance"] < 42)]
    assert len(far) > 0
    lon, lat = _lonlat(x[far], y[far])
    assert nearest_streets(lon, lat).isna().all()
    # ... and the same points do find their street once 45 m is allowed.
    wide = nearest_streets(lon, lat, max_distance_m=45.0)
    assert wide.tolist() == truth.loc[far, "name"].tolist()


def test_far_away_and_invalid_points(streets: gpd.GeoDataFrame) -> None:
    lon = np.array([0.0, 105.5, np.nan, 105.8480, np.inf])
    lat = np.array([0.0, 20.8, 21.0, 21.0366, 21.0])
    result = nearest_streets(lon, lat)
    assert result.tolist() == [None, None, None, "Hàng Mã", None]
    assert nearest_streets(pd.Series([], dtype=float), pd.Series([], dtype=float)).empty
    with pytest.raises(ValueError):
        nearest_streets([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        nearest_streets([1.0], [1.0], max_distance_m=0)


def test_custom_layer_in_metres_and_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One street drawn in UTM 48N: the layer's own CRS must be honoured.
    one = gpd.GeoDataFrame(
        {"name": ["Phố Thử"], "osm_id": ["1"], "highway": ["residential"]},
        geometry=[LineString([(590000, 2330000), (590200, 2330000)])],
        crs=METRIC_CRS,
    )
    lon, lat = _lonlat(
        np.array([590100.0, 590100.0, 590100.0]), np.array([2330020.0, 2330030.0, 2329990.0])
    )
    assert nearest_streets(lon, lat, one).tolist() == ["Phố Thử", None, "Phố Thử"]
    dist = street_matches(lon, lat, one)["distance_m"]
    assert dist.iloc[0] == pytest.approx(20.0, abs=0.01)
    assert dist.iloc[2] == pytest.approx(10.0, abs=0.01)
    path = write_streets(one, tmp_path / "one.geojson")
    monkeypatch.setenv("GEO_STREETS", str(path))
    assert nearest_streets(lon, lat).tolist() == ["Phố Thử", None, "Phố Thử"]
    assert load_streets()["name"].tolist() == ["Phố Thử"]


def test_inputs_are_not_mutated(streets: gpd.GeoDataFrame) -> None:
    before = streets.copy()
    lon = np.array([105.8480, 105.85])
    lat = np.array([21.0366, 21.03])
    nearest_streets(lon, lat, streets)
    street_segments(streets)
    pd.testing.assert_frame_equal(streets, before)
    assert lon.tolist() == [105.8480, 105.85]


# ------------------------------------------------------------ osmnx fetch, served locally


def _overpass_json(roads: gpd.GeoDataFrame) -> dict:
    """Overpass "out;" JSON (nodes + ways with tags) recorded from road segments."""
    node_ids: dict[tuple[float, float], int] = {}
    elements: list[dict] = []
    ways: list[dict] = []
    seen: dict[str, int] = {}
    for row in roads.itertuples():
        refs = []
        for lon, lat in shapely.get_coordinates(row.geometry):
            key = (round(lon, 7), round(lat, 7))
            if key not in node_ids:
                node_ids[key] = len(node_ids) + 1
                elements.append({"type": "node", "id": node_ids[key], "lat": key[1], "lon": key[0]})
            refs.append(node_ids[key])
        k = seen.get(row.osm_id, 0)
        seen[row.osm_id] = k + 1
        tags = {"highway": row.type}
        if isinstance(row.name, str):
            tags["name"] = row.name
        ways.append({"type": "way", "id": int(row.osm_id) * 1000 + k, "nodes": refs, "tags": tags})
    return {"version": 0.6, "generator": "recorded for tests", "elements": elements + ways}


class _Overpass(BaseHTTPRequestHandler):
    payload: ClassVar[bytes] = b""
    queries: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/status"):
            body = (
                b"Connected as: 1\nCurrent time: 2025-12-01T00:00:00Z\n"
                b"Announced endpoint: none\nRate limit: 2\n2 slots available now.\n"
            )
            self._send(200, body, "text/plain")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qs(self.rfile.read(length).decode())
        self.queries.append(form.get("data", [""])[0])
        self._send(200, self.payload, "application/json")

    def _send(self, code: int, body: bytes, kind: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def overpass(osm_roads: Path, wards: gpd.GeoDataFrame) -> Iterator[tuple[str, list[str]]]:
    roads = gpd.read_file(osm_roads)
    ward = wards.loc[wards["code"] == HOAN_KIEM, "geometry"].iloc[0]
    near = roads[roads.intersects(shapely.box(*ward.bounds))]
    handler = type(
        "Handler",
        (_Overpass,),
        {"payload": json.dumps(_overpass_json(near)).encode(), "queries": []},
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api", handler.queries
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_ward_through_osmnx_offline(
    tmp_path: Path,
    overpass: tuple[str, list[str]],
    wards: gpd.GeoDataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import osmnx as ox

    url, queries = overpass
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("GEO_OVERPASS_URL", url)
    before = ox.settings.overpass_url
    out = tmp_path / "hk.geojson"
    assert main(["streets", "fetch", "--ward", HOAN_KIEM, "--out", str(out)]) == 0
    assert ox.settings.overpass_url == before  # osmnx's global settings are restored

    # osmnx really asked for highways inside the ward polygon.
    assert queries and all("poly:" in q and "way['highway']" in q for q in queries)
    fetched = load_streets(out)
    assert tuple(fetched.columns) == STREET_COLUMNS
    assert fetched.crs.to_epsg() == 4326
    assert fetched["name"].is_unique and fetched["name"].notna().all()
    ward = wards.loc[wards["code"] == HOAN_KIEM, "geometry"].iloc[0]
    assert fetched.intersects(ward).all()
    hang_ma = fetched[fetched["name"] == "Hàng Mã"]
    assert len(hang_ma) == 1
    assert all(i.startswith("28103074") for i in hang_ma["osm_id"].iloc[0].split(";"))
    # The fetched layer attributes streets like the committed one.
    assert nearest_streets([105.8480], [21.0366], fetched).tolist() == ["Hàng Mã"]


def test_fetch_unreachable_and_unknown_ward(wards: gpd.GeoDataFrame) -> None:
    from geo._streets_osm import fetch_ward_streets

    with pytest.raises(NetworkUnavailable):
        fetch_ward_streets(HOAN_KIEM, wards=wards, overpass_url="http://127.0.0.1:9/api")
    with pytest.raises(NotFound):
        fetch_ward_streets("99999", wards=wards, overpass_url="http://127.0.0.1:9/api")


@pytest.mark.web
def test_fetch_live_overpass(wards: gpd.GeoDataFrame) -> None:
    from geo._streets_osm import fetch_ward_streets

    fetched = fetch_ward_streets(HOAN_KIEM, wards=wards)
    assert "Hàng Mã" in set(fetched["name"])
    assert len(fetched) > 100
