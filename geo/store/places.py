"""Places, each incident's place and re-inspections, in the store (issue 12).

The matching rule lives in :mod:`geo.places`; this module keeps its results. Every path
that creates incidents calls :func:`place_incidents` inside its own write transaction,
so an incident is never stored without its place: the batch commit
(:func:`geo.store.batches.commit_batch`), the manual recurrence
(:func:`geo.store.workflow.record_recurrence`) and an accepted resident's report
(:func:`geo.store.reports.accept`). The places table is locked for the
matching (the backend's :meth:`~geo.store._backend.Backend.lock_places`), so two uploads
at once cannot both start place 101.

Stores from before a path placed its incidents are made whole by their schema upgrade,
never by a manual step: schema 5 placed every stored incident (:func:`rebuild_in`), and
schema 10 places the incidents accepted residents' reports left without a place before
c716f68 (:func:`place_unplaced_in`, the ingest's placing on exactly those incidents).

A new incident at a place whose every earlier incident is cleared starts a new episode
there: a **recurrence**. :func:`place_incidents` links it to the place's last cleared
incident (``recurrence_of``) and returns the move of that incident to ``recurred``, which
the caller applies with the same history and audit as every other move.

Re-inspections are kept in ``inspections``
(:func:`geo.store.inspections.record_inspection`); a ``violation`` result also opens a
recurrence through the workflow, in the same transaction.

Deciding a batch's places (what is near, what recurs) reads only what was stored before
it and writes nothing: that is :mod:`geo.store._place_plan`, so a batch can plan before
its incidents are written. This module writes the plan and rebuilds the whole layer.
The reads of places, placed incidents and re-inspections as frames live in
:mod:`geo.store.place_frames` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Connection, delete, exists, func, select

from geo import settings
from geo.errors import InvalidArgument, NotFound
from geo.store._place_plan import Placing, plan_places, scratch, stored_states
from geo.store.place_frames import (
    CHECK_COLUMNS,
    PLACE_COLUMNS,
    TIMELINE_COLUMNS,
    cleared_places,
    inspections_frame,
    place_incidents_frame,
    place_timeline,
    places_frame,
    state_at,
)

if TYPE_CHECKING:
    from geo.store._core import Store
    from geo.store.workflow import Move

#: Statuses that end an incident (its ``cleared_at`` is set).
_CLOSED = ("cleared", "recurred")

#: Links the rule found, written in one statement (``recurrence_of`` of the new incidents;
#: ``UPDATE … FROM``: PostgreSQL, and SQLite since 3.33).
_LINK_SQL = (
    "UPDATE incidents SET recurrence_of = l.old_id FROM geo_links l WHERE l.new_id = incidents.id"
)


def write_places(store: Store, conn: Connection, placing: Placing, *, links_written: bool) -> None:
    """Write what :func:`~geo.store._place_plan.plan_places` decided: the new places,
    every incident's link to its place and, unless the incidents' rows carried them
    (``links_written``), the recurrence links (one ``UPDATE … FROM`` a temporary table).

    Parameters
    ----------
    store, conn
        The store and a connection in its open write transaction, where the incidents
        are written already.
    placing
        What :func:`~geo.store._place_plan.plan_places` returned in the same transaction.
    links_written
        Whether the incidents' rows carried their ``recurrence_of`` already.

    Returns
    -------
    None
    """
    store.backend.insert_places(conn, placing.places, placing.links)
    if links_written or not len(placing.positions):
        return
    pairs = list(zip(placing.ids[placing.positions].tolist(), placing.olds.tolist(), strict=True))
    with scratch(store, conn, "geo_links", ("new_id", "old_id"), pairs):
        conn.exec_driver_sql(_LINK_SQL)


def place_incidents(
    store: Store,
    conn: Connection,
    incidents: pd.DataFrame,
    ids: Sequence[int],
    *,
    link: bool = True,
    linkable: Sequence[str] = ("cleared",),
) -> list[Move]:
    """Give each new incident its place, inside the caller's open write transaction.

    Set-based from end to end: one read of the places near the batch, the matching in
    bulk (:mod:`geo.places`), one bulk write of the new places and of the batch's links
    (:meth:`~geo.store._backend.Backend.insert_places`), one statement for the state of the
    stored places the batch joins, the recurrences decided in bulk
    (:func:`geo.places.recurrence_links`) and one statement writing their links.
    (:func:`~geo.store._place_plan.plan_places` then :func:`write_places`.)

    Parameters
    ----------
    store, conn
        The store and a connection in its open write transaction; the incidents are
        inserted already (or are inserted in the same transaction).
    incidents
        ``type``, ``ward_code``, ``lon``, ``lat``, ``reported_at``, ``cleared_at``,
        ``status`` and optionally ``recurrence_of``, in incident order.
    ids
        The incidents' ids, in the same order.
    link
        Whether to link recurrences (a new incident at a place whose every incident is
        cleared, reported after the last clearance, without a ``recurrence_of`` of its
        own).
    linkable
        The statuses an incident may be linked from (``places rebuild`` adds
        ``recurred``: replaying the store, an incident that recurred later was cleared
        then).

    Returns
    -------
    list of Move
        The moves of the earlier incidents to ``recurred`` (for ``apply_moves``).
    """
    if len(incidents) == 0:
        return []
    placing = plan_places(store, conn, incidents, ids, link=link, linkable=linkable)
    write_places(store, conn, placing, links_written=False)
    return placing.moves


def rebuild_in(store: Store, conn: Connection, *, actor: str | None = None) -> tuple[int, int]:
    """Replace every place by the rule, the whole store in incident (id) order.

    Inspections move to the new place of their old place's first incident, so a rebuild
    with the same radius changes nothing and one with another radius keeps each check
    where it was made. Returns (places, incidents).

    With ``actor``, the recurrences the rule finds on the new places are linked too, as an
    ingest links them: the store is replayed in incident order, where an incident that
    ``recurred`` later was still cleared when the next report came, and every incident
    without a link of its own that starts a new episode is linked; a ``cleared`` one it
    recurs from moves to ``recurred`` with its history and audit entries, in the same
    transaction. Links made before are kept (a ``recurred`` incident cannot move back), so
    a second rebuild adds nothing. The upgrade to schema 5 rebuilds without linking: it
    moves no incident (the incidents it places were stored before places existed).

    Parameters
    ----------
    store
        The store.
    conn
        An open write transaction.
    actor
        Who rebuilds (named on the moves); None: places only, no links.

    Returns
    -------
    tuple of int
        (places, incidents).
    """
    store.backend.lock_places(conn)
    p, ip = (store.tables[n] for n in ("places", "incident_places"))
    old_first = dict(conn.execute(select(p.c.id, p.c.first_incident)).all())
    frame = _incidents_to_place(store, conn, unplaced_only=False)
    conn.execute(delete(ip))
    conn.execute(delete(p))
    moves = place_incidents(store, conn, frame, frame["id"].tolist(), link=actor is not None,
                            linkable=_CLOSED)  # fmt: skip
    if moves:
        from geo.store.workflow import apply_moves  # workflow places its own incidents

        apply_moves(store, conn, [], actor=str(actor), batch_id=None, recurrences=moves)
    new_of_incident = dict(conn.execute(select(ip.c.incident_id, ip.c.place_id)).all())
    moved = {
        old: new_of_incident[first] for old, first in old_first.items()
        if first in new_of_incident and new_of_incident[first] != old
    }  # fmt: skip
    if moved:
        _move_checks(store, conn, moved)
    n_places = conn.execute(select(func.count()).select_from(p)).scalar_one()
    return int(n_places), len(frame)


#: What placing an incident reads of it (:func:`place_incidents`' ``incidents``), and its id.
_PLACING_COLUMNS = ("id", "type", "ward_code", "lon", "lat", "status", "reported_at", "cleared_at",
                    "recurrence_of")  # fmt: skip


def _incidents_to_place(store: Store, conn: Connection, *, unplaced_only: bool) -> pd.DataFrame:
    """The stored incidents as :func:`place_incidents` takes them, in id order: all of them
    (a rebuild), or only those without an ``incident_places`` row (one anti-join probing
    that table's primary key, ``incident_id``, once per incident)."""
    i, ip = store.tables["incidents"], store.tables["incident_places"]
    query = select(*(i.c[c] for c in _PLACING_COLUMNS)).order_by(i.c.id)
    if unplaced_only:
        query = query.where(~exists().where(ip.c.incident_id == i.c.id))
    frame = pd.DataFrame(conn.execute(query).all(), columns=list(_PLACING_COLUMNS))
    frame[["lon", "lat"]] = frame[["lon", "lat"]].astype(float)
    return frame


def place_unplaced_in(store: Store, conn: Connection, *, actor: str) -> tuple[int, int]:
    """Give every stored incident that has no place its place, as an ingest would have.

    Before the fix of ``reports.accept`` (commit c716f68) an accepted resident's report was
    stored without an ``incident_places`` row, so the place layer, timelines, sustain
    figures and re-inspections never saw it; the schema upgrade to
    :data:`~geo.store._schema.PLACED_REPORTS_SCHEMA_VERSION` calls this once, so a ward's
    store made before the fix is whole without anyone running ``places rebuild``.

    The incidents are one batch, in id order, through the ingest's own code
    (:func:`place_incidents`): each joins the place within the radius or starts one, and
    one at a place whose every incident is cleared, reported after the last clearance,
    recurs from it; that incident moves to ``recurred`` with its status event and audit
    entry (``apply_moves``), as at ingest. The state of the places is today's, so a place
    where a later report has opened an episode since links nothing, and a clearance made
    after the report is never linked (the rule's "reported after the clearance"). Nothing
    else is touched: the places already stored keep their ids and incidents. With nothing
    to place it is one query and writes nothing, so running it again changes nothing.

    Parameters
    ----------
    store, conn
        The store and a connection in its open write transaction.
    actor
        Named on the recurrence moves and on the one audit entry (``place_unplaced``:
        the incidents placed and how many recurrences were linked).

    Returns
    -------
    tuple of int
        (incidents placed, earlier incidents moved to ``recurred``).
    """
    frame = _incidents_to_place(store, conn, unplaced_only=True)
    if frame.empty:
        return 0, 0
    ids = frame["id"].tolist()
    moves = place_incidents(store, conn, frame, ids)
    from geo.store.workflow import apply_moves  # workflow places its own incidents

    moved = apply_moves(store, conn, [], actor=actor, batch_id=None, recurrences=moves)
    store.audit(actor, "place_unplaced", "store", None,
                {"incidents": ids, "recurrences": moved}, conn=conn)  # fmt: skip
    return len(ids), moved


#: The checks a rebuild moves (``geo_check_moves``) go first to the negated id of their
#: new place, then all at once to the id itself: the unique (place, instant) is checked
#: row by row on both databases, and a results file dates many places' checks alike, so
#: a check moved straight onto a place could meet the one another move takes away next.
_MOVE_CHECKS_SQL = (
    "UPDATE inspections SET place_id = -m.place_id FROM geo_check_moves m WHERE m.id = inspections.id",
    "UPDATE inspections SET place_id = -place_id WHERE place_id < 0",
)


def _move_checks(store: Store, conn: Connection, moved: dict[int, int]) -> None:
    """Move the inspections of each old place in ``moved`` to its new place, set-based;
    refused (nothing changed) when two checks would then share a place and an instant."""
    ins = store.tables["inspections"]
    checks = conn.execute(select(ins.c.id, ins.c.place_id, ins.c.checked_at)).all()
    seen: dict[tuple[int, Any], int] = {}
    for _check, place_id, checked_at in checks:
        key = (moved.get(place_id, place_id), checked_at)
        if key in seen:
            raise InvalidArgument(
                f"Với bán kính {settings.place_radius_m():g} m, điểm {seen[key]} và điểm {place_id} gộp "
                f"thành một nhưng cùng có kết quả tái kiểm tra lúc {checked_at:%Y-%m-%d %H:%M} (UTC); "
                "mỗi điểm chỉ có một kết quả mỗi thời điểm, nên không có gì thay đổi.",
                f"With a radius of {settings.place_radius_m():g} m, places {seen[key]} and {place_id} "
                f"become one but both were re-inspected at {checked_at:%Y-%m-%d %H:%M} (UTC); a "
                "place has one result per instant, so nothing was changed.",
            )
        seen[key] = place_id
    pairs = [(check, moved[place_id]) for check, place_id, _at in checks if place_id in moved]
    if pairs:
        with scratch(store, conn, "geo_check_moves", ("id", "place_id"), pairs):
            conn.exec_driver_sql(_MOVE_CHECKS_SQL[0])
        conn.exec_driver_sql(_MOVE_CHECKS_SQL[1])


def rebuild(store: Store, *, actor: str) -> tuple[int, int]:
    """:func:`rebuild_in` in a write transaction of its own, recurrences linked, audited.
    Returns (places, incidents).

    Parameters
    ----------
    store
        The store.
    actor
        Named in the audit entry and on the recurrence moves.

    Returns
    -------
    tuple of int
        (places, incidents).
    """

    def work(conn: Connection) -> tuple[int, int]:
        counts = rebuild_in(store, conn, actor=actor)
        store.audit(actor, "places_rebuild", "store", None,
                    {"places": counts[0], "incidents": counts[1],
                     "radius_m": settings.place_radius_m()}, conn=conn)  # fmt: skip
        return counts

    return store.write(work)


def last_cleared_incident(store: Store, conn: Connection, place_id: int) -> tuple[int, Any] | None:
    """(id, cleared_at) of the place's latest cleared incident when none is open.

    Parameters
    ----------
    store
        The store.
    conn
        An open connection.
    place_id
        The place.

    Returns
    -------
    tuple or None
        (incident id, cleared_at), or None while an incident is open.
    """
    states = stored_states(store, conn, [int(place_id)], linkable=_CLOSED)
    if states.empty:
        raise NotFound(
            f"Không có điểm vi phạm số {place_id}.", f"There is no place {place_id}."
        )
    state = states.iloc[0]
    if state["open"] or pd.isna(state["last_id"]):
        return None
    return int(state["last_id"]), state["last_cleared"]


__all__ = [
    "CHECK_COLUMNS", "PLACE_COLUMNS", "TIMELINE_COLUMNS", "cleared_places", "inspections_frame",
    "last_cleared_incident", "place_incidents", "place_incidents_frame", "place_timeline",
    "place_unplaced_in", "places_frame", "rebuild", "rebuild_in", "state_at", "write_places",
]
