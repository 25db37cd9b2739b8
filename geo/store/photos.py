"""Rows of the ``photos`` table: photo evidence attached to incidents (issue 13).

The photo files live in the media store (:mod:`geo.photos.media`), named by sha256; a
row here says which incident a photo belongs to, as ``before`` or ``after``, what its
own metadata says (time, place, distance to the incident) and which flags the checks
raised (:mod:`geo.photos.checks`). No rights checks (that is
:mod:`geo.services.photos`) and no image reading here: callers pass checked facts.

Every function takes the store first; reads that a write transaction needs (the
clear-needs-photo rule) also take its connection. The figures over many clearances (the
verified share, the report's before/after pairs) are :mod:`geo.store.clearances`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Connection, case, delete, func, insert, select, update

from geo.store._values import chunks, utcnow

if TYPE_CHECKING:
    from geo.store._core import Store

ROLES: tuple[str, ...] = ("before", "after")

#: The incident flag of a clearance imported without its after photo
#: (:mod:`geo.store.workflow`); an after photo attached later removes it.
CLEARED_UNVERIFIED = "cleared_unverified"

#: Columns of :func:`photos_of`, in order.
COLUMNS: tuple[str, ...] = (
    "id", "incident_id", "role", "sha256", "format", "file_name", "size_bytes", "width",
    "height", "taken_at", "lat", "lon", "distance_m", "flags", "phash", "link", "actor",
    "created_at", "batch_id",
)  # fmt: skip


@dataclass(frozen=True)
class PhotoRecord:
    """One photo to attach: the checked facts, without the image bytes.

    ``sha256`` is None only for a KoboToolbox link kept for a later
    ``photos fetch`` (``link`` set). ``flags`` are codes of :data:`geo.photos.FLAGS`.
    """

    incident_id: int
    role: str
    sha256: str | None
    format: str | None = None
    file_name: str | None = None
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    taken_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    distance_m: float | None = None
    flags: tuple[str, ...] = field(default_factory=tuple)
    phash: str | None = None
    link: str | None = None

    def row(self, *, actor: str, at: datetime, batch_id: int | None) -> dict[str, Any]:
        values = {name: getattr(self, name) for name in COLUMNS if hasattr(self, name)}
        values["flags"] = ",".join(self.flags)
        return {**values, "actor": actor, "created_at": at, "batch_id": batch_id}


def attach(
    store: Store,
    records: Sequence[PhotoRecord],
    *,
    actor: str,
    batch_id: int | None = None,
    conn: Connection | None = None,
) -> list[int]:
    """Store photo rows and one audit entry per incident; returns each record's row id.

    A photo (same sha256) already attached to the same incident is not stored again:
    its existing row's id is returned, so re-sending a file changes nothing. Inside
    ``conn``'s write transaction when given (an ingest's), else in one of its own.

    Parameters
    ----------
    store
        The store.
    records
        The photos, in order.
    actor, batch_id
        Recorded on each row (``batch_id``: the ingest batch, or None).
    conn
        A connection in an open write transaction.

    Returns
    -------
    list of int
        Row ids, aligned with ``records``.
    """
    if conn is None:
        return store.write(lambda c: attach(store, records, actor=actor, batch_id=batch_id, conn=c))
    t = store.tables["photos"]
    now = utcnow()
    existing = _existing(conn, t, records)
    ids: list[int] = []
    added: dict[int, list[str]] = {}
    for record in records:
        key = (record.incident_id, record.sha256)
        if record.sha256 is not None and key in existing:
            ids.append(existing[key])
            continue
        done = conn.execute(insert(t).values(record.row(actor=actor, at=now, batch_id=batch_id)))
        new_id = int(done.inserted_primary_key[0])  # type: ignore[index]
        if record.sha256 is not None:
            existing[key] = new_id
        ids.append(new_id)
        added.setdefault(record.incident_id, []).append(f"{record.role}:{record.sha256 or record.link}")
    for incident_id, photos in added.items():
        store.audit(actor, "photo_add", "incident", incident_id,
                    {"photos": photos, "batch_id": batch_id}, conn=conn)  # fmt: skip
    _verify(store, conn, {r.incident_id for r in records if r.role == "after" and r.sha256 is not None})
    return ids


def fill_link(store: Store, photo_id: int, record: PhotoRecord, *, actor: str) -> int:
    """A fetched link's photo into its row (the link is kept); returns the photo's row id.

    When the same photo is already attached to the incident, that row stands and the
    link's row is removed, so one photo is never listed twice. Audited as ``photo_fetch``.

    Parameters
    ----------
    store : Store
        The store.
    photo_id : int
        The link's row id.
    record : PhotoRecord
        The fetched photo's checked facts.
    actor : str
        The acting user (or the account name recorded).

    Returns
    -------
    int
        The photo's row id.
    """

    def work(conn: Connection) -> int:
        t = store.tables["photos"]
        same = conn.execute(
            select(t.c.id).where(t.c.incident_id == record.incident_id, t.c.sha256 == record.sha256)
        ).scalar()
        if same is not None:
            conn.execute(delete(t).where(t.c.id == int(photo_id), t.c.sha256.is_(None)))
            kept = int(same)
        else:
            values = record.row(actor=actor, at=utcnow(), batch_id=None)
            values = {k: v for k, v in values.items() if k not in ("link", "batch_id", "incident_id")}
            conn.execute(update(t).where(t.c.id == int(photo_id)).values(**values))
            kept = int(photo_id)
        store.audit(actor, "photo_fetch", "incident", record.incident_id,
                    {"photo_id": kept, "sha256": record.sha256}, conn=conn)  # fmt: skip
        if record.role == "after":
            _verify(store, conn, {record.incident_id})
        return kept

    return store.write(work)


def _verify(store: Store, conn: Connection, incident_ids: set[int]) -> None:
    """Drop :data:`CLEARED_UNVERIFIED` from incidents that now have an after photo."""
    if not incident_ids:
        return
    t = store.tables["incidents"]
    flagged = [
        row
        for chunk in chunks(sorted(incident_ids))
        for row in conn.execute(
            select(t.c.id, t.c.flags).where(t.c.id.in_(chunk), t.c.flags.contains(CLEARED_UNVERIFIED, autoescape=True))
        )
    ]
    for incident_id, flags in flagged:
        kept = ",".join(f for f in str(flags).split(",") if f and f != CLEARED_UNVERIFIED)
        conn.execute(update(t).where(t.c.id == incident_id).values(flags=kept, updated_at=utcnow()))


def _existing(conn: Connection, t: Any, records: Sequence[PhotoRecord]) -> dict[tuple[int, str | None], int]:
    incidents = sorted({r.incident_id for r in records if r.sha256 is not None})
    found: dict[tuple[int, str | None], int] = {}
    for chunk in chunks(incidents):
        rows = conn.execute(
            select(t.c.id, t.c.incident_id, t.c.sha256).where(t.c.incident_id.in_(chunk), t.c.sha256.isnot(None))
        )
        found.update({(int(r.incident_id), r.sha256): int(r.id) for r in rows})
    return found


def photos_of(store: Store, incident_id: int) -> pd.DataFrame:
    """An incident's photos, before ones first, each role in the order attached.

    Parameters
    ----------
    store : Store
        The store.
    incident_id : int
        The incident.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`; ``flags`` as a comma-joined string ("" for none).
    """
    t = store.tables["photos"]
    order = case((t.c.role == "before", 0), else_=1)
    stmt = select(*(t.c[c] for c in COLUMNS)).where(t.c.incident_id == int(incident_id))
    with store.read() as conn:
        rows = conn.execute(stmt.order_by(order, t.c.id)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(COLUMNS))


@dataclass(frozen=True)
class CheckFacts:
    """What the photo checks need from the store, read for many incidents at once.

    ``incidents``: id → ``id``, ``lat``, ``lon``, ``reported_at``; ``attached``: sha256
    → the incidents it is attached to; ``befores``: id → perceptual hashes of its
    before photos, oldest first. A field bundle of a thousand incidents reads these in
    a few queries instead of three per incident.
    """

    incidents: dict[int, dict[str, Any]]
    attached: dict[str, set[int]]
    befores: dict[int, list[str]]


def check_facts(store: Store, incident_ids: Collection[int], sha256s: Collection[str]) -> CheckFacts:
    """The store's side of the photo checks for ``incident_ids`` and ``sha256s``, in one read.

    Parameters
    ----------
    store : Store
        The store.
    incident_ids : Collection[int]
        The incidents photos are about to be attached to.
    sha256s : Collection[str]
        The photos' content hashes.

    Returns
    -------
    CheckFacts
        Incidents not stored are missing from ``incidents``.
    """
    inc, t = store.tables["incidents"], store.tables["photos"]
    ids = sorted({int(i) for i in incident_ids})
    shas = sorted(set(sha256s))
    facts = CheckFacts({}, {}, {})
    with store.read() as conn:
        for chunk in chunks(ids):
            rows = conn.execute(select(inc.c.id, inc.c.lat, inc.c.lon, inc.c.reported_at).where(inc.c.id.in_(chunk)))
            facts.incidents.update({int(r.id): dict(r._mapping) for r in rows})
            stmt = select(t.c.incident_id, t.c.phash).where(
                t.c.incident_id.in_(chunk), t.c.role == "before", t.c.phash.isnot(None)
            )
            for incident_id, phash in conn.execute(stmt.order_by(t.c.id)):
                facts.befores.setdefault(int(incident_id), []).append(str(phash))
        for chunk in chunks(shas):
            stmt = select(t.c.sha256, t.c.incident_id).where(t.c.sha256.in_(chunk)).distinct()
            for sha, incident_id in conn.execute(stmt):
                facts.attached.setdefault(str(sha), set()).add(int(incident_id))
    return facts


def with_after_photo(store: Store, conn: Connection, incident_ids: Collection[int]) -> set[int]:
    """Which of ``incident_ids`` have an ``after`` photo stored (a file, not only a link).

    Read inside ``conn``'s transaction: the clear-needs-photo rule asks it while the
    incidents' rows are locked (:func:`geo.store.workflow.apply_moves`).

    Parameters
    ----------
    store : Store
        The store.
    conn : Connection
        A connection in the open (write) transaction.
    incident_ids : Collection[int]
        Incident ids (None: all).

    Returns
    -------
    set of int
        The incidents with one.
    """
    t = store.tables["photos"]
    ids = sorted({int(i) for i in incident_ids})
    found: set[int] = set()
    for chunk in chunks(ids):
        stmt = select(t.c.incident_id).where(t.c.incident_id.in_(chunk), t.c.role == "after", t.c.sha256.isnot(None))
        found.update(int(i) for i in conn.execute(stmt.distinct()).scalars())
    return found


def summary(store: Store, incident_ids: Collection[int] | None = None) -> pd.DataFrame:
    """Per incident with photos: how many, how many before/after, and the flags raised.

    Small enough for the map's popups and the exports: no file names, no positions.

    Parameters
    ----------
    store : Store
        The store.
    incident_ids : Collection[int] | None
        Only these incidents (None: all).

    Returns
    -------
    pandas.DataFrame
        ``incident_id``, ``n_photos``, ``n_before``, ``n_after``, ``n_flagged`` and
        ``flags`` (the distinct flag codes, comma-joined and sorted), one row per
        incident that has at least one stored photo.
    """
    t = store.tables["photos"]
    stored = t.c.sha256.isnot(None)
    stmt = select(
        t.c.incident_id,
        func.count().label("n_photos"),
        func.sum(case((t.c.role == "before", 1), else_=0)).label("n_before"),
        func.sum(case((t.c.role == "after", 1), else_=0)).label("n_after"),
        func.sum(case((t.c.flags != "", 1), else_=0)).label("n_flagged"),
    ).where(stored)
    flag_rows = select(t.c.incident_id, t.c.flags).where(stored, t.c.flags != "")
    rows: list[tuple[Any, ...]] = []
    raised: dict[int, set[str]] = {}
    with store.read() as conn:
        # the ids a slice at a time (a statement binds at most 32,766 values on SQLite); the
        # map's drawn markers (at most 5,000) in one
        slices = [None] if incident_ids is None else list(chunks(sorted({int(i) for i in incident_ids}), 10_000))
        for chunk in slices:
            where = [] if chunk is None else [t.c.incident_id.in_(chunk)]
            rows += [tuple(r) for r in conn.execute(stmt.where(*where).group_by(t.c.incident_id))]
            for incident_id, flags in conn.execute(flag_rows.where(*where)):
                raised.setdefault(int(incident_id), set()).update(flags.split(","))
    columns = ["incident_id", "n_photos", "n_before", "n_after", "n_flagged"]
    counts = pd.DataFrame(rows, columns=columns).sort_values("incident_id", ignore_index=True)
    counts = counts.astype({c: "int64" for c in counts.columns})
    counts["flags"] = [",".join(sorted(raised.get(int(i), ()))) for i in counts["incident_id"]]
    return counts


def links(store: Store) -> pd.DataFrame:
    """KoboToolbox links kept without a file yet (for ``photos fetch``).

    Parameters
    ----------
    store : Store
        The store.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``incident_id``, ``role``, ``link``.
    """
    t = store.tables["photos"]
    stmt = select(t.c.id, t.c.incident_id, t.c.role, t.c.link).where(t.c.sha256.is_(None), t.c.link.isnot(None))
    with store.read() as conn:
        rows = conn.execute(stmt.order_by(t.c.id)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["id", "incident_id", "role", "link"])


def first_photos(store: Store, incident_ids: Collection[int] | None = None) -> dict[int, dict[str, str]]:
    """Each incident's oldest stored photo of each role (sha256), for public links.

    Parameters
    ----------
    store : Store
        The store.
    incident_ids : Collection[int] | None
        Only these incidents (None: all).

    Returns
    -------
    dict
        Incident id → {role → sha256}; incidents without a stored photo are missing.
    """
    t = store.tables["photos"]
    stmt = select(t.c.incident_id, t.c.role, t.c.sha256).where(t.c.sha256.isnot(None)).order_by(t.c.id)
    found: dict[int, dict[str, str]] = {}
    with store.read() as conn:
        slices = [None] if incident_ids is None else list(chunks(sorted({int(i) for i in incident_ids})))
        for chunk in slices:
            rows = conn.execute(stmt if chunk is None else stmt.where(t.c.incident_id.in_(chunk)))
            for incident_id, role, sha in rows:
                found.setdefault(int(incident_id), {}).setdefault(str(role), str(sha))
    return found


def first_after(store: Store) -> dict[int, str]:
    """Each incident's oldest stored after photo (sha256), for bulk exports (Open311).

    Parameters
    ----------
    store : Store
        The store.

    Returns
    -------
    dict
        Incident id → sha256.
    """
    return {i: roles["after"] for i, roles in first_photos(store).items() if "after" in roles}
