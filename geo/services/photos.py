"""Photo evidence: attach photos to an incident, list them, open their files.

Rights: a ``before`` photo goes with a report, so it needs ``upload``; an ``after``
photo backs a clearance, so it needs ``change_status`` in the incident's ward, like
the clearance itself. Seeing photos needs ``view``; the originals, with their EXIF
(GPS included), need ``view_photo_originals`` (admins). Everyone else is served the
thumbnail or the EXIF-free copy (:meth:`geo.photos.MediaStore.public_copy`). The
store records each attachment in the audit log, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Literal

import pandas as pd

from geo import auth, evidence, field_bundles
from geo._frame_file import persisted
from geo.auth import User
from geo.errors import AccessDenied, GeoError, NotFound
from geo.evidence import PhotoResult
from geo.field_bundles import BundleResult
from geo.ingest import IngestOptions
from geo.photos import MediaStore, PhotoSource
from geo.services._rights import check, viewing
from geo.services.incidents import _ward_of
from geo.services.uploads import commit_upload, preview_upload
from geo.snapshot import over_snapshot
from geo.store import Store, clearances
from geo.store import photos as stored_photos

#: Which right adding a photo of each role needs.
RIGHT_BY_ROLE = {"before": "upload", "after": "change_status"}

#: Kept on disk per store state (:mod:`geo._frame_file`): every photo write is audited about
#: its incident, so the change marker moves with it, and the share never reads the clock.
#: Takes ``snapshot=`` (a function giving the map's snapshot): an answer not kept then takes
#: the clearances from its arrays (:func:`geo.snapshot.over_snapshot`).
verified_share = viewing(persisted(over_snapshot(clearances.verified_share), unkeyed=("snapshot",)), "figures")
photo_summary = viewing(stored_photos.summary, "incidents")


def add_photos(
    store: Store,
    actor: User,
    incident_id: int,
    sources: Iterable[PhotoSource],
    *,
    role: str,
    media: MediaStore | None = None,
    now: datetime | None = None,
) -> list[PhotoResult]:
    """Attach photos to an incident: :func:`geo.evidence.attach_files` behind the right.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``upload`` for ``before`` photos, ``change_status`` in the incident's
        ward for ``after`` photos.
    incident_id
        The incident.
    sources
        The photo files.
    role
        ``before`` or ``after``.
    media, now
        The media folder (default ``GEO_MEDIA_DIR``) and the clock.

    Returns
    -------
    list of PhotoResult
        One per source: accepted with its flags, or refused with a bilingual reason.
    """
    checked = evidence.check_role(role)
    ward = _ward_of(store, incident_id)
    check(store, actor, RIGHT_BY_ROLE[checked], ward, object_type="incident", object_id=incident_id)
    return evidence.attach_files(
        store, int(incident_id), sources, role=checked, actor=actor.username, media=media, now=now
    )


def incident_photos(store: Store, actor: User | None, incident_id: int) -> pd.DataFrame:
    """An incident's photos (:func:`geo.store.photos.photos_of`); needs ``view``.

    Without ``view_photo_originals`` the EXIF position columns (``lat``, ``lon``) are
    emptied: the distance and flags say what a reviewer needs.

    Parameters
    ----------
    store : Store
        The store.
    actor : User | None
        Needs ``view``.
    incident_id : int
        The incident.

    Returns
    -------
    pandas.DataFrame
        As :func:`geo.store.photos.photos_of`.
    """
    check(store, actor, "view", object_type="incident", object_id=incident_id)
    shown = stored_photos.photos_of(store, int(incident_id))
    if not auth.can(actor, "view_photo_originals"):
        shown["lat"] = None
        shown["lon"] = None
    return shown


def photo_file(
    store: Store,
    actor: User | None,
    sha256: str,
    *,
    size: Literal["thumb", "full"] = "thumb",
    media: MediaStore | None = None,
) -> Path:
    """The file to show for one stored photo; needs ``view``.

    ``thumb`` is the ≤480 px thumbnail (never any metadata). ``full`` is the original
    for ``view_photo_originals``, the EXIF-free copy for everyone else.

    Parameters
    ----------
    store : Store
        The store.
    actor : User | None
        Needs ``view``; ``full`` originals need ``view_photo_originals``.
    sha256 : str
        The photo's content hash (hex).
    size : Literal['thumb', 'full']
        ``thumb`` (≤480 px, no metadata) or ``full``.
    media : MediaStore | None
        The media folder (default ``GEO_MEDIA_DIR``).

    Returns
    -------
    pathlib.Path
        The file to serve.
    """
    check(store, actor, "view", object_type="photo", object_id=sha256)
    files = media or MediaStore()
    if size == "thumb":
        path = files.thumbnail_path(sha256)
        if not path.exists():
            raise NotFound(f"Không có ảnh {sha256}.", f"There is no photo {sha256}.")
        return path
    if auth.can(actor, "view_photo_originals"):
        return files.find_original(sha256)
    return files.public_copy(sha256)


def fetch_links(
    store: Store,
    actor: User,
    host: str,
    *,
    token: str | None = None,
    media: MediaStore | None = None,
) -> list[PhotoResult]:
    """Download the kept KoboToolbox links of one allowed host; needs ``upload``.

    :func:`geo.evidence.fetch_links`: the host must be in ``GEO_PHOTO_FETCH_HOSTS``;
    nothing else is ever requested.

    Parameters
    ----------
    store : Store
        The store.
    actor : User
        Needs ``upload``.
    host : str
        The host (one of ``GEO_PHOTO_FETCH_HOSTS``).
    token : str | None
        The Kobo API token, sent as ``Authorization: Token``.
    media : MediaStore | None
        The media folder (default ``GEO_MEDIA_DIR``).

    Returns
    -------
    list of PhotoResult
        One per link of the host.
    """
    check(store, actor, "upload", object_type="photo_links", object_id=host)
    return evidence.fetch_links(store, host=host, actor=actor.username, token=token, media=media)


def ingest_bundle(
    store: Store,
    actor: User,
    source: str | Path | bytes | IO[bytes],
    options: IngestOptions | None = None,
    *,
    media: MediaStore | None = None,
) -> BundleResult:
    """A ZIP of a table and its photos (:func:`geo.field_bundles.ingest_bundle`); what
    ``python -m geo ingest BUNDLE.zip`` and the upload page do with a ZIP.

    The table needs what any upload needs (:func:`geo.services.preview_upload`,
    :func:`geo.services.commit_upload`); each photo the right of its role on its
    incident (a refused one is listed with the reason, the others go on).

    Parameters
    ----------
    store : Store
        The store.
    actor : User
        Needs ``upload``; each photo the right of its role on its incident.
    source : str | Path | bytes | IO[bytes]
        The ZIP (path, bytes or binary stream).
    options : IngestOptions | None
        How to read the table (its ``dry_run`` too).
    media : MediaStore | None
        The media folder (default ``GEO_MEDIA_DIR``).

    Returns
    -------
    BundleResult
        The table's ingest result and every photo's outcome.
    """
    options = options or IngestOptions()
    label = options.file_name or (Path(source).name if isinstance(source, str | Path) else "bundle.zip")
    check(store, actor, "upload", object_type="upload", object_id=label)

    def may_attach(incident_id: int, role: str) -> GeoError | None:
        ward = _ward_of(store, incident_id)
        if auth.can(actor, RIGHT_BY_ROLE[role], ward):
            return None
        return AccessDenied(
            f"Người dùng {actor.username!r} không được thêm ảnh “{role}” cho vụ việc {incident_id}.",
            f"User {actor.username!r} may not add {role} photos to incident {incident_id}.",
        )

    return field_bundles.ingest_bundle(
        store, source, label=label, actor=actor.username,
        ingest_table=lambda data, name: preview_upload(
            store, actor, data, replace(options, file_name=options.file_name or name)
        ),
        commit_table=lambda preview_, within: commit_upload(store, actor, preview_, within=within),
        may_attach=may_attach, dry_run=options.dry_run, media=media,
    )  # fmt: skip
