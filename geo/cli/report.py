"""``python -m geo report --ward CODE --out FILE.pdf|png``: the one-page ward report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from geo.cli._actor import open_checked_store
from geo.cli._filters import add_source_arguments, parse_date, ward_code, ward_layer
from geo.errors import GeoError, NotFound


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="báo cáo một trang của phường (PDF/PNG) / one-page ward report (PDF/PNG)",
        description="KPIs, a small map and the top streets of one ward, as on the ward page.",
    )
    parser.add_argument("--ward", required=True, help="mã hoặc tên / code or name, e.g. 00070")
    parser.add_argument("--out", type=Path, required=True, help="FILE.pdf or FILE.png")
    parser.add_argument("--from", dest="date_from", help="YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", help="YYYY-MM-DD")
    parser.add_argument("--lang", choices=("vi", "en"), default="vi")
    add_source_arguments(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from geo.report import FORMATS, ward_report_data, write_report

    suffix = args.out.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise NotFound(
            f"--out {args.out}: đuôi tệp phải là .pdf hoặc .png.",
            f"--out {args.out}: the file must end in .pdf or .png.",
        )
    store = open_checked_store(args, "export", object_type="ward_report")
    try:
        wards = ward_layer(args, store)
        code = ward_code(args.ward, wards["code"])
        data = ward_report_data(
            store, wards, code, parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to")
        )
    finally:
        store.close()
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_report(data, args.out, args.lang)
    except OSError as exc:
        raise GeoError(f"Không ghi được {args.out}: {exc}", f"Cannot write {args.out}: {exc}") from exc
    print(f"{args.out}: {data.name} ({code}), {len(data.points)} incidents")
    return 0
