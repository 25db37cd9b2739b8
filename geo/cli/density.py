"""``python -m geo density --out FILE.tif [filters]``: the incident density grid as a GeoTIFF."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo.cli._actor import open_checked_store
from geo.cli._filters import add_filter_arguments, add_source_arguments, incident_filter, ward_layer
from geo.density import DEFAULT_CELL_M, HANOI_BBOX, density_grid, incident_points, write_geotiff
from geo.errors import GeoError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "density",
        help="lưới mật độ vụ việc (GeoTIFF) / incident density grid (GeoTIFF)",
        description="Counts per square cell in EPSG:32648 (UTM 48N), written with its CRS "
        "and transform; the same grid the Compare page draws and downloads.",
    )
    parser.add_argument("--out", type=Path, required=True, help="FILE.tif")
    parser.add_argument("--cell", type=float, default=DEFAULT_CELL_M, help="cell size in metres (default 200)")
    add_filter_arguments(parser, street=False)
    add_source_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:

    store = open_checked_store(args, "export", object_type="density")
    try:
        known = ward_layer(args, store)["code"].tolist() if args.ward else []
        flt = incident_filter(args, known)
        lon, lat = incident_points(store, flt)
    finally:
        store.close()
    grid = density_grid(lon, lat, cell_m=args.cell, bbox=HANOI_BBOX)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_geotiff(grid, args.out)
    except OSError as exc:
        raise GeoError(f"Không ghi được {args.out}: {exc}", f"Cannot write {args.out}: {exc}") from exc
    rows, cols = grid.shape
    print(f"{args.out}: {grid.total} incidents on {rows}×{cols} cells of {grid.cell_m:g} m (EPSG:32648)")
    return 0
