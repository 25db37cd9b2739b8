"""Leaders' maps: wards coloured by a metric, incident density, and one ward's map.

Built on :func:`geo.maps.base_map` and finished with :func:`geo.map_assets.localize`, so
they share the officers' map's offline behaviour (no CDN, plain background and a note
when tiles fail). Colours are computed here, in Python, and drawn with a small HTML
legend: branca's colour-map legend would pull d3 from a CDN.

Every ward name and every other string is ``html.escape``d before it reaches a tooltip.
No map holds a link: a plain link would reload the app in a new, signed-out session, so
the pages read the clicked ward (each feature's ``code`` property) from ``st_folium`` and
switch page themselves.
"""

from __future__ import annotations

from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.plugins import HeatMap
from folium.raster_layers import ImageOverlay

from geo.assets import SERVED_PREFIX
from geo.crs import STORAGE_CRS
from geo.density import HANOI_BBOX, HEATMAP_MAX_POINTS, density_grid, overlay_png, png_data_url
from geo.i18n import number, t
from geo.map_assets import localize
from geo.maps import Legend, base_map
from geo.metrics import format_value, metric
from geo.safe_text import html_text

AssetMode = Literal["served", "inline", "cdn"]

#: Five classes, light to dark (ColorBrewer YlOrRd); darker is always "worse".
PALETTE: tuple[str, ...] = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
#: Before/after change: fewer open (green) to more open (red).
DIVERGING: tuple[str, ...] = ("#1a9850", "#91cf60", "#f7f7f7", "#fc8d59", "#d73027")
NO_DATA = "#d9d9d9"


def _esc(value: Any) -> str:
    # HTML-escaped, with control and bidi-override characters replaced (geo.safe_text)
    return html_text(value)


def class_breaks(values: pd.Series, n: int = len(PALETTE)) -> list[float]:
    """Quantile class edges of the defined values (fewer when values repeat).

    Parameters
    ----------
    values : pandas.Series
        The metric per ward (NaN where undefined).
    n : int
        The number of classes wanted (default: one per :data:`PALETTE` colour).

    Returns
    -------
    list of float
        The distinct quantile edges, lowest first (at most ``n + 1``); empty when no value
        is defined.
    """
    data = values.dropna().astype(float)
    if data.empty:
        return []
    edges = np.unique(np.quantile(data, np.linspace(0, 1, n + 1)))
    return [float(e) for e in edges]


def colours(values: pd.Series, *, higher_is_worse: bool = True) -> pd.Series:
    """A palette colour per value (indexed like ``values``); grey where undefined.

    Parameters
    ----------
    values : pandas.Series
        The metric per ward (NaN where undefined).
    higher_is_worse : bool
        True: high values get the dark end of :data:`PALETTE`; False: the light end.

    Returns
    -------
    pandas.Series
        A hex colour string per value (:data:`NO_DATA` grey where undefined).
    """
    edges = class_breaks(values)
    out = pd.Series(NO_DATA, index=values.index, dtype=object)
    defined = values.notna()
    if not edges:
        return out
    if len(edges) == 1:
        return out.where(~defined, PALETTE[len(PALETTE) // 2])
    inner = np.asarray(edges[1:-1])
    cls = np.searchsorted(inner, values[defined].astype(float).to_numpy(), side="right")
    # stretch the classes over the whole palette when there are fewer than five
    n_cls = len(edges) - 1
    idx = np.round(cls * (len(PALETTE) - 1) / max(n_cls - 1, 1)).astype(int)
    if not higher_is_worse:
        idx = len(PALETTE) - 1 - idx
    filled = out.to_numpy(copy=True)
    filled[defined.to_numpy()] = [PALETTE[i] for i in idx]
    return pd.Series(filled, index=values.index, dtype=object)


def _features(wards: gpd.GeoDataFrame, props: pd.DataFrame) -> dict[str, Any]:
    geoms = shapely.transform(wards.to_crs(STORAGE_CRS).geometry.values, lambda xy: np.round(xy, 6))
    features = []
    for (_, row), geom in zip(props.iterrows(), geoms, strict=True):
        features.append(
            {
                "type": "Feature",
                "properties": {k: (None if pd.isna(v) else v) for k, v in row.items()},
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _legend_html(title: str, edges: list[float], code: str, higher_is_worse: bool, lang: str) -> str:
    rows = [f"<b>{_esc(title)}</b>"]
    swatch = '<span style="display:inline-block;width:12px;height:10px;background:{};margin-right:4px"></span>'
    if len(edges) >= 2:
        fills = colours(pd.Series(edges[:-1]), higher_is_worse=higher_is_worse)
        for i, fill in enumerate(fills):
            rows.append(
                swatch.format(fill)
                + f"{_esc(format_value(edges[i], code, lang))} – {_esc(format_value(edges[i + 1], code, lang))}"
            )
    elif len(edges) == 1:
        rows.append(swatch.format(PALETTE[len(PALETTE) // 2]) + _esc(format_value(edges[0], code, lang)))
    rows.append(swatch.format(NO_DATA) + _esc(t("compare.no_data", lang)))
    return "<br>".join(rows)


def _finish(fmap: folium.Map, assets: AssetMode, asset_prefix: str) -> folium.Map:
    if assets != "cdn":
        localize(fmap, mode=assets, prefix=asset_prefix)
    return fmap


def _bounds(wards: gpd.GeoDataFrame) -> tuple[tuple[float, float], tuple[float, float]]:
    minx, miny, maxx, maxy = wards.to_crs(STORAGE_CRS).total_bounds
    return (float(miny), float(minx)), (float(maxy), float(maxx))


def choropleth_map(
    wards: gpd.GeoDataFrame,
    metrics: pd.DataFrame,
    by: str,
    *,
    lang: str = "vi",
    tiles: bool = True,
    assets: AssetMode = "served",
    asset_prefix: str = SERVED_PREFIX,
) -> folium.Map:
    """Wards coloured by the metric ``by`` of :func:`geo.metrics.ward_metrics` (rows
    aligned with ``wards``), with a tooltip per ward; each feature carries its ``code``.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        The ward layer (EPSG:4326) with ``code`` and ``name``.
    metrics : pandas.DataFrame
        :func:`geo.metrics.ward_metrics` rows aligned with ``wards`` (``code``, ``name``,
        ``volume`` and the column ``by``).
    by : str
        The metric to colour by (the code of one of :data:`geo.metrics.METRICS`).
    lang : str
        Label language, ``"vi"`` or ``"en"``.
    tiles : bool
        Draw the OpenStreetMap base tiles (False: outlines on a blank background).
    assets : {"served", "inline", "cdn"}
        How Leaflet is loaded: from Streamlit's static folder, inlined, or from public CDNs.
    asset_prefix : str
        URL prefix of the static folder for ``"served"``.

    Returns
    -------
    folium.Map
        The map, with a legend of the class edges.

    Raises
    ------
    geo.errors.MetricError
        ``by`` is not a known metric.
    geo.errors.AssetError
        ``assets="inline"`` and the vendored files are missing.
    """
    spec = metric(by)
    values = metrics[by].astype(float)
    fills = colours(values, higher_is_worse=spec.higher_is_worse)
    label = t(f"metric.{by}", lang)
    tips = [
        f"<b>{_esc(name)}</b> ({_esc(code)})<br>{_esc(label)}: {_esc(format_value(v, by, lang))}"
        f"<br>{_esc(t(f'metric.{spec.volume}', lang))}: {number(int(vol), lang)}"
        for name, code, v, vol in zip(metrics["name"], metrics["code"], values, metrics[spec.volume], strict=True)
    ]
    props = pd.DataFrame(
        {
            "code": metrics["code"].astype(str).to_numpy(),
            "tip": tips,
            "fill": fills.to_numpy(),
        }
    )
    fmap = base_map(_bounds(wards), tiles=tiles, lang=lang)
    folium.GeoJson(
        _features(wards, props),
        name=label,
        style_function=lambda f: {
            "color": "#555555", "weight": 0.8, "fillColor": f["properties"]["fill"], "fillOpacity": 0.75,
        },
        highlight_function=lambda _f: {"weight": 2.5, "color": "#08306b"},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        zoom_on_click=False,
    ).add_to(fmap)
    Legend(_legend_html(label, class_breaks(values), by, spec.higher_is_worse, lang)).add_to(fmap)
    return _finish(fmap, assets, asset_prefix)


def _outline(wards: gpd.GeoDataFrame, fmap: folium.Map, lang: str) -> None:
    props = pd.DataFrame(
        {
            "code": wards["code"].astype(str).to_numpy(),
            "tip": [f"<b>{_esc(n)}</b> ({_esc(c)})" for n, c in zip(wards["name"], wards["code"], strict=True)],
        }
    )
    folium.GeoJson(
        _features(wards, props),
        name=t("map.ward_layer", lang),
        style_function=lambda _f: {"color": "#2171b5", "weight": 1, "fillOpacity": 0.02},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        zoom_on_click=False,
    ).add_to(fmap)


def density_map(
    wards: gpd.GeoDataFrame,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    lang: str = "vi",
    cell_m: float | None = None,
    metres: tuple[np.ndarray, np.ndarray] | None = None,
    max_points: int = HEATMAP_MAX_POINTS,
    tiles: bool = True,
    assets: AssetMode = "served",
    asset_prefix: str = SERVED_PREFIX,
) -> folium.Map:
    """Ward outlines plus incident density: a folium HeatMap up to ``max_points``
    points, above that the server-side grid as an image overlay (bounded payload).

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        The ward layer (EPSG:4326), drawn as outlines.
    lon : numpy.ndarray
        Incident longitudes in degrees (EPSG:4326).
    lat : numpy.ndarray
        Incident latitudes in degrees (EPSG:4326), same length as ``lon``.
    lang : str
        Label language, ``"vi"`` or ``"en"``.
    cell_m : float or None
        Grid cell size in metres for the image overlay (default:
        :data:`geo.density.DEFAULT_CELL_M`).
    metres : tuple of numpy.ndarray or None
        The points' EPSG:32648 ``(x, y)`` when known (a snapshot's,
        :func:`geo.density.snapshot_metres`): the grid counts them instead of projecting.
    max_points : int
        Up to this many points a HeatMap is drawn; above it, the server-side grid.
    tiles : bool
        Draw the OpenStreetMap base tiles.
    assets : {"served", "inline", "cdn"}
        How Leaflet is loaded.
    asset_prefix : str
        URL prefix of the static folder for ``"served"``.

    Returns
    -------
    folium.Map
        The map with a density layer (none when there are no points).

    Raises
    ------
    geo.errors.MetricError
        The grid for ``cell_m`` would be too large.
    geo.errors.AssetError
        ``assets="inline"`` and the vendored files are missing.
    """
    fmap = base_map(_bounds(wards), tiles=tiles, lang=lang)
    _outline(wards, fmap, lang)
    n = len(lon)
    if 0 < n <= max_points:
        points = np.column_stack([np.round(lat, 5), np.round(lon, 5)]).tolist()
        HeatMap(points, name=t("map.density_layer", lang), radius=10, blur=12, min_opacity=0.3).add_to(fmap)
    elif n > max_points:
        kwargs = {"cell_m": cell_m} if cell_m else {}
        grid = density_grid(lon, lat, bbox=HANOI_BBOX, metres=metres, **kwargs)
        png, bounds = overlay_png(grid)
        ImageOverlay(png_data_url(png), bounds, name=t("map.density_layer", lang), pixelated=True).add_to(fmap)
    return _finish(fmap, assets, asset_prefix)


def change_map(
    wards: gpd.GeoDataFrame,
    change: pd.DataFrame,
    *,
    lang: str = "vi",
    tiles: bool = True,
    assets: AssetMode = "served",
    asset_prefix: str = SERVED_PREFIX,
) -> folium.Map:
    """Wards coloured by the change in open incidents between two dates
    (``change`` has ``code``, ``name``, ``before``, ``after``, ``delta``, aligned with ``wards``).

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        The ward layer (EPSG:4326).
    change : pandas.DataFrame
        ``code``, ``name``, ``before``, ``after`` and ``delta`` (open incidents), aligned
        with ``wards``.
    lang : str
        Label language, ``"vi"`` or ``"en"``.
    tiles : bool
        Draw the OpenStreetMap base tiles.
    assets : {"served", "inline", "cdn"}
        How Leaflet is loaded.
    asset_prefix : str
        URL prefix of the static folder for ``"served"``.

    Returns
    -------
    folium.Map
        The map, coloured green (fewer open) to red (more open), scaled to the largest change.

    Raises
    ------
    geo.errors.AssetError
        ``assets="inline"`` and the vendored files are missing.
    """
    delta = change["delta"].astype(float)
    peak = float(delta.abs().max()) if len(delta) else 0.0
    if peak > 0:
        idx = np.clip(np.round((delta / peak) * 2 + 2), 0, 4).astype(int)
        fills = [DIVERGING[i] for i in idx]
    else:
        fills = [DIVERGING[2]] * len(delta)
    tips = [
        f"<b>{_esc(n)}</b> ({_esc(c)})<br>{_esc(t('progress.open_before', lang))}: {int(b)}"
        f"<br>{_esc(t('progress.open_after', lang))}: {int(a)}<br>Δ {int(d):+d}"
        for n, c, b, a, d in zip(change["name"], change["code"], change["before"], change["after"], change["delta"], strict=True)
    ]
    props = pd.DataFrame(
        {"code": change["code"].astype(str).to_numpy(), "tip": tips, "fill": fills}
    )
    fmap = base_map(_bounds(wards), tiles=tiles, lang=lang)
    folium.GeoJson(
        _features(wards, props),
        name=t("progress.change_layer", lang),
        style_function=lambda f: {"color": "#555555", "weight": 0.8, "fillColor": f["properties"]["fill"], "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        zoom_on_click=False,
    ).add_to(fmap)
    swatch = '<span style="display:inline-block;width:12px;height:10px;background:{};margin-right:4px"></span>'
    legend = [f"<b>{_esc(t('progress.change_layer', lang))}</b>"]
    legend.append(swatch.format(DIVERGING[0]) + _esc(f"−{int(peak)}"))
    legend.append(swatch.format(DIVERGING[2]) + "0")
    legend.append(swatch.format(DIVERGING[4]) + _esc(f"+{int(peak)}"))
    Legend("<br>".join(legend)).add_to(fmap)
    return _finish(fmap, assets, asset_prefix)


def ward_incident_map(
    ward: gpd.GeoDataFrame,
    incidents: pd.DataFrame,
    *,
    lang: str = "vi",
    tiles: bool = True,
    assets: AssetMode = "served",
    asset_prefix: str = SERVED_PREFIX,
    max_markers: int | None = None,
) -> folium.Map:
    """One ward outlined, its incidents as markers coloured by status (the officers'
    map builder, zoomed to the ward).

    Parameters
    ----------
    ward : geopandas.GeoDataFrame
        The ward (EPSG:4326; its first row's ``code`` is selected).
    incidents : pandas.DataFrame
        The ward's incidents, as for :func:`geo.maps.ward_map`.
    lang : str
        Label language, ``"vi"`` or ``"en"``.
    tiles : bool
        Draw the OpenStreetMap base tiles.
    assets : {"served", "inline", "cdn"}
        How Leaflet is loaded.
    asset_prefix : str
        URL prefix of the static folder for ``"served"``.
    max_markers : int or None
        The most markers drawn (default :data:`geo.maps.MAX_MARKERS`).

    Returns
    -------
    folium.Map
        The map, zoomed to the ward.

    Raises
    ------
    geo.errors.AssetError
        ``assets="inline"`` and the vendored files are missing.
    """
    from geo.maps import MAX_MARKERS, ward_map

    code = str(ward["code"].iloc[0])
    return ward_map(
        ward, incidents, lang=lang, selected=[code], tiles=tiles,
        max_markers=max_markers or MAX_MARKERS, assets=assets, asset_prefix=asset_prefix,
    )
