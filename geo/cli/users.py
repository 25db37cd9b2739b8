"""``python -m geo users add|list|disable|enable|unlock|passwd|grant|revoke``: local accounts.

Passwords come from a prompt (typed twice, not echoed) or one line on standard input with
``--password-stdin`` — never from the command line, where ``ps`` and shell history would
show them. With no account in the store yet, ``users add NAME --role admin`` creates the
first administrator; after that the acting account (``--user``) must be an admin.
``users unlock NAME`` (or ``--address IP``) lifts a sign-in lock set after too many failed
attempts (``GEO_LOGIN_LOCK_AFTER``) and forgets the failures counted so far.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from geo import services
from geo.auth import ROLES
from geo.cli._actor import acting_user, add_actor_argument
from geo.errors import AccessDenied
from geo.store import Store, open_store


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "users",
        help="Quản lý tài khoản / manage user accounts",
        description="Tài khoản, vai trò và phường phụ trách / accounts, roles and wards. "
        f"Roles: {', '.join(ROLES)}.",
    )
    sub = parser.add_subparsers(dest="users_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database", default=None, help="default: GEO_DATABASE_URL")
        add_actor_argument(p)

    add = sub.add_parser("add", help="thêm tài khoản / add an account")
    add.add_argument("username")
    add.add_argument("--role", action="append", default=[], choices=ROLES, required=True)
    add.add_argument("--ward", action="append", default=[], help="mã hoặc tên / code or name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument(
        "--oidc", action="store_true",
        help="no local password: the account signs in only through OIDC (st.login)",
    )
    common(add)
    add.set_defaults(func=_add)

    lst = sub.add_parser("list", help="liệt kê / list accounts")
    lst.add_argument("--json", action="store_true")
    common(lst)
    lst.set_defaults(func=_list)

    for name, enable in (("disable", False), ("enable", True)):
        p = sub.add_parser(name, help=("mở khoá / enable" if enable else "khoá / disable") + " an account")
        p.add_argument("username")
        common(p)
        p.set_defaults(func=_disable, enable=enable)

    ul = sub.add_parser(
        "unlock", help="gỡ khoá đăng nhập sau nhiều lần sai / lift a sign-in lock"
    )
    ul.add_argument("username", nargs="?", help="the user name typed at sign-in")
    ul.add_argument("--address", default=None, help="a client address instead of a name")
    common(ul)
    ul.set_defaults(func=_unlock)

    pw = sub.add_parser("passwd", help="đặt mật khẩu / set a password")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true")
    common(pw)
    pw.set_defaults(func=_passwd)

    gr = sub.add_parser("grant", help="cấp vai trò, phường / grant roles and wards")
    gr.add_argument("username")
    gr.add_argument("--role", action="append", default=[], choices=ROLES)
    gr.add_argument("--ward", action="append", default=[], help="mã hoặc tên / code or name")
    gr.add_argument("--replace", action="store_true", help="set exactly these roles and wards")
    common(gr)
    gr.set_defaults(func=_grant)

    rv = sub.add_parser("revoke", help="thu hồi vai trò, phường / revoke roles and wards")
    rv.add_argument("username")
    rv.add_argument("--role", action="append", default=[], choices=ROLES)
    rv.add_argument("--ward", action="append", default=[])
    common(rv)
    rv.set_defaults(func=_revoke)


def read_password(from_stdin: bool, *, confirm: bool = True) -> str:
    """One line from stdin, or a hidden prompt typed twice (only on a terminal)."""
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise AccessDenied(
            "Không có bàn phím để nhập mật khẩu; dùng --password-stdin.",
            "No terminal to type the password on; use --password-stdin.",
        )
    first = getpass.getpass("Mật khẩu / Password: ")
    if confirm and getpass.getpass("Nhập lại / Repeat: ") != first:
        raise AccessDenied("Hai lần nhập mật khẩu không khớp.", "The two passwords differ.")
    return first


def _store(args: argparse.Namespace) -> Store:
    return open_store(args.database)


def _add(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        password = None if args.oidc else read_password(args.password_stdin)
        if services.needs_first_admin(store):
            if "admin" not in args.role or password is None:
                raise AccessDenied(
                    "Chưa có tài khoản nào: tài khoản đầu tiên phải là quản trị (--role admin) "
                    "có mật khẩu.",
                    "There is no account yet: the first one must be an admin (--role admin) "
                    "with a password.",
                )
            user = services.create_first_admin(store, args.username, password)
            extra = [r for r in args.role if r != "admin"]
            if extra or args.ward:
                user = services.grant(store, user, user.username, extra, args.ward)
        else:
            actor = acting_user(store, args, "manage_users", object_type="user", object_id=args.username)
            user = services.add_user(store, actor, args.username, password, args.role, args.ward)
        print(f"Đã thêm / added: {user.username} ({', '.join(sorted(user.roles))})")
        return 0
    finally:
        store.close()


def _list(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        frame = services.list_users(store, acting_user(store, args, "manage_users", object_type="users"))
    finally:
        store.close()
    if args.json:
        records = frame.assign(created_at=frame["created_at"].astype(str)).to_dict("records")
        print(json.dumps(records, ensure_ascii=False, indent=1))
        return 0
    for row in frame.to_dict("records"):
        state = "disabled" if row["disabled"] else "active"
        login = "password" if row["has_password"] else "oidc-only"
        print(f"{row['username']}\t{row['roles']}\t{row['wards'] or '-'}\t{state}\t{login}")
    return 0


def _disable(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        actor = acting_user(store, args, "manage_users", object_type="user", object_id=args.username)
        services.disable_user(store, actor, args.username, disabled=not args.enable)
    finally:
        store.close()
    print(("Đã mở khoá / enabled: " if args.enable else "Đã khoá / disabled: ") + args.username)
    return 0


def _unlock(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        actor = acting_user(
            store, args, "manage_users", object_type="account" if args.address is None else "address",
            object_id=args.username if args.address is None else args.address,
        )
        lifted = services.unlock(store, actor, username=args.username, address=args.address)
    finally:
        store.close()
    what = args.username if args.username is not None else args.address
    state = "đã gỡ khoá / lock lifted" if lifted else "không bị khoá / was not locked"
    print(f"{what}: {state}; lần sai đã xoá / failures cleared")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        actor = acting_user(store, args, "passwd", object_type="user", object_id=args.username)
        old = None
        if actor.username == args.username and not actor.is_admin:
            # your own password: the current one first (a first line on stdin, or a prompt)
            old = (
                sys.stdin.readline().rstrip("\r\n")
                if args.password_stdin
                else getpass.getpass("Mật khẩu hiện tại / Current password: ")
            )
        services.set_password(
            store, actor, args.username, read_password(args.password_stdin), old_password=old
        )
    finally:
        store.close()
    print(f"Đã đổi mật khẩu / password set: {args.username}")
    return 0


def _grant(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        actor = acting_user(store, args, "manage_users", object_type="user", object_id=args.username)
        user = services.grant(store, actor, args.username, args.role, args.ward, replace=args.replace)
    finally:
        store.close()
    print(f"{user.username}: {','.join(sorted(user.roles))} · {','.join(sorted(user.wards)) or '-'}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        actor = acting_user(store, args, "manage_users", object_type="user", object_id=args.username)
        user = services.revoke(store, actor, args.username, args.role, args.ward)
    finally:
        store.close()
    print(f"{user.username}: {','.join(sorted(user.roles))} · {','.join(sorted(user.wards)) or '-'}")
    return 0
