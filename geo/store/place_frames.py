"""Reading places, placed incidents and re-inspections back as frames.

What :mod:`geo.sustain`, the re-inspection due list and the pages read: plain pandas
frames with UTC instants, one query each, no writes. Placing incidents and rebuilding
places is :mod:`geo.store.places`' business; it re-exports these names, so callers keep
one door.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from geo.store._values import read_frame

if TYPE_CHECKING:
    from geo.store._core import Store
    from geo.store.filters import IncidentColumns

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
    where, params = ("WHERE ward_code = ?", (ward,)) if ward is not None else ("", ())
    sql = f"SELECT id, type, ward_code, lon, lat, x, y, first_incident FROM places {where} ORDER BY id"  # noqa: S608
    return read_frame(store, sql, params, PLACE_COLUMNS)


def place_incidents_frame(store: Store, *, ward: str | None = None, addresses: bool = True) -> pd.DataFrame:
    """Every placed incident with its place (:data:`TIMELINE_COLUMNS`), by id.

    Instants are UTC timestamps; the ward is the place's (an incident's own ward can
    differ only for incidents without one, which are placed with each other).

    Parameters
    ----------
    store
        The store.
    ward
        Only this ward's incidents (default: all).
    addresses
        Read the ``address`` column. The measures of :mod:`geo.sustain` never show it, and
        it is the widest text: leaving it out saves a third of the million-row read.

    Returns
    -------
    pandas.DataFrame
        :data:`TIMELINE_COLUMNS` (without ``address`` when not asked for).
    """
    columns = [c for c in TIMELINE_COLUMNS if addresses or c != "address"]
    where, params = ("WHERE i.ward_code = ?", (ward,)) if ward is not None else ("", ())
    sql = (
        f"SELECT {', '.join('ip.place_id' if c == 'place_id' else f'i.{c}' for c in columns)} "  # noqa: S608
        f"FROM incidents i JOIN incident_places ip ON ip.incident_id = i.id {where} ORDER BY i.id"
    )
    return read_frame(store, sql, params, columns, instants=("reported_at", "cleared_at"))


def timeline_of(store: Store, columns: IncidentColumns) -> pd.DataFrame:
    """:func:`place_incidents_frame`'s columns that :mod:`geo.sustain` reads (``id``,
    ``place_id``, ``type``, ``ward_code``, ``street``, ``reported_at``, ``cleared_at``),
    from the incidents' arrays (the map's snapshot) and the place links.

    Only the links are read: two integers per incident (0.4 s at a million, against
    4.7 s for the texts and instants, which the snapshot already holds). Links to
    incidents the arrays do not hold (written after them) are left out.

    Parameters
    ----------
    store
        The store.
    columns
        The incidents as arrays, with ``ids`` in ascending order.

    Returns
    -------
    pandas.DataFrame
        One row per linked incident, by id; missing texts are None.
    """
    from geo.store.filters import (  # filters imports workflow, which imports places
        _instants,
        _texts,
    )

    with store.read() as conn:
        links = store.backend.fetch_rows(conn, "SELECT incident_id, place_id FROM incident_places ORDER BY incident_id")
    linked = np.fromiter((r[0] for r in links), dtype=np.int64, count=len(links))
    places = np.fromiter((r[1] for r in links), dtype=np.int64, count=len(links))
    pos = np.searchsorted(columns.ids, linked)
    held = pos < len(columns.ids)
    held[held] = columns.ids[pos[held]] == linked[held]
    pos, linked, places = pos[held], linked[held], places[held]

    return pd.DataFrame(
        {
            "id": linked,
            "place_id": places,
            **{column: _texts(columns, column, pos) for column in ("type", "ward_code", "street")},
            **{column: _instants(columns, column, pos) for column in ("reported_at", "cleared_at")},
        }
    )


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
    sql = f"SELECT {', '.join(CHECK_COLUMNS)} FROM inspections ORDER BY id"  # noqa: S608
    frame = read_frame(store, sql, (), CHECK_COLUMNS, instants=("checked_at",))
    if place_ids is not None:
        # filtered here, not in SQL: a due list asks for up to every cleared place, far past
        # SQLite's limit of bound parameters, and re-inspections are few beside incidents
        keep = frame["place_id"].isin([int(p) for p in place_ids]).to_numpy()
        frame = frame[keep].reset_index(drop=True)
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
