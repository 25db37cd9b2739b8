"""The officers' map layer of places (issue 12): each place a circle coloured by state.

Incidents say what was reported; places say where order does not hold. A place that is
open again after a clearance (recurred) is what a leader must see first, so it is drawn
last (on top), and a chronic place gets a thick dark ring whatever its state.

Same rules as :mod:`geo.maps`: one compact JSON array drawn by a small script (never one
folium object per place), every text escaped, no CDN (the layer needs only Leaflet).
"""

from __future__ import annotations

import json
from typing import Any

import folium
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from geo.i18n import t, type_label
from geo.maps import Legend
from geo.safe_text import html_text
from geo.sustain_views import PLACE_STATES

#: Fill colour per place state (open red, recurred purple, clear green).
STATE_COLORS: dict[str, str] = {"open": "#d7301f", "recurred": "#7b3294", "clear": "#1a9850"}
CHRONIC_RING = "#111111"
#: At most this many places are drawn (the most urgent first).
MAX_PLACES = 5000
_DRAW_ORDER = {"clear": 0, "open": 1, "recurred": 2}  # later is drawn on top


class _PlaceMarkers(MacroElement):
    """Circle markers from ``{"c": colours, "p": [[lat, lon, state, chronic, tip], …]}``;
    each marker's path has the classes ``geo-place geo-place-<state>``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
            var d = {{ this.payload | safe }};
            var group = L.featureGroup();
            for (var i = 0; i < d.p.length; i++) {
                var p = d.p[i];
                L.circleMarker([p[0], p[1]], {radius: p[3] ? 8 : 6, weight: p[3] ? 3 : 1,
                    color: p[3] ? d.ring : '#333', fillColor: d.c[p[2]], fillOpacity: 0.9,
                    className: 'geo-place geo-place-' + d.s[p[2]]})
                    .bindTooltip(p[4]).addTo(group);
            }
            group.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, payload: str) -> None:
        super().__init__()
        self._name = "PlaceMarkers"
        self.payload = payload


def _number(value: int) -> str:
    return f"{int(value):,}".replace(",", ".")


def _tip(row: Any, lang: str) -> str:
    """Tooltip text; numbers are written with thousands dots so that the map page's click
    handler never reads a place id as a ward code (five digits) or an incident (``#``)."""
    parts = [
        f"<b>{html_text(t('sustain.place', lang))} {_number(row.place_id)}</b> · "
        f"{html_text(type_label(str(row.type), lang))}",
        html_text(t(f"sustain.state.{row.state}", lang)),
        f"{html_text(t('sustain.recurrences', lang))}: {int(row.recurrences)}",
    ]
    if row.state == "clear" and not pd.isna(row.days_clear):
        parts.append(f"{html_text(t('sustain.days_clear', lang))}: {int(row.days_clear)}")
    if row.chronic:
        parts.append(html_text(t("sustain.chronic_mark", lang)))
    return "<br>".join(parts)


def place_payload(states: pd.DataFrame, *, lang: str = "vi", max_places: int = MAX_PLACES) -> str:
    """Compact JSON for the place script, the most urgent ``max_places`` places only.

    Parameters
    ----------
    states : pandas.DataFrame
        :func:`geo.sustain_views.place_states`.
    lang : str
        Tooltip language.
    max_places : int
        The most places drawn: recurred first, then open, then clear, each by most
        recurrences.

    Returns
    -------
    str
        JSON safe inside a ``<script>`` element.
    """
    index = {s: i for i, s in enumerate(PLACE_STATES)}
    ranked = states.assign(_o=states["state"].map(_DRAW_ORDER))
    ranked = ranked.sort_values(["_o", "recurrences"], ascending=[False, False], kind="stable").head(max_places)
    ranked = ranked.iloc[::-1]  # the most urgent drawn last, on top
    lat = ranked["lat"].astype(float).round(6).tolist()
    lon = ranked["lon"].astype(float).round(6).tolist()
    state = ranked["state"].map(index).astype(int).tolist()
    chronic = ranked["chronic"].astype(bool).astype(int).tolist()
    tips = [_tip(r, lang) for r in ranked.itertuples(index=False)]
    points = [list(p) for p in zip(lat, lon, state, chronic, tips, strict=True)]
    payload = {"c": [STATE_COLORS[s] for s in PLACE_STATES], "s": list(PLACE_STATES), "ring": CHRONIC_RING,
               "p": points}  # fmt: skip
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _legend_html(lang: str) -> str:
    rows = [f"<b>{html_text(t('sustain.place_layer', lang))}</b>"]
    for state in PLACE_STATES:
        rows.append(
            f'<span style="display:inline-block;width:10px;height:10px;border-radius:5px;'
            f'background:{STATE_COLORS[state]};margin-right:4px"></span>'
            f"{html_text(t(f'sustain.state.{state}', lang))}"
        )
    rows.append(
        f'<span style="display:inline-block;width:8px;height:8px;border-radius:5px;'
        f'border:3px solid {CHRONIC_RING};margin-right:4px"></span>{html_text(t("sustain.chronic_mark", lang))}'
    )
    return "<br>".join(rows)


def add_place_layer(fmap: folium.Map, states: pd.DataFrame, *, lang: str = "vi") -> folium.Map:
    """Draw the places of ``states`` on ``fmap`` with a legend; returns ``fmap``.

    Parameters
    ----------
    fmap : folium.Map
        A map of :func:`geo.maps.ward_map`.
    states : pandas.DataFrame
        :func:`geo.sustain_views.place_states`.
    lang : str
        Label language.

    Returns
    -------
    folium.Map
        The same map.
    """
    if len(states):
        _PlaceMarkers(place_payload(states, lang=lang)).add_to(fmap)
        Legend(_legend_html(lang)).add_to(fmap)
    return fmap
