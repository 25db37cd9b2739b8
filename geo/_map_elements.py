"""The Leaflet pieces of the officers' map that folium lacks, as folium elements.

Each is a small template of its own script: a note shown only while basemap tiles fail
(the browser knows, the server never probes the network), clustered incident markers
drawn from one compact array (never one folium object per point), ward names written as
text (never HTML), and a legend. :mod:`geo.maps` re-exports :class:`Legend`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import HeatMap, MarkerCluster
from folium.template import Template

from geo import _map_text
from geo.errors import MetricError

_map_text.install()  # rendered map text is never read as a template again


class TileStatus(MacroElement):
    """Plain background + a small note that appears only while basemap tiles fail.

    Client-side on purpose: the server never probes the network; the browser knows
    whether tiles load. The note hides again as soon as a tile loads.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .leaflet-container { background: #f4f3ef; }
        .geo-tiles-offline { display: none; background: rgba(255,255,255,.85);
            padding: 2px 6px; border-radius: 3px; font: 12px/1.4 sans-serif; color: #555; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function(map) {
            var note = L.control({position: 'bottomleft'});
            note.onAdd = function() {
                var div = L.DomUtil.create('div', 'geo-tiles-offline');
                div.textContent = {{ this.text | tojson }};
                return div;
            };
            note.addTo(map);
            var div = note.getContainer();
            var watch = function(layer) {
                if (!(layer instanceof L.TileLayer)) { return; }
                layer.on('tileerror', function() { div.style.display = 'block'; });
                layer.on('tileload', function() { div.style.display = 'none'; });
            };
            map.eachLayer(watch);
            map.on('layeradd', function(e) { watch(e.layer); });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "TileStatus"
        self.text = text


class IncidentMarkers(JSCSSMixin):
    """Clustered circle markers from one compact array ``[lat, lon, status, tip]``."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .geo-cluster { background: rgba(33, 113, 181, .3); }
        .geo-cluster div { background: rgba(33, 113, 181, .8); color: #fff; font-weight: bold; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function(map) {
            var d = {{ this.payload | safe }};
            // neutral clusters: colour means status, so counts must not borrow it
            var group = L.markerClusterGroup({chunkedLoading: true,
                showCoverageOnHover: false, maxClusterRadius: 50,
                iconCreateFunction: function(c) {
                    return L.divIcon({html: '<div><span>' + c.getChildCount() + '</span></div>',
                        className: 'marker-cluster geo-cluster', iconSize: L.point(40, 40)});
                }});
            var layers = [];
            for (var i = 0; i < d.p.length; i++) {
                var p = d.p[i];
                var m = L.circleMarker([p[0], p[1]], {radius: 6, weight: 1,
                    color: '#333', fillColor: d.c[p[2]], fillOpacity: 0.9});
                m.bindTooltip(p[3]);
                layers.push(m);
            }
            group.addLayers(layers);
            group.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )
    # the same link names as folium's MarkerCluster, so geo.assets maps them locally
    default_js = list(MarkerCluster.default_js)  # noqa: RUF012
    default_css = list(MarkerCluster.default_css)  # noqa: RUF012

    def __init__(self, payload: str) -> None:
        super().__init__()
        self._name = "IncidentMarkers"
        self.payload = payload


class WardLabels(MacroElement):
    """Ward names written on the map once zoomed in enough to read them.

    Names go in through ``textContent``, never as HTML, so a hostile layer name stays text.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .geo-ward-label { background: transparent; border: 0; box-shadow: none;
            color: #08306b; font: 600 11px/1.2 sans-serif; text-shadow: 0 0 3px #fff; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function(map) {
            var d = {{ this.payload | tojson }};
            var labels = L.layerGroup();
            for (var i = 0; i < d.length; i++) {
                var el = document.createElement('span');
                el.textContent = d[i][2];
                L.tooltip({permanent: true, direction: 'center', className: 'geo-ward-label',
                           interactive: false})
                    .setLatLng([d[i][0], d[i][1]]).setContent(el).addTo(labels);
            }
            var toggle = function() {
                if (map.getZoom() >= {{ this.min_zoom }}) { labels.addTo(map); }
                else { labels.remove(); }
            };
            map.on('zoomend', toggle);
            map.whenReady(toggle);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, payload: list[list[Any]], min_zoom: int = 13) -> None:
        super().__init__()
        self._name = "WardLabels"
        self.payload = payload
        self.min_zoom = min_zoom


class Legend(MacroElement):
    """A map legend from trusted HTML (callers escape any user text in it)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function(map) {
            var legend = L.control({position: 'bottomright'});
            legend.onAdd = function() {
                var div = L.DomUtil.create('div', 'geo-legend');
                div.style.cssText = 'background:rgba(255,255,255,.9);padding:4px 8px;' +
                    'border-radius:4px;font:12px/1.5 sans-serif';
                div.innerHTML = {{ this.html | tojson }};
                return div;
            };
            legend.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = html_text


class GridHeatMap(HeatMap):
    """folium's :class:`~folium.plugins.HeatMap` for the map's own density grid.

    folium checks each ``[lat, lon, count]`` row in Python (``validate_location``), about
    0.1–0.2 s for the 10,000 cells a million incidents fill, on the first page of every
    session. The grid is numbers the app computed, so it is checked here in one vectorised
    pass (three columns, finite, latitude and longitude in range) and handed to folium's
    template as the same lists of floats.
    """

    def __init__(self, data: Any, **kwargs: Any) -> None:
        super().__init__([], **kwargs)
        values = np.asarray(data, dtype=float).reshape(-1, 3)
        lat, lon = values[:, 0], values[:, 1]
        bad = ~np.isfinite(values).all(axis=1) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise MetricError(
                f"Ô mật độ số {row} không hợp lệ (cần lat/lon/số đếm hữu hạn, lat/lon trong phạm vi).",
                f"Density cell {row} is invalid (lat/lon/count must be finite, lat/lon in range).",
            )
        self.data = values.tolist()
