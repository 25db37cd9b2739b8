"""Residents' reports (Open311): reception, moderation and the reports' reads.

A report arrives through the Open311 server (:mod:`geo.open311`) and waits, ``pending``,
until an officer of its ward decides: ``accepted`` makes it a new incident (source
``open311``), ``merged`` attaches it to an existing incident, ``rejected`` closes it with
a public reason. The resident follows the incident either way, by the report's token.

Personal data (names, e-mail, phone, device and account ids) is written to
``open311_contacts`` by :mod:`geo.store.contacts` and read by nothing except its
:func:`~geo.store.contacts.erase_contact`, which blanks it: no read of reports, requests
or incidents can return it.

This module is also the one door callers use for the whole of Open311's store: it
re-exports the API keys (:mod:`geo.store.api_keys`), the personal data
(:mod:`geo.store.contacts`) and the public reads (:mod:`geo.store.requests`), each kept
in a module of its own topic.

Rights checks are :mod:`geo.services.reports`' business; every change is audited here,
in the same transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pyproj import Transformer
from sqlalchemy import Connection, insert, select, update

from geo.crs import METRIC_CRS, STORAGE_CRS
from geo.errors import InvalidArgument, NotFound, WorkflowError
from geo.store import _chain, contacts
from geo.store._values import clean, utcnow
from geo.store.api_keys import active_key, add_api_key, key_hash, list_api_keys, revoke_api_key
from geo.store.contacts import CONTACT_FIELDS, erase_contact
from geo.store.places import place_incidents
from geo.store.public_notes import public_note_text
from geo.store.requests import RequestQuery, service_requests, ward_names
from geo.store.workflow import OPEN_STATES, apply_moves, due_dates, sla_days
from geo.vocab import type_label

if TYPE_CHECKING:
    from geo.store._core import Store

#: ``incidents.source`` of an accepted report.
SOURCE = "open311"
#: A report's states; only ``pending`` ones can be moderated.
REPORT_STATES: tuple[str, ...] = ("pending", "accepted", "merged", "rejected")
#: The same submitter, type and place within this many metres and minutes is one report.
DEDUP_METRES = 25.0
DEDUP_MINUTES = 10.0
#: Open incidents within this many metres are offered as duplicates of a report.
NEARBY_METRES = 30.0
#: Columns of :func:`pending` (and of ``reports list --json``).
REPORT_COLUMNS: tuple[str, ...] = (
    "id", "token", "ward_code", "service_code", "lat", "long", "description", "received_at",
    "address", "media_url", "attributes", "status", "incident_id", "public_reason",
)
_TO_METRIC = Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)
_TO_STORAGE = Transformer.from_crs(METRIC_CRS, STORAGE_CRS, always_xy=True)


# -- reception ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewReport:
    """A checked report as the Open311 server hands it over (see :mod:`geo.open311.intake`)."""

    service_code: str
    lat: float | None
    lon: float | None
    ward_code: str
    address: str | None
    description: str | None
    media_url: str | None
    api_key_id: int
    attributes: Mapping[str, Any] = field(default_factory=dict)
    contact: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """The answer to a POST: the report's token, and whether it repeated an earlier one."""

    token: str
    report_id: int
    duplicate: bool


def submitter_of(report: NewReport) -> str:
    """Who sent a report, for dedup: a hash of the device id, else of the API key.

    Parameters
    ----------
    report
        The report.

    Returns
    -------
    str
        SHA-256 hex.
    """
    device = report.contact.get("device_id")
    who = f"device:{device}" if device else f"key:{report.api_key_id}"
    return hashlib.sha256(who.encode("utf-8", "surrogatepass")).hexdigest()


def _metres(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = _TO_METRIC.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def _same_place(report: NewReport, earlier: Sequence[Any]) -> Any:
    """The first earlier report within :data:`DEDUP_METRES` (points) or with the same
    address (reports without a point); None when there is none."""
    if report.lat is None or report.lon is None:
        return next((r for r in earlier if r.lat is None and r.address == report.address), None)
    located = [r for r in earlier if r.lat is not None and r.lon is not None]
    if not located:
        return None
    x, y = _metres(np.array([r.lon for r in located]), np.array([r.lat for r in located]))
    x0, y0 = _metres(np.array([report.lon]), np.array([report.lat]))
    near = np.flatnonzero(np.hypot(x - x0[0], y - y0[0]) <= DEDUP_METRES)
    return located[int(near[0])] if near.size else None


def receive(store: Store, report: NewReport, *, actor: str) -> Received:
    """Store a new report (``pending``), or give back the token of the same one sent already.

    The same submitter (device id, else API key) sending the same type within
    :data:`DEDUP_METRES` m and :data:`DEDUP_MINUTES` minutes is one report: the earlier
    token is returned and nothing is written. The check and the insert are one
    transaction, serialized per submitter, so two copies sent at once are still one.

    Parameters
    ----------
    store
        The store.
    report
        The checked report.
    actor
        Named in the audit entry (``apikey:<name>``).

    Returns
    -------
    Received
        The token, the report's id, and whether it was a repeat.
    """
    t = store.tables["open311_requests"]
    submitter = submitter_of(report)

    def work(conn: Connection) -> Received:
        store.backend.serialize_on(conn, int(submitter[:15], 16))
        now = utcnow()
        earlier = conn.execute(
            select(t.c.id, t.c.token, t.c.lat, t.c.lon, t.c.address)
            .where(
                t.c.submitter == submitter,
                t.c.service_code == report.service_code,
                t.c.received_at >= now - timedelta(minutes=DEDUP_MINUTES),
            )
            .order_by(t.c.received_at, t.c.id)
        ).all()
        same = _same_place(report, earlier)
        if same is not None:
            return Received(str(same.token), int(same.id), True)
        token = str(uuid.uuid4())
        report_id = store.backend.reserve_ids(conn, "open311_requests", 1)[0]
        conn.execute(
            insert(t).values(
                id=report_id, token=token, service_code=report.service_code, lat=report.lat,
                lon=report.lon, ward_code=report.ward_code, address=clean(report.address),
                description=clean(report.description), media_url=clean(report.media_url),
                attributes=dict(report.attributes) or None, api_key_id=report.api_key_id,
                submitter=submitter, status="pending", received_at=now,
            )
        )
        contacts.record(store, conn, report_id, report.contact)
        store.audit(actor, "report_received", "resident_report", report_id,
                    {"ward_code": report.ward_code, "service_code": report.service_code}, conn=conn)
        return Received(token, int(report_id), False)

    return store.write(work)


# -- reading reports ------------------------------------------------------------------------


def _report_columns(store: Store) -> list[Any]:
    t = store.tables["open311_requests"]
    return [
        t.c.id, t.c.token, t.c.ward_code, t.c.service_code, t.c.lat, t.c.lon.label("long"),
        t.c.description, t.c.received_at, t.c.address, t.c.media_url, t.c.attributes,
        t.c.status, t.c.incident_id, t.c.public_reason,
    ]


def reports(
    store: Store, *, wards: Sequence[str] | None = None, status: str | None = "pending"
) -> pd.DataFrame:
    """Reports in ``wards`` (None: all) with ``status`` (None: any), oldest first.

    Parameters
    ----------
    store
        The store.
    wards
        Ward codes to list (None: every ward, and reports without one).
    status
        One of :data:`REPORT_STATES`, or None for all.

    Returns
    -------
    pandas.DataFrame
        :data:`REPORT_COLUMNS`; ``received_at`` is UTC. No personal data.
    """
    t = store.tables["open311_requests"]
    stmt = select(*_report_columns(store)).order_by(t.c.received_at, t.c.id)
    if wards is not None:
        stmt = stmt.where(t.c.ward_code.in_(list(wards)))
    if status is not None:
        stmt = stmt.where(t.c.status == status)
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(list(rows), columns=list(REPORT_COLUMNS))
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    return frame


def report(store: Store, report_id: int | None = None, *, token: str | None = None) -> dict[str, Any]:
    """One report by id or token (:data:`REPORT_COLUMNS`, no personal data); NotFound else.

    Parameters
    ----------
    store
        The store.
    report_id
        The report's id, or
    token
        its token.

    Returns
    -------
    dict
        The report.
    """
    t = store.tables["open311_requests"]
    where = t.c.id == int(report_id) if report_id is not None else t.c.token == str(token)
    with store.read() as conn:
        row = conn.execute(select(*_report_columns(store)).where(where)).mappings().first()
    if row is None:
        which = report_id if report_id is not None else token
        raise NotFound(f"Không có phản ánh {which}.", f"There is no report {which}.")
    return dict(row)


def nearby_open_incidents(
    store: Store, lon: float, lat: float, type_code: str, *, metres: float = NEARBY_METRES
) -> pd.DataFrame:
    """Open incidents of ``type_code`` within ``metres`` of a point, nearest first.

    The square around the point is drawn in metres (EPSG:32648) and turned into a lon/lat
    box for the index; the exact distance is then measured in metres too.

    Parameters
    ----------
    store
        The store.
    lon, lat
        The point (EPSG:4326).
    type_code
        The violation type.
    metres
        The radius.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``status``, ``lat``, ``lon``, ``reported_at``, ``address``, ``distance_m``.
    """
    (x,), (y,) = _metres(np.array([lon]), np.array([lat]))
    lons, lats = _TO_STORAGE.transform(
        np.array([x - metres, x + metres, x - metres, x + metres]),
        np.array([y - metres, y - metres, y + metres, y + metres]),
    )
    t = store.tables["incidents"]
    box = store.backend.bbox_conditions(
        t, (float(np.min(lons)), float(np.min(lats)), float(np.max(lons)), float(np.max(lats)))
    )
    stmt = select(t.c.id, t.c.status, t.c.lat, t.c.lon, t.c.reported_at, t.c.address).where(
        *box, t.c.type == type_code, t.c.status.in_(OPEN_STATES)
    )
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(list(rows), columns=["id", "status", "lat", "lon", "reported_at", "address"])
    if frame.empty:
        return frame.assign(distance_m=pd.Series(dtype=float))
    ix, iy = _metres(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    frame["distance_m"] = np.hypot(ix - x, iy - y)
    frame["reported_at"] = pd.to_datetime(frame["reported_at"], utc=True)
    return frame[frame["distance_m"] <= metres].sort_values(["distance_m", "id"]).reset_index(drop=True)


# -- moderation -----------------------------------------------------------------------------


def _locked_pending(store: Store, conn: Connection, report_id: int) -> Mapping[str, Any]:
    t = store.tables["open311_requests"]
    row = conn.execute(select(t).where(t.c.id == int(report_id)).with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"Không có phản ánh số {report_id}.", f"There is no report {report_id}.")
    if row["status"] != "pending":
        raise WorkflowError(
            f"Phản ánh {report_id} đã được xử lý ({row['status']}); chỉ xử lý được phản ánh đang chờ.",
            f"Report {report_id} was moderated already ({row['status']}); only pending reports can be.",
        )
    return dict(row)


def _moderated(
    store: Store, conn: Connection, report_id: int, status: str, *, actor: str,
    incident_id: int | None = None, reason: str | None = None, public_note: str | None = None,
) -> None:
    t = store.tables["open311_requests"]
    conn.execute(
        update(t).where(t.c.id == int(report_id)).values(
            status=status, incident_id=incident_id, public_reason=reason,
            moderated_at=utcnow(), moderated_by=actor,
        )
    )
    details: dict[str, Any] = {"incident_id": incident_id, "reason": reason}
    if public_note is not None:
        details["public_note"] = public_note
    store.audit(actor, f"report_{status}", "resident_report", report_id, details, conn=conn)


def accept(store: Store, report_id: int, *, actor: str, public_note: str | None = None) -> int:
    """Make a pending report a new incident: status ``reported``, source ``open311``.

    The incident keeps the report's type, place, ward and address, ``reported_at`` = when
    the report arrived, and the deadline of its type; the report points at it, and it is
    a service request (listed by ``GET requests``). Like every incident it gets its place
    in the same transaction (:func:`geo.store.places.place_incidents`): at a place whose
    every incident is cleared it recurs from the latest clearance, which moves to
    ``recurred`` as an ingest's recurrences do.

    Parameters
    ----------
    store
        The store.
    report_id
        A pending report.
    actor
        Named on the status event and the audit entry.
    public_note
        The ward's public note for the resident (None: none yet).

    Returns
    -------
    int
        The new incident's id (the resident's ``service_request_id``).
    """
    note = public_note_text(public_note)  # refused before the write begins, as merge does

    def work(conn: Connection) -> int:
        row = _locked_pending(store, conn, report_id)
        now = utcnow()
        new_id = store.backend.reserve_ids(conn, "incidents", 1)[0]
        received = pd.Timestamp(row["received_at"])
        due = due_dates(pd.Series([row["service_code"]]), pd.Series([received]), sla_days()).iloc[0]
        conn.execute(
            insert(store.tables["incidents"]).values(
                id=new_id, source=SOURCE, source_id=str(row["id"]), fingerprint=f"{SOURCE}:{row['id']}",
                type=row["service_code"], type_text=type_label(row["service_code"]),
                lat=row["lat"], lon=row["lon"], ward_code=row["ward_code"], address=row["address"],
                note=row["description"], status="reported", reported_at=row["received_at"],
                due_at=due, flags="", created_at=now, updated_at=now, service_request=True,
                public_note=note,
            )
        )
        _chain.append(  # the status history is a hash chain: appended through it only
            store, conn, "status_events",
            [{"incident_id": new_id, "from_status": None, "to_status": "reported",
              "at": row["received_at"], "actor": actor, "batch_id": None,
              "note": f"phản ánh của người dân / resident's report {row['id']}"}],
        )
        placed = pd.DataFrame({
            "type": [row["service_code"]], "ward_code": [row["ward_code"]],
            "lon": [np.nan if row["lon"] is None else float(row["lon"])],
            "lat": [np.nan if row["lat"] is None else float(row["lat"])],
            "reported_at": [row["received_at"]], "cleared_at": [pd.NaT], "status": ["reported"],
        })  # fmt: skip
        recurrences = place_incidents(store, conn, placed, [new_id])
        apply_moves(store, conn, [], actor=actor, batch_id=None, recurrences=recurrences)
        _moderated(store, conn, report_id, "accepted", actor=actor, incident_id=new_id,
                   public_note=note)
        return int(new_id)

    return store.write(work)


def merge(
    store: Store, report_id: int, incident_id: int, *, actor: str, public_note: str | None = None
) -> None:
    """Attach a pending report to an existing incident, which the resident then follows:
    the incident becomes a service request (listed by ``GET requests``).

    Parameters
    ----------
    store
        The store.
    report_id
        A pending report.
    incident_id
        An existing incident.
    actor
        Named in the audit entry.
    public_note
        Replaces the incident's public note when given (None: the note stays).

    Returns
    -------
    None
        The report is ``merged``.
    """
    note = public_note_text(public_note)

    def work(conn: Connection) -> None:
        _locked_pending(store, conn, report_id)
        t = store.tables["incidents"]
        if conn.execute(select(t.c.id).where(t.c.id == int(incident_id))).first() is None:
            raise NotFound(f"Không có sự việc số {incident_id}.", f"There is no incident {incident_id}.")
        shown = {"service_request": True} if note is None else {"service_request": True, "public_note": note}
        conn.execute(update(t).where(t.c.id == int(incident_id)).values(**shown))
        _moderated(store, conn, report_id, "merged", actor=actor, incident_id=int(incident_id),
                   public_note=note)

    store.write(work)


def reject(store: Store, report_id: int, reason: str, *, actor: str) -> None:
    """Close a pending report without an incident, with a public reason (required).

    Parameters
    ----------
    store
        The store.
    report_id
        A pending report.
    reason
        The public reason (not blank).
    actor
        Named in the audit entry.

    Returns
    -------
    None
        The report is ``rejected``.
    """
    reason = clean(str(reason or "")).strip()
    if not reason:
        raise InvalidArgument(
            "Cần ghi lý do từ chối (công khai cho người phản ánh).",
            "A rejection needs a reason (shown publicly to the resident).",
        )

    def work(conn: Connection) -> None:
        _locked_pending(store, conn, report_id)
        _moderated(store, conn, report_id, "rejected", actor=actor, reason=reason)

    store.write(work)


def ward_of_report(store: Store, report_id: int) -> str | None:
    """The report's ward code (None when it has none); NotFound for an unknown report.

    Parameters
    ----------
    store
        The store.
    report_id
        The report.

    Returns
    -------
    str or None
        The ward code.
    """
    code = report(store, report_id)["ward_code"]
    return None if code is None else str(code)


__all__ = [
    "CONTACT_FIELDS", "DEDUP_METRES", "DEDUP_MINUTES", "NEARBY_METRES",
    "REPORT_COLUMNS", "REPORT_STATES", "SOURCE", "NewReport", "Received", "RequestQuery",
    "accept", "active_key", "add_api_key", "erase_contact", "key_hash", "list_api_keys", "merge",
    "nearby_open_incidents", "receive", "reject", "report", "reports",
    "revoke_api_key", "service_requests", "submitter_of", "ward_names", "ward_of_report",
]
