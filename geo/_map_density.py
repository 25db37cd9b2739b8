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

#: Up to this many possible cells, cells are counted into one array of counts (``np.bincount``);
#: beyond it (a grid far larger than a city), each chunk's cells are sorted (``np.unique``).
_BINCOUNT_MAX_KEYS = 20_000_000

#: Points turned into cell keys at a time. Buffers of this many (8 MB each) are reused and
#: stay in the CPU's caches; whole-array temporaries were fresh memory that the kernel
#: zeroes before use (three of 80 MB at 10M points, and the keys).
CHUNK_POINTS = 1 << 20


def _counted_cells(x: np.ndarray, y: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cx, cy, counts)``: each cell ``(floor(x / cell_m), floor(y / cell_m))`` holding
    points, in ascending (cx, cy) order, with how many it holds.

    The smallest and largest cell index come from the smallest and largest coordinate:
    a correctly rounded division by a positive size and ``floor`` never reverse an order.
    """
    ix0, iy0 = int(np.floor(x.min() / cell_m)), int(np.floor(y.min() / cell_m))
    span = int(np.floor(y.max() / cell_m)) - iy0 + 1
    top = (int(np.floor(x.max() / cell_m)) - ix0 + 1) * span
    dense = np.zeros(top, dtype=np.int64) if top <= _BINCOUNT_MAX_KEYS else None
    sparse: list[tuple[np.ndarray, np.ndarray]] = []
    size = min(len(x), CHUNK_POINTS)
    quotient, kx, ky = np.empty(size), np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64)
    for start in range(0, len(x), CHUNK_POINTS):
        n = min(CHUNK_POINTS, len(x) - start)
        for values, index, low in ((x, kx, ix0), (y, ky, iy0)):
            q = np.divide(values[start : start + n], cell_m, out=quotient[:n])
            np.floor(q, out=q)
            np.copyto(index[:n], q, casting="unsafe")  # integral floats: exact, as astype
            index[:n] -= low
        keys = kx[:n]
        keys *= span
        keys += ky[:n]  # one int64 key per cell, (cx, cy) order
        if dense is not None:
            dense += np.bincount(keys, minlength=top)
        else:
            sparse.append(np.unique(keys, return_counts=True))
    if dense is not None:
        found = np.flatnonzero(dense)
        found_counts = dense[found]
    else:
        found, inverse = np.unique(np.concatenate([k for k, _ in sparse]), return_inverse=True)
        summed = np.bincount(inverse, weights=np.concatenate([c for _, c in sparse]), minlength=len(found))
        found_counts = summed.astype(np.int64)
    return found // span + ix0, found % span + iy0, found_counts


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
    placed = np.isfinite(x) & np.isfinite(y)
    if not placed.all():  # a point without a position has no cell (lat/lon may be NULL)
        x, y = x[placed], y[placed]
        if not len(x):
            return pd.DataFrame({"lat": [], "lon": [], "count": []})
    cx, cy, counts = _counted_cells(x, y, cell_m)
    while len(cx) > max_cells:  # the cells, not the points, are merged into ones twice as wide
        cell_m *= 2
        cx, cy, counts = _merged(cx >> 1, cy >> 1, counts)
    # the cells come in ascending key order, x then y; most incidents first (stable), as value_counts ordered them
    order = np.argsort(-counts, kind="stable")
    cx, cy, counts = cx[order], cy[order], counts[order]
    lon, lat = to_deg.transform((cx + 0.5) * cell_m, (cy + 0.5) * cell_m)
    return pd.DataFrame({"lat": np.round(lat, 6), "lon": np.round(lon, 6), "count": counts})


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
