"""Administration of the store itself: backups, the audit log and its hash chains."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo.auth import User
from geo.photos import MediaStore
from geo.services._rights import check
from geo.store import Store, chain, queries
from geo.store.chain import ChainState


def media_archive_path(out: str | Path) -> Path:
    """Where :func:`backup` puts the photos beside the store's copy ``out``.

    Parameters
    ----------
    out : str | Path
        The store copy's path.

    Returns
    -------
    pathlib.Path
        ``<out>.media.tar``.
    """
    return Path(f"{out}.media.tar")


def backup(store: Store, actor: User, out: str | Path, *, media: MediaStore | None = None) -> Path:
    """A consistent copy of the store while others keep writing (audited by the store),
    and the photo files beside it (:func:`media_archive_path`, when there are any).

    The store is copied first and the media second, so every photo the copy refers to
    is in the archive (:meth:`geo.photos.MediaStore.archive`).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``backup``.
    out
        The copy's path (a SQLite file, or a ``pg_dump`` archive for PostgreSQL).
    media : MediaStore | None
        The media folder to archive (default ``GEO_MEDIA_DIR``).

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    check(store, actor, "backup", object_type="store")
    done = store.backup(out, actor=actor.username)
    files = media or MediaStore()
    if files.root.is_dir():
        archive = files.archive(media_archive_path(done))
        store.audit(actor.username, "backup_media", "store", None, {"out": str(archive)})
    return done


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
