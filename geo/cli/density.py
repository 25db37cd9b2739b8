"""``python -m geo density --out FILE.tif [filters]``: the incident density grid as a GeoTIFF."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo.cli._actor import add_actor_argument, open_checked_store
from geo.cli.report import parse_date, ward_code
from geo.density import DEFAULT_CELL_M, HANOI_BBOX, density_grid, incident_points, write_geotiff
from geo.errors import GeoError, NotFound
from geo.vocab import STATE_CODES, TYPE_CODES, status_code, type_code


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "density",
        help="lưới mật độ vụ việc (GeoTIFF) / incident density grid (GeoTIFF)",
        description="Counts per square cell in EPSG:32648 (UTM 48N), written with its CRS "
        "and transform; the same grid the Compare page draws and downloads.",
    )
    parser.add_argument("--out", type=Path, required=True, help="FILE.tif")
    parser.add_argument("--cell", type=float, default=DEFAULT_CELL_M, help="cell size in metres (default 200)")
    parser.add_argument("--ward", action="append", default=[], help="mã hoặc tên / code or name")
    parser.add_argument("--status", action="append", default=[], help=", ".join(STATE_CODES))
    parser.add_argument("--type", action="append", default=[], help=", ".join(TYPE_CODES))
    parser.add_argument("--from", dest="date_from", help="YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", help="YYYY-MM-DD")
    parser.add_argument("--boundaries", type=Path, default=None)
    parser.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    add_actor_argument(parser)
    parser.set_defaults(func=_run)


def _codes(values: list[str], flag: str, convert: Any, known: tuple[str, ...]) -> list[str] | None:
    out = []
    for value in values:
        code = value if value in known else convert(value)
        if code not in known:
            raise NotFound(
                f"{flag} {value!r}: không hiểu; dùng một trong {', '.join(known)}.",
                f"{flag} {value!r}: not understood; use one of {', '.join(known)}.",
            )
        out.append(code)
    return out or None


def _run(args: argparse.Namespace) -> int:

    wards = None
    if args.ward:
        from geo.boundaries import load_boundaries

        wards = load_boundaries(args.boundaries)
    codes = [ward_code(w, wards["code"]) for w in args.ward] if wards is not None else None
    statuses = _codes(args.status, "--status", status_code, STATE_CODES)
    types = _codes(args.type, "--type", type_code, TYPE_CODES)
    date_from, date_to = parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to")
    store = open_checked_store(args, "export", object_type="density")
    try:
        lon, lat = incident_points(
            store, wards=codes, statuses=statuses, types=types, date_from=date_from, date_to=date_to
        )
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
