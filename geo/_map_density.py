"""The density grid the officers' map draws instead of markers above ``max_markers``.

Counts are made on the server on a metre grid (EPSG:32648), whose cell doubles until the
page stays small whatever the store holds. (The GeoTIFF/PNG density raster is another
thing, in :mod:`geo.density`.) :mod:`geo.maps` re-exports the public names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyproj import Transformer

from geo.crs import METRIC_CRS, STORAGE_CRS, metric_xy

#: Density grid cell size (metres, in EPSG:32648), doubled until at most MAX_CELLS remain.
DENSITY_CELL_M = 150.0
MAX_CELLS = 30_000

#: Up to this many possible cells, cells are counted with one ``np.bincount`` pass.
_BINCOUNT_MAX_KEYS = 20_000_000


def _cell_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct non-negative key once, ascending, with its count (``np.unique``'s answer).

    A city at 150 m cells has a few hundred thousand possible cells: counting into that
    many bins takes milliseconds at a million points, where sorting them took 0.13 s per
    cell size tried (the first map of a large store tries several).
    """
    top = int(keys.max()) + 1 if len(keys) else 0
    if top > _BINCOUNT_MAX_KEYS:
        return np.unique(keys, return_counts=True)
    counts = np.bincount(keys, minlength=top)
    found = np.flatnonzero(counts)
    return found.astype(keys.dtype), counts[found]


def density_grid(
    incidents: pd.DataFrame, cell_m: float = DENSITY_CELL_M, *, max_cells: int = MAX_CELLS
) -> pd.DataFrame:
    """Incident counts on a metre grid (EPSG:32648); columns lat, lon, count.

    The cell starts at ``cell_m`` and doubles until at most ``max_cells`` cells hold
    points, which bounds the page size whatever the store holds.

    Parameters
    ----------
    incidents : pandas.DataFrame
        ``lat`` and ``lon`` in EPSG:4326 degrees; with ``x`` and ``y`` too, their
        EPSG:32648 metres as :func:`geo.crs.metric_xy` gives them (a snapshot's
        :meth:`~geo.snapshot.IncidentSnapshot.points`), which are counted as they are:
        projecting every point was a quarter of the first map page at 10M.
    cell_m : float
        The starting cell size in metres (default :data:`DENSITY_CELL_M`).
    max_cells : int
        The most non-empty cells returned (default :data:`MAX_CELLS`).

    Returns
    -------
    pandas.DataFrame
        One row per non-empty cell, busiest first: ``lat``, ``lon`` (cell centre, EPSG:4326)
        and ``count``.
    """
    if incidents.empty:
        return pd.DataFrame({"lat": [], "lon": [], "count": []})
    to_deg = Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True)
    if "x" in incidents.columns and "y" in incidents.columns:
        x, y = incidents["x"].to_numpy(float), incidents["y"].to_numpy(float)
    else:
        x, y = metric_xy(incidents["lon"], incidents["lat"])
    ix, iy = _cell_index(x, cell_m), _cell_index(y, cell_m)
    ix0, iy0 = int(ix.min()), int(iy.min())
    span = int(iy.max()) - iy0 + 1
    # one int64 key per cell, made in place (the page reruns this on every filter change,
    # and the first page counts every incident: 80 MB per array at 10M)
    ix -= ix0
    ix *= span
    ix += iy
    ix -= iy0
    del iy
    keys, counts = _cell_counts(ix)
    del ix
    cx, cy = keys // span + ix0, keys % span + iy0
    while len(cx) > max_cells:  # the cells, not the points, are merged into ones twice as wide
        cell_m *= 2
        cx, cy, counts = _merged(cx >> 1, cy >> 1, counts)
    # the cells come in ascending key order, x then y; most incidents first (stable), as value_counts ordered them
    order = np.argsort(-counts, kind="stable")
    cx, cy, counts = cx[order], cy[order], counts[order]
    lon, lat = to_deg.transform((cx + 0.5) * cell_m, (cy + 0.5) * cell_m)
    return pd.DataFrame({"lat": np.round(lat, 6), "lon": np.round(lon, 6), "count": counts})


def _cell_index(values: np.ndarray, cell_m: float) -> np.ndarray:
    """``floor(values / cell_m)`` as int64, with one temporary array instead of two."""
    quotient = np.divide(values, cell_m)
    np.floor(quotient, out=quotient)
    return quotient.astype(np.int64)


def _merged(cx: np.ndarray, cy: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct cells of ``cx``/``cy`` with the ``counts`` of each summed.

    Why merging cells gives the grid of the points at twice the size: ``cell_m`` doubles
    exactly, and dividing by two only moves a float's exponent, so ``x / (2 * cell_m)`` is
    ``(x / cell_m) / 2`` as computed, and ``floor(a / 2) == floor(floor(a) / 2)`` for any
    ``a``: a point's cell index at ``2 * cell_m`` is its index at ``cell_m`` shifted right
    by one (floor division by two, negative indices too). Counting the cells instead of
    the points again makes each doubling cost the few hundred thousand cells, not the
    incidents (three passes over 10M points on the first page of a 10M store).
    """
    x0, y0 = int(cx.min()), int(cy.min())
    span = int(cy.max()) - y0 + 1
    keys, inverse = np.unique((cx - x0) * span + (cy - y0), return_inverse=True)
    summed = np.bincount(inverse, weights=counts, minlength=len(keys)).astype(counts.dtype)
    return keys // span + x0, keys % span + y0, summed
