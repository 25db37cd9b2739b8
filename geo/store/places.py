"""Places, each incident's place and re-inspections, in the store (issue 12).

The matching rule lives in :mod:`geo.places`; this module keeps its results. Every path
that creates incidents calls :func:`place_incidents` inside its own write transaction,
so an incident is never stored without its place: the batch commit
(:func:`geo.store.batches.commit_batch`) and the manual recurrence
(:func:`geo.store.workflow.record_recurrence`). The places table is locked for the
matching (the backend's :meth:`~geo.store._backend.Backend.lock_places`), so two uploads
at once cannot both start place 101.

A new incident at a place whose every earlier incident is cleared starts a new episode
there: a **recurrence**. :func:`place_incidents` links it to the place's last cleared
incident (``recurrence_of``) and returns the move of that incident to ``recurred``, which
the caller applies with the same history and audit as every other move.

Re-inspections are kept in ``inspections`` (:func:`record_inspection`); a ``violation``
result also opens a recurrence through the workflow, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, func, select, update

from geo import settings
from geo.errors import NotFound
from geo.places import assign_places, empty_places
from geo.store._values import clean, utcnow

if TYPE_CHECKING:
    from geo.store._core import Store
    from geo.store.workflow import Move

#: Columns of :func:`places_frame`.
PLACE_COLUMNS: tuple[str, ...] = ("place_id", "type", "ward_code", "lon", "lat", "x", "y",
                                  "first_incident")  # fmt: skip
#: Columns of :func:`place_incidents_frame` (what :mod:`geo.sustain` reads).
TIMELINE_COLUMNS: tuple[str, ...] = (
    "id", "place_id", "type", "ward_code", "street", "address", "status", "reported_at",
    "cleared_at", "recurrence_of",
)  # fmt: skip
#: Columns of :func:`inspections_frame`.
CHECK_COLUMNS: tuple[str, ...] = ("id", "place_id", "checked_at", "result", "note", "actor",
                                  "batch_id", "incident_id")  # fmt: skip
#: Statuses that end an incident (its ``cleared_at`` is set).
_CLOSED = ("cleared", "recurred")
_CHUNK = 5_000


def _chunks(values: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), _CHUNK):
        yield [int(v) for v in values[start : start + _CHUNK]]


# --------------------------------------------------------------------------- reading


def _stored_places(store: Store, conn: Connection, wards: Sequence[Any]) -> pd.DataFrame:
    """The stored places of the wards a batch touches (all when one has no ward)."""
    p = store.tables["places"]
    query = select(p.c.id, p.c.type, p.c.ward_code, p.c.x, p.c.y).order_by(p.c.id)
    named = [w for w in wards if isinstance(w, str)]
    if len(named) == len(wards):
        query = query.where(p.c.ward_code.in_(named))
    rows = conn.execute(query).all()
    if not rows:
        return empty_places()
    return pd.DataFrame(rows, columns=["place_id", "type", "ward_code", "x", "y"])


@dataclass
class _PlaceState:
    """What a recurrence needs to know of a place's incidents so far."""

    open: bool
    last_cleared: pd.Timestamp | None
    last_id: int | None
    last_status: str | None


def _states(store: Store, conn: Connection, place_ids: Sequence[int]) -> dict[int, _PlaceState]:
    """Per stored place: whether an incident is open, and its latest clearance."""
    i, ip = store.tables["incidents"], store.tables["incident_places"]
    states: dict[int, _PlaceState] = {}
    for chunk in _chunks(sorted(set(place_ids))):
        rows = conn.execute(
            select(ip.c.place_id, i.c.id, i.c.status, i.c.cleared_at)
            .join(i, i.c.id == ip.c.incident_id)
            .where(ip.c.place_id.in_(chunk))
            .order_by(ip.c.place_id, i.c.id)
        ).all()
        for place, incident, status, cleared in rows:
            _advance(states, int(place), int(incident), status, cleared)
    return states


def _advance(
    states: dict[int, _PlaceState], place: int, incident: int, status: str, cleared: Any
) -> None:
    state = states.setdefault(place, _PlaceState(False, None, None, None))
    if cleared is None or pd.isna(cleared):
        state.open = True
        return
    stamp = pd.Timestamp(cleared)
    if state.last_cleared is None or stamp >= state.last_cleared:
        state.last_cleared, state.last_id, state.last_status = stamp, incident, status


# --------------------------------------------------------------------------- writing


def place_incidents(
    store: Store,
    conn: Connection,
    incidents: pd.DataFrame,
    ids: Sequence[int],
    *,
    link: bool = True,
) -> list[Move]:
    """Give each new incident its place, inside the caller's open write transaction.

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

    Returns
    -------
    list of Move
        The moves of the earlier incidents to ``recurred`` (for ``apply_moves``).
    """
    n = len(incidents)
    if n == 0:
        return []
    store.backend.lock_places(conn)
    existing = _stored_places(store, conn, pd.unique(incidents["ward_code"]).tolist())
    p = store.tables["places"]
    top = conn.execute(select(func.max(p.c.id))).scalar()
    assigned = assign_places(
        incidents[["type", "ward_code", "lon", "lat"]], existing,
        radius_m=settings.place_radius_m(), next_id=int(top or 0) + 1,
    )  # fmt: skip
    ids_array = np.asarray(ids, dtype=np.int64)
    now = utcnow()
    before = _states(store, conn, assigned.place_id.tolist()) if link else {}  # batch not in yet
    new = assigned.new_places
    if len(new):
        first = ids_array[new["first_incident"].to_numpy(dtype=np.int64)]
        store.backend.bulk_insert(
            conn, "places",
            ("id", "type", "ward_code", "lon", "lat", "x", "y", "first_incident", "created_at"),
            list(zip(new["place_id"].astype(int).tolist(), new["type"].tolist(),
                     [clean(w) for w in new["ward_code"].tolist()], _floats(new["lon"]),
                     _floats(new["lat"]), _floats(new["x"]), _floats(new["y"]),
                     first.tolist(), [now] * len(new), strict=True)),
        )  # fmt: skip
    store.backend.bulk_insert(
        conn, "incident_places", ("incident_id", "place_id"),
        list(zip(ids_array.tolist(), assigned.place_id.astype(int).tolist(), strict=True)),
    )  # fmt: skip
    if not link:
        return []
    return _link_recurrences(store, conn, incidents, ids_array, assigned.place_id, before, now)


def _floats(values: pd.Series) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in values.to_numpy(dtype=float)]


def _link_recurrences(
    store: Store,
    conn: Connection,
    incidents: pd.DataFrame,
    ids: np.ndarray,
    place: np.ndarray,
    stored: dict[int, _PlaceState],
    now: Any,
) -> list[Move]:
    """Link each new incident that starts a new episode at a place to its last clearance.

    Only rows at a place with stored incidents or with several rows in the batch can be a
    recurrence; the others are skipped without a Python step each.
    """
    counts = pd.Series(place).value_counts()
    may = np.flatnonzero(pd.Series(place).map(counts).to_numpy() > 1) if len(counts) else place
    may = np.union1d(may, np.flatnonzero(np.isin(place, list(stored))))
    reported = pd.to_datetime(incidents["reported_at"], utc=True).to_numpy()
    cleared = pd.to_datetime(incidents["cleared_at"], utc=True).to_numpy()
    status = incidents["status"].astype(object).to_numpy()
    own = incidents["recurrence_of"].to_numpy() if "recurrence_of" in incidents else None
    links: list[tuple[int, int]] = []
    for pos in may.tolist():
        state = stored.get(int(place[pos]))
        has_own = own is not None and not pd.isna(own[pos])
        if (state is not None and not state.open and state.last_cleared is not None
                and state.last_status == "cleared" and not has_own
                and pd.Timestamp(reported[pos]) > state.last_cleared):  # fmt: skip
            assert state.last_id is not None
            links.append((int(ids[pos]), state.last_id))
        _advance(stored, int(place[pos]), int(ids[pos]), str(status[pos]),
                 None if pd.isna(cleared[pos]) else pd.Timestamp(cleared[pos]))  # fmt: skip
    if not links:
        return []
    t = store.tables["incidents"]
    for new_id, old_id in links:
        conn.execute(update(t).where(t.c.id == new_id).values(recurrence_of=old_id))
    # the place recurred when the new report was made (after the clearance, by the rule)
    seen = {int(ids[pos]): pd.Timestamp(reported[pos]) for pos in range(len(ids))}
    return [
        (old, "recurred", seen[new], f"tái phạm tại điểm / recurred at its place as incident {new}")
        for new, old in links
    ]


def rebuild_in(store: Store, conn: Connection) -> tuple[int, int]:
    """Replace every place by the rule, the whole store in incident (id) order.

    Inspections move to the new place of their old place's first incident, so a rebuild
    with the same radius changes nothing and one with another radius keeps each check
    where it was made. Returns (places, incidents).

    Parameters
    ----------
    store
        The store.
    conn
        An open write transaction.

    Returns
    -------
    tuple of int
        (places, incidents).
    """
    store.backend.lock_places(conn)
    i, p, ip, ins = (store.tables[n] for n in ("incidents", "places", "incident_places", "inspections"))
    old_first = dict(conn.execute(select(p.c.id, p.c.first_incident)).all())
    rows = conn.execute(
        select(i.c.id, i.c.type, i.c.ward_code, i.c.lon, i.c.lat, i.c.status,
               i.c.reported_at, i.c.cleared_at).order_by(i.c.id)
    ).all()  # fmt: skip
    frame = pd.DataFrame(rows, columns=["id", "type", "ward_code", "lon", "lat", "status",
                                        "reported_at", "cleared_at"])  # fmt: skip
    frame[["lon", "lat"]] = frame[["lon", "lat"]].astype(float)
    conn.execute(delete(ip))
    conn.execute(delete(p))
    place_incidents(store, conn, frame, frame["id"].tolist(), link=False)
    new_of_incident = dict(conn.execute(select(ip.c.incident_id, ip.c.place_id)).all())
    moved = {
        old: new_of_incident[first] for old, first in old_first.items()
        if first in new_of_incident and new_of_incident[first] != old
    }  # fmt: skip
    checks = conn.execute(select(ins.c.id, ins.c.place_id)).all()
    for check_id, place_id in checks:
        if place_id in moved:
            conn.execute(update(ins).where(ins.c.id == check_id).values(place_id=moved[place_id]))
    n_places = conn.execute(select(func.count()).select_from(p)).scalar_one()
    return int(n_places), len(frame)


def rebuild(store: Store, *, actor: str) -> tuple[int, int]:
    """:func:`rebuild_in` in a write transaction of its own, audited. Returns (places,
    incidents).

    Parameters
    ----------
    store
        The store.
    actor
        Named in the audit entry.

    Returns
    -------
    tuple of int
        (places, incidents).
    """

    def work(conn: Connection) -> tuple[int, int]:
        counts = rebuild_in(store, conn)
        store.audit(actor, "places_rebuild", "store", None,
                    {"places": counts[0], "incidents": counts[1],
                     "radius_m": settings.place_radius_m()}, conn=conn)  # fmt: skip
        return counts

    return store.write(work)


# --------------------------------------------------------------------------- frames


def places_frame(store: Store, *, ward: str | None = None) -> pd.DataFrame:
    """Stored places (:data:`PLACE_COLUMNS`), optionally of one ward, by id.

    Parameters
    ----------
    store
        The store.
    ward
        Only this ward (default: all).

    Returns
    -------
    pandas.DataFrame
        :data:`PLACE_COLUMNS`.
    """
    p = store.tables["places"]
    query = select(p.c.id, p.c.type, p.c.ward_code, p.c.lon, p.c.lat, p.c.x, p.c.y,
                   p.c.first_incident).order_by(p.c.id)  # fmt: skip
    if ward is not None:
        query = query.where(p.c.ward_code == ward)
    with store.read() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=list(PLACE_COLUMNS))


def place_incidents_frame(store: Store, *, ward: str | None = None) -> pd.DataFrame:
    """Every placed incident with its place (:data:`TIMELINE_COLUMNS`), by id.

    Instants are UTC timestamps; the ward is the place's (an incident's own ward can
    differ only for incidents without one, which are placed with each other).

    Parameters
    ----------
    store
        The store.
    ward
        Only this ward's incidents (default: all).

    Returns
    -------
    pandas.DataFrame
        :data:`TIMELINE_COLUMNS`.
    """
    i, ip = store.tables["incidents"], store.tables["incident_places"]
    query = (
        select(i.c.id, ip.c.place_id, i.c.type, i.c.ward_code, i.c.street, i.c.address,
               i.c.status, i.c.reported_at, i.c.cleared_at, i.c.recurrence_of)
        .join(ip, ip.c.incident_id == i.c.id)
        .order_by(i.c.id)
    )  # fmt: skip
    if ward is not None:
        query = query.where(i.c.ward_code == ward)
    with store.read() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
    for column in ("reported_at", "cleared_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def inspections_frame(store: Store, *, place_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Stored re-inspections (:data:`CHECK_COLUMNS`), by id.

    Parameters
    ----------
    store
        The store.
    place_ids
        Only these places (default: all).

    Returns
    -------
    pandas.DataFrame
        :data:`CHECK_COLUMNS`.
    """
    t = store.tables["inspections"]
    query = select(*(t.c[c] for c in CHECK_COLUMNS)).order_by(t.c.id)
    if place_ids is not None:
        query = query.where(t.c.place_id.in_([int(p) for p in place_ids]))
    with store.read() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=list(CHECK_COLUMNS))
    frame["checked_at"] = pd.to_datetime(frame["checked_at"], utc=True)
    return frame


def cleared_places(store: Store, *, ward: str | None = None) -> pd.DataFrame:
    """The places whose every incident is cleared, with what a due list needs.

    Columns: ``place_id``, ``type``, ``ward_code``, ``street``, ``address`` (of the
    latest incident that has them), ``lon``, ``lat`` (the place's), ``cleared_at`` (the
    latest clearance), ``last_checked_at`` (the latest inspection since, NaT for none)
    and ``incident_id`` (the incident a ``violation`` result would recur from).

    Parameters
    ----------
    store
        The store.
    ward
        Only this ward (default: all).

    Returns
    -------
    pandas.DataFrame
        One row per place whose every incident is cleared.
    """
    incidents = place_incidents_frame(store, ward=ward)
    places = places_frame(store, ward=ward).set_index("place_id")
    if incidents.empty:
        return pd.DataFrame(columns=["place_id", "type", "ward_code", "street", "address", "lon",
                                     "lat", "cleared_at", "last_checked_at", "incident_id"])  # fmt: skip
    open_places = incidents.loc[incidents["cleared_at"].isna(), "place_id"].unique()
    done = incidents[~incidents["place_id"].isin(open_places)]
    done = done.sort_values(["place_id", "cleared_at", "id"], kind="stable")
    last = done.groupby("place_id", sort=True).tail(1).set_index("place_id")
    labels = done.groupby("place_id", sort=True)[["street", "address"]].last()
    checks = inspections_frame(store, place_ids=last.index.tolist())
    checks = checks.join(last["cleared_at"], on="place_id")
    since = checks[checks["checked_at"] >= checks["cleared_at"]]
    checked = since.groupby("place_id")["checked_at"].max()
    out = pd.DataFrame(
        {
            "place_id": last.index.to_numpy(dtype=np.int64),
            "type": last["type"].to_numpy(dtype=object),
            "ward_code": places.reindex(last.index)["ward_code"].to_numpy(dtype=object),
            "street": labels.reindex(last.index)["street"].to_numpy(dtype=object),
            "address": labels.reindex(last.index)["address"].to_numpy(dtype=object),
            "lon": places.reindex(last.index)["lon"].to_numpy(dtype=float),
            "lat": places.reindex(last.index)["lat"].to_numpy(dtype=float),
            "cleared_at": last["cleared_at"].to_numpy(),
            "last_checked_at": pd.to_datetime(checked.reindex(last.index), utc=True).to_numpy(),
            "incident_id": last["id"].to_numpy(dtype=np.int64),
        }
    )
    out["cleared_at"] = pd.to_datetime(out["cleared_at"], utc=True)
    out["last_checked_at"] = pd.to_datetime(out["last_checked_at"], utc=True)
    return out


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
    states = _states(store, conn, [int(place_id)])
    state = states.get(int(place_id))
    if state is None:
        raise NotFound(
            f"Không có điểm vi phạm số {place_id}.", f"There is no place {place_id}."
        )
    if state.open or state.last_id is None:
        return None
    return state.last_id, state.last_cleared


def state_at(timeline: pd.DataFrame, when: pd.Timestamp) -> str:
    """A place's state at ``when`` from its incidents (``reported_at``, ``cleared_at``):
    ``"none"`` before its first clearance, ``"open"`` while an incident reported by then is
    not cleared by then, ``"cleared"`` otherwise. A check is judged at its own date, so
    a clear check made before a later recurrence is still a valid check.

    Parameters
    ----------
    timeline
        The place's incidents (``reported_at``, ``cleared_at``).
    when
        The instant.

    Returns
    -------
    str
        ``none``, ``open`` or ``cleared``.
    """
    seen = timeline[timeline["reported_at"] <= when]
    cleared = seen["cleared_at"]
    if not (cleared <= when).any():
        return "none"
    return "open" if (cleared.isna() | (cleared > when)).any() else "cleared"


def place_timeline(store: Store, conn: Connection, place_id: int) -> pd.DataFrame:
    """One place's incidents (``id``, ``status``, ``reported_at``, ``cleared_at``), by id.

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
    pandas.DataFrame
        ``id``, ``status``, ``reported_at``, ``cleared_at``.
    """
    i, ip = store.tables["incidents"], store.tables["incident_places"]
    rows = conn.execute(
        select(i.c.id, i.c.status, i.c.reported_at, i.c.cleared_at)
        .join(ip, ip.c.incident_id == i.c.id)
        .where(ip.c.place_id == int(place_id))
        .order_by(i.c.id)
    ).all()
    frame = pd.DataFrame(rows, columns=["id", "status", "reported_at", "cleared_at"])
    for column in ("reported_at", "cleared_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame
