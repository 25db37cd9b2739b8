"""Parse → normalise → validate → assign ward and street → deduplicate → store.

Two phases so that the upload page can show what will happen before anything is
written: :func:`preview` reads a file and decides every row's outcome; :func:`commit`
stores a preview in one transaction. The CLI calls the same two functions.

The preview is a sequence of named stages, each in its own module and each taking and
returning small typed results: read (:mod:`~geo.ingest._read`), locate
(:mod:`~geo.ingest._locate`: coordinates, CRS, ward, street), dates
(:mod:`~geo.ingest._dates`), vocabulary (:mod:`~geo.ingest._vocabulary`), identity
(:mod:`~geo.ingest._identity`), assemble (:mod:`~geo.ingest._assemble`), then classify
against the store (:mod:`~geo.ingest._classify`). A row rejected by a stage keeps the
first reason it met (:class:`~geo.ingest._reasons.Verdicts`).

Every row read ends as exactly one of ``accepted``, ``duplicate`` or ``rejected``.
Clean rows go through vectorised pandas/numpy code only; Python loops touch just the
rows that need individual attention (unreadable values, repeats, status changes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from geo import _snapshot_batch
from geo.errors import IdentityConflict
from geo.ingest._assemble import assemble
from geo.ingest._classify import classify, refresh
from geo.ingest._dates import finish_dates, start_dates
from geo.ingest._identity import identity
from geo.ingest._locate import coordinates, place_names, start_streets, wards
from geo.ingest._options import IngestOptions
from geo.ingest._read import FileInput, read_file
from geo.ingest._reasons import Verdicts
from geo.ingest._result import IngestPreview, IngestResult
from geo.ingest._vocabulary import vocabulary
from geo.store import batches
from geo.store import wards as stored_wards
from geo.store.batches import BatchHook

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.store import Store

#: Records how long a stage took, under its name (:attr:`IngestPreview.timings`).
Lap = Callable[[str], None]


def preview(
    file: FileInput, options: IngestOptions | None = None, *, store: Store | None = None
) -> IngestPreview:
    """Read ``file`` and decide every row's outcome; nothing is written.

    Parameters
    ----------
    file : str, Path, bytes or binary file object
        A CSV, TXT, XLSX or GeoJSON incident file.
    options : IngestOptions, optional
        How to read it; ``options.wards`` defaults to the boundaries layer in use
        (``GEO_BOUNDARIES``), ``options.streets`` to the committed street layer.
    store : Store, optional
        Consulted for incidents already stored; without it, only repeats inside the
        file are found.

    Returns
    -------
    IngestPreview
        Every row with its outcome, and the stage times in ``timings``.

    Raises
    ------
    IngestError
        The file as a whole cannot be read (bilingual, naming the file).
    """
    options = options or IngestOptions()
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 4)
        clock = now

    # The stages' work arrays die with _decide's frame, before the store lookup.
    result = _decide(file, options, lap)
    result.timings = timings
    classify(result, store)
    lap("identity")
    return result


def _decide(file: FileInput, options: IngestOptions, lap: Lap) -> IngestPreview:
    """Everything :func:`preview` decides without the store, as an unclassified preview.

    The stages run in this order because a row keeps the first reason it is rejected
    for; dates and nearest streets run in second threads meanwhile.
    """
    read = read_file(file, options)
    lap("read")
    layer = options.wards if options.wards is not None else _default_wards()
    verdicts = Verdicts.of_table(read.table)
    date_jobs = start_dates(read, options.now, options.file_date)
    located = coordinates(read, verdicts)
    lap("coordinates")
    located = wards(located, layer, verdicts, strict=options.strict)
    lap("wards")
    dates = finish_dates(date_jobs, verdicts, read.table.frame.index)
    lap("dates")
    street_job = start_streets(located, verdicts, options.streets)
    vocab = vocabulary(read, verdicts)
    lap("vocab")
    located = place_names(read, located, street_job, verdicts)
    lap("streets")
    ident = identity(read, located, dates, vocab)
    table = read.table
    return IngestPreview(
        file_name=read.name, sha256=read.sha256, size=read.size,
        file_format=table.file_format, encoding=table.encoding, delimiter=table.delimiter,
        sheet=table.sheet, sheets=table.sheets, source=read.source,
        crs=read.crs.to_string() if read.crs is not None else None, strict=options.strict,
        mapping=read.mapping, original=table.frame,
        rows=assemble(read, located, dates, vocab, ident, verdicts), wards=layer,
    )  # fmt: skip


def _default_wards() -> gpd.GeoDataFrame:
    from geo.boundaries import load_boundaries

    return load_boundaries()


#: How often one commit classifies again after another upload stored some of its rows.
MAX_CONFLICTS = 8


def commit(
    preview_: IngestPreview,
    store: Store,
    actor: str,
    *,
    check: Callable[[IngestPreview], None] | None = None,
    within: BatchHook | None = None,
) -> IngestResult:
    """Store a preview as one batch in one transaction.

    Concurrent uploads of the same incidents: the store's unique identity keys refuse
    the second copy inside the write transaction (:class:`~geo.errors.IdentityConflict`,
    nothing written), and the upload is classified again against the store as it now
    is and written again, so the loser of the race reports those rows as duplicates —
    the result is the one the uploads would have had one after the other.

    Parameters
    ----------
    preview_ : IngestPreview
        What :func:`preview` returned.
    store : Store
        Where to store it. The rows are classified again first if the store changed
        since the preview (someone may have stored the same incidents meanwhile; see
        :func:`refresh`).
    actor : str
        The account recorded with the batch and in the audit log.
    check : callable, optional
        Called with the preview after each classification, just before it is written
        (:func:`geo.services.commit_upload` checks the rights on exactly what will be
        written); it refuses by raising.
    within : callable, optional
        More writes of the batch, in its transaction (see
        :func:`geo.store.batches.commit_batch`).

    Returns
    -------
    IngestResult
        The preview and the new batch's id.
    """
    conflicts = 0
    while True:
        refresh(preview_, store)
        if check is not None:
            check(preview_)
        try:
            return write_batch(preview_, store, actor, within=within)
        except IdentityConflict:
            conflicts += 1
            if conflicts > MAX_CONFLICTS:
                raise
            preview_.store_checked = False  # classify again: the store holds some rows now


def write_batch(
    preview_: IngestPreview, store: Store, actor: str, *, within: BatchHook | None = None
) -> IngestResult:
    """Store a preview as classified, as one batch in one transaction.

    No classification: the caller has just run :func:`refresh` (:func:`commit` does,
    and retries when :class:`~geo.errors.IdentityConflict` says it lost a race).

    Parameters
    ----------
    preview_ : IngestPreview
        A preview classified against ``store``.
    store : Store
        Where to store it; an empty ward table is given the preview's wards first.
    actor : str
        The account recorded with the batch and in the audit log.
    within : callable, optional
        More writes of the batch, in its transaction.

    Returns
    -------
    IngestResult
        The preview and the new batch's id.
    """
    if preview_.wards is not None and stored_wards.current(store).empty:
        # A fresh store gets the ward layer the preview used; refreshing a loaded one is
        # the boundaries workflow's job, not every upload's.
        stored_wards.ensure(store, preview_.wards)
    counts = preview_.counts()
    batch = {
        "file_name": preview_.file_name,
        "sha256": preview_.sha256,
        "user": actor,
        "source": preview_.source,
        "counts": {
            **counts,
            "status_updates": preview_.n_status_updates,
            **{f"flag_{k}": v for k, v in preview_.flag_counts().items()},
        },
    }
    incidents = preview_.incidents()
    updates = preview_.status_updates()
    # a snapshot file left by the map is brought up to date here, from the rows just
    # written, so the first page after an upload need not read them back (a cache: a
    # failure is logged and leaves the old file, which the page patches)
    committed: list[batches.CommittedBatch] = []
    follow = committed.append if _snapshot_batch.held(store) else None
    batch_id = batches.commit_batch(store, batch, incidents, updates, actor=actor, within=within, committed=follow)
    del incidents, updates  # copies of the preview's rows: not held while the file is patched
    for done in committed:
        _snapshot_batch.follow(store, done)
    return IngestResult(preview_, int(batch_id))


def ingest(
    file: FileInput, store: Store, options: IngestOptions | None = None, *, actor: str
) -> IngestResult:
    """Preview and, unless ``options.dry_run``, commit: what the CLI does.

    Parameters
    ----------
    file : str, Path, bytes or binary file object
        The incident file.
    store : Store
        Consulted for stored incidents, and written to unless a dry run.
    options : IngestOptions, optional
        How to read the file, and ``dry_run``.
    actor : str
        The account recorded with the batch.

    Returns
    -------
    IngestResult
        The preview and the batch id (None for a dry run).
    """
    options = options or IngestOptions()
    result = preview(file, options, store=store)
    if options.dry_run:
        return IngestResult(result, None, dry_run=True)
    return commit(result, store, actor)
