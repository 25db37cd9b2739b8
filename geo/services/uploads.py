"""Uploads: preview a field team's file, then commit it as one batch (``upload``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import IO

from geo import auth
from geo.auth import User
from geo.errors import AccessDenied
from geo.ingest import IngestOptions, IngestPreview, IngestResult, commit, preview
from geo.services._rights import check
from geo.services.boundaries import active_wards
from geo.store import Store
from geo.store import wards as stored_wards
from geo.store.batches import BatchHook


def preview_upload(
    store: Store,
    actor: User,
    file: str | Path | bytes | IO[bytes],
    options: IngestOptions | None = None,
) -> IngestPreview:
    """Read and validate an upload (nothing stored): the upload page's first step.

    Without ``options.wards`` the points are assigned to the store's ward layer
    (:func:`active_wards`).

    Parameters
    ----------
    store : Store
        The store (for the ward layer and the incidents already stored).
    actor : User
        The acting user (needs ``upload``).
    file : str or pathlib.Path or bytes or IO[bytes]
        The uploaded file, or its path.
    options : IngestOptions or None
        How to read it (default: ``IngestOptions()``).

    Returns
    -------
    IngestPreview
        The rows read, their rejects and classification; nothing written.

    Raises
    ------
    geo.errors.AccessDenied
        The actor may not upload.
    geo.errors.IngestError
        The file cannot be read at all (including :class:`~geo.errors.LimitExceeded`).
    """
    options = options or IngestOptions()
    check(store, actor, "upload", object_type="upload", object_id=options.file_name)
    if options.wards is None:
        options = replace(options, wards=active_wards(store))
    return preview(file, options, store=store)


def _check_status_updates(store: Store, actor: User, preview_: IngestPreview) -> None:
    """An upload that moves stored incidents is a status change: the same ward rule applies.

    New incidents are reports and are stored as given; rows that would move an incident
    already stored need ``change_status`` in that incident's ward.
    """
    updates = preview_.status_updates()
    if updates is None or updates.empty:
        return
    ids = sorted({int(i) for i in updates["incident_id"]})
    wards = stored_wards.of_incidents(store, ids)
    refused = [i for i in ids if not auth.can(actor, "change_status", wards.get(i))]
    if refused:
        shown = ", ".join(str(i) for i in refused[:10]) + (" …" if len(refused) > 10 else "")
        store.audit(
            actor.username, "denied", "upload", preview_.file_name,
            {"action": "change_status", "incidents": refused[:100], "count": len(refused)},
        )
        raise AccessDenied(
            f"{preview_.file_name}: tệp đổi trạng thái của {len(refused)} vụ việc đã lưu "
            f"(số {shown}) mà người dùng {actor.username!r} không có quyền đổi. Hãy bỏ cột "
            "trạng thái của các dòng đó, hoặc nhờ cán bộ phường phụ trách tải lên.",
            f"{preview_.file_name}: the file changes the status of {len(refused)} stored "
            f"incident(s) (no. {shown}) that user {actor.username!r} may not change. Remove "
            "the status of those rows, or ask the officer of that ward to upload it.",
        )


def commit_upload(
    store: Store, actor: User, preview_: IngestPreview, *, within: BatchHook | None = None
) -> IngestResult:
    """Store a previewed upload as one batch (audited by the store as ``ingest``).

    Parameters
    ----------
    store : Store
        The store to write.
    actor : User
        The acting user (needs ``upload``, and ``change_status`` in the ward of every stored
        incident whose status the file changes).
    preview_ : IngestPreview
        The preview of :func:`preview_upload`.
    within : callable, optional
        More writes of the batch, in its transaction (a field bundle's photos).

    Returns
    -------
    IngestResult
        The preview and the stored batch's id.

    Raises
    ------
    geo.errors.AccessDenied
        The actor may not upload, or may not change some stored incident's status.
    geo.errors.StorageError
        The batch cannot be written (nothing is half-written).
    """
    check(store, actor, "upload", object_type="upload", object_id=preview_.file_name)
    # classified as of now (again, if it loses a race), checked on exactly what is written
    return commit(
        preview_, store, actor.username, check=lambda p: _check_status_updates(store, actor, p), within=within
    )


def ingest_file(
    store: Store,
    actor: User,
    path_or_bytes: str | Path | bytes | IO[bytes],
    options: IngestOptions | None = None,
) -> IngestResult:
    """Preview then (unless ``options.dry_run``) commit one file: what ``python -m geo
    ingest`` does.

    Parameters
    ----------
    store : Store
        The store.
    actor : User
        The acting user (needs ``upload``).
    path_or_bytes : str or pathlib.Path or bytes or IO[bytes]
        The file, or its path.
    options : IngestOptions or None
        How to read it; ``dry_run`` stops after the preview.

    Returns
    -------
    IngestResult
        The preview and the stored batch's id (None with ``dry_run``).

    Raises
    ------
    geo.errors.AccessDenied
        The actor may not upload, or may not change some stored incident's status.
    geo.errors.IngestError
        The file cannot be read at all.
    geo.errors.StorageError
        The batch cannot be written.
    """
    result = preview_upload(store, actor, path_or_bytes, options)
    if options is not None and options.dry_run:
        return IngestResult(result, None, dry_run=True)
    return commit_upload(store, actor, result)
