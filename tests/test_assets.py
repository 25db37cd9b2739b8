"""Vendored map assets: pinned, verified, idempotent, offline-safe, and used by folium."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import io
import re
import socket
import tarfile
import threading
from pathlib import Path

import folium
import folium.plugins
import pytest

from geo import assets, map_assets
from geo.errors import AssetError, NetworkUnavailable

FILES = {"dist/demo.js": b"window.demo = 1; // </script> inside\n", "dist/images/a.png": b"\x89PNG"}


def _tgz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _package(data: bytes) -> assets.Package:
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    return assets.Package("demo-pkg", "1.0.0", integrity, tuple(FILES))


@pytest.fixture
def tarball(tmp_path: Path) -> tuple[Path, assets.Package]:
    data = _tgz(FILES)
    src = tmp_path / "src"
    src.mkdir()
    (src / "demo-pkg-1.0.0.tgz").write_bytes(data)
    return src, _package(data)


def test_fetch_from_dir_extracts_and_is_idempotent(tmp_path, tarball):
    src, pkg = tarball
    dest = tmp_path / "vendor"
    first = assets.fetch_assets(dest, from_dir=src, packages=(pkg,), py_packaged=False)
    assert first == {"demo-pkg": "fetched"}
    assert (dest / "demo-pkg-1.0.0" / "demo.js").read_bytes() == FILES["dist/demo.js"]
    assert (dest / "demo-pkg-1.0.0" / "images" / "a.png").read_bytes() == b"\x89PNG"
    second = assets.fetch_assets(dest, from_dir=src, packages=(pkg,), py_packaged=False)
    assert second == {"demo-pkg": "ok"}
    # a deleted file is noticed and restored
    (dest / "demo-pkg-1.0.0" / "demo.js").unlink()
    third = assets.fetch_assets(dest, from_dir=src, packages=(pkg,), py_packaged=False)
    assert third == {"demo-pkg": "fetched"}


def test_tampered_tarball_is_refused_and_nothing_extracted(tmp_path, tarball):
    src, pkg = tarball
    (src / "demo-pkg-1.0.0.tgz").write_bytes(_tgz({**FILES, "dist/demo.js": b"evil()"}))
    dest = tmp_path / "vendor"
    with pytest.raises(AssetError) as err:
        assets.fetch_assets(dest, from_dir=src, packages=(pkg,), py_packaged=False)
    assert "sha512" in str(err.value) and "demo-pkg-1.0.0.tgz" in str(err.value)
    assert "mã kiểm tra" in err.value.message_vi and "integrity" in err.value.message_en
    assert not (dest / "demo-pkg-1.0.0").exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_offline_gives_bilingual_network_error(tmp_path, tarball):
    _, pkg = tarball
    registry = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(NetworkUnavailable) as err:
        assets.fetch_assets(
            tmp_path / "v", registry=registry, packages=(pkg,), py_packaged=False, timeout=5
        )
    assert "không có mạng" in err.value.message_vi
    assert "offline" in err.value.message_en
    assert "demo-pkg-1.0.0.tgz" in str(err.value)


def test_fetch_over_http_uses_npm_tarball_layout(tmp_path, tarball):
    src, pkg = tarball
    # npm layout: <registry>/<name>/-/<name>-<version>.tgz
    served = tmp_path / "registry" / "demo-pkg" / "-"
    served.mkdir(parents=True)
    (served / "demo-pkg-1.0.0.tgz").write_bytes((src / "demo-pkg-1.0.0.tgz").read_bytes())
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "registry")
    )
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        registry = f"http://127.0.0.1:{server.server_address[1]}"
        result = assets.fetch_assets(
            tmp_path / "v", registry=registry, packages=(pkg,), py_packaged=False
        )
    finally:
        server.shutdown()
    assert result == {"demo-pkg": "fetched"}
    assert (tmp_path / "v" / "demo-pkg-1.0.0" / "demo.js").is_file()


def test_require_assets_explains_the_fix(tmp_path):
    with pytest.raises(AssetError) as err:
        assets.require_assets(tmp_path / "empty")
    assert "python -m geo assets fetch" in err.value.message_vi
    assert "python -m geo assets fetch" in err.value.message_en


def test_pins_are_sha512():
    for pkg in assets.PACKAGES:
        algo, _, digest = pkg.integrity.partition("-")
        assert algo == "sha512"
        assert len(base64.b64decode(digest)) == 64


def _links(fmap: folium.Map) -> list[str]:
    html = fmap.get_root().render()
    return [
        line for line in html.splitlines() if "<script src=" in line or 'rel="stylesheet"' in line
    ]


def _filled(root: Path) -> Path:
    """A vendor folder holding every expected file (tiny stand-ins, marked by their path)."""
    for path in assets._all_files(root):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {path.relative_to(root).as_posix()} */\n", encoding="utf-8")
    return root


def test_localize_served_points_every_plugin_at_local_files(tmp_path, monkeypatch):
    monkeypatch.setattr(assets, "SERVED_DIR", _filled(tmp_path / "static" / "vendor"))
    monkeypatch.delenv("GEO_VENDOR_DIR", raising=False)
    monkeypatch.setattr(assets, "vendor_dir", lambda: assets.SERVED_DIR)
    fmap = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(fmap)
    folium.plugins.HeatMap([[21.0, 105.8, 1.0]]).add_to(fmap)
    map_assets.localize(fmap)
    links = _links(fmap)
    assert links, "the map must still load Leaflet"
    assert all("/app/static/vendor/" in line for line in links), links
    joined = "\n".join(links)
    assert "leaflet-1.9.3/leaflet.js" in joined
    assert "leaflet.markercluster-1.5.3/leaflet.markercluster.js" in joined
    assert "folium-heat/leaflet_heat.min.js" in joined
    assert "jquery" not in joined and "bootstrap" not in joined
    # folium's classes are untouched: a fresh map still has its CDN defaults
    assert any("cdn.jsdelivr.net" in url for _, url in folium.Map.default_js)
    assert any("cdnjs" in url for _, url in folium.plugins.MarkerCluster.default_js)


def test_localize_refuses_an_unknown_cdn_dependency():
    fmap = folium.Map(tiles=None)
    folium.plugins.Fullscreen().add_to(fmap)
    with pytest.raises(AssetError) as err:
        map_assets.localize(fmap)
    assert "Fullscreen" in str(err.value)


def test_localize_inline_embeds_files():
    root = assets.vendor_dir()
    if assets.missing_files(root):
        pytest.skip("static/vendor not fetched: run `python -m geo assets fetch`")
    fmap = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(fmap)
    map_assets.localize(fmap, mode="inline")
    html = fmap.get_root().render()
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=", html), "no external file"
    assert "L.MarkerClusterGroup" in html
    assert "data:image/png;base64," in html  # leaflet.css images inlined
    # inline JS cannot close its own <script> element early
    for chunk in html.split("<script>")[1:]:
        body = chunk.split("</script>")[0]
        assert "</script" not in body.lower()


def test_a_served_map_carries_its_files_when_only_geo_vendor_dir_holds_them(tmp_path, monkeypatch):
    """A fresh clone run with GEO_VENDOR_DIR (README, worktrees) has no static/vendor:
    Streamlit answered 404 for every served link and each map stayed blank. The map then
    links the files of GEO_VENDOR_DIR as data: URLs (streamlit-folium loads default_js as
    script elements; header scripts never run there); with static/vendor filled it links
    the served files as before."""
    served = tmp_path / "static" / "vendor"
    elsewhere = _filled(tmp_path / "elsewhere")
    monkeypatch.setattr(assets, "SERVED_DIR", served)
    monkeypatch.setenv("GEO_VENDOR_DIR", str(elsewhere))

    def links() -> list[str]:
        fmap = folium.Map(tiles=None)
        folium.plugins.MarkerCluster().add_to(fmap)
        map_assets.localize(fmap)
        return [url for element in map_assets._jscss_elements(fmap)
                for _, url in [*element.default_js, *element.default_css]]  # fmt: skip

    def data(text: str, media: str) -> str:
        return f"data:{media};base64," + base64.b64encode(text.encode()).decode()

    carried = links()
    assert carried and not any("/app/static/vendor/" in url for url in carried)
    assert data("/* leaflet-1.9.3/leaflet.js */\n", "text/javascript") in carried
    assert data("/* leaflet.markercluster-1.5.3/leaflet.markercluster.js */\n", "text/javascript") in carried
    assert data("/* leaflet-1.9.3/leaflet.css */\n", "text/css") in carried
    _filled(served)
    served_links = links()
    assert "/app/static/vendor/leaflet-1.9.3/leaflet.js" in served_links
    assert not any(url.startswith("data:") for url in served_links)


@pytest.mark.parametrize(
    ("served_full", "vendor", "expected"),
    [(True, "elsewhere_full", "served"), (True, "same", "served"), (False, "elsewhere_full", "elsewhere"),
     (False, "elsewhere_empty", None), (False, "same", None)],
)  # fmt: skip
def test_one_answer_says_which_folder_serves_the_maps(tmp_path, monkeypatch, served_full, vendor, expected):
    """The page's notice (require_served) and a map's links (localize) follow the same
    folder: Streamlit's when it holds every file, else GEO_VENDOR_DIR's when that does
    (data: URLs), else none — a notice, and links nothing could answer."""
    served = _filled(tmp_path / "served") if served_full else tmp_path / "served"
    elsewhere = tmp_path / "elsewhere"
    if vendor == "elsewhere_full":
        _filled(elsewhere)
    monkeypatch.setattr(assets, "SERVED_DIR", served)
    monkeypatch.setenv("GEO_VENDOR_DIR", str(served if vendor == "same" else elsewhere))
    folder = map_assets.maps_folder()
    assert folder == {"served": served, "elsewhere": elsewhere, None: None}[expected]
    if expected is None:
        with pytest.raises(AssetError, match="assets fetch"):
            map_assets.require_served()
    else:
        map_assets.require_served()
    fmap = folium.Map(tiles=None)
    map_assets.localize(fmap)
    urls = [url for element in map_assets._jscss_elements(fmap) for _, url in element.default_js]
    assert urls and all(url.startswith("data:") == (expected == "elsewhere") for url in urls)
