"""Places, re-inspections and the sustained-order measures (issue 12), rights-checked.

Reading the measures and the due list needs ``view``; downloading a due list ``export``;
recording a re-inspection result ``change_status`` in the place's ward (an officer of
that ward); rebuilding every place ``rebuild_places`` (administrators).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from geo import reinspect, settings, sustain, sustain_views
from geo._frame_file import persisted
from geo.auth import User
from geo.errors import InvalidArgument, NotFound
from geo.ingest import IngestOptions, recheck
from geo.ingest._read import FileInput
from geo.ingest.recheck import RecheckResult
from geo.services._rights import check, viewing
from geo.snapshot import over_snapshot
from geo.store import Store
from geo.store import inspections as stored_checks
from geo.store import places as stored_places

#: Kept on disk when the clock cannot change them (:mod:`geo._frame_file`): besides comparing
#: stored instants with the window's end, the measures ask whether a clearance is at least
#: ``RECHECK_DAYS`` old, hence the margin. Takes ``snapshot=`` (a function giving the map's
#: snapshot): an answer not kept then reads only the place links (:func:`geo.snapshot.over_snapshot`).
sustain_measures = viewing(
    persisted(
        over_snapshot(sustain.stored_measures),
        as_of_now=True,
        settle=dt.timedelta(days=sustain.RECHECK_DAYS),
        unkeyed=("snapshot",),
    ),
    "sustain",
)
sustain_records = viewing(sustain.stored_records, "sustain")
place_incidents = viewing(stored_places.place_incidents_frame, "places")
inspections = viewing(stored_places.inspections_frame, "places")
survival_curves = viewing(sustain_views.stored_survival, "sustain")
place_states = viewing(sustain_views.stored_place_states, "places")
#: Kept on disk when the clock cannot change it (:mod:`geo._frame_file`).
recurrence_counts = viewing(persisted(sustain_views.stored_recurrences, as_of_now=True), "sustain")
chronic_timelines = viewing(sustain_views.stored_timelines, "places")
place_timelines = viewing(sustain_views.stored_place_timelines, "places")


def due_list(store: Store, actor: User | None, *, on: Any, ward: str | None = None) -> pd.DataFrame:
    """The places due for a re-inspection on ``on`` (a date) or overdue, as walking rounds.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``view``.
    on
        The date of the round (Hà Nội calendar).
    ward
        Only this ward's places (default: every ward).

    Returns
    -------
    pandas.DataFrame
        :data:`geo.reinspect.DUE_COLUMNS` and ``incident_id``, with ``GEO_REINSPECT_DAYS``'s
        schedule.
    """
    check(store, actor, "view", ward, object_type="reinspect")
    return reinspect.stored_due_list(store, on, ward=ward, schedule=settings.reinspect_schedule())


def export_due_list(
    store: Store, actor: User, *, on: Any, fmt: str, out: str | Path, ward: str | None = None
) -> tuple[Path, int]:
    """:func:`due_list` written as csv, xlsx, geojson or gpx; returns (path, rows).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``export``.
    on
        The date of the round.
    fmt
        One of :data:`geo.reinspect.FORMATS`.
    out
        The file to write.
    ward
        Only this ward (default: all).

    Returns
    -------
    tuple
        The path written and its number of rows.
    """
    check(store, actor, "export", object_type="reinspect")
    due = reinspect.stored_due_list(store, on, ward=ward, schedule=settings.reinspect_schedule())
    path = reinspect.write_due_list(due[list(reinspect.DUE_COLUMNS)], fmt, out)
    store.audit(actor.username, "export", "reinspect", ward,
                {"on": str(on), "format": fmt, "rows": len(due)})  # fmt: skip
    return path, len(due)


def record_check(
    store: Store,
    actor: User,
    place_id: int,
    result: str,
    *,
    checked_at: Any = None,
    note: str | None = None,
) -> int:
    """Record one re-inspection result for a place (audited by the store).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``change_status`` in the place's ward.
    place_id
        The place checked.
    result
        ``clear`` or ``violation``, or a word :func:`geo.reinspect.parse_result` reads
        ("còn thông thoáng", "tái vi phạm", …).
    checked_at
        When (default: now).
    note
        Kept with the inspection.

    Returns
    -------
    int
        The inspection's id.
    """
    places = stored_places.places_frame(store)
    row = places[places["place_id"] == int(place_id)]
    if row.empty:
        raise NotFound(f"Không có điểm vi phạm số {place_id}.", f"There is no place {place_id}.")
    ward = row["ward_code"].iloc[0]
    check(store, actor, "change_status", None if pd.isna(ward) else str(ward),
          object_type="place", object_id=int(place_id))  # fmt: skip
    parsed = reinspect.parse_result(result)
    if parsed == "bad_result":
        raise InvalidArgument(
            f"Kết quả tái kiểm tra {result!r} không hiểu được (còn thông thoáng / tái vi phạm).",
            f"Re-inspection result {result!r} is not understood (clear / violation).",
        )
    when = pd.Timestamp.now(tz="UTC") if checked_at is None else checked_at
    return stored_checks.record_inspection(
        store, int(place_id), checked_at=when, result=parsed, actor=actor.username, note=note
    )


def ingest_results(
    store: Store, actor: User, file: FileInput, options: IngestOptions | None = None
) -> RecheckResult:
    """A re-inspection results file, decided then stored (``ingest --kind recheck``).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``upload``, and ``change_status`` in the ward of every place a
        ``violation`` row reopens (decided on a dry run first: nothing is written before
        the rights are known).
    file, options
        As :func:`geo.ingest.recheck.ingest_results` takes them.

    Returns
    -------
    RecheckResult
        The balanced counts and the batch id.
    """
    check(store, actor, "upload", object_type="upload")
    options = options or IngestOptions()
    if not isinstance(file, str | Path | bytes):  # a stream is read twice: keep its bytes
        file = file.read()
    decided = recheck.ingest_results(store, file, actor=actor.username,
                                     options=replace(options, dry_run=True))  # fmt: skip
    wards = stored_places.places_frame(store).set_index("place_id")["ward_code"]
    for place_id in decided.violation_places:
        ward = wards.get(place_id)
        check(store, actor, "change_status", None if ward is None or pd.isna(ward) else str(ward),
              object_type="place", object_id=place_id)  # fmt: skip
    if options.dry_run:
        return decided
    return recheck.ingest_results(store, file, actor=actor.username, options=options)


def rebuild_places(store: Store, actor: User) -> tuple[int, int]:
    """Every place again by the rule (``GEO_PLACE_RADIUS_M``), the whole store in incident
    order; returns (places, incidents). Needs ``rebuild_places``; audited by the store.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``rebuild_places``.

    Returns
    -------
    tuple of int
        (places, incidents).
    """
    check(store, actor, "rebuild_places", object_type="places")
    return stored_places.rebuild(store, actor=actor.username)
