"""Pointing folium maps at the vendored Leaflet files (:mod:`geo.assets` fetches them).

Every map the project draws is finished by :func:`localize`: its scripts and styles link
the files Streamlit serves at ``/app/static/vendor`` (``served``), ``data:`` URLs of the
files in ``GEO_VENDOR_DIR`` when Streamlit's folder lacks them, or the files themselves
embedded in the page (``inline``, for a standalone HTML file that opens offline). No map
ever loads Leaflet from a CDN, so a ward office with no network still sees its maps;
:func:`require_served` lets a page say so when no folder holds the files.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from geo import assets
from geo.errors import AssetError

#: folium's link names -> (package, file). Only what our maps use.
_FOLIUM_LINKS: dict[str, tuple[str, str]] = {
    "leaflet": ("leaflet", "dist/leaflet.js"),
    "leaflet_css": ("leaflet", "dist/leaflet.css"),
    "markerclusterjs": ("leaflet.markercluster", "dist/leaflet.markercluster.js"),
    "markerclustercss": ("leaflet.markercluster", "dist/MarkerCluster.css"),
    "markerclusterdefaultcss": ("leaflet.markercluster", "dist/MarkerCluster.Default.css"),
    "leaflet-heat.js": ("folium-heat", "leaflet_heat.min.js"),
}
#: folium.Map links our maps do not need (no folium.Icon, no Bootstrap popups).
_FOLIUM_DROP = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)


def maps_folder() -> Path | None:
    """The folder a served map's Leaflet files come from, or None when no folder can serve them.

    The folder Streamlit serves (:data:`geo.assets.SERVED_DIR`) when it holds every file;
    else ``GEO_VENDOR_DIR`` when that holds them all (a fresh clone or a worktree: the map
    carries them as ``data:`` URLs, see :func:`localize`); else None, and a served map
    would stay blank. :func:`require_served` and :func:`localize` both ask here, so the
    page's notice and the links a map gets cannot disagree.

    Returns
    -------
    pathlib.Path or None
        ``SERVED_DIR``, the ``GEO_VENDOR_DIR`` folder, or None.
    """
    if not assets.missing_files(assets.SERVED_DIR):
        return assets.SERVED_DIR
    root = assets.vendor_dir()
    return root if root != assets.SERVED_DIR and not assets.missing_files(root) else None


def require_served() -> None:
    """Raise when the app's maps would be drawn blank, so the page says so instead.

    A served map (:func:`localize`'s ``"served"``) reads Leaflet from the folder
    :func:`maps_folder` names. Only when there is none does the map stay blank, with
    nothing in the page to say why (a checkout where ``assets fetch`` never ran).

    Returns
    -------
    None
        Maps can be drawn.

    Raises
    ------
    geo.errors.AssetError
        Neither folder holds every file; the message names one missing from
        ``GEO_VENDOR_DIR`` (or ``static/vendor``) and says to run ``python -m geo assets fetch``.
    """
    if maps_folder() is None:
        assets.require_assets()


def _walk(element: object) -> Iterator[object]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def _jscss_elements(fmap: object) -> Iterator[object]:
    from folium.elements import JSCSSMixin

    for element in _walk(fmap):
        if isinstance(element, JSCSSMixin):
            yield element


def _local_links(element: object, attr: str) -> list[tuple[str, str, str]]:
    """(folium name, package, member) for an element's links; unknown links are errors."""
    links = []
    for name, url in getattr(element, attr):
        if name in _FOLIUM_DROP:
            continue
        if name not in _FOLIUM_LINKS:
            raise AssetError(
                f"{type(element).__name__} cần tệp {name} ({url}) chưa có bản cục bộ; "
                "thêm gói vào geo/assets.py và geo/map_assets.py hoặc không dùng thành phần này.",
                f"{type(element).__name__} needs {name} ({url}), which has no local copy; "
                "add its package to geo/assets.py and geo/map_assets.py or do not use this element.",
            )
        links.append((name, *_FOLIUM_LINKS[name]))
    return links


_CSS_URL = re.compile(r"url\((['\"]?)(images/[^'\")]+)\1\)")


def _inline_css(package: str, member: str, root: Path) -> str:
    css = assets.asset_path(package, member, root).read_text(encoding="utf-8")
    base = assets.asset_path(package, member, root).parent

    def data_uri(match: re.Match[str]) -> str:
        path = base / match.group(2)
        if not path.is_file():
            return match.group(0)
        b64 = base64.b64encode(path.read_bytes()).decode()
        return f'url("data:image/png;base64,{b64}")'

    return _CSS_URL.sub(data_uri, css)


def _inline_js(package: str, member: str, root: Path) -> str:
    js = assets.asset_path(package, member, root).read_text(encoding="utf-8")
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def _served_elsewhere(prefix: str) -> bool:
    """True when a map linking Streamlit's folder would get 404s while ``GEO_VENDOR_DIR``
    holds the files (:func:`maps_folder`): the map then carries them as ``data:`` URLs."""
    folder = maps_folder()
    return prefix == assets.SERVED_PREFIX and folder is not None and folder != assets.SERVED_DIR


@functools.lru_cache(maxsize=32)
def _data_url_of(path: str, mtime_ns: int, media: str, package: str, member: str) -> str:
    """One file as a ``data:`` URL (CSS with its images inlined), kept while unchanged."""
    root = assets.vendor_dir()
    text = _inline_css(package, member, root) if media == "text/css" else Path(path).read_text(encoding="utf-8")
    return f"data:{media};base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def _data_url(package: str, member: str, media: str) -> str:
    """A vendored file of ``GEO_VENDOR_DIR`` as a ``data:`` URL: streamlit-folium loads a
    map's ``default_js``/``default_css`` as script and link elements (scripts inlined in
    the header never run there, it adds the header as ``innerHTML``), so a link that
    carries the file itself is the one form that draws the map without the static folder."""
    path = assets.asset_path(package, member, assets.vendor_dir())
    return _data_url_of(str(path), path.stat().st_mtime_ns, media, package, member)


def localize(
    fmap: object,
    *,
    mode: Literal["served", "inline"] = "served",
    prefix: str = assets.SERVED_PREFIX,
    root: Path | None = None,
) -> object:
    """Point ``fmap`` (a folium Map) and every plugin in it at the vendored files.

    Call it after all layers are added. It sets ``default_js``/``default_css`` on the
    instances only (never on folium's classes), so other maps are unaffected.
    ``served`` links to ``prefix`` (Streamlit's static serving); ``inline`` embeds the
    files into the page header so the HTML opens with no network and no server. A
    ``served`` map links ``data:`` URLs of the files instead when ``GEO_VENDOR_DIR`` holds
    them and the folder Streamlit serves (:data:`SERVED_DIR`) does not: its links would
    all fail.
    Returns ``fmap``.

    Parameters
    ----------
    fmap : folium.Map
        The map, with all its layers and plugins already added (typed ``object``).
    mode : {"served", "inline"}
        ``"served"`` links to ``prefix``; ``"inline"`` embeds the file contents.
    prefix : str
        URL prefix of Streamlit's static folder, for ``"served"`` (default :data:`SERVED_PREFIX`).
    root : pathlib.Path or None
        The vendor folder read for ``"inline"`` (default: :func:`vendor_dir`).

    Returns
    -------
    object
        ``fmap`` itself, changed in place.

    Raises
    ------
    geo.errors.AssetError
        An element links a file we do not vendor, or (``"inline"``) the files are missing.
    """
    from geo._map_text import TextElement

    elements = list(_jscss_elements(fmap))
    plan = [(e, _local_links(e, "default_js"), _local_links(e, "default_css")) for e in elements]
    if mode == "served" and _served_elsewhere(prefix):
        for element, js, css in plan:
            element.default_js = [(n, _data_url(p, m, "text/javascript")) for n, p, m in js]  # type: ignore[attr-defined]
            element.default_css = [(n, _data_url(p, m, "text/css")) for n, p, m in css]  # type: ignore[attr-defined]
        return fmap
    if mode == "served":
        for element, js, css in plan:
            element.default_js = [(n, assets.served_url(p, m, prefix)) for n, p, m in js]  # type: ignore[attr-defined]
            element.default_css = [(n, assets.served_url(p, m, prefix)) for n, p, m in css]  # type: ignore[attr-defined]
        return fmap

    root = assets.require_assets(root)
    seen: set[str] = set()
    parts: list[str] = []
    for element, js, css in plan:
        for name, package, member in css:
            if name not in seen:
                seen.add(name)
                parts.append(f"<style>/* {name} */\n{_inline_css(package, member, root)}</style>")
        for name, package, member in js:
            if name not in seen:
                seen.add(name)
                parts.append(f"<script>/* {name} */\n{_inline_js(package, member, root)}</script>")
        element.default_js = []  # type: ignore[attr-defined]
        element.default_css = []  # type: ignore[attr-defined]
    figure = fmap.get_root()  # type: ignore[attr-defined]
    figure.header.add_child(TextElement("\n".join(parts)), name="geo_inline_assets", index=0)
    return fmap
