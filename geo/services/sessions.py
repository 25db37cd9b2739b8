"""Sessions and the setup token: start, resume, end (the app's sign-in calls these).

A session belongs to whoever holds its id, so there is no separate right to check here:
resuming re-reads the account and refuses a disabled one, ending needs the id itself.
The rules are in :mod:`geo.sessions`; the rows in :mod:`geo.store.sessions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from geo import sessions
from geo.auth import User
from geo.services.accounts import load_user, needs_first_admin
from geo.store import Store
from geo.store import sessions as session_rows
from geo.store._values import utcnow


@dataclass(frozen=True)
class Resumed:
    """The outcome of :func:`resume_session`: the user, or why there is none."""

    user: User | None
    #: ``"active"``, ``"unknown"``, ``"ended"``, ``"idle"``, ``"expired"`` or ``"disabled"``.
    state: str


def start_session(store: Store, user: User, *, now: datetime | None = None) -> str:
    """A new session for ``user``, active from ``now``.

    Parameters
    ----------
    store : Store
        The store.
    user : User
        The account that has just signed in.
    now : datetime, optional
        The sign-in instant (default: now).

    Returns
    -------
    str
        The session id, for the cookie (only its hash is stored).
    """
    now = now or utcnow()
    secret = sessions.new_secret()
    session_rows.start(
        store, user.username, sessions.digest(secret), now=now, expires_at=now + sessions.max_age()
    )
    return secret


def resume_session(store: Store, id_hash: str, *, now: datetime | None = None) -> Resumed:
    """The user of the session whose id hashes to ``id_hash``, if it is still active.

    An idle or expired session is ended here (audited), so it cannot come back; activity
    is recorded at most every :data:`geo.sessions.TOUCH_EVERY`.

    Parameters
    ----------
    store : Store
        The store.
    id_hash : str
        SHA-256 of the session id (:func:`geo.sessions.digest` of the cookie's value).
    now : datetime, optional
        The instant of the request (default: now).

    Returns
    -------
    Resumed
        The user when the session is active, else None and the reason.
    """
    now = now or utcnow()
    row = session_rows.get(store, id_hash)
    if row is None:
        return Resumed(None, "unknown")
    state = sessions.state(row, now)
    if state in {"idle", "expired"}:
        session_rows.end(store, id_hash, reason=state, actor=row["username"], now=now)
    if state != "active":
        return Resumed(None, state)
    user = load_user(store, row["username"])
    if user is None or user.disabled:
        return Resumed(None, "disabled")
    if now - row["last_seen_at"] >= sessions.TOUCH_EVERY:
        session_rows.touch(store, id_hash, now)
    return Resumed(user, "active")


def end_session(store: Store, id_hash: str, *, now: datetime | None = None) -> bool:
    """Sign out: end the session at once, for every tab holding its cookie (audited).

    Parameters
    ----------
    store : Store
        The store.
    id_hash : str
        SHA-256 of the session id.
    now : datetime, optional
        The sign-out instant (default: now).

    Returns
    -------
    bool
        Whether an open session was ended.
    """
    row = session_rows.get(store, id_hash)
    if row is None:
        return False
    return session_rows.end(store, id_hash, reason="sign_out", actor=row["username"], now=now or utcnow())


def issue_setup_token(store: Store) -> str | None:
    """A fresh one-time setup token when the store has no account (else None).

    Only its hash is stored, replacing any earlier one: the newest printed link is the
    only one that works, and it works once.

    Parameters
    ----------
    store : Store
        The store.

    Returns
    -------
    str or None
        The token to print in a link; None when an account exists.
    """
    if not needs_first_admin(store):
        return None
    token = sessions.new_secret()
    session_rows.replace_setup_token(store, sessions.digest(token), now=utcnow())
    return token


def setup_token_valid(store: Store, token: object) -> bool:
    """Whether ``token`` (from the link's ``?setup=``) is the current unused setup token.

    Parameters
    ----------
    store : Store
        The store.
    token : object
        The query parameter's value (anything: it is checked before use).

    Returns
    -------
    bool
        True for the newest, unspent token.
    """
    return sessions.is_secret(token) and session_rows.setup_token_valid(
        store, sessions.digest(str(token))
    )
