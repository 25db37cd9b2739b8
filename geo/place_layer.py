"""The officers' map layer of places (issue 12): each place a circle coloured by state.

Incidents say what was reported; places say where order does not hold. A place that is
open again after a clearance (recurred) is what a leader must see first, so it is drawn
last (on top), and a chronic place gets a thick dark ring whatever its state.

Same rules as :mod:`geo.maps`: one compact JSON array drawn by a small script (never one
folium object per place), every text escaped, no CDN (the layer needs only Leaflet).

A place's popup shows its timeline (:func:`geo.sustain_views.place_timelines`): reports,
clearances, checks and recurrences in time order. A city holds many thousands of places
and the map is one HTML document, so the payload stays small: each event is two numbers
(Hà Nội day, kind), labels are sent once, only the latest :data:`POPUP_EVENTS` events of a
place travel (with the count of the earlier ones; the ward page shows them all), a
check's note is cut at :data:`NOTE_CHARS`, and the popup's HTML is built by the script
only when a popup opens.
"""

from __future__ import annotations

import json
from typing import Any

import folium
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from geo.crs import LOCAL_TZ
from geo.i18n import t, type_label
from geo.maps import Legend
from geo.safe_text import display_text, html_text
from geo.sustain_views import EVENT_KINDS, PLACE_STATES

#: Fill colour per place state (open red, recurred purple, clear green).
STATE_COLORS: dict[str, str] = {"open": "#d7301f", "recurred": "#7b3294", "clear": "#1a9850"}
CHRONIC_RING = "#111111"
#: At most this many places are drawn (the most urgent first).
MAX_PLACES = 5000
_DRAW_ORDER = {"clear": 0, "open": 1, "recurred": 2}  # later is drawn on top
#: A popup carries this many of the place's latest events (a chronic place's four
#: episodes with a check each fit); the earlier ones are counted.
POPUP_EVENTS = 12
#: A check's note is cut to this many characters in a popup.
NOTE_CHARS = 120
_EPOCH = pd.Timestamp("1970-01-01")


class _PlaceMarkers(MacroElement):
    """Circle markers from ``{"c": colours, "p": [[lat, lon, state, chronic, tip, events,
    earlier, address, notes], …]}``; each marker's path has the classes ``geo-place
    geo-place-<state>``. ``events`` and ``notes`` are :func:`_packed` (days since
    1970-01-01 in Hà Nội); every text in the payload is escaped already. The popup (class
    ``geo-place-popup``, one ``li`` per event with ``data-kind``) is built when opened."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
            var d = {{ this.payload | safe }};
            var group = L.featureGroup();
            function two(n) { return (n < 10 ? '0' : '') + n; }
            function date(day) {
                var t = new Date(day * 86400000);
                return two(t.getUTCDate()) + '/' + two(t.getUTCMonth() + 1) + '/' + t.getUTCFullYear();
            }
            function popup(p) {
                var h = '<div class="geo-place-popup">' + p[4];
                if (p[7]) { h += '<br><i>' + p[7] + '</i>'; }
                h += '<br><b>' + d.t.title + '</b>';
                if (p[6] > 0) { h += '<div class="geo-earlier">' + d.t.earlier[0] + p[6].toLocaleString(d.t.locale) + d.t.earlier[1] + '</div>'; }
                h += '<ol class="geo-timeline" style="margin:2px 0;padding-left:18px">';
                var notes = {};
                for (var n = 0; n < p[8].length; n++) { notes[p[8][n][0]] = p[8][n][1]; }
                for (var j = 0, day = 0; 2 * j < p[5].length; j++) {
                    day += p[5][2 * j];
                    var kind = p[5][2 * j + 1];
                    h += '<li data-kind="' + d.kinds[kind] + '">' + date(day) + ' · ' + d.t.k[kind]
                        + (j in notes ? ' — <i>' + notes[j] + '</i>' : '') + '</li>';
                }
                return h + '</ol></div>';
            }
            for (var i = 0; i < d.p.length; i++) {
                var p = d.p[i];
                var m = L.circleMarker([p[0], p[1]], {radius: p[3] ? 8 : 6, weight: p[3] ? 3 : 1,
                    color: p[3] ? d.ring : '#333', fillColor: d.c[p[2]], fillOpacity: 0.9,
                    className: 'geo-place geo-place-' + d.s[p[2]]})
                    .bindTooltip(p[4]);
                if (p.length > 5) { m.bindPopup((function(q) { return function() { return popup(q); }; })(p),
                                                {maxWidth: 320}); }
                m.addTo(group);
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


def drawn_places(states: pd.DataFrame, max_places: int = MAX_PLACES) -> pd.DataFrame:
    """The places the layer draws, in drawing order: the most urgent ``max_places``
    (recurred first, then open, then clear, each by most recurrences), drawn last.

    Parameters
    ----------
    states : pandas.DataFrame
        :func:`geo.sustain_views.place_states`.
    max_places : int
        The most places drawn.

    Returns
    -------
    pandas.DataFrame
        Those rows of ``states``; read their timelines for these places only.
    """
    ranked = states.assign(_o=states["state"].map(_DRAW_ORDER))
    ranked = ranked.sort_values(["_o", "recurrences"], ascending=[False, False], kind="stable").head(max_places)
    return ranked.drop(columns="_o").iloc[::-1]  # the most urgent drawn last, on top


def _note(value: Any) -> str:
    text = display_text(value).strip()
    return html_text(text if len(text) <= NOTE_CHARS else text[: NOTE_CHARS - 1] + "…")


#: Stands for the earlier events' count in their label until the popup writes the count
#: (a private-use character: no label holds it, and escaping leaves it as it is).
_COUNT = "\ue000"


def _around_count(label: str) -> list[str]:
    """The label's text before and after the count, escaped apart so no escaping can
    touch a placeholder the script must find."""
    before, _, after = label.partition(_COUNT)
    return [html_text(before), html_text(after)]


def popup_timelines(events: pd.DataFrame, *, last: int = POPUP_EVENTS) -> dict[int, tuple[list[list[Any]], int, str]]:
    """Place id → (its latest ``last`` events as ``[day, kind(, note)]``, the number of
    earlier events, its escaped address), for the popups.

    Parameters
    ----------
    events : pandas.DataFrame
        :func:`geo.sustain_views.place_timelines`, in time order per place.
    last : int
        Events carried per place.

    Returns
    -------
    dict
        Days are Hà Nội calendar days since 1970-01-01; kinds index
        :data:`geo.sustain_views.EVENT_KINDS`; notes are cut and escaped.
    """
    if events.empty:
        return {}
    kind = events["kind"].map({k: i for i, k in enumerate(EVENT_KINDS)}).astype(int).tolist()
    local = events["at"].dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).dt.normalize()
    days = ((local - _EPOCH) // pd.Timedelta(days=1)).astype(int).tolist()
    empty = pd.Series([None] * len(events), index=events.index)
    notes = events.get("note", empty).tolist()
    addresses = events.get("address", empty).tolist()
    out: dict[int, tuple[list[list[Any]], int, str]] = {}
    places = events["place_id"].astype(int).tolist()
    for rows in events.groupby("place_id", sort=False).indices.values():
        shown = rows[-last:]
        out[places[rows[0]]] = (
            [[days[i], kind[i], *([_note(notes[i])] if not pd.isna(notes[i]) else [])] for i in shown],
            len(rows) - len(shown),
            html_text(addresses[rows[0]]),
        )
    return out


def _packed(rows: list[list[Any]]) -> tuple[list[int], list[list[Any]]]:
    """Events on the wire: one flat list ``[day, kind, +days, kind, …]`` (the first day
    whole, then the days since the event before: a few digits instead of five), and the
    notes as ``[[event number, note], …]``. About half the bytes of ``[[day, kind], …]``
    for a city's worth of places."""
    flat: list[int] = []
    notes: list[list[Any]] = []
    before = 0
    for number, row in enumerate(rows):
        flat += [row[0] - before, row[1]]
        before = row[0]
        if len(row) > 2:
            notes.append([number, row[2]])
    return flat, notes


def place_payload(
    states: pd.DataFrame,
    events: pd.DataFrame | None = None,
    *,
    lang: str = "vi",
    max_places: int = MAX_PLACES,
) -> str:
    """Compact JSON for the place script, the most urgent ``max_places`` places only.

    Parameters
    ----------
    states : pandas.DataFrame
        :func:`geo.sustain_views.place_states`.
    events : pandas.DataFrame or None
        :func:`geo.sustain_views.place_timelines` of (at least) the drawn places; None:
        no popups.
    lang : str
        Tooltip and popup language.
    max_places : int
        The most places drawn (:func:`drawn_places`).

    Returns
    -------
    str
        JSON safe inside a ``<script>`` element.
    """
    index = {s: i for i, s in enumerate(PLACE_STATES)}
    ranked = drawn_places(states, max_places)
    lat = ranked["lat"].astype(float).round(6).tolist()
    lon = ranked["lon"].astype(float).round(6).tolist()
    state = ranked["state"].map(index).astype(int).tolist()
    chronic = ranked["chronic"].astype(bool).astype(int).tolist()
    tips = [_tip(r, lang) for r in ranked.itertuples(index=False)]
    points: list[list[Any]] = [list(p) for p in zip(lat, lon, state, chronic, tips, strict=True)]
    payload: dict[str, Any] = {"c": [STATE_COLORS[s] for s in PLACE_STATES], "s": list(PLACE_STATES),
                               "ring": CHRONIC_RING, "p": points}  # fmt: skip
    if events is not None:
        timelines = popup_timelines(events)
        for point, place in zip(points, ranked["place_id"].astype(int), strict=True):
            rows, earlier, address = timelines.get(place, ([], 0, ""))
            flat, notes = _packed(rows)
            point.extend([flat, earlier, address, notes])
        payload["kinds"] = list(EVENT_KINDS)
        payload["t"] = {"title": html_text(t("sustain.timeline", lang)),
                        "earlier": _around_count(t("sustain.earlier_events", lang, n=_COUNT)),
                        "locale": "en-US" if lang == "en" else "vi-VN",
                        "k": [html_text(t(f"sustain.event.{k}", lang)) for k in EVENT_KINDS]}  # fmt: skip
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


def add_place_layer(
    fmap: folium.Map, states: pd.DataFrame, events: pd.DataFrame | None = None, *, lang: str = "vi"
) -> folium.Map:
    """Draw the places of ``states`` on ``fmap`` with a legend; returns ``fmap``.

    Parameters
    ----------
    fmap : folium.Map
        A map of :func:`geo.maps.ward_map`.
    states : pandas.DataFrame
        :func:`geo.sustain_views.place_states`.
    events : pandas.DataFrame or None
        :func:`geo.sustain_views.place_timelines` of the drawn places: each place's popup
        shows its timeline (None: no popups).
    lang : str
        Label language.

    Returns
    -------
    folium.Map
        The same map.
    """
    if len(states):
        _PlaceMarkers(place_payload(states, events, lang=lang)).add_to(fmap)
        Legend(_legend_html(lang)).add_to(fmap)
    return fmap
