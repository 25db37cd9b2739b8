"""``python -m geo ingest FILE``: load a field team's incident file into the store."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from geo import services
from geo.cli._actor import acting_user, add_actor_argument
from geo.field_bundles import is_bundle
from geo.i18n import t
from geo.ingest import REASONS, IngestOptions, IngestPreview, IngestResult, parse_file_date
from geo.ingest.recheck import looks_like_results_file
from geo.services import photos as photo_services
from geo.store import open_store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ingest",
        help="nhập tệp vi phạm (CSV, Excel, GeoJSON) / load an incident file (CSV, Excel, GeoJSON)",
        description="Every row ends accepted, duplicate or rejected; the counts always "
        "balance. The store is GEO_DATABASE_URL, the wards GEO_BOUNDARIES.",
    )
    parser.add_argument(
        "file", type=Path, help="CSV / TXT / XLSX / GeoJSON, or a ZIP of one CSV/XLSX and its photos"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--rejects", type=Path, help="write rejected rows (all columns) here")
    parser.add_argument("--crs", help="CRS of projected x/y columns, e.g. EPSG:5897 (VN-2000)")
    parser.add_argument("--sheet", help="Excel sheet name (default: the first sheet)")
    parser.add_argument("--source", help="namespace of the file's ids (default: file name)")
    parser.add_argument("--dry-run", action="store_true", help="read and check, store nothing")
    parser.add_argument("--strict", action="store_true", help="reject points outside Hà Nội")
    parser.add_argument(
        "--date",
        help="report date of the whole file, dd/mm/yyyy or yyyy-mm-dd, for rows without "
        "their own (flagged date_from_file) / ngày phát hiện cho cả tệp",
    )
    parser.add_argument(
        "--kind", choices=("auto", "incidents", "recheck"), default="auto",
        help="recheck: re-inspection results (place_id or lat/lon, checked_at, result); "
        "auto: results when a CSV has a result and a check-date column",
    )
    add_actor_argument(parser)
    parser.set_defaults(func=_ingest)


def _is_results_file(path: Path) -> bool:
    """``--kind auto``: :func:`geo.ingest.recheck.looks_like_results_file` on the file's head."""
    try:
        with path.open("rb") as handle:
            head = handle.read(65_536)
    except OSError:
        return False  # the incident reader reports it
    return looks_like_results_file(path.name, head)


def _ingest_results(args: argparse.Namespace) -> int:
    store = open_store()
    try:
        result = services.ingest_results(
            store, acting_user(store, args, "upload", object_type="upload", object_id=Path(args.file).name), args.file,
            IngestOptions(sheet=args.sheet, dry_run=args.dry_run),
        )
    finally:
        store.close()
    summary = result.summary()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        return 0
    mode = " (thử / dry run)" if summary["dry_run"] else f" → lô / batch {summary['batch_id']}"
    print(f"{summary['file']}{mode} [tái kiểm tra / re-inspection]")
    print(f"  dòng / rows {summary['rows']}: nhận / accepted {summary['accepted']} (thông thoáng / "
          f"clear {summary['clear']}, tái vi phạm / violation {summary['violation']}), trùng / "
          f"duplicate {summary['duplicate']}, loại / rejected {summary['rejected']}")
    words = {code: (t(f"upload.recheck.{code}", "vi"), t(f"upload.recheck.{code}", "en")) for code in summary["reasons"]}
    _print_reasons(summary["reasons"], words)
    _print_rows(result.messages)
    return 0


#: Rejected rows the text output quotes one by one (``--rejects`` writes them all).
SHOWN_ROWS = 20


def _print_reasons(reasons: dict[str, int], words: Mapping[str, tuple[str, str]], out: TextIO | None = None) -> None:
    """Each reject reason with its count, its code (for ``--json`` and scripts) and its
    words in both languages: the codes alone told an officer nothing."""
    for code, n in reasons.items():
        vi, en = words.get(code, (code, code))
        print(f"  lý do loại / reject reason {code} ({n}): {vi} / {en}", file=out or sys.stdout)


def _print_rows(messages: list[tuple[str, str]], out: TextIO | None = None) -> None:
    """The first rejected rows' messages, Vietnamese then English, each naming its row
    (and field); how many more there are, and where to get them all."""
    out = out or sys.stdout
    for vi, en in messages[:SHOWN_ROWS]:
        print(f"    {vi} / {en}", file=out)
    if len(messages) > SHOWN_ROWS:
        more = len(messages) - SHOWN_ROWS
        print(f"    … và {more} dòng nữa (--rejects TỆP ghi tất cả) / … and {more} more rows "
              "(--rejects FILE writes them all)", file=out)  # fmt: skip


def _ingest(args: argparse.Namespace) -> int:
    if args.kind == "recheck" or (args.kind == "auto" and _is_results_file(args.file)):
        return _ingest_results(args)
    # A mistyped date is refused before the store is opened or the file read.
    file_date = parse_file_date(args.date, label="--date") if args.date else None
    options = IngestOptions(
        crs=args.crs,
        sheet=args.sheet,
        source=args.source,
        strict=args.strict,
        dry_run=args.dry_run,
        file_date=file_date,
    )
    store = open_store()
    try:
        # The same rights check as the upload page: the account needs the upload right,
        # and the status-change right in the wards of any stored incident the file moves.
        actor = acting_user(store, args, "upload", object_type="upload", object_id=Path(args.file).name)
        bundle = None
        if is_bundle(args.file):
            bundle = photo_services.ingest_bundle(store, actor, args.file, options)
            result: IngestResult = bundle.ingest
        else:
            result = services.ingest_file(store, actor, args.file, options)
    finally:
        store.close()
    summary = bundle.summary() if bundle is not None else result.summary()
    if args.rejects:
        result.preview.write_rejects(args.rejects)
        summary["rejects_file"] = str(args.rejects)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    else:
        _print_text(summary)
        _print_rejected(result.preview)
        if bundle is not None:
            _print_photos(summary)
    if file_date is None and summary["reasons"].get("missing_date"):
        print(_date_hint(summary), file=sys.stderr)
    return 0


def _date_hint(s: dict) -> str:
    """What to do about rows rejected for a missing date: give the file's date."""
    if "reported_at" not in s["columns"]:
        return (
            "Gợi ý: tệp không có cột ngày phát hiện; thêm --date NGÀY (dd/mm/yyyy), ngày "
            "phát hiện cho cả tệp. / Hint: the file has no reported-date column; add --date "
            "DATE (dd/mm/yyyy), the report date of the whole file."
        )
    n = s["reasons"]["missing_date"]
    return (
        f"Gợi ý: {n} dòng thiếu ngày phát hiện; thêm --date NGÀY (dd/mm/yyyy) để các dòng "
        f"đó lấy ngày của cả tệp. / Hint: {n} rows have no reported date; add --date DATE "
        "(dd/mm/yyyy) to give them the whole file's date."
    )


def _print_photos(s: dict) -> None:
    counts = s["photos"]
    print(
        f"  ảnh / photos: nhận / accepted {counts['accepted']}, liên kết giữ lại / links kept "
        f"{counts['link']}, loại / refused {counts['refused']}"
    )
    for photo in s["photo_results"]:
        if photo["outcome"] == "refused":
            print(f"    {photo['name']}: {photo['reason_vi']} / {photo['reason_en']}")


def _print_text(s: dict) -> None:
    out = sys.stdout
    mode = " (thử / dry run)" if s["dry_run"] else f" → lô / batch {s['batch_id']}"
    print(f"{s['file']}{mode}", file=out)
    print(
        f"  dòng / rows {s['rows']}: nhận / accepted {s['accepted']}, trùng / duplicate "
        f"{s['duplicate']}, loại / rejected {s['rejected']}; cập nhật trạng thái / status "
        f"updates {s['status_updates']}",
        file=out,
    )
    flags = ", ".join(f"{k} {v}" for k, v in s["flags"].items())
    print(f"  cờ / flags: {flags}", file=out)
    _print_reasons(s["reasons"], REASONS, out)


def _print_rejected(preview: IngestPreview) -> None:
    """The rejected rows' own messages (row, column, the value read, why) in both languages."""
    rows = preview.rows
    rejected = rows[rows["outcome"] == "rejected"]
    _print_rows(list(zip(rejected["message_vi"].astype(str), rejected["message_en"].astype(str), strict=True)))
