"""Rows of the ``users`` table: read, insert, update — each change audited in the same transaction.

No rights checks here (that is :mod:`geo.services`); no password hashing either (that is
:mod:`geo.auth`). Every statement is SQLAlchemy Core with bound parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Connection, func, insert, select, update

from geo.errors import NotFound, StorageError
from geo.store import sessions
from geo.store._values import utcnow

if TYPE_CHECKING:
    from geo.store._core import Store

#: Columns returned by :func:`list_users` (never the hash).
PUBLIC_COLUMNS: tuple[str, ...] = ("username", "roles", "wards", "disabled", "has_password", "created_at")


def count_users(store: Store, *, conn: Connection | None = None) -> int:
    """How many accounts there are, disabled ones included.

    Parameters
    ----------
    store
        The store.
    conn
        Count inside this connection's transaction (default: a read of its own).

    Returns
    -------
    int
        The number of rows of ``users``.
    """
    t = store.tables["users"]
    stmt = select(func.count()).select_from(t)
    if conn is not None:
        return int(conn.execute(stmt).scalar() or 0)
    with store.read() as c:
        return int(c.execute(stmt).scalar() or 0)


def get_user(store: Store, username: str, *, conn: Connection | None = None) -> dict[str, Any] | None:
    """The whole row of one account (hash included, for sign-in).

    Parameters
    ----------
    store
        The store.
    username
        The account's name.
    conn
        Read inside this connection's transaction (:func:`update_user` keeps the row as
        it was before its change; default: a read of its own).

    Returns
    -------
    dict or None
        The row by column name; None when there is no such account.
    """
    t = store.tables["users"]
    stmt = select(t).where(t.c.username == username)
    if conn is not None:
        row = conn.execute(stmt).mappings().first()
    else:
        with store.read() as own:
            row = own.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def list_users(store: Store) -> pd.DataFrame:
    """Every account, without password hashes.

    Parameters
    ----------
    store
        The store.

    Returns
    -------
    pandas.DataFrame
        :data:`PUBLIC_COLUMNS`, sorted by user name.
    """
    t = store.tables["users"]
    stmt = select(
        t.c.username, t.c.roles, t.c.wards, t.c.disabled,
        t.c.password_hash.is_not(None).label("has_password"), t.c.created_at,
    ).order_by(t.c.username)
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(PUBLIC_COLUMNS))
    frame["disabled"] = frame["disabled"].astype(bool)
    frame["has_password"] = frame["has_password"].astype(bool)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def insert_user(
    store: Store,
    *,
    username: str,
    password_hash: str | None,
    roles: str,
    wards: str,
    actor: str,
    only_if_empty: bool = False,
    setup_token_hash: str | None = None,
) -> None:
    """Add one account, audited in the same transaction.

    Parameters
    ----------
    store
        The store.
    username, password_hash, roles, wards
        The new row (``password_hash`` None: an OIDC-only account; roles and wards
        comma-joined codes).
    actor
        Named in the audit entry.
    only_if_empty
        Make it the first-start admin: refused once any account exists, checked inside
        the write transaction so two first starts cannot race.
    setup_token_hash
        With ``only_if_empty``: the hash of the one-time setup token, spent in the same
        transaction (refused when wrong or spent; the app's first-admin form).

    Returns
    -------
    None
    """
    t = store.tables["users"]

    def work(conn: Connection) -> None:
        if only_if_empty and count_users(store, conn=conn) > 0:
            raise StorageError(
                "Đã có tài khoản; tài khoản quản trị đầu tiên chỉ tạo được khi chưa có ai.",
                "Accounts exist already; the first admin can only be created in an empty store.",
            )
        if setup_token_hash is not None:
            sessions.use_setup_token(store, setup_token_hash, now=utcnow(), conn=conn)
        exists = conn.execute(select(t.c.username).where(t.c.username == username)).first()
        if exists is not None:
            raise StorageError(
                f"Tài khoản {username!r} đã có.", f"The account {username!r} exists already."
            )
        conn.execute(
            insert(t).values(
                username=username, password_hash=password_hash, roles=roles, wards=wards,
                disabled=False, created_at=utcnow(),
            )
        )
        store.audit(
            actor, "user_add" if not only_if_empty else "user_first_admin", "user", username,
            {"roles": roles, "wards": wards, "password": password_hash is not None},
            conn=conn,
        )

    store.write(work)


def update_user(
    store: Store, username: str, values: Mapping[str, Any], *, actor: str, action: str,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Change some columns of one account, audited in the same transaction.

    Parameters
    ----------
    store
        The store.
    username
        The account to change (:class:`~geo.errors.NotFound` if there is none).
    values
        New values of ``password_hash``, ``roles``, ``wards`` or ``disabled``.
    actor, action, details
        The audit entry's actor, action and details.

    Returns
    -------
    dict
        The row as it was before.
    """
    t = store.tables["users"]
    allowed = {"password_hash", "roles", "wards", "disabled"}
    bad = set(values) - allowed
    if bad:
        raise StorageError(
            f"Không sửa được cột {', '.join(sorted(bad))} của tài khoản.",
            f"Account column(s) {', '.join(sorted(bad))} cannot be changed.",
        )

    def work(conn: Connection) -> dict[str, Any]:
        before = get_user(store, username, conn=conn)
        if before is None:
            raise NotFound(f"Không có tài khoản {username!r}.", f"There is no account {username!r}.")
        conn.execute(update(t).where(t.c.username == username).values(**values))
        ended = 0
        if values.get("disabled"):  # a disabled account's sessions end with the change
            ended = sessions.end_for_user(store, username, reason="disabled", now=utcnow(), conn=conn)
        store.audit(
            actor, action, "user", username,
            {**dict(details or {}), **({"sessions_ended": ended} if ended else {})}, conn=conn,
        )
        return before

    return store.write(work)


def active_admins(store: Store) -> list[str]:
    """Names of the enabled accounts with the admin role.

    Parameters
    ----------
    store
        The store.

    Returns
    -------
    list of str
        Sorted user names.
    """
    t = store.tables["users"]
    with store.read() as conn:
        rows = conn.execute(select(t.c.username, t.c.roles).where(t.c.disabled.is_(False))).all()
    return sorted(r.username for r in rows if "admin" in str(r.roles or "").split(","))
