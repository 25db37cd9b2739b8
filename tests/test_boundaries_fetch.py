"""`boundaries fetch`: the Overpass path through osmnx, offline against a recorded response."""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from pathlib import Path

import osmnx
import pytest

from geo.boundaries import build_default_layer, fetch_from_overpass, load_boundaries
from geo.errors import NetworkUnavailable


@pytest.fixture
def recorded_overpass(osm_admin: Path):
    """A local Overpass stand-in that answers any query with the recorded OSM XML."""
    body = osm_admin.read_bytes()
    queries: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            queries.append(urllib.parse.parse_qs(self.rfile.read(length).decode())["data"][0])
            self.send_response(200)
            self.send_header("Content-Type", "application/osm3s+xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    previous = osmnx.settings.overpass_url
    osmnx.settings.overpass_url = f"http://127.0.0.1:{server.server_port}/api"
    yield queries
    osmnx.settings.overpass_url = previous
    server.shutdown()


def test_fetch_offline_builds_the_same_layer(tmp_path, recorded_overpass, wards):
    osm = fetch_from_overpass("Hà Nội, Việt Nam", tmp_path / "fetched.osm")
    report = build_default_layer(osm, tmp_path / "wards.geojson")
    assert report.count == 126 and report.codes_matched == 126
    fetched = load_boundaries(tmp_path / "wards.geojson")
    assert fetched["code"].tolist() == wards["code"].tolist()
    query = recorded_overpass[0]
    assert '"admin_level"="6"' in query and "Hà Nội" in query


def test_fetch_without_network_says_so(tmp_path):
    previous = osmnx.settings.overpass_url
    osmnx.settings.overpass_url = "http://127.0.0.1:9/api"  # discard port: connection refused
    try:
        with pytest.raises(NetworkUnavailable, match="Overpass"):
            fetch_from_overpass("Hà Nội, Việt Nam", tmp_path / "x.osm")
    finally:
        osmnx.settings.overpass_url = previous


@pytest.mark.web
def test_fetch_live_from_overpass(tmp_path):
    osm = fetch_from_overpass("Hà Nội, Việt Nam", tmp_path / "live.osm")
    report = build_default_layer(osm, tmp_path / "live.geojson")
    assert report.count == 126
