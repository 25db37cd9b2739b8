"""Places, re-inspection rounds and the sustained-order measures (issue 12):

- ``python -m geo places rebuild --user U`` — every place again by the rule;
- ``python -m geo reinspect --ward W --on D --out due.csv|xlsx|geojson|gpx --user U`` — the
  places due for a check on that date (or overdue), as a walking round;
- ``python -m geo sustain --by ward|street|type [--from D --to D] --json --user U`` — does
  clearance last, per ward, street or type.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from geo import services
from geo.cli._actor import acting_user, add_actor_argument
from geo.cli._filters import parse_date, ward_code, ward_layer
from geo.errors import InvalidArgument
from geo.reinspect import FORMATS, LOCAL_TZ
from geo.store import Store, open_store
from geo.sustain import GROUPINGS, MEASURE_KEYS


def register(subparsers: Any) -> None:
    places = subparsers.add_parser("places", help="điểm vi phạm, nơi vụ việc tái diễn / places, where incidents recur")
    actions = places.add_subparsers(dest="places_command", required=True)
    rebuild = actions.add_parser(
        "rebuild", help="dựng lại mọi điểm theo quy tắc / rebuild every place by the rule"
    )
    _store_arguments(rebuild)
    rebuild.set_defaults(func=_rebuild)

    due = subparsers.add_parser(
        "reinspect", help="danh sách tái kiểm tra / re-inspection due list",
        description="Places due for a check on --on (or overdue), as a walking round.",
    )  # fmt: skip
    due.add_argument("--ward", help="mã hoặc tên / code or name (default: every ward)")
    due.add_argument("--on", help="YYYY-MM-DD (default: today in Hà Nội)")
    due.add_argument("--out", type=Path, required=True, help="FILE.csv, .xlsx, .geojson or .gpx")
    due.add_argument("--boundaries", type=Path, default=None)
    _store_arguments(due)
    due.set_defaults(func=_reinspect)

    measures = subparsers.add_parser(
        "sustain", help="trật tự có bền vững không / does clearance last",
        description="Retention after 30/90 days (Kaplan–Meier), recurrences, checks, campaigns.",
    )  # fmt: skip
    measures.add_argument("--by", choices=tuple(GROUPINGS), default="ward")
    measures.add_argument("--from", dest="date_from", help="YYYY-MM-DD (clearances from this day)")
    measures.add_argument("--to", dest="date_to", help="YYYY-MM-DD (to this day, included)")
    measures.add_argument("--json", action="store_true", help="a JSON list of objects")
    _store_arguments(measures)
    measures.set_defaults(func=_sustain)


def _store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    add_actor_argument(parser)


def _local_midnight(day: dt.date | None) -> pd.Timestamp | None:
    return None if day is None else pd.Timestamp(day).tz_localize(LOCAL_TZ).tz_convert("UTC")


def _rebuild(args: argparse.Namespace) -> int:
    with open_store(args.database) as store:
        n_places, n_incidents = services.rebuild_places(store, acting_user(store, args, "rebuild_places", object_type="places"))
    print(f"Đã dựng lại / rebuilt: {n_places} điểm / places cho / for {n_incidents} sự việc / incidents")
    return 0


def _reinspect(args: argparse.Namespace) -> int:
    fmt = args.out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InvalidArgument(
            f"--out {args.out}: đuôi tệp phải là một trong {', '.join(FORMATS)}.",
            f"--out {args.out}: the file must end in one of {', '.join(FORMATS)}.",
        )
    on = parse_date(args.on, "--on") or pd.Timestamp.now(tz=LOCAL_TZ).date()
    with open_store(args.database) as store:
        user = acting_user(store, args, "export", object_type="reinspect")
        ward = _ward(args, store)
        path, rows = services.export_due_list(store, user, on=on, fmt=fmt, out=args.out, ward=ward)
    print(f"{path}: {rows} điểm cần tái kiểm tra / places due on {on}")
    return 0


def _ward(args: argparse.Namespace, store: Store) -> str | None:
    """``--ward``: a five-digit code as given (places keep their ward code even when the
    layer has changed since), a name looked up in the ward layer."""
    if not args.ward:
        return None
    if re.fullmatch(r"\d{5}", args.ward.strip()):
        return str(args.ward.strip())
    return ward_code(args.ward, ward_layer(args, store)["code"])


def _sustain(args: argparse.Namespace) -> int:
    date_from = _local_midnight(parse_date(args.date_from, "--from"))
    last_day = parse_date(args.date_to, "--to")
    date_to = _local_midnight(None if last_day is None else last_day + dt.timedelta(days=1))
    with open_store(args.database) as store:
        records = services.sustain_records(
            store, acting_user(store, args, "view", object_type="sustain"), by=args.by, date_from=date_from, date_to=date_to
        )
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=1))
        return 0
    if not records:
        print("Không có lần xử lý nào trong khoảng này / no clearance in this window")
        return 0
    frame = pd.DataFrame(records)[[next(iter(records[0])), *MEASURE_KEYS]]
    print(frame.to_string(index=False))
    return 0
