"""The acting user of a CLI command: ``--user NAME`` (or ``GEO_USER``, else the OS login).

The CLI trusts whoever can run it against the database (they hold its credentials and
could edit it directly), so it asks for no password; it still checks the named account's
rights through :mod:`geo.services` and records that name in the audit log.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from geo import services, settings
from geo.auth import User
from geo.errors import AccessDenied
from geo.store import Store, open_store

USER_ENV = settings.user.name


def add_actor_argument(parser: Any) -> None:
    parser.add_argument(
        "--user", "--as", dest="actor", default=None,
        help="tài khoản thực hiện / acting account (default: $GEO_USER, else the OS login)",
    )


def actor_name(args: Any) -> str:
    name = getattr(args, "actor", None) or settings.user()
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = ""
    return str(name)


def acting_user(
    store: Store, args: argparse.Namespace, action: str, *, object_type: str = "", object_id: Any = None
) -> User:
    """The enabled account named by ``--user``; a bilingual refusal otherwise.

    ``action`` (the right the command needs), ``object_type`` and ``object_id`` describe
    the attempt in the audit entry a refusal leaves, the same entry as a refusal by
    :func:`geo.services.check`.
    """
    name = actor_name(args)
    user = services.load_user(store, name) if name else None
    refusal = None
    if user is None:
        refusal = AccessDenied(
            f"Không có tài khoản {name!r}; chọn tài khoản bằng --user TÊN (hoặc biến GEO_USER).",
            f"There is no account {name!r}; name the acting account with --user NAME "
            "(or GEO_USER).",
        )
    elif user.disabled:
        refusal = AccessDenied(
            f"Tài khoản {name!r} đã bị khoá.", f"The account {name!r} is disabled."
        )
    if refusal is not None:
        services.record_refusal(
            store, name[:100] or services.ANONYMOUS, action, refusal,
            object_type=object_type, object_id=object_id,
        )  # fmt: skip
        raise refusal
    assert user is not None
    return user


def open_checked_store(args: Any, action: str, *, object_type: str = "") -> Store:
    """Open ``--database`` (or ``GEO_DATABASE_URL``) and check ``action`` for the acting account.

    For commands that write files out of the store (maps, reports, grids): the same
    ``export`` right the app's download buttons need.
    """
    store = open_store(getattr(args, "database", None))
    try:
        actor = acting_user(store, args, action, object_type=object_type)
        services.check(store, actor, action, object_type=object_type or action)
    except BaseException:
        store.close()
        raise
    return store
