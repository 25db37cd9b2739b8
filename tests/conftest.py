"""Shared fixtures: paths to the read-only shared data and the project's layers."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
OSM_ADMIN = SHARED_DATA / "osm" / "hanoi_admin_2025.osm"
OSM_ROADS = SHARED_DATA / "osm" / "hoan_kiem_roads_2019.geojson"
REFERENCE_WARDS = SHARED_DATA / "reference" / "hanoi_wards_2025_reference.gpkg"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def osm_admin() -> Path:
    return OSM_ADMIN


@pytest.fixture(scope="session")
def osm_roads() -> Path:
    return OSM_ROADS


@pytest.fixture(scope="session")
def reference_wards_path() -> Path:
    return REFERENCE_WARDS


@pytest.fixture(scope="session")
def wards():
    """The committed default ward layer (EPSG:4326, 126 rows)."""
    from geo.boundaries import load_boundaries

    return load_boundaries()
