"""``python -m geo audit verify``: check the hash chains of the audit log and status history.

Walks ``audit_log`` and ``status_events`` in id order, recomputes every row's hash and
names the first row that does not match (see :mod:`geo.store.chain`). Exit code 0 when
both chains are intact, 1 when one is broken (2, as every command, for an error such as
a refused account). Needs the right to read the audit log (admins).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from geo import services
from geo.cli._actor import acting_user, add_actor_argument
from geo.store import open_store


def register(subparsers: Any) -> None:
    audit = subparsers.add_parser("audit", help="nhật ký thao tác / the audit log's hash chains")
    actions = audit.add_subparsers(dest="audit_command", required=True)
    verify = actions.add_parser(
        "verify", help="kiểm tra chuỗi băm / check that no history row was altered or removed"
    )
    verify.add_argument("--json", action="store_true", help="print one JSON record per table")
    verify.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
    add_actor_argument(verify)
    verify.set_defaults(func=_verify)


def _verify(args: argparse.Namespace) -> int:
    with open_store(args.database) as store:
        actor = acting_user(store, args, "view_audit", object_type="audit_chain")
        states = services.audit_verify(store, actor)
    if args.json:
        print(json.dumps([s.to_dict() for s in states], ensure_ascii=False, indent=1))
    else:
        for state in states:
            print(state.bilingual)
    return 0 if all(s.ok for s in states) else 1
