"""``python -m geo stats | export | status | backup | db``: the store from a terminal.

Every command opens ``GEO_DATABASE_URL`` (default: the SQLite file under ``data/``) and,
when the store holds no wards yet, loads ``GEO_BOUNDARIES`` (or the committed layer) so
that ward names appear. Changes and exports go through :mod:`geo.services`, which checks
the rights of the account named by ``--user`` and writes the audit log.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from geo import services
from geo.cli._actor import acting_user, add_actor_argument
from geo.errors import BoundaryError
from geo.exports import FORMATS
from geo.services.maintenance import media_archive_path
from geo.store import IncidentFilter, Store, open_store
from geo.store.workflow import TRANSITIONS


def register(subparsers: Any) -> None:
    stats = subparsers.add_parser("stats", help="thống kê / aggregates by ward, street or week")
    stats.add_argument("--by", choices=("ward", "street", "week"), default="ward")
    _period_arguments(stats)
    stats.add_argument("--ward", action="append", default=None, help="street/week: only these wards")
    stats.add_argument("--json", action="store_true", help="print JSON records")
    _common(stats)
    stats.set_defaults(func=_stats)

    export = subparsers.add_parser("export", help="xuất dữ liệu / export incidents")
    export.add_argument("--format", required=True, choices=FORMATS)
    export.add_argument("--out", required=True, type=Path)
    _filter_arguments(export)
    _common(export)
    export.set_defaults(func=_export)

    status = subparsers.add_parser("status", help="đổi trạng thái / move an incident on")
    status.add_argument("id", type=int, help="incident id")
    status.add_argument("--to", required=True, choices=tuple(TRANSITIONS), dest="to_state")
    status.add_argument("--note", default=None, help="ghi chú nội bộ / internal note")
    status.add_argument("--public-note", default=None,
                        help="ghi chú công khai (Open311) / public note shown to residents")
    status.add_argument("--at", default=None, help="when it happened (default: now)")
    _common(status)
    status.set_defaults(func=_status)

    backup = subparsers.add_parser("backup", help="sao lưu / consistent copy of the store")
    backup.add_argument("out", type=Path)
    _common(backup)
    backup.set_defaults(func=_backup)

    db = subparsers.add_parser("db", help="cơ sở dữ liệu / create, migrate and describe the store")
    db.add_argument("action", choices=("init", "info", "migrate"))
    db.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    db.add_argument(
        "--rekey-duplicates",
        action="store_true",
        help="schema 2: keep the oldest incident of each identity key, re-key and flag "
        "later copies (default: refuse, naming how many)",
    )
    db.add_argument("--json", action="store_true")
    db.set_defaults(func=_db)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    add_actor_argument(parser)


def _period_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="date_from", default=None, help="YYYY-MM-DD (Hà Nội day)")
    parser.add_argument("--to", dest="date_to", default=None, help="YYYY-MM-DD, inclusive")


def _filter_arguments(parser: argparse.ArgumentParser) -> None:
    _period_arguments(parser)
    parser.add_argument("--ward", action="append", default=None, help="ward code (repeatable)")
    parser.add_argument("--type", action="append", default=None, dest="types")
    parser.add_argument("--status", action="append", default=None, dest="statuses")
    parser.add_argument("--street", action="append", default=None)
    parser.add_argument("--bbox", nargs=4, type=float, metavar=("MINLON", "MINLAT", "MAXLON", "MAXLAT"))
    parser.add_argument("--overdue", action="store_true", help="only overdue incidents")
    parser.add_argument("--limit", type=int, default=None)


def _open(args: argparse.Namespace) -> Store:
    store = open_store(getattr(args, "database", None))
    try:
        services.active_wards(store)  # an empty ward table is seeded, so ward names appear
    except (BoundaryError, OSError) as exc:
        print(f"Cảnh báo / Warning: {exc}", file=sys.stderr)
    return store


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda v: None if pd.isna(v) else v.isoformat())
    out = out.astype(object).where(out.notna(), None)
    return [{str(k): (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in out.to_dict("records")]


#: What each ``stats --by`` reads, as the services' audit entries name it.
_STATS_OBJECT = {"ward": "ward_stats", "street": "street_stats", "week": "week_counts"}


def _stats(args: argparse.Namespace) -> int:
    with _open(args) as store:
        actor = acting_user(store, args, "view", object_type=_STATS_OBJECT[args.by])
        if args.by == "ward":
            frame = services.ward_stats(store, actor, args.date_from, args.date_to)
        elif args.by == "street":
            frame = services.street_stats(store, actor, args.date_from, args.date_to, args.ward)
        else:
            frame = services.week_counts(store, actor, args.date_from, args.date_to, args.ward)
    if args.json:
        print(json.dumps(_records(frame), ensure_ascii=False, indent=1))
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200):
            print(frame.to_string(index=False))
    return 0


def _export_filter(args: argparse.Namespace) -> IncidentFilter:
    """The export's flags as the store reads them: codes and stored street names exactly
    as given (a flag not given: any), dates as Hà Nội days."""
    return IncidentFilter(
        wards=args.ward, types=args.types, statuses=args.statuses,
        date_from=args.date_from, date_to=args.date_to,
        streets=args.street, bbox=args.bbox, overdue=args.overdue,
    )


def _export(args: argparse.Namespace) -> int:
    with _open(args) as store:
        actor = acting_user(store, args, "export", object_type="export", object_id=args.format)
        path = services.export(store, actor, args.format, args.out, _export_filter(args), limit=args.limit)
    print(path)
    return 0


def _status(args: argparse.Namespace) -> int:
    with _open(args) as store:
        actor = acting_user(store, args, "change_status", object_type="incident", object_id=args.id)
        moved = services.change_status(store, actor, args.id, args.to_state, args.note, at=args.at,
                                        public_note=args.public_note)
    print(f"#{moved['id']}: {moved['from']} → {moved['to']}")
    return 0


def _backup(args: argparse.Namespace) -> int:
    with open_store(args.database) as store:
        actor = acting_user(store, args, "backup", object_type="store")
        path = services.backup(store, actor, args.out)
    print(path)
    media = media_archive_path(path)
    if media.exists():
        print(media)
    return 0


def _db(args: argparse.Namespace) -> int:
    """Every action opens the store, which creates or migrates it; then describes it."""
    with open_store(args.database, rekey_duplicates=args.rekey_duplicates) as store:
        rows = store.row_counts()
        info: dict[str, Any] = {
            "url": store.engine.url.render_as_string(hide_password=True),
            "backend": store.backend.name,
            "schema_version": store.schema_version(),
            "rows": rows,
        }
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=1))
    else:
        print(f"{info['backend']}: {info['url']} (schema v{info['schema_version']})")
        for table, count in rows.items():
            print(f"  {table}: {count}")
    return 0
