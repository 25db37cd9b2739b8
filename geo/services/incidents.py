"""Incidents: the map's reads, one incident's detail, status moves and exports.

``incidents`` and ``map_view`` are :func:`geo.store.queries.incidents` and
:func:`geo.views.load_view` behind the ``view`` right (the acting user after the store).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from geo import exports
from geo.auth import User
from geo.services._rights import check, viewing
from geo.snapshot import IncidentSnapshot, up_to_date
from geo.store import IncidentDetail, IncidentFilter, Store, queries, workflow
from geo.views import load_view

incidents = viewing(queries.incidents, "incidents")
map_view = viewing(load_view, "incidents")


def _ward_of(store: Store, incident_id: int) -> str | None:
    code = queries.incident(store, int(incident_id)).incident.get("ward_code")
    return None if code is None or pd.isna(code) else str(code)


def change_status(
    store: Store, actor: User, incident_id: int, to_state: str, note: str | None = None,
    *, at: Any = None, public_note: str | None = None,
) -> dict[str, Any]:
    """Move one incident on; an officer only in their own wards. Audited by the store.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``change_status`` in the incident's ward.
    incident_id
        The incident.
    to_state
        The state to move to (:data:`geo.store.workflow.TRANSITIONS`).
    note
        Kept with the status event (internal: officers only).
    at
        When it happened (default: now).
    public_note
        The ward's note for residents, shown by Open311 (None: the current one stays).

    Returns
    -------
    dict
        ``id``, ``from`` and ``to`` of the move.
    """
    ward = _ward_of(store, incident_id)
    check(store, actor, "change_status", ward, object_type="incident", object_id=incident_id)
    return workflow.change_status(store, int(incident_id), to_state, actor=actor.username, note=note,
                                  at=at, public_note=public_note)


def record_recurrence(
    store: Store, actor: User, incident_id: int, note: str | None = None, *, at: Any = None
) -> int:
    """A cleared place violated again (a status change of the old incident): same rights.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``change_status`` in the old incident's ward.
    incident_id
        The cleared incident.
    note
        Kept with the new incident's first status event.
    at
        When it was seen again (default: now).

    Returns
    -------
    int
        The id of the new incident.
    """
    ward = _ward_of(store, incident_id)
    check(store, actor, "change_status", ward, object_type="incident", object_id=incident_id)
    return workflow.record_recurrence(store, int(incident_id), actor=actor.username, note=note, at=at)


def incident_detail(store: Store, actor: User | None, incident_id: int) -> IncidentDetail:
    """One incident with its status history (the map's incident panel).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``view``.
    incident_id
        The incident.

    Returns
    -------
    IncidentDetail
        The row and its status events, oldest first.
    """
    check(store, actor, "view", object_type="incident", object_id=incident_id)
    return queries.incident(store, int(incident_id))


def incident_snapshot(
    store: Store, actor: User | None, previous: IncidentSnapshot | None = None
) -> IncidentSnapshot:
    """The store's incidents as column arrays for the map, read as little as possible.

    The map page keeps one snapshot for every session; handing it out through here checks
    each session's user on every run.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``view``.
    previous
        The snapshot held so far (patched when only a few writes old; see
        :func:`geo.snapshot.up_to_date`).

    Returns
    -------
    IncidentSnapshot
        At the store's current version.
    """
    check(store, actor, "view", object_type="incidents")
    return up_to_date(previous, store)


def export(
    store: Store,
    actor: User,
    fmt: str,
    out: str | Path | None = None,
    flt: IncidentFilter | None = None,
    *,
    limit: int | None = None,
) -> Path | bytes:
    """Write (or return) an export of the filtered incidents; audited as ``export``.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``export``.
    fmt
        One of :data:`geo.exports.FORMATS`.
    out
        The file to write (None: return its bytes).
    flt
        Which incidents (None: all).
    limit
        At most this many.

    Returns
    -------
    pathlib.Path or bytes
        As :func:`geo.exports.export`.
    """
    check(store, actor, "export", object_type="export", object_id=fmt)
    result = exports.export(store, fmt, out, flt, limit=limit)
    filters = {**(flt or IncidentFilter()).describe(), "limit": str(limit)}
    store.audit(
        actor.username, "export", "incidents", fmt,
        {"out": None if out is None else str(out), "filters": filters},
    )
    return result
