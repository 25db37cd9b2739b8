"""The officers' map as folium objects: wards with names, incidents by status, density.

Pure functions: they take frames and return a new ``folium.Map`` (or HTML), so the app,
the ``python -m geo map`` command and the tests draw exactly the same map. Three rules:

* No CDNs: :func:`geo.map_assets.localize` points every script at ``/app/static/vendor`` or
  inlines it (standalone HTML).
* Bounded payload: incidents travel as one compact JSON array drawn by a small script
  (clustered circle markers), never one folium object per point; above ``max_markers``
  the map shows a server-side density grid instead.
* Every string that came from a user or a file is ``html.escape``d before it reaches
  a tooltip; folium's GeoJsonTooltip inserts values as raw HTML.

The Leaflet elements folium lacks live in :mod:`geo._map_elements` and the density grid in
:mod:`geo._map_density`; their public names are re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, cast

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure

from geo._map_density import DENSITY_CELL_M, MAX_CELLS, density_grid
from geo._map_elements import GridHeatMap, IncidentMarkers, Legend, TileStatus, WardLabels
from geo._map_text import TextElement
from geo.assets import SERVED_PREFIX
from geo.crs import STORAGE_CRS
from geo.i18n import status_label, t, type_label
from geo.map_assets import localize
from geo.safe_text import display_text, html_text

AssetMode = Literal["served", "inline", "cdn"]

#: Marker colour per workflow state (open states warm, cleared green, recurred purple).
STATUS_COLORS: dict[str, str] = {
    "reported": "#d7301f",
    "verified": "#fc8d59",
    "in_progress": "#fdbb2d",
    "cleared": "#1a9850",
    "recurred": "#7b3294",
}
OTHER_COLOR = "#636363"
#: Above this many incidents in a view, the map draws density instead of markers.
MAX_MARKERS = 5000
HANOI_BOUNDS = ((20.56, 105.28), (21.39, 106.02))
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)


def ward_labels(wards: gpd.GeoDataFrame) -> list[list[Any]]:
    """``[lat, lon, name]`` per ward, at a point guaranteed inside it.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        The ward layer (any CRS) with a ``name`` column.

    Returns
    -------
    list of list
        ``[lat, lon, name]`` per ward, degrees in EPSG:4326 rounded to 5 decimals, the name
        made safe for display (:func:`geo.safe_text.display_text`).
    """
    points = wards.to_crs(STORAGE_CRS).geometry.representative_point()
    return [
        [round(p.y, 5), round(p.x, 5), safe_label]
        for p, safe_label in zip(points, wards["name"].map(display_text), strict=True)
    ]


def _esc(value: Any) -> str:
    # HTML-escaped, with control and bidi-override characters replaced (geo.safe_text)
    return html_text(value)


def base_map(
    bounds: Sequence[Sequence[float]] | None = None,
    *,
    tiles: bool = True,
    lang: str = "vi",
) -> folium.Map:
    """An empty map over ``bounds`` ((south, west), (north, east)) with the OSM basemap.

    Other pages (choropleth, heatmap) start from this and end with
    :func:`geo.map_assets.localize`, so every map shares the offline behaviour.

    Parameters
    ----------
    bounds : sequence of sequence of float or None
        ``((south, west), (north, east))`` in EPSG:4326 degrees (default: Hà Nội).
    tiles : bool
        Add the OpenStreetMap tile layer (False: no basemap).
    lang : str
        Language of the "tiles offline" notice, ``"vi"`` or ``"en"``.

    Returns
    -------
    folium.Map
        The map fitted to ``bounds``, still pointing at folium's CDN files.
    """
    fmap = folium.Map(
        location=[21.03, 105.85], zoom_start=11, tiles=None, control_scale=True, prefer_canvas=False
    )
    if tiles:
        folium.TileLayer(OSM_TILES, attr=OSM_ATTRIBUTION, name="OpenStreetMap", max_zoom=19).add_to(
            fmap
        )
    TileStatus(t("map.tiles_offline", lang)).add_to(fmap)
    south_west, north_east = bounds or HANOI_BOUNDS
    fmap.fit_bounds([list(south_west), list(north_east)])
    return fmap


def _round_coords(geoms: Any, decimals: int = 6) -> Any:
    # 1e-6 degree is ~0.1 m: far below the 2 m the layer was simplified to.
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def ward_features(
    wards: gpd.GeoDataFrame, *, lang: str = "vi", selected: Sequence[str] = ()
) -> dict[str, Any]:
    """The ward layer as a GeoJSON dict with an escaped ``tip`` and a ``sel`` flag.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        The ward layer (any CRS) with ``code``, ``name``, ``area_km2`` and optionally
        ``population``.
    lang : str
        Tooltip language, ``"vi"`` or ``"en"``.
    selected : sequence of str
        Ward codes whose feature gets ``sel`` true (outlined).

    Returns
    -------
    dict
        A GeoJSON FeatureCollection in EPSG:4326 (coordinates rounded), properties
        ``code``, ``tip`` (HTML-escaped) and ``sel``.
    """
    return _ward_layer(wards, lang=lang, selected=selected)[0]


def _ward_layer(
    wards: gpd.GeoDataFrame, *, lang: str, selected: Sequence[str]
) -> tuple[dict[str, Any], list[list[float | None]]]:
    """:func:`ward_features` and the bounds of its coordinates ([[lat_min, lon_min],
    [lat_max, lon_max]]), taken from the same rounded geometries (see :class:`_WardOutlines`)."""
    wards = wards.to_crs(STORAGE_CRS)
    selected_set = set(selected)
    features = []
    geoms = _round_coords(wards.geometry.values)
    for row, geom in zip(wards.itertuples(index=False), geoms, strict=True):
        code = str(row.code)
        population = getattr(row, "population", None)
        pop_text = (
            t("ward.unknown", lang)
            if population is None or pd.isna(population)
            else f"{int(population):,}".replace(",", ".")
        )
        tip = (
            f"<b>{_esc(row.name)}</b><br>{_esc(t('map.ward_tooltip_code', lang))}: {_esc(code)}"
            f"<br>{_esc(t('map.ward_tooltip_area', lang))}: {float(row.area_km2):.2f}"
            f"<br>{_esc(t('map.ward_tooltip_population', lang))}: {_esc(pop_text)}"
        )
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "tip": tip, "sel": code in selected_set},
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    minx, miny, maxx, maxy = (None if np.isnan(v) else float(v) for v in shapely.total_bounds(geoms))
    return {"type": "FeatureCollection", "features": features}, [[miny, minx], [maxy, maxx]]


class _WardOutlines(folium.GeoJson):
    """The ward layer's GeoJson, whose bounds are given with it.

    streamlit-folium asks the map for its bounds on every run (``get_bounds``), and
    folium's GeoJson finds its own by walking every coordinate of the 126 outlines in
    Python: 0.23-0.42 s of each map run at any N (benchmarks/RESULTS.md, "page26, session
    26" and "page27, session 27"). :func:`_ward_layer` takes the same bounds from the
    geometries the coordinates were written from, in one vectorised call, so they are
    made with the layer and change with it (nothing is kept between runs to go stale).
    ``_get_self_bounds`` is the hook folium's own elements override for their bounds.
    """

    def __init__(self, data: dict[str, Any], *, bounds: list[list[float | None]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self._bounds = bounds

    def _get_self_bounds(self) -> list[list[float | None]]:
        return [list(corner) for corner in self._bounds]


def _ward_style(feature: dict[str, Any]) -> dict[str, Any]:
    sel = feature["properties"].get("sel")
    return {
        "color": "#08306b" if sel else "#2171b5",
        "weight": 3 if sel else 1.2,
        "fillColor": "#6baed6",
        "fillOpacity": 0.18 if sel else 0.05,
    }


def _tip(row: Any, lang: str) -> str:
    parts = [
        f"<b>#{_esc(row.id)}</b> · {_esc(type_label(str(row.type), lang))}",
        _esc(status_label(str(row.status), lang)),
    ]
    for field in ("address", "street"):
        value = _esc(getattr(row, field, ""))
        if value:
            parts.append(value)
    photos = getattr(row, "n_photos", 0)
    if photos and not pd.isna(photos):  # counts only: thumbnails load in the details panel
        line = _esc(t("photos.popup", lang, n=int(photos)))
        if getattr(row, "photo_flags", ""):
            line += " · " + _esc(t("photos.popup_flag", lang))
        parts.append(line)
    return "<br>".join(parts)


def incident_payload(incidents: pd.DataFrame, *, lang: str = "vi") -> str:
    """Compact JSON for the marker script: colours once, then one short array per point.

    Parameters
    ----------
    incidents : pandas.DataFrame
        ``id``, ``type``, ``status``, ``lat``, ``lon`` (EPSG:4326), optionally ``address``
        and ``street``.
    lang : str
        Tooltip language, ``"vi"`` or ``"en"``.

    Returns
    -------
    str
        JSON ``{"c": colours, "p": [[lat, lon, colour index, tip], …]}``, safe inside a
        ``<script>`` element.
    """
    codes = list(STATUS_COLORS)
    index = {code: i for i, code in enumerate(codes)}
    status_idx = incidents["status"].map(index).fillna(len(codes)).astype(int)
    lat = incidents["lat"].astype(float).round(6)
    lon = incidents["lon"].astype(float).round(6)
    tips = [_tip(row, lang) for row in incidents.itertuples(index=False)]
    points = [
        [a, b, int(s), tip]
        for a, b, s, tip in zip(lat.tolist(), lon.tolist(), status_idx.tolist(), tips, strict=True)
    ]
    payload = {"c": [*STATUS_COLORS.values(), OTHER_COLOR], "p": points}
    # "</" cannot end the surrounding <script> early
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _legend_html(lang: str) -> str:
    rows = [f"<b>{_esc(t('map.legend', lang))}</b>"]
    for code, color in STATUS_COLORS.items():
        rows.append(
            f'<span style="display:inline-block;width:10px;height:10px;border-radius:5px;'
            f'background:{color};margin-right:4px"></span>{_esc(status_label(code, lang))}'
        )
    return "<br>".join(rows)


def ward_map(
    wards: gpd.GeoDataFrame,
    incidents: pd.DataFrame | None = None,
    *,
    lang: str = "vi",
    selected: Sequence[str] = (),
    tiles: bool = True,
    max_markers: int = MAX_MARKERS,
    assets: AssetMode = "served",
    asset_prefix: str = SERVED_PREFIX,
) -> folium.Map:
    """The officers' map: ward polygons with names, and incidents when given.

    ``incidents`` needs columns ``id``, ``type``, ``status``, ``lat``, ``lon`` (optional
    ``address``, ``street``). Up to ``max_markers`` they are clustered markers coloured
    by status; above that a density heatmap on a 150 m grid. ``selected`` ward codes are
    outlined and the view zooms to them. ``assets`` picks served, inlined or (tests
    only) folium's CDN files.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        The ward layer (any CRS) with ``code``, ``name``, ``area_km2``.
    incidents : pandas.DataFrame or None
        The incidents to draw (``lat``/``lon`` in EPSG:4326), or None for wards only.
    lang : str
        Label language, ``"vi"`` or ``"en"``.
    selected : sequence of str
        Ward codes to outline and zoom to.
    tiles : bool
        Add the OpenStreetMap tile layer.
    max_markers : int
        Up to this many incidents are markers; above it, a heatmap.
    assets : {"served", "inline", "cdn"}
        How Leaflet is loaded.
    asset_prefix : str
        URL prefix of the static folder for ``"served"``.

    Returns
    -------
    folium.Map
        The map.

    Raises
    ------
    geo.errors.AssetError
        ``assets="inline"`` and the vendored files are missing.
    """
    shown = wards[wards["code"].isin(list(selected))] if selected else wards
    if shown.empty:
        shown = wards
    minx, miny, maxx, maxy = shown.to_crs(STORAGE_CRS).total_bounds
    fmap = base_map(((miny, minx), (maxy, maxx)), tiles=tiles, lang=lang)

    features, bounds = _ward_layer(wards, lang=lang, selected=selected)
    _WardOutlines(
        features,
        bounds=bounds,
        name=t("map.ward_layer", lang),
        style_function=_ward_style,
        highlight_function=lambda _f: {"weight": 3, "fillOpacity": 0.25},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        zoom_on_click=False,
    ).add_to(fmap)
    WardLabels(ward_labels(wards)).add_to(fmap)

    if incidents is not None and len(incidents):
        if len(incidents) <= max_markers:
            IncidentMarkers(incident_payload(incidents, lang=lang)).add_to(fmap)
            Legend(_legend_html(lang)).add_to(fmap)
        else:
            grid = density_grid(incidents)
            GridHeatMap(
                grid[["lat", "lon", "count"]].to_numpy().tolist(),
                name=t("map.density_layer", lang),
                radius=12,
                blur=10,
                min_opacity=0.3,
            ).add_to(fmap)

    if assets != "cdn":
        localize(fmap, mode=assets, prefix=asset_prefix)
    return fmap


def map_html(fmap: folium.Map, title: str = "") -> str:
    """The whole map as one HTML document (call :func:`ward_map` with ``assets="inline"``).

    Parameters
    ----------
    fmap : folium.Map
        The finished map.
    title : str
        The document's ``<title>`` (escaped; none when empty).

    Returns
    -------
    str
        The rendered HTML document.
    """
    root = cast(Figure, fmap.get_root())
    if title:
        root.header.add_child(TextElement(f"<title>{html_text(title)}</title>"), name="geo_title")
    return str(root.render())


__all__ = [
    "DENSITY_CELL_M", "HANOI_BOUNDS", "MAX_CELLS", "MAX_MARKERS", "OSM_ATTRIBUTION", "OSM_TILES",
    "OTHER_COLOR", "STATUS_COLORS", "AssetMode", "Legend", "base_map", "density_grid",
    "incident_payload", "map_html", "ward_features", "ward_labels", "ward_map",
]
