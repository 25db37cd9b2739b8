"""Leaflet and its plugins, served by the app instead of public CDNs.

A ward office behind a strict firewall (or with no network at all) gets a blank map
when folium loads Leaflet from jsDelivr/cdnjs. So the few files the maps use are
fetched once at install time (``python -m geo assets fetch``) from the npm registry's
package tarballs, checked against the registry's pinned sha512 integrity strings, and
unpacked into ``static/vendor/`` (git-ignored). Streamlit serves that folder at
``/app/static/vendor/``; :func:`geo.map_assets.localize` points a folium map and every plugin
in it at those files, or inlines them for a standalone HTML file that opens offline.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import shutil
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from geo import settings
from geo.errors import AssetError, NetworkUnavailable

REPO = Path(__file__).resolve().parents[1]
#: Where the fetched files live; ``GEO_VENDOR_DIR`` overrides it (tests, packaging).
DEFAULT_VENDOR_DIR = settings.vendor_dir.default
#: The URL prefix under which Streamlit serves ``static/vendor`` (enableStaticServing).
SERVED_PREFIX = "/app/static/vendor"
#: The folder Streamlit serves at :data:`SERVED_PREFIX` (``static/`` beside app.py),
#: whatever ``GEO_VENDOR_DIR`` says: a served map finds its files only here.
SERVED_DIR = DEFAULT_VENDOR_DIR
NPM_REGISTRY = "https://registry.npmjs.org"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Package:
    """One pinned npm package and the ``dist/`` files the maps need from it."""

    name: str
    version: str
    integrity: str  # the registry's dist.integrity ("sha512-<base64>")
    files: tuple[str, ...]  # paths inside the tarball, relative to ``package/``

    @property
    def dirname(self) -> str:
        """The folder it unpacks into, ``<name>-<version>`` (two versions never mix files)."""
        return f"{self.name}-{self.version}"

    def tarball_url(self, registry: str = NPM_REGISTRY) -> str:
        """Where the npm registry serves this version's tarball (the file the integrity pins).

        Parameters
        ----------
        registry : str
            The registry's base URL (default :data:`NPM_REGISTRY`).

        Returns
        -------
        str
            ``<registry>/<name>/-/<name>-<version>.tgz``.
        """
        return f"{registry.rstrip('/')}/{self.name}/-/{self.name}-{self.version}.tgz"


#: Pinned packages. Leaflet matches the version folium 0.20 itself targets.
PACKAGES: tuple[Package, ...] = (
    Package(
        "leaflet",
        "1.9.3",
        "sha512-iB2cR9vAkDOu5l3HAay2obcUHZ7xwUBBjph8+PGtmW/2lYhbLizWtG7nTeYht36WfOslixQF9D/"
        "uSIzhZgGMfQ==",
        (
            "dist/leaflet.js",
            "dist/leaflet.css",
            "dist/images/layers.png",
            "dist/images/layers-2x.png",
            "dist/images/marker-icon.png",
            "dist/images/marker-icon-2x.png",
            "dist/images/marker-shadow.png",
        ),
    ),
    Package(
        "leaflet.markercluster",
        "1.5.3",
        "sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+"
        "NTRSEGfCSeA==",
        (
            "dist/leaflet.markercluster.js",
            "dist/MarkerCluster.css",
            "dist/MarkerCluster.Default.css",
        ),
    ),
)
#: Files taken from an installed Python package instead of npm: folium's own patched
#: Leaflet.heat (npm's 0.2.0 saturates every cell because its ``max`` never adapts).
PY_PACKAGED: dict[str, tuple[str, str]] = {
    "folium-heat": ("folium", "templates/leaflet_heat.min.js"),
}
_BY_NAME = {p.name: p for p in PACKAGES}

def vendor_dir() -> Path:
    """Where the vendored map files live (``GEO_VENDOR_DIR``, else ``static/vendor``).

    Returns
    -------
    pathlib.Path
        The vendor folder (it may not exist yet).
    """
    return settings.vendor_dir()


def _dest(package: Package, member: str, root: Path) -> Path:
    return root / package.dirname / member.removeprefix("dist/")


def _py_source(name: str) -> Path:
    module, member = PY_PACKAGED[name]
    mod = importlib.import_module(module)
    return Path(str(mod.__file__)).parent / member


def asset_path(package: str, member: str, root: Path | None = None) -> Path:
    """Local path of one vendored file (it may not exist yet).

    Parameters
    ----------
    package : str
        A pinned npm package name (``"leaflet"``) or a :data:`PY_PACKAGED` name.
    member : str
        The file inside the package, as listed in :class:`Package` (``"dist/leaflet.js"``).
    root : pathlib.Path or None
        The vendor folder (default: :func:`vendor_dir`).

    Returns
    -------
    pathlib.Path
        Where that file is (or will be) unpacked.
    """
    root = root or vendor_dir()
    if package in PY_PACKAGED:
        return root / package / member
    return _dest(_BY_NAME[package], member, root)


def served_url(package: str, member: str, prefix: str = SERVED_PREFIX) -> str:
    """The URL under which Streamlit serves one vendored file (what a served map links to).

    Parameters
    ----------
    package : str
        A pinned npm package name or a :data:`PY_PACKAGED` name.
    member : str
        The file inside the package (a leading ``dist/`` is dropped, as when unpacked).
    prefix : str
        The URL prefix of the static folder (default :data:`SERVED_PREFIX`).

    Returns
    -------
    str
        The URL path, e.g. ``/app/static/vendor/leaflet-1.9.3/leaflet.js``.
    """
    dirname = package if package in PY_PACKAGED else _BY_NAME[package].dirname
    return f"{prefix.rstrip('/')}/{dirname}/{member.removeprefix('dist/')}"


def _all_files(root: Path) -> list[Path]:
    files = [_dest(p, f, root) for p in PACKAGES for f in p.files]
    return files + [root / name / _py_source(name).name for name in PY_PACKAGED]


def missing_files(root: Path | None = None) -> list[Path]:
    """The vendored files not on disk yet (so the app says "run assets fetch", not a blank map).

    Parameters
    ----------
    root : pathlib.Path or None
        The vendor folder (default: :func:`vendor_dir`).

    Returns
    -------
    list of pathlib.Path
        Every expected file that is not a regular file there; empty when all are present.
    """
    return [f for f in _all_files(root or vendor_dir()) if not f.is_file()]


def _verify(data: bytes, package: Package, source: str) -> None:
    algo, _, expected = package.integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if actual != expected:
        raise AssetError(
            f"Tệp {source} ({package.name}@{package.version}) sai mã kiểm tra {algo}: "
            f"mong đợi {expected}, nhận {actual}. Không giải nén.",
            f"{source} ({package.name}@{package.version}) fails its {algo} integrity check: "
            f"expected {expected}, got {actual}. Nothing was extracted.",
        )


def _download(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            data: bytes = resp.read()
            return data
    except urllib.error.HTTPError as exc:
        raise AssetError(
            f"Kho npm trả lỗi HTTP {exc.code} cho {url}.",
            f"The npm registry answered HTTP {exc.code} for {url}.",
        ) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise NetworkUnavailable(
            f"Không tải được {url} (không có mạng?): {exc}. Bản đồ cần các tệp Leaflet này; "
            "hãy chạy lại `python -m geo assets fetch` khi có mạng, hoặc dùng "
            "`--from-dir THƯ_MỤC` với các tệp .tgz đã tải sẵn.",
            f"Could not download {url} (offline?): {exc}. The maps need these Leaflet files; "
            "run `python -m geo assets fetch` again with a network, or use "
            "`--from-dir DIR` with the .tgz files downloaded elsewhere.",
        ) from exc


def _extract(data: bytes, package: Package, root: Path, source: str) -> list[Path]:
    written = []
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in package.files:
                fobj = tar.extractfile(f"package/{member}")
                if fobj is None:
                    raise KeyError(member)
                dest = _dest(package, member, root)
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_suffix(dest.suffix + ".part")
                tmp.write_bytes(fobj.read())
                tmp.replace(dest)
                written.append(dest)
    except (KeyError, tarfile.TarError) as exc:
        raise AssetError(
            f"Tệp {source} không chứa {exc} như mong đợi.",
            f"{source} does not hold the expected file {exc}.",
        ) from exc
    return written


def _read_manifest(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError):
        return {}


def fetch_assets(
    root: Path | None = None,
    *,
    registry: str = NPM_REGISTRY,
    from_dir: Path | None = None,
    force: bool = False,
    timeout: float = 60.0,
    packages: tuple[Package, ...] = PACKAGES,
    py_packaged: bool = True,
) -> dict[str, str]:
    """Download, verify and unpack every pinned package; return ``{package: action}``.

    Idempotent: a package whose files are present and whose manifest entry matches the
    pinned integrity is left alone ("ok"). ``from_dir`` reads ``<name>-<version>.tgz``
    from a folder instead of the registry (an offline install from copied tarballs).

    Parameters
    ----------
    root : pathlib.Path or None
        The vendor folder to fill (default: :func:`vendor_dir`); created if missing.
    registry : str
        Base URL of the npm registry (default :data:`NPM_REGISTRY`).
    from_dir : pathlib.Path or None
        A folder of ``<name>-<version>.tgz`` files to read instead of the network.
    force : bool
        Fetch and unpack again even when the files and manifest are already right.
    timeout : float
        Seconds to wait for each download.
    packages : tuple of Package
        The npm packages to install (default: all of :data:`PACKAGES`).
    py_packaged : bool
        Also copy the files taken from installed Python packages (:data:`PY_PACKAGED`).

    Returns
    -------
    dict of str to str
        Package name -> ``"ok"`` (left alone), ``"fetched"`` (npm) or ``"copied"`` (Python).

    Raises
    ------
    geo.errors.AssetError
        A tarball cannot be read, fails its pinned integrity, or lacks a listed file.
    geo.errors.NetworkUnavailable
        The registry cannot be reached.
    """
    root = root or vendor_dir()
    root.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(root)
    actions: dict[str, str] = {}
    for package in packages:
        present = all(_dest(package, f, root).is_file() for f in package.files)
        if not force and present and manifest.get(package.dirname) == package.integrity:
            actions[package.name] = "ok"
            continue
        if from_dir is not None:
            source_path = Path(from_dir) / f"{package.name}-{package.version}.tgz"
            source = str(source_path)
            try:
                data = source_path.read_bytes()
            except OSError as exc:
                raise AssetError(
                    f"Không đọc được {source}: {exc}", f"Cannot read {source}: {exc}"
                ) from exc
        else:
            source = package.tarball_url(registry)
            data = _download(source, timeout)
        _verify(data, package, source)
        target = root / package.dirname
        if target.exists():
            shutil.rmtree(target)
        _extract(data, package, root, source)
        manifest[package.dirname] = package.integrity
        (root / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), "utf-8")
        actions[package.name] = "fetched"
    for name in PY_PACKAGED if py_packaged else ():
        src, dest = _py_source(name), root / name / _py_source(name).name
        if force or not dest.is_file() or dest.read_bytes() != src.read_bytes():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            actions[name] = "copied"
        else:
            actions[name] = "ok"
    return actions


def require_assets(root: Path | None = None) -> Path:
    """Return the vendor folder, or explain how to fill it.

    Parameters
    ----------
    root : pathlib.Path or None
        The vendor folder (default: :func:`vendor_dir`).

    Returns
    -------
    pathlib.Path
        ``root``, every expected file being present.

    Raises
    ------
    geo.errors.AssetError
        Some files are missing; the message says to run ``python -m geo assets fetch``.
    """
    root = root or vendor_dir()
    missing = missing_files(root)
    if missing:
        raise AssetError(
            f"Thiếu {len(missing)} tệp bản đồ (vd. {missing[0]}). "
            "Hãy chạy `python -m geo assets fetch` một lần khi cài đặt.",
            f"{len(missing)} map asset files are missing (e.g. {missing[0]}). "
            "Run `python -m geo assets fetch` once at install time.",
        )
    return root
