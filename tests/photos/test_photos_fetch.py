"""``photos fetch``: Kobo links downloaded from allowed hosts only (issue 13).

No network: the refusals are checked before any request, and the one allowed fetch
goes to a real HTTP server on 127.0.0.1 started by the test.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
import requests
from sqlalchemy import text

from geo.auth import User
from geo.cli import main
from geo.errors import InvalidArgument
from geo.photos.fetch import check_allowed, fetch_photo, link_host
from geo.services import photos as photo_services
from geo.store import batches
from geo.store import photos as stored_photos
from geo.store.photos import PhotoRecord
from tests._photos import make_photo
from tests._store_data import NO_UPDATES, batch, incidents

ADMIN = User("boss", frozenset({"admin"}))
PHOTO = make_photo("jpeg", size=(96, 64), seed=3, lat=21.005, lon=105.805, taken="2025:03:04 10:00:00")


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        _Handler.seen.append((self.path, self.headers.get("Authorization")))
        if self.path == "/photo.jpg":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(PHOTO)))
            self.end_headers()
            self.wfile.write(PHOTO)
        elif self.path == "/moved.jpg":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a real HTTP server serving /photo.jpg (and a redirect)."""
    _Handler.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _NoNetwork(requests.Session):
    def request(self, *args: object, **kwargs: object) -> requests.Response:
        raise AssertionError("a request was made")


def test_link_hosts():
    assert link_host("https://KF.kobotoolbox.org/media/x.jpg") == "kf.kobotoolbox.org"
    assert link_host("http://127.0.0.1:8080/x.jpg") == "127.0.0.1:8080"
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "ftp://kobo.example/x", "https://u:p@kobo.example/x"):
        with pytest.raises(InvalidArgument):
            link_host(bad)


def test_hosts_outside_the_allow_list_are_never_requested(monkeypatch):
    monkeypatch.delenv("GEO_PHOTO_FETCH_HOSTS", raising=False)
    no_net = _NoNetwork()
    with pytest.raises(InvalidArgument, match="not in GEO_PHOTO_FETCH_HOSTS"):
        fetch_photo("https://kf.kobotoolbox.org/x.jpg", host="kf.kobotoolbox.org", session=no_net)
    monkeypatch.setenv("GEO_PHOTO_FETCH_HOSTS", "kf.kobotoolbox.org")
    with pytest.raises(InvalidArgument, match=r"is on host '169\.254\.169\.254'"):
        fetch_photo("http://169.254.169.254/latest/", host="kf.kobotoolbox.org", session=no_net)
    with pytest.raises(InvalidArgument, match="not in GEO_PHOTO_FETCH_HOSTS"):
        check_allowed("http://127.0.0.1/x", "127.0.0.1")


def _link_incident(store, url: str) -> int:
    row = {"type": "awning", "source_id": url, "fingerprint": url}
    batches.commit_batch(store, batch(), incidents([row]), NO_UPDATES, actor="field")
    with store.read() as conn:
        incident = int(conn.execute(text("SELECT max(id) FROM incidents")).scalar())
    stored_photos.attach(store, [PhotoRecord(incident, "after", None, link=url)], actor="field")
    return incident


def test_allowed_host_fills_the_link_and_redirects_are_refused(store, server, tmp_path, monkeypatch):
    monkeypatch.setenv("GEO_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.setenv("GEO_PHOTO_FETCH_HOSTS", f"kf.kobotoolbox.org,{server}")
    incident = _link_incident(store, f"http://{server}/photo.jpg")
    _link_incident(store, f"http://{server}/moved.jpg")
    _link_incident(store, "https://elsewhere.example/x.jpg")  # another host: left alone
    results = photo_services.fetch_links(store, ADMIN, server, token="s3cret")
    assert [(r.name.rsplit("/", 1)[-1], r.accepted) for r in results] == [("photo.jpg", True), ("moved.jpg", False)]
    assert "302" in results[1].reason_en and "redirects are not followed" in results[1].reason_en
    assert ("/photo.jpg", "Token s3cret") in _Handler.seen
    assert not any("meta-data" in path for path, _ in _Handler.seen)  # the redirect was not followed
    filled = stored_photos.photos_of(store, incident)
    assert len(filled) == 1 and filled["sha256"].notna().all() and filled["link"].item().endswith("/photo.jpg")
    assert stored_photos.links(store)["link"].str.contains("moved|elsewhere").all()


def test_cli_fetch_refuses_a_host_not_allowed(store_url, monkeypatch, capsys):
    from tests._signin import ensure_account

    monkeypatch.setenv("GEO_DATABASE_URL", store_url)
    monkeypatch.delenv("GEO_PHOTO_FETCH_HOSTS", raising=False)
    user = ensure_account(store_url, "admin")
    assert main(["photos", "fetch", "--host", "kf.kobotoolbox.org", "--user", user]) == 2
    assert "GEO_PHOTO_FETCH_HOSTS" in capsys.readouterr().err
    monkeypatch.setenv("GEO_PHOTO_FETCH_HOSTS", "kf.kobotoolbox.org")
    monkeypatch.delenv("KOBO_TOKEN_FOR_TEST", raising=False)
    assert main(["photos", "fetch", "--host", "kf.kobotoolbox.org", "--token-env", "KOBO_TOKEN_FOR_TEST",
                 "--user", user]) == 2  # fmt: skip
    assert "KOBO_TOKEN_FOR_TEST is not set" in capsys.readouterr().err
