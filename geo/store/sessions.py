"""Rows of ``sessions`` and ``setup_tokens``: secrets kept only as their SHA-256.

The rules (what a session id is, when a session has ended) are in :mod:`geo.sessions`;
rights are checked in :mod:`geo.services.sessions`. Ends are audited in the same
transaction as the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, insert, select, update

from geo.errors import AccessDenied
from geo.sessions import require_end_reason

if TYPE_CHECKING:
    from geo.store._core import Store


def start(store: Store, username: str, id_hash: str, *, now: datetime, expires_at: datetime) -> None:
    """Store a new session of ``username`` (its id's hash), active from ``now``.

    Parameters
    ----------
    store
        The store.
    username
        The signed-in account.
    id_hash
        SHA-256 of the session id (:func:`geo.sessions.digest`).
    now, expires_at
        Sign-in instant and the absolute end.

    Returns
    -------
    None
    """
    t = store.tables["sessions"]
    store.write(
        lambda conn: conn.execute(
            insert(t).values(
                id_hash=id_hash, username=username, created_at=now, last_seen_at=now,
                expires_at=expires_at,
            )
        )
    )


def get(store: Store, id_hash: str) -> dict[str, Any] | None:
    """One session's row by its id's hash.

    Parameters
    ----------
    store
        The store.
    id_hash
        SHA-256 of the session id.

    Returns
    -------
    dict or None
        The row by column name; None when unknown.
    """
    t = store.tables["sessions"]
    with store.read() as conn:
        row = conn.execute(select(t).where(t.c.id_hash == id_hash)).mappings().first()
    return dict(row) if row is not None else None


def touch(store: Store, id_hash: str, now: datetime) -> None:
    """Record activity at ``now`` (only on a session that has not ended).

    Parameters
    ----------
    store
        The store.
    id_hash
        SHA-256 of the session id.
    now
        The activity's instant.

    Returns
    -------
    None
    """
    t = store.tables["sessions"]
    store.write(
        lambda conn: conn.execute(
            update(t).where(t.c.id_hash == id_hash, t.c.ended_at.is_(None)).values(last_seen_at=now)
        )
    )


def end(store: Store, id_hash: str, *, reason: str, actor: str, now: datetime) -> bool:
    """End one session (sign-out, idle, expired), audited as ``session_end``.

    Parameters
    ----------
    store
        The store.
    id_hash
        SHA-256 of the session id.
    reason
        ``sign_out``, ``idle`` or ``expired`` (kept in ``end_reason``); a code of
        :data:`geo.sessions.END_REASONS`, else ``ValueError``.
    actor
        The session's account, named in the audit entry.
    now
        The end's instant.

    Returns
    -------
    bool
        Whether a session was open and is now ended.
    """
    require_end_reason(reason)
    t = store.tables["sessions"]

    def work(conn: Connection) -> bool:
        done = conn.execute(
            update(t).where(t.c.id_hash == id_hash, t.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        ).rowcount
        if done:
            store.audit(actor, "session_end", "user", actor, {"reason": reason}, conn=conn)
        return bool(done)

    return store.write(work)


def end_for_user(store: Store, username: str, *, reason: str, now: datetime, conn: Connection) -> int:
    """End every open session of ``username`` inside ``conn``'s transaction (a disable).

    Parameters
    ----------
    store
        The store.
    username
        The account.
    reason
        Kept in ``end_reason`` (``disabled``); a code of :data:`geo.sessions.END_REASONS`.
    now
        The end's instant.
    conn
        A connection in an open write transaction (the account's change).

    Returns
    -------
    int
        How many sessions were ended.
    """
    require_end_reason(reason)
    t = store.tables["sessions"]
    return int(
        conn.execute(
            update(t).where(t.c.username == username, t.c.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        ).rowcount or 0
    )


# -- the setup token ---------------------------------------------------------------------


def replace_setup_token(store: Store, token_hash: str, *, now: datetime) -> None:
    """Make ``token_hash`` the only valid setup token (an earlier printed link stops working).

    Parameters
    ----------
    store
        The store.
    token_hash
        SHA-256 of the new token.
    now
        When it was issued.

    Returns
    -------
    None
    """
    t = store.tables["setup_tokens"]

    def work(conn: Connection) -> None:
        conn.execute(delete(t))
        conn.execute(insert(t).values(token_hash=token_hash, created_at=now))
        store.audit("system", "setup_token_issued", "store", None, {}, conn=conn)

    store.write(work)


def setup_token_valid(store: Store, token_hash: str, *, conn: Connection | None = None) -> bool:
    """Whether ``token_hash`` is the current, unused setup token.

    Parameters
    ----------
    store
        The store.
    token_hash
        SHA-256 of the token from the link.
    conn
        Ask inside this connection's transaction (default: a read of its own).

    Returns
    -------
    bool
        True when it may still create the first admin.
    """
    t = store.tables["setup_tokens"]
    stmt = select(t.c.token_hash).where(t.c.token_hash == token_hash, t.c.used_at.is_(None))
    if conn is not None:
        return conn.execute(stmt).first() is not None
    with store.read() as c:
        return c.execute(stmt).first() is not None


def use_setup_token(store: Store, token_hash: str, *, now: datetime, conn: Connection) -> None:
    """Spend the setup token inside ``conn``'s transaction (the first admin's insert);
    refuse, bilingually, one that is wrong or spent already.

    Parameters
    ----------
    store
        The store.
    token_hash
        SHA-256 of the token from the link.
    now
        When it is spent.
    conn
        The connection of the first admin's insert.

    Returns
    -------
    None

    Raises
    ------
    geo.errors.AccessDenied
        The token is wrong or spent.
    """
    t = store.tables["setup_tokens"]
    done = conn.execute(
        update(t).where(t.c.token_hash == token_hash, t.c.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if not done:
        raise AccessDenied(
            "Mã cài đặt không đúng hoặc đã được dùng; hãy mở đường dẫn mới nhất in trong cửa sổ "
            "lệnh chạy ứng dụng.",
            "The setup token is wrong or used already; open the newest link printed in the "
            "console that runs the app.",
        )
