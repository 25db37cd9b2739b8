"""Exports and map tooltips carry the photo evidence (issue 13): GeoJSON and GPKG the
count and flags, Open311 ``media_url`` the after photo's public thumbnail, the map's
markers a count and a warning (never an image)."""

from __future__ import annotations

import json

import geopandas as gpd

from geo import exports
from geo.evidence import with_photo_counts
from geo.maps import incident_payload
from geo.store import photos as stored_photos
from geo.store import queries
from geo.store.photos import PhotoRecord
from tests._incidents import make_store

SHA_B, SHA_A = "b" * 64, "a" * 64


def _store(tmp_path, wards):
    store = make_store(tmp_path / "s.sqlite", wards)
    stored_photos.attach(store, [PhotoRecord(1, "before", SHA_B),
                                 PhotoRecord(1, "after", SHA_A, flags=("photo_far",)),
                                 PhotoRecord(2, "after", "c" * 64)], actor="t")  # fmt: skip
    return store


def test_geojson_and_gpkg_carry_count_and_flags(tmp_path, wards):
    store = _store(tmp_path, wards)
    exports.export(store, "geojson", tmp_path / "x.geojson")
    features = {int(f["properties"]["id"]): f["properties"] for f in json.loads((tmp_path / "x.geojson").read_text())["features"]}
    assert (features[1]["n_photos"], features[1]["photo_flags"]) == (2, "photo_far")
    assert (features[2]["n_photos"], features[2]["photo_flags"]) == (1, "")
    assert (features[3]["n_photos"], features[3]["photo_flags"]) == (0, "")
    exports.export(store, "gpkg", tmp_path / "x.gpkg")
    layer = gpd.read_file(tmp_path / "x.gpkg")
    layer = layer.set_index(layer["id"].astype(int))
    assert layer.loc[1, "n_photos"] == 2 and layer.loc[1, "photo_flags"] == "photo_far"


def test_open311_media_url_only_with_a_public_base(tmp_path, wards, monkeypatch):
    store = _store(tmp_path, wards)
    monkeypatch.delenv("GEO_PUBLIC_MEDIA_URL", raising=False)
    plain = json.loads(exports.export(store, "open311"))
    assert all(r["media_url"] is None for r in plain)
    monkeypatch.setenv("GEO_PUBLIC_MEDIA_URL", "https://city.example/media/")
    requests = {r["service_request_id"]: r for r in json.loads(exports.export(store, "open311"))}
    assert requests["1"]["media_url"] == f"https://city.example/media/thumbs/aa/{SHA_A}.jpg"
    assert requests["3"]["media_url"] is None  # no after photo


def test_marker_tooltips_count_photos_and_warn(tmp_path, wards):
    store = _store(tmp_path, wards)
    shown = queries.incidents(store, limit=None)
    shown = with_photo_counts(shown, stored_photos.summary(store))
    tips = {p[3].split("</b>")[0]: p[3] for p in json.loads(incident_payload(shown))["p"]}
    assert "2 ảnh · có cảnh báo về ảnh" in tips["<b>#1"]
    assert "1 ảnh" in tips["<b>#2"] and "cảnh báo" not in tips["<b>#2"]
    assert "ảnh" not in tips["<b>#3"].split("<br>")[-1]
    assert "<img" not in incident_payload(shown)
