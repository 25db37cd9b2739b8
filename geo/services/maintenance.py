"""Administration of the store itself: backups and the audit log."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo.auth import User
from geo.services._rights import check
from geo.store import Store, queries


def backup(store: Store, actor: User, out: str | Path) -> Path:
    """A consistent copy of the store while others keep writing (``backup``; audited by
    the store)."""
    check(store, actor, "backup", object_type="store")
    return store.backup(out, actor=actor.username)


def audit_log(store: Store, actor: User, limit: int | None = None) -> pd.DataFrame:
    """The audit log, newest first (``view_audit``)."""
    check(store, actor, "view_audit", object_type="audit_log")
    return queries.audit_log(store, limit)
