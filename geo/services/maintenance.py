"""Administration of the store itself: backups, the audit log and its hash chains."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo.auth import User
from geo.services._rights import check
from geo.store import Store, chain, queries
from geo.store.chain import ChainState


def backup(store: Store, actor: User, out: str | Path) -> Path:
    """A consistent copy of the store while others keep writing (audited by the store).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``backup``.
    out
        The copy's path (a SQLite file, or a ``pg_dump`` archive for PostgreSQL).

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    check(store, actor, "backup", object_type="store")
    return store.backup(out, actor=actor.username)


def audit_log(store: Store, actor: User, limit: int | None = None) -> pd.DataFrame:
    """The audit log, newest first.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``view_audit``.
    limit
        At most this many entries (None or 0: all).

    Returns
    -------
    pandas.DataFrame
        As :func:`geo.store.queries.audit_log`.
    """
    check(store, actor, "view_audit", object_type="audit_log")
    return queries.audit_log(store, limit)


def audit_verify(store: Store, actor: User) -> list[ChainState]:
    """Walk the hash chains of the audit log and the status history.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``view_audit`` (who may read the log may check it).

    Returns
    -------
    list of ChainState
        ``status_events`` then ``audit_log``: intact, or the first row that breaks.
    """
    check(store, actor, "view_audit", object_type="audit_chain")
    return chain.verify(store)
