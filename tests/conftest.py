"""Shared fixtures: paths to the read-only shared data and the project's layers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Tests choose their store's contents: no first-start sample unless a test turns it on
# (tests/test_seed.py, the browser first-start test). Inherited by app subprocesses too.
os.environ.setdefault("GEO_SEED_SAMPLE", "0")
# The workflow's tests move sidewalk incidents to 'cleared' without photos: the
# clear-needs-photo rule (issue 13) is off unless a test turns it on (tests/photos/).
os.environ.setdefault("GEO_CLEAR_NEEDS_PHOTO", "none")
# Photos the tests store never land in the checkout's data/media/.
os.environ.setdefault("GEO_MEDIA_DIR", tempfile.mkdtemp(prefix="geo-test-media-"))
# The map's persisted snapshots (geo.snapshot) never land in the checkout's data/cache/.
os.environ.setdefault("GEO_SNAPSHOT_DIR", tempfile.mkdtemp(prefix="geo-test-snapshots-"))
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


# --- real browser (tests/_browser.py): one app server + one Chromium per session ---------


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """``streamlit run app.py`` on a free port with a temporary SQLite store."""
    from tests._browser import require_browser_stack, running_app

    require_browser_stack()

    with running_app(tmp_path_factory.mktemp("app")) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    from tests._browser import CHROMIUM, CHROMIUM_ARGS, require_browser_stack

    require_browser_stack()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def recorded_page(browser, app_server):
    """A fresh page that records every request and console error (tiles are aborted);
    ``rec.goto`` signs in through the app's form as an admin of the server's store."""
    from tests._browser import new_recorded_page
    from tests._signin import PASSWORD, ensure_account

    name = ensure_account(app_server.env["GEO_DATABASE_URL"], "admin")
    rec = new_recorded_page(browser, app_server.host, credentials=(name, PASSWORD))
    yield rec
    rec.page.context.close()


# --- the store, on both backends (tests/test_store_*.py) ---------------------------------

POSTGIS_ENV = "GEO_TEST_POSTGIS_URL"


def postgis_url_or_skip() -> str:
    """The test server's URL; skip visibly without one, fail when CI requires it."""
    from geo import settings

    url = settings.postgis_test_url()
    if not url:
        reason = f"no PostGIS server: set {POSTGIS_ENV} (.ci/run starts one)"
        if settings.require_postgis():
            pytest.fail(f"{reason}, but GEO_REQUIRE_POSTGIS=1")
        pytest.skip(reason)
    return url


@pytest.fixture
def postgis_url():
    """A PostGIS URL whose search_path is a fresh schema, dropped after the test."""
    import uuid

    from sqlalchemy import create_engine

    from geo.store._postgis import normalise_url

    base = postgis_url_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema},public"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def store_url(request, tmp_path):
    """A fresh, empty store's URL: a SQLite file in tmp_path, or a fresh PostGIS schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("postgis_url")


@pytest.fixture
def store(store_url):
    from geo.store import open_store

    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def sample_store_url(tmp_path_factory):
    """A SQLite store holding the committed 5,000-row sample, ingested once per session."""
    from geo.ingest import ingest
    from geo.store import open_store

    path = tmp_path_factory.mktemp("sample_store") / "sample.sqlite"
    store = open_store(f"sqlite:///{path}")
    ingest(REPO / "data" / "incidents" / "sample_incidents.csv", store, actor="test")
    store.close()
    return f"sqlite:///{path}"
