"""Ward outlines for drawing: fewer vertices, the same wards.

Every city-wide map (the officers' map, Compare's choropleth and density, Progress) sends
the 126 ward polygons to the browser, which parses and projects every vertex on each
page. The committed layer keeps its boundaries within 2 m of OpenStreetMap's, far finer
than a city view shows, so the maps draw a copy simplified further. Three rules keep the
copy honest:

* It is simplified in metres (EPSG:32648), never in degrees, whatever the layer's CRS.
* ``shapely.coverage_simplify`` simplifies each shared edge once for both neighbours, so
  the copy opens no gap and makes no overlap between wards.
* No ward's area may change by more than :data:`MAX_AREA_CHANGE`; where a tolerance would
  do so, it is halved until none does (and a layer the simplification would make invalid
  is drawn as it is).

Only drawing uses the copy: assignment, areas and every figure use the layer itself.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import METRIC_CRS

#: The simplification tolerance tried first, in metres (a ward boundary moves by about
#: twice this at most, under a pixel at the city-wide zoom the maps open at).
DISPLAY_TOLERANCE_M = 20.0
#: The largest relative change of any ward's area the drawn copy may have.
MAX_AREA_CHANGE = 0.01
_HALVINGS = 8


def _within_bounds(original: np.ndarray, simplified: np.ndarray, max_area_change: float) -> bool:
    area = shapely.area(original)
    change = np.abs(shapely.area(simplified) - area) / np.where(area > 0, area, 1.0)
    return bool(shapely.is_valid(simplified).all() and (change <= max_area_change).all())


def display_layer(
    layer: gpd.GeoDataFrame,
    *,
    tolerance_m: float = DISPLAY_TOLERANCE_M,
    max_area_change: float = MAX_AREA_CHANGE,
) -> gpd.GeoDataFrame:
    """A copy of ``layer`` with its polygons simplified for drawing.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        A ward layer (any projected or geographic CRS) whose wards share their edges.
    tolerance_m : float
        The tolerance tried first, in metres; halved while any ward's area would change by
        more than ``max_area_change``.
    max_area_change : float
        The largest relative area change of any ward (0.01 = 1 %).

    Returns
    -------
    geopandas.GeoDataFrame
        The same rows and columns in the layer's CRS, with simplified geometries (the
        layer's own geometries when no tolerance keeps every ward within the bound).
    """
    metric = layer.geometry.to_crs(METRIC_CRS).to_numpy()
    tolerance = tolerance_m
    chosen = metric
    for _ in range(_HALVINGS):
        simplified = shapely.coverage_simplify(metric, tolerance)
        if _within_bounds(metric, simplified, max_area_change):
            chosen = simplified
            break
        tolerance /= 2
    out = layer.copy()
    out["geometry"] = gpd.GeoSeries(chosen, index=layer.index, crs=METRIC_CRS).to_crs(layer.crs)
    return out
