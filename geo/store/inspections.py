"""Re-inspections of cleared places (issue 12, section 2), in the store.

A ``clear`` result is an inspection: who, when, the batch and a note; it is not an
incident. A ``violation`` result is an inspection and a recurrence, stored in one
transaction. One place has at most one inspection per instant (a unique key), so a
results file ingested twice adds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Connection, insert

from geo.errors import InvalidArgument, NotFound
from geo.store._values import clean, utcnow
from geo.store.places import last_cleared_incident, place_timeline, state_at
from geo.store.workflow import open_recurrence

if TYPE_CHECKING:
    from geo.store._core import Store


def record_inspection(
    store: Store,
    place_id: int,
    *,
    checked_at: Any,
    result: str,
    actor: str,
    note: str | None = None,
    batch_id: int | None = None,
    conn: Connection | None = None,
) -> int:
    """Store one re-inspection of a cleared place; returns the inspection's id.

    A ``clear`` result is only an inspection. A ``violation`` result is an inspection and
    a recurrence: the place's last cleared incident moves to ``recurred`` and a new
    incident is reported at ``checked_at`` (:func:`geo.store.workflow.open_recurrence`),
    in the same transaction. Refused (nothing written) when the place has an open
    incident or is unknown, when the check is dated before the clearance, or when the
    place already has a check at that instant.

    Parameters
    ----------
    store
        The store.
    place_id
        The place checked.
    checked_at
        When.
    result
        ``clear`` or ``violation``.
    actor
        Who checked.
    note
        Kept with the inspection.
    batch_id
        The results file's batch, if any.
    conn
        An open write transaction to work in (default: one of its own).

    Returns
    -------
    int
        The inspection's id.
    """
    if result not in ("clear", "violation"):
        raise InvalidArgument(
            f"Kết quả tái kiểm tra {result!r} không hợp lệ (clear hoặc violation).",
            f"Re-inspection result {result!r} is invalid (clear or violation).",
        )
    when = pd.Timestamp(checked_at)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")

    def work(conn: Connection) -> int:
        timeline = place_timeline(store, conn, place_id)
        if timeline.empty:
            raise NotFound(f"Không có điểm vi phạm số {place_id}.", f"There is no place {place_id}.")
        state = state_at(timeline, when)
        if state == "none":
            raise InvalidArgument(
                f"Điểm {place_id}: ngày tái kiểm tra {when:%Y-%m-%d} trước ngày xử lý.",
                f"Place {place_id}: the check on {when:%Y-%m-%d} is before the clearance.",
            )
        if state == "open":
            raise InvalidArgument(
                f"Điểm {place_id} đang có vi phạm chưa xử lý vào {when:%Y-%m-%d}; chưa tái "
                "kiểm tra được.",
                f"Place {place_id} has an open violation on {when:%Y-%m-%d}; there is "
                "nothing to re-inspect.",
            )
        last = last_cleared_incident(store, conn, place_id)
        if result == "violation" and (last is None or when < last[1]):
            raise InvalidArgument(
                f"Điểm {place_id} đã có vi phạm mới sau {when:%Y-%m-%d}; kết quả tái vi phạm "
                "không mở thêm vụ việc.",
                f"Place {place_id} was reported again after {when:%Y-%m-%d}; a violation "
                "result cannot reopen it again.",
            )
        incident_id = last[0] if last is not None else None
        opened = None
        if result == "violation":
            assert incident_id is not None
            opened = open_recurrence(store, conn, incident_id, actor=actor, note=note, at=when,
                                     batch_id=batch_id)  # fmt: skip
        t = store.tables["inspections"]
        inserted = conn.execute(
            insert(t).values(place_id=int(place_id), checked_at=when, result=result,
                             note=clean(note), actor=actor, batch_id=batch_id,
                             incident_id=opened, created_at=utcnow())
        )
        check_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
        store.audit(actor, "reinspection", "place", int(place_id),
                    {"inspection": check_id, "result": result, "incident": opened}, conn=conn)  # fmt: skip
        return check_id

    return work(conn) if conn is not None else store.write(work)


def commit_checks(
    store: Store,
    checks: Sequence[tuple[int, Any, str, str | None]],
    *,
    actor: str,
    file_name: str | None,
    sha256: str | None,
    counts: dict[str, Any],
) -> int:
    """Store a results file's checks — (place_id, checked_at, result, note) — with a batch
    record, in ONE transaction; returns the batch id. Any refusal writes nothing.

    Parameters
    ----------
    store
        The store.
    checks
        (place_id, checked_at, result, note) per accepted row.
    actor
        Who ingested the file.
    file_name, sha256
        The file's name and hash, on the batch record.
    counts
        The file's counts, on the batch record.

    Returns
    -------
    int
        The batch id.
    """

    def work(conn: Connection) -> int:
        inserted = conn.execute(
            insert(store.tables["batches"]).values(
                file_name=clean(file_name), sha256=sha256, source="recheck", actor=actor,
                created_at=utcnow(), n_incidents=0, n_status_updates=0,
                counts={k: v for k, v in counts.items() if k != "outcome"},
            )
        )
        batch_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
        for place_id, when, result, note in checks:
            record_inspection(store, place_id, checked_at=when, result=result, actor=actor,
                              note=note, batch_id=batch_id, conn=conn)  # fmt: skip
        store.audit(actor, "ingest_recheck", "batch", batch_id,
                    {"file_name": file_name, "sha256": sha256, "checks": len(checks)}, conn=conn)  # fmt: skip
        return batch_id

    return store.write(work)
