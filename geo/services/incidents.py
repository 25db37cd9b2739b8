"""Incidents: the map's reads, one incident's detail, status moves and exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo import exports
from geo.auth import User
from geo.services._rights import check
from geo.snapshot import IncidentSnapshot, up_to_date
from geo.store import IncidentDetail, IncidentFilter, Store, queries, workflow
from geo.views import View, load_view


def _ward_of(store: Store, incident_id: int) -> str | None:
    code = queries.incident(store, int(incident_id)).incident.get("ward_code")
    return None if code is None or pd.isna(code) else str(code)


def change_status(
    store: Store, actor: User, incident_id: int, to_state: str, note: str | None = None,
    *, at: Any = None,
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
        Kept with the status event.
    at
        When it happened (default: now).

    Returns
    -------
    dict
        ``id``, ``from`` and ``to`` of the move.
    """
    ward = _ward_of(store, incident_id)
    check(store, actor, "change_status", ward, object_type="incident", object_id=incident_id)
    return workflow.change_status(store, int(incident_id), to_state, actor=actor.username, note=note, at=at)


def record_recurrence(
    store: Store, actor: User, incident_id: int, note: str | None = None, *, at: Any = None
) -> int:
    """A cleared place violated again (a status change of the old incident): same rights.

    Returns
    -------
    int
        The id of the new incident.
    """
    ward = _ward_of(store, incident_id)
    check(store, actor, "change_status", ward, object_type="incident", object_id=incident_id)
    return workflow.record_recurrence(store, int(incident_id), actor=actor.username, note=note, at=at)


def incident_detail(store: Store, actor: User | None, incident_id: int) -> IncidentDetail:
    """One incident with its status history: signed-in users (``view``)."""
    check(store, actor, "view", object_type="incident", object_id=incident_id)
    return queries.incident(store, int(incident_id))


def incidents(
    store: Store, actor: User | None, flt: IncidentFilter | None = None, *, limit: int | None = None
) -> gpd.GeoDataFrame:
    """Incidents with notes and addresses: signed-in users only (never the public view).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``view``.
    flt
        Which incidents (None: all).
    limit
        At most this many (the lowest ids).

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`geo.store.queries.incidents`.
    """
    check(store, actor, "view", object_type="incidents")
    return queries.incidents(store, flt, limit=limit)


def incident_snapshot(
    store: Store, actor: User | None, previous: IncidentSnapshot | None = None
) -> IncidentSnapshot:
    """The store's incidents as column arrays for the map (``view``), patched from
    ``previous`` when it is only a few writes old (see :func:`geo.snapshot.up_to_date`)."""
    check(store, actor, "view", object_type="incidents")
    return up_to_date(previous, store)


def map_view(
    store: Store,
    actor: User | None,
    flt: IncidentFilter,
    *,
    marker_limit: int,
    snapshot: IncidentSnapshot | None = None,
) -> View:
    """The incidents of the map for ``flt`` (``view``): see :func:`geo.views.load_view`."""
    check(store, actor, "view", object_type="incidents")
    return load_view(store, flt, marker_limit=marker_limit, snapshot=snapshot)


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
