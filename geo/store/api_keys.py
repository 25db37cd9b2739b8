"""Open311 API keys: issue, list, revoke and look up the keys that may send reports.

A key's secret is shown once, when it is issued, and stored only as a hash, so a copy of
the database opens nothing. A revoked key stays listed for the record (audit entries and
reports name it) but no longer opens the server. Every change is audited in the same
transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import Connection, insert, select, update

from geo.errors import InvalidArgument, NotFound
from geo.store._values import clean, utcnow

if TYPE_CHECKING:
    from geo.store._core import Store


def key_hash(secret: str) -> str:
    """The stored form of an API key: SHA-256 hex of the secret.

    Parameters
    ----------
    secret
        An API key.

    Returns
    -------
    str
        64 hex digits.
    """
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def add_api_key(store: Store, name: str, *, actor: str) -> str:
    """Issue a new API key named ``name``; the secret is returned once and stored hashed.

    Parameters
    ----------
    store
        The store.
    name
        Who the key is for (an app, a partner); unique among keys.
    actor
        Named in the audit entry.

    Returns
    -------
    str
        The secret (43 URL-safe characters): only its hash is kept.
    """
    name = clean(str(name)).strip()
    if not name or len(name) > 100:
        raise InvalidArgument(
            "Tên khóa API phải có 1–100 ký tự.", "An API key's name must be 1–100 characters."
        )
    secret = secrets.token_urlsafe(32)
    t = store.tables["api_keys"]

    def work(conn: Connection) -> None:
        if conn.execute(select(t.c.id).where(t.c.name == name)).first() is not None:
            raise InvalidArgument(
                f"Đã có khóa API tên {name!r}.", f"There is already an API key named {name!r}."
            )
        new_id = conn.execute(
            insert(t).values(
                name=name, key_hash=key_hash(secret), prefix=secret[:8], created_at=utcnow(),
                created_by=actor,
            )
        ).inserted_primary_key
        store.audit(actor, "apikey_add", "api_key", new_id[0] if new_id else None,
                    {"name": name, "prefix": secret[:8]}, conn=conn)

    store.write(work)
    return secret


def list_api_keys(store: Store) -> pd.DataFrame:
    """Every key: ``id``, ``name``, ``prefix`` (first 8 characters), ``created_at``,
    ``created_by``, ``revoked_at`` (NaT while active); never the hash.

    Parameters
    ----------
    store
        The store.

    Returns
    -------
    pandas.DataFrame
        One row per key.
    """
    t = store.tables["api_keys"]
    cols = [t.c.id, t.c.name, t.c.prefix, t.c.created_at, t.c.created_by, t.c.revoked_at]
    with store.read() as conn:
        rows = conn.execute(select(*cols).order_by(t.c.id)).all()
    frame = pd.DataFrame(list(rows), columns=[c.name for c in cols])
    for name in ("created_at", "revoked_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def revoke_api_key(store: Store, name: str, *, actor: str) -> None:
    """Revoke the active key named ``name`` (kept for the record; it no longer opens).

    Parameters
    ----------
    store
        The store.
    name
        The active key's name.
    actor
        Named in the audit entry.

    Returns
    -------
    None
        NotFound when no active key has that name.
    """
    t = store.tables["api_keys"]

    def work(conn: Connection) -> None:
        found = conn.execute(
            select(t.c.id).where(t.c.name == name, t.c.revoked_at.is_(None))
        ).first()
        if found is None:
            raise NotFound(
                f"Không có khóa API đang dùng tên {name!r}.", f"There is no active API key named {name!r}."
            )
        conn.execute(update(t).where(t.c.id == found.id).values(revoked_at=utcnow()))
        store.audit(actor, "apikey_revoke", "api_key", found.id, {"name": name}, conn=conn)

    store.write(work)


def active_key(store: Store, secret: str) -> tuple[int, str] | None:
    """(id, name) of the active key whose secret this is; None for an unknown or revoked one.

    Parameters
    ----------
    store
        The store.
    secret
        The key as sent.

    Returns
    -------
    tuple or None
        (id, name), or None.
    """
    t = store.tables["api_keys"]
    with store.read() as conn:
        row = conn.execute(
            select(t.c.id, t.c.name).where(t.c.key_hash == key_hash(secret), t.c.revoked_at.is_(None))
        ).first()
    return None if row is None else (int(row.id), str(row.name))


__all__ = ["active_key", "add_api_key", "key_hash", "list_api_keys", "revoke_api_key"]
