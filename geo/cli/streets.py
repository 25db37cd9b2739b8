"""``python -m geo streets build|fetch``: the street layer used for street attribution."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from geo.streets import DEFAULT_STREETS, build_streets, write_streets


def _build(args: argparse.Namespace) -> int:
    streets = build_streets(args.roads)
    out = write_streets(streets, args.out)
    print(
        json.dumps(
            {"out": str(out), "streets": len(streets), "bytes": out.stat().st_size},
            ensure_ascii=False,
        )
    )
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from geo._streets_osm import fetch_ward_streets

    wards = None
    if args.boundaries:
        from geo.boundaries import load_boundaries

        wards = load_boundaries(args.boundaries)
    streets = fetch_ward_streets(
        args.ward, wards=wards, overpass_url=args.overpass_url, cache_folder=args.cache
    )
    out = Path(args.out) if args.out else Path(f"streets_{args.ward}.geojson")
    write_streets(streets, out)
    print(json.dumps({"out": str(out), "streets": len(streets)}, ensure_ascii=False))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "streets",
        help="tuyến phố: dựng từ tệp OSM hoặc tải trực tuyến / street layer: build from an OSM "
        "extract, or fetch a ward's streets online",
        description="Đường phố / Streets: the named-street layer for street attribution.",
    )
    sub = parser.add_subparsers(dest="streets_command", required=True)

    build = sub.add_parser("build", help="build the street layer from an OSM road extract")
    build.add_argument("--roads", required=True, help="OSM road lines (GeoJSON, GPKG, ...)")
    build.add_argument(
        "--out", default=str(DEFAULT_STREETS), help=f"output GeoJSON (default {DEFAULT_STREETS})"
    )
    build.set_defaults(func=_build)

    fetch = sub.add_parser(
        "fetch", help="fetch one ward's named streets from OpenStreetMap (online, osmnx)"
    )
    fetch.add_argument("--ward", required=True, help="5-digit ward code (or a ward name)")
    fetch.add_argument("--out", help="output GeoJSON (default streets_<ward>.geojson)")
    fetch.add_argument("--boundaries", help="ward layer (default: the committed one)")
    fetch.add_argument(
        "--overpass-url", help="Overpass API base URL (default: env GEO_OVERPASS_URL or osmnx's)"
    )
    fetch.add_argument("--cache", help="folder for osmnx's HTTP cache (default: no cache)")
    fetch.set_defaults(func=_fetch)
