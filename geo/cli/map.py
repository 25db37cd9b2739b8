"""``python -m geo map``: the officers' map as one standalone HTML file (opens offline)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo.cli._actor import open_checked_store
from geo.cli._filters import add_filter_arguments, add_source_arguments, incident_filter, ward_layer
from geo.errors import GeoError
from geo.i18n import t
from geo.maps import MAX_MARKERS, map_html, ward_map
from geo.store import queries
from geo.views import load_view


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "map",
        help="Xuất bản đồ HTML độc lập / write a standalone HTML map",
        description="Bản đồ cán bộ thành một tệp HTML mở được khi không có mạng / "
        "the officers' map as one HTML file that opens offline",
    )
    parser.add_argument("--out", type=Path, required=True, help="FILE.html")
    add_filter_arguments(parser)
    parser.add_argument("--lang", choices=("vi", "en"), default="vi")
    add_source_arguments(parser)
    parser.add_argument("--no-tiles", action="store_true", help="no OSM basemap layer")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    store = open_checked_store(args, "export", object_type="map")
    try:
        wards = ward_layer(args, store)
        flt = incident_filter(args, wards["code"], queries.street_names(store) if args.street else ())
        view = load_view(store, flt, marker_limit=MAX_MARKERS)
    finally:
        store.close()
    shown = view.incidents
    fmap = ward_map(
        wards,
        shown,
        lang=args.lang,
        selected=flt.wards or (),
        tiles=not args.no_tiles,
        assets="inline",
    )
    page = map_html(fmap, title=t("map.title", args.lang))
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise GeoError(
            f"Không ghi được {args.out}: {exc}", f"Cannot write {args.out}: {exc}"
        ) from exc
    print(f"{args.out}: {len(wards)} wards, {len(shown)} incidents, {len(page) / 1e6:.2f} MB")
    return 0
