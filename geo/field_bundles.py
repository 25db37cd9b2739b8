"""Field bundles: one ZIP holding a CSV/XLSX table and its photos, through the normal ingest.

The table goes through :mod:`geo.ingest` unchanged (preview, classify, one batch); the
photos go onto the incidents its rows became, through :func:`geo.evidence.attach_files`.
Every photo is accounted for in :attr:`BundleResult.photos`: ``accepted`` (with its
flags), ``link`` (a KoboToolbox URL kept for ``photos fetch``), or ``refused`` with a
bilingual reason naming the file — a name no member matches, a refused image, a photo
of a rejected row, a member no row names.

Roles: a column whose header says so ("ảnh sau", "photo_before") decides; otherwise a
photo of a row that clears its incident (its status is ``cleared``) is an ``after``
photo, any other a ``before`` photo (a report's).

Order: every photo is read and checked before anything is written. Photos of rows
about *stored* incidents are then written inside the batch's own transaction, before
its status moves (:func:`geo.store.batches.commit_batch`'s ``within``), so a row that
clears a stored incident with its after photo in the same bundle passes the
clear-needs-photo rule, and a refused batch leaves no photo row behind. Photos of new
incidents are written after the batch, once their ids exist. Files already put in the
media folder stay there unreferenced when the batch is refused (named by content, so a
second try reuses them; never shown without a row).
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd
from sqlalchemy import Connection

from geo.errors import GeoError
from geo.evidence import PhotoGroup, PhotoResult, PreparedPhotos, prepare_groups, record_files
from geo.ingest import IngestPreview, IngestResult
from geo.photos import (
    FieldBundle,
    PhotoColumn,
    open_bundle,
    parse_photo_cell,
    photo_columns,
    photo_link,
)
from geo.photos.media import MediaStore
from geo.photos.read import check_size
from geo.store import Store, batches
from geo.store import photos as stored_photos
from geo.store.batches import BatchHook
from geo.store.photos import PhotoRecord


@dataclass(frozen=True)
class BundlePhoto:
    """One photo of a bundle and what became of it."""

    name: str
    outcome: str  # accepted | link | refused
    row: int | None = None
    column: str | None = None
    incident_id: int | None = None
    role: str | None = None
    flags: tuple[str, ...] = ()
    reason_vi: str | None = None
    reason_en: str | None = None


@dataclass
class BundleResult:
    """The table's ingest result and every photo's outcome."""

    ingest: IngestResult
    photos: list[BundlePhoto] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"accepted": 0, "link": 0, "refused": 0}
        for photo in self.photos:
            out[photo.outcome] += 1
        return out

    def summary(self) -> dict[str, Any]:
        """The ingest summary with ``photos`` (counts) and ``photo_results`` (each photo)."""
        out = self.ingest.summary()
        out["photos"] = self.counts()
        out["photo_results"] = [p.__dict__ | {"flags": list(p.flags)} for p in self.photos]
        return out


@dataclass(frozen=True)
class _Wanted:
    """A photo named by a row: the member (or the cell's name) and its link, if any."""

    row: int
    label: Any
    column: str
    name: str
    member: str | None
    link: str | None
    role: str
    error: GeoError | None = None


def is_bundle(name: str | Path) -> bool:
    """Whether an upload named ``name`` is a field bundle: a ``.zip`` (an ``.xlsx`` is a
    ZIP too, so the name decides, and :func:`geo.photos.open_bundle` checks the content).

    Parameters
    ----------
    name : str | Path
        The upload's file name.

    Returns
    -------
    bool
        True for a ``.zip`` name.
    """
    return str(name).lower().endswith(".zip")


def ingest_bundle(
    store: Store,
    source: str | Path | bytes | IO[bytes],
    *,
    label: str,
    actor: str,
    ingest_table: Callable[[bytes, str], IngestPreview],
    commit_table: Callable[[IngestPreview, BatchHook], IngestResult],
    may_attach: Callable[[int, str], GeoError | None] = lambda incident, role: None,
    dry_run: bool = False,
    media: MediaStore | None = None,
) -> BundleResult:
    """Ingest a field bundle: its table as one batch, its photos onto the rows' incidents.

    Parameters
    ----------
    store
        The store.
    source
        The ZIP (path, bytes or binary stream).
    label
        The bundle's name in every message.
    actor
        Recorded with the photos.
    ingest_table, commit_table
        Preview the table's bytes (given its member name) and commit a preview with a
        hook that writes more rows in the batch's transaction: the services pass their
        rights-checked versions.
    may_attach
        Returns the refusal for attaching a photo of ``role`` to an incident, or None.
    dry_run
        Preview only: photos are listed, nothing is stored.
    media
        The media folder (default ``GEO_MEDIA_DIR``).

    Returns
    -------
    BundleResult
        The table's ingest result and every photo's outcome.
    """
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    with open_bundle(source, label=label) as bundle:
        preview = ingest_table(bundle.read_table(), bundle.table_name)
        wanted = _wanted_photos(bundle, preview)
        if dry_run:
            return BundleResult(IngestResult(preview, None, dry_run=True), _listed(bundle, wanted))
        rows = preview.rows
        stored = _prepare(store, bundle, [w for w in wanted if _stored_incident(rows, w.label) is not None],
                          lambda w: _stored_incident(rows, w.label), may_attach=may_attach, media=media)  # fmt: skip
        result = commit_table(preview, stored.within(store, actor))
        new_ids = _new_incidents(store, result.preview)
        fresh = _prepare(store, bundle, [w for w in wanted if _stored_incident(rows, w.label) is None],
                         lambda w: new_ids.get(w.row), may_attach=may_attach, media=media)  # fmt: skip
        out = stored.recorded + fresh.record(store, actor, result.batch_id) + _unreferenced(bundle, wanted)
    return BundleResult(result, sorted(out, key=lambda p: (p.row is None, p.row or 0, p.name)))


def _wanted_photos(bundle: FieldBundle, preview: IngestPreview) -> list[_Wanted]:
    """Each photo (or Kobo link) each row names, resolved to a member when possible."""
    original, rows = preview.original, preview.rows
    columns = photo_columns(list(original.columns))
    known = set(bundle.member_names)
    wanted: list[_Wanted] = []
    for label, cells in original.iterrows():
        status = rows.at[label, "status"] if label in rows.index else None
        update = rows.at[label, "update_to"] if "update_to" in rows and label in rows.index else None
        clears = "cleared" in (status, update)
        row = _int(rows.at[label, "row"] if label in rows.index else label)
        for column in columns:
            wanted += _cell_photos(bundle, column, cells, known, row, label, clears)
    return wanted


def _cell_photos(
    bundle: FieldBundle, column: PhotoColumn, cells: pd.Series, known: set[str], row: int, label: Any, clears: bool
) -> list[_Wanted]:
    role = column.role_hint or ("after" if clears else "before")
    link = photo_link(cells.get(column.url_column)) if column.url_column else None
    names = parse_photo_cell(cells.get(column.column), known)
    out = []
    for name in names:
        try:
            member: str | None = bundle.resolve(name)
            error = None
        except GeoError as exc:
            member, error = None, exc
        if member is None and link is not None:
            error = None  # kept as a link for ``photos fetch``
        out.append(_Wanted(row, label, column.column, name, member, link, role, error))
    if not names and link is not None:
        out.append(_Wanted(row, label, column.column, link, None, link, role))
    return out


def _stored_incident(rows: pd.DataFrame, label: Any) -> int | None:
    """The stored incident a row is about (a duplicate or a status update), else None."""
    if label not in rows.index or rows.at[label, "outcome"] != "duplicate":
        return None
    found: Any = rows.at[label, "duplicate_of_incident"]
    return None if pd.isna(found) else _int(found)


def _int(value: Any) -> int:
    return int(value)


def _new_incidents(store: Store, preview: IngestPreview) -> dict[int, int]:
    """Row number → the incident a new row (or a repeat of one) was stored as."""
    rows = preview.rows
    accepted = rows[rows["outcome"] == "accepted"]
    if accepted.empty:
        return {}
    found = batches.lookup_existing(store, accepted[["source", "source_id", "fingerprint"]])
    by_label = dict(zip(found["row"], found["id"].astype(int), strict=True))
    by_row = {_int(accepted.at[label, "row"]): incident for label, incident in by_label.items()}
    repeats = rows[(rows["outcome"] == "duplicate") & rows["duplicate_of_row"].notna()]
    for _, repeat in repeats.iterrows():
        anchor = by_row.get(int(repeat["duplicate_of_row"]))
        if anchor is not None:
            by_row[int(repeat["row"])] = anchor
    return by_row


@dataclass
class _Prepared:
    """A bundle's photos of some incidents, read and checked, rows not yet written."""

    refused: list[BundlePhoto]
    groups: list[tuple[list[_Wanted], PreparedPhotos]]
    links: list[tuple[_Wanted, int]]
    recorded: list[BundlePhoto] = field(default_factory=list)

    def record(self, store: Store, actor: str, batch_id: int | None, conn: Connection | None = None) -> list[BundlePhoto]:
        """Write the rows (in ``conn``'s transaction when given); every photo's outcome."""
        out = list(self.refused)
        for items, prepared in self.groups:
            results = record_files(store, prepared, actor=actor, batch_id=batch_id, conn=conn)
            out += [_from_result(w, r, prepared.incident_id) for w, r in zip(items, results, strict=True)]
        if self.links:
            records = [PhotoRecord(incident, w.role, None, link=w.link) for w, incident in self.links]
            stored_photos.attach(store, records, actor=actor, batch_id=batch_id, conn=conn)
            out += [BundlePhoto(w.name, "link", w.row, w.column, incident, w.role) for w, incident in self.links]
        return out

    def within(self, store: Store, actor: str) -> BatchHook:
        """The batch's hook: record these photos in its transaction (again on a retry)."""

        def hook(conn: Connection, batch_id: int) -> None:
            self.recorded = self.record(store, actor, batch_id, conn)

        return hook


def _prepare(
    store: Store,
    bundle: FieldBundle,
    wanted: Sequence[_Wanted],
    incident_of: Callable[[_Wanted], int | None],
    *,
    may_attach: Callable[[int, str], GeoError | None],
    media: MediaStore | None,
) -> _Prepared:
    """Refusals decided, photos read and checked as one stream, links set aside."""
    refused: list[BundlePhoto] = []
    grouped: dict[tuple[int, str], list[_Wanted]] = defaultdict(list)
    links: list[tuple[_Wanted, int]] = []
    for w in wanted:
        incident = incident_of(w)
        refusal = w.error or (_row_refused(w) if incident is None else may_attach(incident, w.role))
        if refusal is not None:
            refused.append(_refused(w, refusal, incident))
        elif w.member is None:
            links.append((w, int(incident)))  # type: ignore[arg-type]
        else:
            grouped[(int(incident), w.role)].append(w)  # type: ignore[arg-type]
    groups = [PhotoGroup(incident, role, [bundle.source(w.member or "") for w in items])
              for (incident, role), items in grouped.items()]  # fmt: skip
    prepared = prepare_groups(store, groups, media=media)
    return _Prepared(refused, list(zip(grouped.values(), prepared, strict=True)), links)


def _row_refused(w: _Wanted) -> GeoError:
    return GeoError(
        f"{w.name}: dòng {w.row} bị loại nên ảnh không được lưu.",
        f"{w.name}: row {w.row} was rejected, so its photo was not stored.",
    )


def _refused(w: _Wanted, error: GeoError, incident: int | None) -> BundlePhoto:
    return BundlePhoto(w.name, "refused", w.row, w.column, incident, w.role,
                       reason_vi=error.message_vi, reason_en=error.message_en)  # fmt: skip


def _from_result(w: _Wanted, r: PhotoResult, incident: int) -> BundlePhoto:
    if r.accepted:
        return BundlePhoto(w.name, "accepted", w.row, w.column, incident, w.role, r.flags)
    return BundlePhoto(w.name, "refused", w.row, w.column, incident, w.role,
                       reason_vi=r.reason_vi, reason_en=r.reason_en)  # fmt: skip


def _unreferenced(bundle: FieldBundle, wanted: Sequence[_Wanted]) -> list[BundlePhoto]:
    named = {w.member for w in wanted if w.member is not None}
    return [_not_named(bundle.label, name) for name in bundle.image_names if name not in named]


def _not_named(bundle: str, name: str) -> BundlePhoto:
    return BundlePhoto(
        name,
        "refused",
        reason_vi=f"{bundle}: ảnh {name!r} không được dòng nào nhắc tới; không lưu.",
        reason_en=f"{bundle}: no row names the photo {name!r}; not stored.",
    )


def _listed(bundle: FieldBundle, wanted: Sequence[_Wanted]) -> list[BundlePhoto]:
    """A dry run's photos: what each row names, with the checks that need no reading
    (a missing member, a declared size over ``GEO_PHOTO_MAX_BYTES``); nothing stored."""
    out = []
    for w in wanted:
        error = w.error or (_size_refusal(bundle, w.member) if w.member is not None else None)
        if error is not None:
            out.append(_refused(w, error, None))
        else:
            out.append(BundlePhoto(w.name, "link" if w.member is None else "accepted", w.row, w.column, None, w.role))
    return out + _unreferenced(bundle, wanted)


def _size_refusal(bundle: FieldBundle, member: str) -> GeoError | None:
    source = bundle.source(member)
    try:
        check_size(source.size, source.name)
    except GeoError as exc:
        return exc
    return None
