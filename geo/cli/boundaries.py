"""``python -m geo boundaries build|check|fetch|import``."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd

from geo import boundaries, services
from geo.cli._actor import acting_user, add_actor_argument
from geo.cli._filters import parse_date
from geo.crs import LOCAL_TZ
from geo.store import open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("boundaries", help="ranh giới phường, xã / ward boundary layers")
    commands = parser.add_subparsers(dest="boundaries_command", required=True)

    build = commands.add_parser("build", help="build the ward layer from an OSM XML extract")
    build.add_argument(
        "--osm", required=True, type=Path, help="OSM XML with admin_level 6 relations"
    )
    build.add_argument("--out", type=Path, default=boundaries.DEFAULT_BOUNDARIES)
    build.add_argument(
        "--max-shift-m",
        type=float,
        default=2.0,
        help="largest boundary movement allowed by simplification (metres)",
    )
    build.set_defaults(func=_build)

    check = commands.add_parser(
        "check", help="validity, overlaps, gaps and official codes of a layer"
    )
    check.add_argument(
        "layer", nargs="?", type=Path, help="default: GEO_BOUNDARIES or the committed layer"
    )
    check.add_argument("--crs", help="CRS to assume when the layer has none, e.g. EPSG:5897")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=_check)

    fetch = commands.add_parser("fetch", help="fetch a city's wards from Overpass (online)")
    fetch.add_argument("--place", default="Hà Nội, Việt Nam")
    fetch.add_argument("--out", type=Path, default=boundaries.DEFAULT_BOUNDARIES)
    fetch.add_argument("--save-osm", type=Path, help="also keep the downloaded OSM XML here")
    fetch.set_defaults(func=_fetch)

    imp = commands.add_parser(
        "import",
        help="make an official layer the one in use (admin) / nạp lớp ranh giới chính thức",
        description="Check the layer, then load it into the store's ward table (old versions "
        "are kept with valid_to). Refused: units matching no official ward, a wrong CRS.",
    )
    imp.add_argument("layer", type=Path, help="GeoJSON, GeoPackage, zipped Shapefile, …")
    imp.add_argument("--crs", help="CRS to assume when the layer has none, e.g. EPSG:5897")
    imp.add_argument("--valid-from", help="YYYY-MM-DD (Hà Nội day) the layer applies from; default now")
    imp.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    imp.add_argument("--json", action="store_true", help="print JSON")
    add_actor_argument(imp)
    imp.set_defaults(func=_import)


def _print_report(report: boundaries.BoundaryReport, as_json: bool) -> None:
    data = report.as_dict()
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    print(f"{data['source']}")
    print(f"  đơn vị / units: {data['count']}  ({data['kinds']})")
    print(f"  hình học lỗi / invalid geometries: {data['invalid']}")
    print(f"  chồng lấn / overlaps: {data['overlaps_m2']} m²   khe hở / gaps: {data['gaps_m2']} m²")
    print(
        f"  khớp mã / codes matched: {data['codes_matched']}   không khớp / unmatched: {data['unmatched']}"
    )


def _build(args: argparse.Namespace) -> int:
    report = boundaries.build_default_layer(args.osm, args.out, max_shift_m=args.max_shift_m)
    print(f"Đã ghi / written: {args.out}")
    _print_report(report, as_json=False)
    return 0


def _check(args: argparse.Namespace) -> int:
    report = boundaries.check_boundaries(args.layer, crs=args.crs)
    _print_report(report, as_json=args.json)
    return 0


def _fetch(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        osm = args.save_osm or Path(tmp) / "overpass.osm"
        boundaries.fetch_from_overpass(args.place, osm)
        report = boundaries.build_default_layer(osm, args.out)
    print(f"Đã ghi / written: {args.out}")
    _print_report(report, as_json=False)
    return 0


def _import(args: argparse.Namespace) -> int:
    day = parse_date(args.valid_from, "--valid-from")
    valid_from = pd.Timestamp(day).tz_localize(LOCAL_TZ) if day is not None else None
    store = open_store(args.database)
    try:
        result = services.replace_boundaries(
            store, acting_user(store, args, "replace_boundaries", object_type="wards"), args.layer, valid_from=valid_from, crs=args.crs
        )
    finally:
        store.close()
    counts = {k: result[k] for k in ("added", "changed", "retired")}
    if args.json:
        print(json.dumps({**counts, "report": result["report"]}, ensure_ascii=False, indent=2))
        return 0
    _print_report(boundaries.BoundaryReport(**_report_fields(result["report"])), as_json=False)
    print(
        f"Đã nạp / imported: thêm / added {counts['added']}, đổi / changed {counts['changed']}, "
        f"bỏ / retired {counts['retired']}"
    )
    return 0


def _report_fields(report: dict) -> dict:
    names = set(boundaries.BoundaryReport.__dataclass_fields__)
    return {k: v for k, v in report.items() if k in names}
