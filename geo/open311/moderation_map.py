"""The map of one report for its moderation: the report, a 30 m circle, nearby incidents.

Built on :func:`geo.maps.base_map` and finished with :func:`geo.map_assets.localize`, like
every map of the app. Tooltips are escaped (:func:`geo.safe_text.html_text`).
"""

from __future__ import annotations

import folium
import pandas as pd

from geo.map_assets import localize
from geo.maps import base_map
from geo.safe_text import html_text
from geo.store.reports import NEARBY_METRES


def report_map(lat: float, lon: float, label: str, nearby: pd.DataFrame, *, lang: str = "vi") -> folium.Map:
    """A map around the report at (lat, lon) with the open incidents of ``nearby``.

    Parameters
    ----------
    lat, lon
        The report's point (EPSG:4326).
    label
        The report's tooltip (escaped here).
    nearby
        ``id``, ``lat``, ``lon``, ``distance_m`` of the duplicate suggestions.
    lang
        Language of the map's own labels.

    Returns
    -------
    folium.Map
        The map, its assets served locally.
    """
    pad = 0.0008  # about 90 m: the circle and its neighbours fit
    fmap = base_map(((lat - pad, lon - pad), (lat + pad, lon + pad)), lang=lang)
    folium.Circle([lat, lon], radius=NEARBY_METRES, color="#d9480f", fill=False, weight=1).add_to(fmap)
    folium.CircleMarker([lat, lon], radius=8, color="#d9480f", fill=True,
                        tooltip=html_text(label)).add_to(fmap)
    columns = [nearby[c].to_numpy() for c in ("id", "lat", "lon", "distance_m")] if len(nearby) else []
    for incident, y, x, metres in zip(*columns, strict=True):
        folium.CircleMarker(
            [float(y), float(x)], radius=6, color="#1c7ed6", fill=True,
            tooltip=html_text(f"#{incident} · {float(metres):.0f} m"),
        ).add_to(fmap)
    localize(fmap)
    return fmap
