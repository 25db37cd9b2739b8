"""Open311 ``media_url`` through a real uvicorn server (issues 13, 14): the public
thumbnail of the incident's after photo, else of its before photo, when a public media
base URL is configured; never the resident's own link, never an original with its GPS."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from PIL import Image

from geo import evidence
from geo.photos import MediaStore, PhotoSource
from geo.services import reports as moderation
from geo.store import open_store
from geo.store import reports as stored
from tests._open311 import IN_HOAN_KIEM, Served, postgis_schema_url, serve
from tests._photos import make_photo

BASE = "https://city.example/media"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def media_server(request, tmp_path_factory) -> Iterator[tuple[Served, MediaStore]]:
    tmp = tmp_path_factory.mktemp("open311_media")
    media = tmp / "media"
    extra = {"GEO_PUBLIC_MEDIA_URL": BASE, "GEO_MEDIA_DIR": str(media)}
    if request.param == "sqlite":
        for served in serve(f"sqlite:///{tmp / 'store.sqlite'}", tmp, **extra):
            yield served, MediaStore(media)
        return
    urls = postgis_schema_url()
    try:
        for served in serve(next(urls), tmp, **extra):
            yield served, MediaStore(media)
    finally:
        urls.close()


def _photo(seed: int) -> PhotoSource:
    lat, lon = IN_HOAN_KIEM
    data = make_photo("jpeg", size=(640, 480), seed=seed, lat=lat, lon=lon, taken="2025:03:03 10:00:00")
    return PhotoSource.from_bytes(f"p{seed}.jpg", data)


def _media_urls(served: Served, request_id: str) -> tuple[str | None, str | None, str | None]:
    one = served.get(f"/requests/{request_id}.json").json()[0]["media_url"]
    listed = next(r for r in served.get("/requests.json").json() if r["service_request_id"] == request_id)
    xml = ET.fromstring(served.get(f"/requests/{request_id}.xml").body).find("request")
    assert xml is not None
    return one, listed["media_url"], xml.findtext("media_url") or None


def test_media_url_is_the_public_after_else_before_thumbnail(media_server):
    served, media = media_server
    token = served.report(media_url="https://resident.example/own.jpg").json()[0]["token"]
    store = open_store(served.store_url)
    try:
        report = stored.report(store, token=token)
        request_id = str(moderation.accept_report(store, served.users["admin"], int(report["id"])))
        # no photo yet: no media_url, and the resident's link is not echoed
        assert _media_urls(served, request_id) == (None, None, None)

        (before,) = evidence.attach_files(store, int(request_id), [_photo(1)], role="before", actor="boss", media=media)
        assert before.accepted and "photo_no_gps" not in before.flags  # the original carries GPS
        expected = f"{BASE}/thumbs/{before.sha256[:2]}/{before.sha256}.jpg"
        assert _media_urls(served, request_id) == (expected, expected, expected)

        (after,) = evidence.attach_files(store, int(request_id), [_photo(2)], role="after", actor="boss", media=media)
        expected = f"{BASE}/thumbs/{after.sha256[:2]}/{after.sha256}.jpg"
        assert _media_urls(served, request_id) == (expected, expected, expected)
    finally:
        store.close()
    # the file behind the link is the thumbnail: small and without any EXIF (no GPS)
    assert after.sha256 is not None
    linked = media.thumbnail_path(after.sha256)
    assert linked.relative_to(media.root).as_posix() == expected.removeprefix(BASE + "/")
    image = Image.open(io.BytesIO(linked.read_bytes()))
    assert max(image.size) <= 480 and not image.getexif()
    assert "https://resident.example" not in served.get("/requests.json").body.decode()


def test_no_media_url_without_a_public_base(sqlite_server):
    """The module's other server has no GEO_PUBLIC_MEDIA_URL: nothing is linked."""
    token = sqlite_server.report(media_url="https://resident.example/x.jpg").json()[0]["token"]
    store = open_store(sqlite_server.store_url)
    try:
        report = stored.report(store, token=token)
        request_id = str(moderation.accept_report(store, sqlite_server.users["admin"], int(report["id"])))
    finally:
        store.close()
    assert sqlite_server.get(f"/requests/{request_id}.json").json()[0]["media_url"] is None
