"""The public reads of Open311 (``GET requests``): service requests and ward names.

A service request is an incident a resident's report reached (accepted, or merged into
one); only those are public. Nothing here reads personal data (``open311_contacts``) or
a status event's internal note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, true

from geo.store.workflow import CLOSED_STATES, OPEN_STATES

if TYPE_CHECKING:
    from geo.store._core import Store


@dataclass(frozen=True)
class RequestQuery:
    """Filters of ``GET requests`` after defaults (see :func:`geo.open311.requests.query`)."""

    ids: tuple[int, ...] | None = None
    service_codes: tuple[str, ...] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] | None = None  # "open", "closed"
    limit: int = 1000
    offset: int = 0


def ward_names(store: Store) -> dict[str, str]:
    """Ward code → name of the current ward layer (no geometry read).

    Parameters
    ----------
    store
        The store.

    Returns
    -------
    dict
        Code → name.
    """
    w = store.tables["wards"]
    with store.read() as conn:
        rows = conn.execute(select(w.c.code, w.c.name).where(w.c.valid_to.is_(None))).all()
    return {str(r.code): str(r.name) for r in rows}


def service_requests(store: Store, query: RequestQuery) -> list[dict[str, Any]]:
    """Service requests, newest first: the incidents a resident's report reached (accepted,
    or merged into one), with the accepted report's text and link and the ward's public note.

    Only those incidents are listed: a resident asking ``GET requests`` expects residents'
    requests, and incidents officers found themselves (with officers' notes, addresses of
    businesses under inspection) were never offered to the public. An incident a report
    was merged into is listed, as the resident follows it. Filters, order and the page are
    all SQL, on the partial index of service requests.

    Parameters
    ----------
    store
        The store.
    query
        The filters (:func:`geo.open311.requests.query`).

    Returns
    -------
    list of dict
        ``id``, ``type``, ``status``, ``lat``, ``lon``, ``ward_code``, ``address``,
        ``reported_at``, ``updated_at``, ``due_at``, ``description``, ``media_url``,
        ``public_note``. No personal data, and never a status event's (internal) note.
    """
    i = store.tables["incidents"]
    r = store.tables["open311_requests"]
    stmt = (
        select(
            i.c.id, i.c.type, i.c.status, i.c.lat, i.c.lon, i.c.ward_code, i.c.address,
            i.c.reported_at, i.c.updated_at, i.c.due_at, r.c.description, r.c.media_url,
            i.c.public_note,
        )
        .select_from(i.outerjoin(r, and_(r.c.incident_id == i.c.id, r.c.status == "accepted")))
        .where(i.c.service_request == true())
        .order_by(i.c.reported_at.desc(), i.c.id.desc())
    )
    if query.ids is not None:
        stmt = stmt.where(i.c.id.in_(list(query.ids)))
    else:
        stmt = _filtered(stmt, store, query)
    stmt = stmt.limit(query.limit).offset(query.offset)
    with store.read() as conn:
        return [dict(row) for row in conn.execute(stmt).mappings().all()]


def _filtered(stmt: Any, store: Store, query: RequestQuery) -> Any:
    """The filters in SQL. Type and status are read from the partial index of service
    requests, which holds them (:meth:`Backend.filter_value`: on SQLite that index, not
    the status index plus a sort of every open incident, 0.4 s per GET at 1M)."""
    i = store.tables["incidents"]
    _unindexed = store.backend.filter_value
    if query.service_codes is not None:
        stmt = stmt.where(_unindexed(i.c.type).in_(list(query.service_codes)))
    if query.start is not None:
        stmt = stmt.where(i.c.reported_at >= query.start)
    if query.end is not None:
        stmt = stmt.where(i.c.reported_at <= query.end)
    if query.statuses is not None:
        states = [*(OPEN_STATES if "open" in query.statuses else ()),
                  *(CLOSED_STATES if "closed" in query.statuses else ())]
        stmt = stmt.where(_unindexed(i.c.status).in_(states))
    return stmt


__all__ = ["RequestQuery", "service_requests", "ward_names"]
