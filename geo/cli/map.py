"""``python -m geo map``: the officers' map as one standalone HTML file (opens offline)."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd

from geo.cli._actor import add_actor_argument, open_checked_store
from geo.errors import GeoError, IngestError
from geo.filters import IncidentFilter, load_view
from geo.i18n import t
from geo.maps import MAX_MARKERS, map_html, ward_map
from geo.vocab import STATE_CODES, TYPE_CODES, status_code, type_code


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "map",
        help="Xuất bản đồ HTML độc lập / write a standalone HTML map",
        description="Bản đồ cán bộ thành một tệp HTML mở được khi không có mạng / "
        "the officers' map as one HTML file that opens offline",
    )
    parser.add_argument("--out", type=Path, required=True, help="FILE.html")
    parser.add_argument("--ward", action="append", default=[], help="mã hoặc tên / code or name")
    parser.add_argument("--status", action="append", default=[], help=", ".join(STATE_CODES))
    parser.add_argument("--type", action="append", default=[], help=", ".join(TYPE_CODES))
    parser.add_argument("--from", dest="date_from", help="YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", help="YYYY-MM-DD")
    parser.add_argument("--street", default="")
    parser.add_argument("--overdue", action="store_true")
    parser.add_argument("--lang", choices=("vi", "en"), default="vi")
    parser.add_argument("--boundaries", type=Path, default=None)
    parser.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    add_actor_argument(parser)
    parser.add_argument("--no-tiles", action="store_true", help="no OSM basemap layer")
    parser.set_defaults(func=_run)


def _date(text: str | None, flag: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise IngestError(
            f"{flag} {text!r}: ngày phải có dạng YYYY-MM-DD.",
            f"{flag} {text!r}: the date must look like YYYY-MM-DD.",
        ) from exc


def _ward_codes(values: list[str], known: pd.Series) -> tuple[str, ...]:
    from geo.admin_units import ward_code_from_text

    codes = []
    for value in values:
        code = value if re.fullmatch(r"\d{5}", value) else ward_code_from_text(value)
        if code is None or code not in set(known):
            raise IngestError(
                f"--ward {value!r}: không có phường, xã này trong lớp ranh giới.",
                f"--ward {value!r}: no such ward in the boundary layer.",
            )
        codes.append(code)
    return tuple(codes)


def _codes(values: list[str], flag: str, convert: Any, known: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for value in values:
        code = value if value in known else convert(value)
        if code not in known:
            raise IngestError(
                f"{flag} {value!r}: không hiểu; dùng một trong {', '.join(known)}.",
                f"{flag} {value!r}: not understood; use one of {', '.join(known)}.",
            )
        out.append(code)
    return tuple(out)


def _run(args: argparse.Namespace) -> int:
    from geo.boundaries import load_boundaries

    wards = load_boundaries(args.boundaries)
    flt = IncidentFilter(
        wards=_ward_codes(args.ward, wards["code"]),
        types=_codes(args.type, "--type", type_code, TYPE_CODES),
        statuses=_codes(args.status, "--status", status_code, STATE_CODES),
        date_from=_date(args.date_from, "--from"),
        date_to=_date(args.date_to, "--to"),
        street=args.street,
        overdue=args.overdue,
    )
    view = load_view(
        open_checked_store(args, "export", object_type="map"), flt, marker_limit=MAX_MARKERS
    )
    shown = view.incidents
    fmap = ward_map(
        wards,
        shown,
        lang=args.lang,
        selected=flt.wards,
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
