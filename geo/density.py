"""Incident density on a metre grid: counts, a GeoTIFF, and a picture for the web map.

The grid is computed on the server in EPSG:32648 (square cells, 200 m by default), so a
cell has the same ground size everywhere and a million points become one small array.
It is written as a GeoTIFF with its CRS and affine transform, for QGIS.

For the browser, Leaflet stretches an image *linearly in Web Mercator* between its
corner coordinates. The grid is therefore reprojected to EPSG:3857 before it is turned
into a PNG, and its EPSG:4326 corners are those of the 3857 raster: an image in 4326 or
32648 would be drawn up to half a cell off across the city.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from affine import Affine
from pyproj import Transformer
from sqlalchemy import select

from geo.crs import METRIC_CRS, STORAGE_CRS, metric_xy
from geo.errors import MetricError
from geo.store import IncidentFilter, Store

if TYPE_CHECKING:
    from geo.snapshot import IncidentSnapshot

DEFAULT_CELL_M = 200.0
#: Above this many points the page draws the grid image instead of a folium HeatMap.
HEATMAP_MAX_POINTS = 50_000
#: A grid larger than this is refused (a 200 m grid over all of Hà Nội has ~0.2 M cells).
MAX_GRID_CELLS = 4_000_000
#: Hà Nội in EPSG:4326 (west, south, east, north): the default extent of an empty grid.
HANOI_BBOX = (105.28, 20.56, 106.02, 21.39)
WEB_MERCATOR = "EPSG:3857"


@dataclass(frozen=True)
class DensityGrid:
    """Incident counts per cell; row 0 is the northern edge (GeoTIFF order)."""

    counts: np.ndarray
    transform: Affine
    cell_m: float
    crs: str = METRIC_CRS

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the grid."""
        return int(self.counts.shape[0]), int(self.counts.shape[1])

    @property
    def total(self) -> int:
        """The number of points counted (points outside the grid are not)."""
        return int(self.counts.sum())

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in the grid's CRS (metres)."""
        rows, cols = self.shape
        minx, maxy = self.transform @ (0, 0)
        maxx, miny = self.transform @ (cols, rows)
        return float(minx), float(miny), float(maxx), float(maxy)


def _extent_m(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    west, south, east, north = (float(v) for v in bbox)
    # the four corners and edge midpoints: a lon/lat box is not a rectangle in UTM
    lon = np.array([west, east, west, east, (west + east) / 2, (west + east) / 2, west, east])
    lat = np.array([south, south, north, north, south, north, (south + north) / 2, (south + north) / 2])
    x, y = metric_xy(lon, lat)
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def density_grid(
    lon: Any,
    lat: Any,
    *,
    cell_m: float = DEFAULT_CELL_M,
    bbox: Sequence[float] | None = None,
    metres: tuple[Any, Any] | None = None,
) -> DensityGrid:
    """Count points per ``cell_m`` square in EPSG:32648.

    The grid covers ``bbox`` (west, south, east, north in EPSG:4326; points outside are
    dropped) or else the points' extent, or Hà Nội when there are none. Cell edges sit
    on multiples of ``cell_m`` so grids of different filters line up cell for cell.

    Parameters
    ----------
    lon : array_like
        Longitudes in degrees (EPSG:4326); non-finite points are dropped.
    lat : array_like
        Latitudes in degrees (EPSG:4326), same length as ``lon``.
    cell_m : float
        Cell size in metres (default :data:`DEFAULT_CELL_M`).
    bbox : sequence of float or None
        (west, south, east, north) in EPSG:4326 degrees; None: the points' extent.
    metres : tuple of array_like or None
        The same points' EPSG:32648 ``(x, y)`` as :func:`geo.crs.metric_xy` gives them
        (a snapshot's stored metres, :func:`snapshot_metres`), counted as they are instead
        of projected again; None: projected here.

    Returns
    -------
    DensityGrid
        uint32 counts per cell (row 0 north), their affine transform in EPSG:32648, and
        ``cell_m``.

    Raises
    ------
    geo.errors.MetricError
        ``cell_m`` is not positive, or the grid would exceed :data:`MAX_GRID_CELLS` cells.
    """
    if not cell_m > 0:
        raise MetricError(
            f"Kích thước ô lưới phải > 0 m (được {cell_m}).",
            f"The grid cell size must be > 0 m (got {cell_m}).",
        )
    lon_a = np.asarray(lon, dtype=float).ravel()
    lat_a = np.asarray(lat, dtype=float).ravel()
    keep = np.isfinite(lon_a) & np.isfinite(lat_a)
    if metres is None:
        x, y = metric_xy(lon_a[keep], lat_a[keep])
    else:
        x, y = (np.asarray(v, dtype=float).ravel() for v in metres)
        if not len(x) == len(y) == len(lon_a):
            raise MetricError(
                f"Có {len(lon_a)} điểm nhưng {len(x)}/{len(y)} toạ độ mét.",
                f"{len(lon_a)} points but {len(x)}/{len(y)} metre coordinates.",
            )
        x, y = x[keep], y[keep]
    if bbox is not None:
        minx, miny, maxx, maxy = _extent_m(bbox)
    elif x.size:
        minx, miny, maxx, maxy = float(x.min()), float(y.min()), float(x.max()), float(y.max())
    else:
        minx, miny, maxx, maxy = _extent_m(HANOI_BBOX)
    x0 = np.floor(minx / cell_m) * cell_m
    y1 = np.ceil(maxy / cell_m) * cell_m
    cols = max(1, int(np.floor(maxx / cell_m) - np.floor(minx / cell_m)) + 1)
    rows = max(1, int(np.ceil(maxy / cell_m) - np.ceil(miny / cell_m)) + 1)
    if rows * cols > MAX_GRID_CELLS:
        raise MetricError(
            f"Lưới {rows}×{cols} ô quá lớn (tối đa {MAX_GRID_CELLS:,}); hãy tăng kích thước ô.",
            f"A {rows}×{cols} grid is too large (at most {MAX_GRID_CELLS:,} cells); "
            "use a larger cell.",
        )
    ix = np.floor((x - x0) / cell_m).astype(np.int64)
    iy = np.floor((y1 - y) / cell_m).astype(np.int64)
    inside = (ix >= 0) & (ix < cols) & (iy >= 0) & (iy < rows)
    flat = np.bincount(iy[inside] * cols + ix[inside], minlength=rows * cols)
    counts = flat.reshape(rows, cols).astype(np.uint32)
    transform = Affine(cell_m, 0.0, x0, 0.0, -cell_m, y1)
    return DensityGrid(counts, transform, float(cell_m))


def write_geotiff(grid: DensityGrid, path: str | Path) -> Path:
    """A single-band uint32 GeoTIFF (incidents per cell) with the grid's CRS and transform.

    Parameters
    ----------
    grid : DensityGrid
        The counts (:func:`density_grid`).
    path : str or pathlib.Path
        The ``.tif`` file to write (overwritten).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    import rasterio

    path = Path(path)
    rows, cols = grid.shape
    with rasterio.open(
        path, "w", driver="GTiff", height=rows, width=cols, count=1, dtype="uint32",
        crs=grid.crs, transform=grid.transform, compress="deflate",
    ) as dst:
        dst.write(grid.counts.astype(np.uint32), 1)
        dst.update_tags(cell_m=str(grid.cell_m), units="incidents per cell")
        dst.set_band_description(1, "incidents per cell / số vụ mỗi ô")
    return path


def geotiff_bytes(grid: DensityGrid) -> bytes:
    """The GeoTIFF of :func:`write_geotiff`, in memory (for a download button).

    Parameters
    ----------
    grid : DensityGrid
        The counts (:func:`density_grid`).

    Returns
    -------
    bytes
        A deflate-compressed single-band uint32 GeoTIFF in EPSG:32648.
    """
    from rasterio.io import MemoryFile

    rows, cols = grid.shape
    with MemoryFile() as mem:
        with mem.open(
            driver="GTiff", height=rows, width=cols, count=1, dtype="uint32",
            crs=grid.crs, transform=grid.transform, compress="deflate",
        ) as dst:
            dst.write(grid.counts.astype(np.uint32), 1)
            dst.update_tags(cell_m=str(grid.cell_m), units="incidents per cell")
        return bytes(mem.read())


def to_web_mercator(grid: DensityGrid) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Counts reprojected (nearest cell) to EPSG:3857, and that raster's 4326 bounds
    as (west, south, east, north).

    Parameters
    ----------
    grid : DensityGrid
        The counts in EPSG:32648.

    Returns
    -------
    tuple of (numpy.ndarray, tuple of float)
        float32 counts on an EPSG:3857 grid (0 where empty), and its bounds (west, south,
        east, north) in EPSG:4326 degrees.
    """
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    rows, cols = grid.shape
    minx, miny, maxx, maxy = grid.bounds
    dst_transform, width, height = calculate_default_transform(
        grid.crs, WEB_MERCATOR, cols, rows, minx, miny, maxx, maxy
    )
    out = np.zeros((int(height), int(width)), dtype=np.float32)
    reproject(
        grid.counts.astype(np.float32), out,
        src_transform=grid.transform, src_crs=grid.crs,
        dst_transform=dst_transform, dst_crs=WEB_MERCATOR,
        resampling=Resampling.nearest, src_nodata=None, dst_nodata=0.0,
    )
    west_m, north_m = dst_transform @ (0, 0)
    east_m, south_m = dst_transform @ (int(width), int(height))
    to_deg = Transformer.from_crs(WEB_MERCATOR, STORAGE_CRS, always_xy=True)
    west, south = to_deg.transform(west_m, south_m)
    east, north = to_deg.transform(east_m, north_m)
    return out, (float(west), float(south), float(east), float(north))


def overlay_png(grid: DensityGrid, *, cmap: str = "YlOrRd", opacity: float = 0.75) -> tuple[bytes, list[list[float]]]:
    """A transparent PNG of the grid for folium ``ImageOverlay`` and its bounds
    ``[[south, west], [north, east]]``. Empty cells are fully transparent; colour
    follows log(1 + count) so one busy street does not wash out the city.

    Parameters
    ----------
    grid : DensityGrid
        The counts (:func:`density_grid`).
    cmap : str
        A matplotlib colormap name.
    opacity : float
        Opacity of non-empty cells, 0 to 1.

    Returns
    -------
    tuple of (bytes, list of list of float)
        The PNG bytes (EPSG:3857 pixels) and ``[[south, west], [north, east]]`` in degrees.
    """
    import matplotlib
    from PIL import Image

    values, (west, south, east, north) = to_web_mercator(grid)
    peak = float(values.max()) if values.size else 0.0
    scaled = np.log1p(values) / np.log1p(peak) if peak > 0 else np.zeros_like(values)
    rgba = matplotlib.colormaps[cmap](scaled, bytes=True)
    rgba[..., 3] = np.where(values > 0, round(255 * opacity), 0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue(), [[south, west], [north, east]]


def png_data_url(png: bytes) -> str:
    """A PNG as a ``data:`` URL, so an image overlay travels inside the map's HTML.

    Parameters
    ----------
    png : bytes
        The PNG file's bytes.

    Returns
    -------
    str
        ``data:image/png;base64,…``.
    """
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def incident_points(store: Store, flt: IncidentFilter | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of the incidents ``flt`` selects, as float arrays.

    Reads only the two coordinate columns (a million rows in seconds, where
    :func:`geo.store.queries.incidents` builds a full frame), with the filter's own SQL
    conditions, so the grid counts exactly the incidents the map and exports select.

    Parameters
    ----------
    store
        The store.
    flt
        Which incidents (None: all); incidents without coordinates are left out.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)``, in no particular order.
    """
    t = store.tables["incidents"]
    conds = [t.c.lon.is_not(None), t.c.lat.is_not(None), *(flt or IncidentFilter()).conditions(store)]
    with store.read() as conn:
        rows = conn.execute(select(t.c.lon, t.c.lat).where(*conds)).all()
    # np.array() on a million Row objects takes ~25 s; flattening through fromiter ~0.1 s
    flat = np.fromiter((v for row in rows for v in row), dtype=float, count=2 * len(rows))
    return flat[0::2].copy(), flat[1::2].copy()


def snapshot_metres(
    snapshot: IncidentSnapshot, flt: IncidentFilter | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`incident_points` from a snapshot of the store instead of a read of it, with
    the points' metres.

    The first Compare after a start read a million coordinate pairs again (about 2 s of
    CPU) although the map's snapshot, kept up to date by
    :func:`geo.snapshot.up_to_date`, already holds them; :meth:`IncidentFilter.mask`
    selects exactly what :meth:`IncidentFilter.conditions` does.

    The snapshot's EPSG:32648 metres of each point come with it, so that Compare's grid
    (:func:`density_grid`'s ``metres``) counts them instead of projecting every point
    again, as the map's grid does.

    Parameters
    ----------
    snapshot
        The store's snapshot, up to date.
    flt
        Which incidents (None: all); incidents without coordinates are left out.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat, x, y)``, in the snapshot's (id) order.
    """
    keep = (flt or IncidentFilter()).mask(snapshot)
    keep &= ~(np.isnan(snapshot.lon) | np.isnan(snapshot.lat))
    return snapshot.lon[keep], snapshot.lat[keep], snapshot.x[keep], snapshot.y[keep]
