"""``python -m geo reports list|accept|merge|reject|erase`` and ``apikeys add|list|revoke``.

The moderation of residents' reports (Open311) from a terminal, with the same rights as
the page "Phản ánh của người dân": an officer for their own wards, an admin for all.
``apikeys add`` prints the new key once, alone on the last line, so a script can
capture it (``KEY=$(python -m geo apikeys add app | tail -1)``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from geo.cli._actor import acting_user, add_actor_argument
from geo.services import reports as moderation
from geo.store import open_store
from geo.store.reports import REPORT_STATES

#: Fields of ``reports list --json`` (issue 14), in order.
LIST_FIELDS = ("id", "token", "ward_code", "service_code", "lat", "long", "description", "received_at")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    add_actor_argument(parser)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reports", help="phản ánh của người dân (Open311) / residents' reports",
        description="Xử lý phản ánh / moderate residents' reports: accept, merge, reject.",
    )
    sub = parser.add_subparsers(dest="reports_command", required=True)
    lst = sub.add_parser("list", help="phản ánh đang chờ / pending reports")
    lst.add_argument("--ward", default=None, help="mã phường / ward code")
    lst.add_argument("--status", default="pending", choices=[*REPORT_STATES, "all"])
    lst.add_argument("--json", action="store_true")
    _common(lst)
    lst.set_defaults(func=_list)
    acc = sub.add_parser("accept", help="tạo sự việc mới / make it a new incident")
    acc.add_argument("id", type=int)
    acc.add_argument("--public-note", default=None,
                     help="ghi chú công khai cho người dân / public note for the resident")
    _common(acc)
    acc.set_defaults(func=_accept)
    mrg = sub.add_parser("merge", help="gộp vào sự việc / attach to an incident")
    mrg.add_argument("id", type=int)
    mrg.add_argument("--into", type=int, required=True, metavar="INCIDENT")
    mrg.add_argument("--public-note", default=None,
                     help="ghi chú công khai cho người dân / public note for the resident")
    _common(mrg)
    mrg.set_defaults(func=_merge)
    rej = sub.add_parser("reject", help="từ chối, có lý do công khai / reject with a public reason")
    rej.add_argument("id", type=int)
    rej.add_argument("--reason", required=True)
    _common(rej)
    rej.set_defaults(func=_reject)
    era = sub.add_parser("erase", help="xóa thông tin cá nhân / erase personal data (admin)")
    era.add_argument("id", type=int)
    _common(era)
    era.set_defaults(func=_erase)

    keys = subparsers.add_parser("apikeys", help="khóa API Open311 / Open311 API keys (admin)")
    ksub = keys.add_subparsers(dest="apikeys_command", required=True)
    add = ksub.add_parser("add", help="cấp khóa mới / issue a key")
    add.add_argument("name")
    _common(add)
    add.set_defaults(func=_key_add)
    kl = ksub.add_parser("list", help="liệt kê / list keys")
    kl.add_argument("--json", action="store_true")
    _common(kl)
    kl.set_defaults(func=_key_list)
    rv = ksub.add_parser("revoke", help="thu hồi / revoke a key")
    rv.add_argument("name")
    _common(rv)
    rv.set_defaults(func=_key_revoke)


def _run(args: argparse.Namespace, work: Any, action: str = "moderate_reports") -> Any:
    """``work(store, user)`` as the acting account; ``action`` names the right in the audit
    entry of a refused --user."""
    store = open_store(args.database)
    kind = "api_key" if action == "manage_api_keys" else "resident_report"
    try:
        return work(store, acting_user(store, args, action, object_type=kind, object_id=getattr(args, "id", None)))
    finally:
        store.close()


def _list(args: argparse.Namespace) -> int:
    status = None if args.status == "all" else args.status
    frame = _run(args, lambda s, u: moderation.list_reports(s, u, ward=args.ward, status=status))
    records = [
        {k: (row[k].isoformat() if k == "received_at" else _plain(row[k])) for k in LIST_FIELDS}
        for row in frame.to_dict("records")
    ]
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=1))
        return 0
    for r in records:
        text = (r["description"] or "").replace("\n", " ")[:60]
        print(f"{r['id']}\t{r['ward_code']}\t{r['service_code']}\t{r['received_at']}\t{text!r}")
    return 0


def _plain(value: Any) -> Any:
    try:
        import pandas as pd

        if value is not None and not isinstance(value, str) and pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _accept(args: argparse.Namespace) -> int:
    incident = _run(args, lambda s, u: moderation.accept_report(s, u, args.id, args.public_note))
    print(f"Đã tiếp nhận / accepted: report {args.id} → incident {incident}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    _run(args, lambda s, u: moderation.merge_report(s, u, args.id, args.into, args.public_note))
    print(f"Đã gộp / merged: report {args.id} → incident {args.into}")
    return 0


def _reject(args: argparse.Namespace) -> int:
    _run(args, lambda s, u: moderation.reject_report(s, u, args.id, args.reason))
    print(f"Đã từ chối / rejected: report {args.id}")
    return 0


def _erase(args: argparse.Namespace) -> int:
    _run(args, lambda s, u: moderation.erase_personal_data(s, u, args.id), "erase_personal_data")
    print(f"Đã xóa thông tin cá nhân / personal data erased: report {args.id}")
    return 0


def _key_add(args: argparse.Namespace) -> int:
    secret = _run(args, lambda s, u: moderation.add_api_key(s, u, args.name), "manage_api_keys")
    print(f"Khóa API mới cho / new API key for {args.name} (chỉ hiện một lần / shown once):")
    print(secret)
    return 0


def _key_list(args: argparse.Namespace) -> int:
    frame = _run(args, moderation.list_api_keys, "manage_api_keys")
    records = [
        {"name": r["name"], "prefix": r["prefix"], "created_at": r["created_at"].isoformat(),
         "created_by": r["created_by"],
         "revoked_at": None if _plain(r["revoked_at"]) is None else r["revoked_at"].isoformat()}
        for r in frame.to_dict("records")
    ]
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=1))
        return 0
    for r in records:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        print(f"{r['name']}\t{r['prefix']}…\t{r['created_at']}\t{state}")
    return 0


def _key_revoke(args: argparse.Namespace) -> int:
    _run(args, lambda s, u: moderation.revoke_api_key(s, u, args.name), "manage_api_keys")
    print(f"Đã thu hồi / revoked: {args.name}")
    return 0
