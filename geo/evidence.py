"""Photo evidence of incidents: the photo library (:mod:`geo.photos`) and the store together.

:func:`attach_files` is the one path a photo takes onto an incident, from the CLI, the
app or a field bundle: read and check each file (hostile files refused with a reason
naming it), store the accepted ones by content in the media folder, raise the flags
against the incident's position and report time, then record them all in one write
transaction (:func:`geo.store.photos.attach`). Every file given comes back as one
:class:`PhotoResult`, accepted or refused, so none goes unaccounted for.

A refused photo stores nothing. Files written to the media folder before the
transaction fails stay there, unreferenced: they are named by their content, so the
next upload of the same photo reuses them, and they are never shown without a row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import requests
from sqlalchemy import Connection

from geo.errors import GeoError, InvalidArgument, NotFound
from geo.photos import MediaStore, PhotoOutcome, PhotoSource, check_photo, ingest_photos
from geo.photos.checks import Role
from geo.photos.fetch import check_allowed, fetch_photo, link_host
from geo.photos.media import thumbnail_url
from geo.store import Store
from geo.store import photos as stored_photos
from geo.store.photos import ROLES, PhotoRecord


@dataclass(frozen=True)
class PhotoResult:
    """One file given to :func:`attach_files`: accepted (with its row and flags) or refused.

    ``reason_vi``/``reason_en`` say why a file was refused; ``notes`` what was wrong
    with the metadata of an accepted one (dropped, not refused).
    """

    name: str
    role: str
    accepted: bool
    photo_id: int | None = None
    sha256: str | None = None
    flags: tuple[str, ...] = ()
    distance_m: float | None = None
    taken_at: datetime | None = None
    reason_vi: str | None = None
    reason_en: str | None = None
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``taken_at`` as ISO text)."""
        out = dict(self.__dict__)
        out["taken_at"] = self.taken_at.isoformat() if self.taken_at is not None else None
        out["flags"] = list(self.flags)
        out["notes"] = list(self.notes)
        return out


def check_role(role: str) -> Role:
    """``role`` if it is ``before`` or ``after``; a bilingual refusal otherwise.

    Parameters
    ----------
    role : str
        ``before`` or ``after``.

    Returns
    -------
    str
        ``role`` itself.
    """
    if role not in ROLES:
        raise InvalidArgument(
            f"Vai trò ảnh không hợp lệ {role!r}; chọn before (trước) hoặc after (sau).",
            f"Invalid photo role {role!r}; choose before or after.",
        )
    return "before" if role == "before" else "after"


@dataclass(frozen=True)
class PreparedPhotos:
    """Photos of one incident read, checked and in the media folder, not yet recorded.

    The slow half of :func:`attach_files` (:func:`prepare_files`), kept apart so that a
    field bundle can do it before its batch's transaction and record the rows inside
    it (:func:`record_files`): a refused batch then leaves no photo rows behind.
    """

    incident_id: int
    role: Role
    outcomes: tuple[PhotoOutcome, ...]
    records: tuple[PhotoRecord, ...]


def attach_files(
    store: Store,
    incident_id: int,
    sources: Iterable[PhotoSource],
    *,
    role: str,
    actor: str,
    media: MediaStore | None = None,
    batch_id: int | None = None,
    now: datetime | None = None,
) -> list[PhotoResult]:
    """Read, check, store and record photos of one incident; one result per source.

    Parameters
    ----------
    store
        The store (the incident must exist: :class:`~geo.errors.NotFound` otherwise).
    incident_id
        The incident the photos show.
    sources
        The files (:class:`geo.photos.PhotoSource`), read one at a time.
    role
        ``before`` (taken with the report) or ``after`` (taken with the clearance).
    actor, batch_id
        Recorded on each row and in the audit entry.
    media
        The media folder (default ``GEO_MEDIA_DIR``).
    now
        The current time for ``photo_future`` (default: the clock).

    Returns
    -------
    list of PhotoResult
        In the order of ``sources``.
    """
    prepared = prepare_files(store, incident_id, sources, role=role, media=media, now=now)
    return record_files(store, prepared, actor=actor, batch_id=batch_id)


@dataclass(frozen=True)
class PhotoGroup:
    """Photos of one incident in one role, not read yet (for :func:`prepare_groups`)."""

    incident_id: int
    role: str
    sources: Sequence[PhotoSource]


def prepare_files(
    store: Store,
    incident_id: int,
    sources: Iterable[PhotoSource],
    *,
    role: str,
    media: MediaStore | None = None,
    now: datetime | None = None,
) -> PreparedPhotos:
    """Read and check photos of one incident and store their files; no row is written.

    Parameters
    ----------
    store
        The store (the incident must exist: :class:`~geo.errors.NotFound` otherwise).
    incident_id
        The incident the photos show.
    sources
        The files, read one at a time.
    role
        ``before`` or ``after``.
    media, now
        The media folder (default ``GEO_MEDIA_DIR``) and the clock.

    Returns
    -------
    PreparedPhotos
        For :func:`record_files`.
    """
    group = PhotoGroup(int(incident_id), role, list(sources))
    return prepare_groups(store, [group], media=media, now=now)[0]


def prepare_groups(
    store: Store, groups: Sequence[PhotoGroup], *, media: MediaStore | None = None, now: datetime | None = None
) -> list[PreparedPhotos]:
    """Read and check the photos of many incidents as one stream; no row is written.

    One stream keeps both cores busy however the photos are spread over incidents (a
    field bundle has one or two per row), and the store is read once for all of them
    (:func:`geo.store.photos.check_facts`). Each group is checked as if the groups
    before it were already recorded: a photo given to two incidents is
    ``photo_reused`` on the second, and an after photo is compared with the before
    photos given with it. Before groups are checked first for that reason.

    Parameters
    ----------
    store
        The store (every incident must exist: :class:`~geo.errors.NotFound`, raised
        before any photo is read).
    groups
        The photos, by incident and role.
    media, now
        The media folder (default ``GEO_MEDIA_DIR``) and the clock.

    Returns
    -------
    list of PreparedPhotos
        Aligned with ``groups``.
    """
    roles = [check_role(g.role) for g in groups]
    facts = stored_photos.check_facts(store, {g.incident_id for g in groups}, ())
    missing = sorted({g.incident_id for g in groups} - set(facts.incidents))
    if missing:
        raise NotFound(f"Không có sự việc số {missing[0]}.", f"There is no incident {missing[0]}.")
    outcomes = iter(ingest_photos((s for g in groups for s in g.sources), media or MediaStore()))
    split = [[next(outcomes) for _ in g.sources] for g in groups]
    shas = {o.info.sha256 for part in split for o in part if o.ok and o.info is not None}
    facts.attached.update(stored_photos.check_facts(store, (), shas).attached)
    prepared: dict[int, PreparedPhotos] = {}
    for i in sorted(range(len(groups)), key=lambda i: roles[i] != "before"):
        records = _group_records(groups[i].incident_id, roles[i], split[i], facts, now)
        prepared[i] = PreparedPhotos(groups[i].incident_id, roles[i], tuple(split[i]), tuple(records))
        _remember(facts, records)
    return [prepared[i] for i in range(len(groups))]


def _group_records(
    incident_id: int, role: Role, outcomes: Sequence[PhotoOutcome], facts: stored_photos.CheckFacts, now: datetime | None
) -> list[PhotoRecord]:
    accepted = [o for o in outcomes if o.ok and o.info is not None]
    elsewhere = {o.info.sha256 for o in accepted if o.info and facts.attached.get(o.info.sha256, set()) - {incident_id}}
    befores = facts.befores.get(incident_id, []) if role == "after" else []
    return [_record(o, facts.incidents[incident_id], role, elsewhere, befores, now) for o in accepted]


def _remember(facts: stored_photos.CheckFacts, records: Sequence[PhotoRecord]) -> None:
    """Count prepared records as stored, for the groups checked after them."""
    for r in records:
        if r.sha256 is not None:
            facts.attached.setdefault(r.sha256, set()).add(r.incident_id)
        if r.role == "before" and r.phash is not None:
            facts.befores.setdefault(r.incident_id, []).append(r.phash)


def record_files(
    store: Store,
    prepared: PreparedPhotos,
    *,
    actor: str,
    batch_id: int | None = None,
    conn: Connection | None = None,
) -> list[PhotoResult]:
    """Record prepared photos (:func:`geo.store.photos.attach`); one result per source.

    Parameters
    ----------
    store
        The store.
    prepared
        What :func:`prepare_files` returned.
    actor, batch_id
        Recorded on each row and in the audit entry.
    conn
        A connection in an open write transaction (a batch's), or None for one of its own.

    Returns
    -------
    list of PhotoResult
        In the order of the prepared sources.
    """
    records = list(prepared.records)
    ids = stored_photos.attach(store, records, actor=actor, batch_id=batch_id, conn=conn) if records else []
    return _results(prepared.outcomes, records, iter(ids), prepared.role)


def _results(
    outcomes: Sequence[PhotoOutcome], records: Sequence[PhotoRecord], ids: Iterator[int], role: str
) -> list[PhotoResult]:
    by_record = iter(records)
    return [_result(o, role, next(by_record), next(ids)) if o.ok else _refused(o, role) for o in outcomes]


def fetch_links(
    store: Store,
    *,
    host: str,
    actor: str,
    token: str | None = None,
    allowed: Collection[str] | None = None,
    media: MediaStore | None = None,
    session: requests.Session | None = None,
) -> list[PhotoResult]:
    """Download the stored KoboToolbox links of one allowed host and check their photos.

    The host must be in the allow-list (``GEO_PHOTO_FETCH_HOSTS``) before anything is
    requested (:func:`geo.photos.fetch.check_allowed`); links on other hosts are left
    as they are. A fetched photo fills its link's row (:func:`geo.store.photos.fill_link`);
    one that fails is reported with its reason and its link kept for a later try.

    Parameters
    ----------
    store : Store
        The store.
    host : str
        The host (one of ``GEO_PHOTO_FETCH_HOSTS``).
    actor : str
        Needs ``upload``.
    token : str | None
        The Kobo API token, sent as ``Authorization: Token``.
    allowed : Collection[str] | None
        The allow-list (default ``GEO_PHOTO_FETCH_HOSTS``).
    media : MediaStore | None
        The media folder (default ``GEO_MEDIA_DIR``).
    session : requests.Session | None
        The HTTP session to use (tests pass their own).

    Returns
    -------
    list of PhotoResult
        One per link of ``host``, named by its URL.
    """
    check_allowed(f"https://{host}/", host, allowed)
    pending = stored_photos.links(store)
    results: list[PhotoResult] = []
    for photo_id, incident_id, role, url in pending.itertuples(index=False):
        try:
            if link_host(url) != host.strip().lower():
                continue
            data = fetch_photo(url, host=host, token=token, allowed=allowed, session=session)
        except GeoError as exc:
            results.append(_refused(PhotoOutcome(name=url, error=exc), role))
            continue
        prepared = prepare_files(store, int(incident_id), [PhotoSource.from_bytes(url, data)], role=role, media=media)
        ids = [stored_photos.fill_link(store, int(photo_id), r, actor=actor) for r in prepared.records]
        results += _results(prepared.outcomes, prepared.records, iter(ids), role)
    return results


def _record(
    outcome: PhotoOutcome,
    incident: dict[str, Any],
    role: Role,
    elsewhere: set[str],
    befores: Sequence[str],
    now: datetime | None,
) -> PhotoRecord:
    info = outcome.info
    assert info is not None  # accepted outcomes carry their facts
    reported = incident.get("reported_at")
    found = check_photo(
        info.meta, role=role, incident_lat=_number(incident.get("lat")),
        incident_lon=_number(incident.get("lon")),
        reported_at=None if reported is None or pd.isna(reported) else pd.Timestamp(reported).to_pydatetime(),
        sha256=info.sha256, phash=info.phash, attached_elsewhere=elsewhere,
        before_phashes=befores, now=now,
    )  # fmt: skip
    return PhotoRecord(
        incident_id=int(incident["id"]), role=role, sha256=info.sha256, format=info.format,
        file_name=info.name, size_bytes=info.size_bytes, width=info.width, height=info.height,
        taken_at=info.meta.taken_at, lat=info.meta.lat, lon=info.meta.lon,
        distance_m=found.distance_m, flags=found.flags, phash=info.phash,
    )  # fmt: skip


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _result(outcome: PhotoOutcome, role: str, record: PhotoRecord, photo_id: int) -> PhotoResult:
    info = outcome.info
    notes = tuple(n.bilingual for n in info.meta.notes) if info is not None else ()
    return PhotoResult(
        name=outcome.name, role=role, accepted=True, photo_id=int(photo_id), sha256=record.sha256,
        flags=record.flags, distance_m=record.distance_m, taken_at=record.taken_at, notes=notes,
    )  # fmt: skip


def _refused(outcome: PhotoOutcome, role: str) -> PhotoResult:
    error = outcome.error
    return PhotoResult(
        name=outcome.name, role=role, accepted=False,
        reason_vi=getattr(error, "message_vi", str(error)), reason_en=getattr(error, "message_en", str(error)),
    )  # fmt: skip


def public_photo_urls(store: Store, incident_id: int, base_url: str | None, *, role: str = "after") -> list[str]:
    """Public URLs of an incident's photo thumbnails (Open311 ``media_url``, issue 14).

    Thumbnails are made from pixels only, so they carry no EXIF and no GPS. Empty when
    no public media base URL is configured (``base_url`` None or empty) or the
    incident has no stored photo of ``role``.

    Parameters
    ----------
    store
        The store.
    incident_id
        The incident.
    base_url
        Where the media folder's ``thumbs/`` is served publicly, such as
        ``https://city.example/media``.
    role
        ``after`` (the clearance's evidence, the default) or ``before``.

    Returns
    -------
    list of str
        ``<base_url>/thumbs/<ab>/<sha256>.jpg``, oldest photo first.
    """
    if not base_url:
        return []
    shown = stored_photos.photos_of(store, int(incident_id))
    shas = shown.loc[(shown["role"] == check_role(role)) & shown["sha256"].notna(), "sha256"]
    return [thumbnail_url(base_url, sha) for sha in shas]


def public_media_urls(store: Store, incident_ids: Collection[int], base_url: str | None) -> dict[int, str]:
    """Open311's ``media_url`` of many incidents: the public thumbnail of each one's
    oldest after photo, else of its oldest before photo (:func:`public_photo_urls`'s
    links, one per incident, in one read).

    Only thumbnails are linked: they are made from pixels alone, so no EXIF or GPS of
    an original ever leaves through a public answer. A resident's own link is never
    echoed (it may point anywhere). Empty without a public media base URL.

    Parameters
    ----------
    store
        The store.
    incident_ids
        The incidents.
    base_url
        ``GEO_PUBLIC_MEDIA_URL`` (None or empty: no links).

    Returns
    -------
    dict
        Incident id → URL, for incidents with a stored photo.
    """
    if not base_url:
        return {}
    firsts = stored_photos.first_photos(store, incident_ids)
    return {i: thumbnail_url(base_url, roles.get("after") or roles["before"]) for i, roles in firsts.items()}


def with_photo_counts(incidents: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """``incidents`` with ``n_photos`` and ``photo_flags`` from :func:`geo.store.photos.summary`
    (0 and "" for an incident without photos): for the map's tooltips and the GIS exports.

    Parameters
    ----------
    incidents : pd.DataFrame
        Incidents as read from the store (an ``id`` column).
    summary : pd.DataFrame
        What :func:`geo.store.photos.summary` returned.

    Returns
    -------
    pandas.DataFrame
        A copy with the two columns added.
    """
    counts = {int(i): int(n) for i, n in zip(summary["incident_id"], summary["n_photos"], strict=True)}
    flags = {int(i): str(f) for i, f in zip(summary["incident_id"], summary["flags"], strict=True)}
    ids = [None if pd.isna(i) else int(i) for i in incidents["id"]]
    out = incidents.copy()
    out["n_photos"] = pd.Series([counts.get(i, 0) if i is not None else 0 for i in ids], index=out.index, dtype="int64")
    out["photo_flags"] = pd.Series([flags.get(i, "") if i is not None else "" for i in ids], index=out.index, dtype=object)
    return out
