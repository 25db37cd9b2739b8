"""Administration of the store itself: backups and the audit log."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo.auth import User
from geo.services._rights import check
from geo.store import Store, queries


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
