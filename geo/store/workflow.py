"""The status workflow: its rules and deadlines, and the moves that apply them.

States (codes from :mod:`geo.vocab`): ``reported → verified → in_progress → cleared``;
steps may be skipped forwards (an officer on site can clear a fresh report at once) but
never go back. ``cleared → recurred`` marks an earlier incident whose place was violated
again; the repeat itself is a *new* incident with ``recurrence_of`` pointing at it, so the
first incident keeps its own time-to-clear and the repeat gets its own deadline.
``recurred`` is final.

Deadlines: ``due_at = reported_at + service level of the type``. Defaults below, in days;
override with ``GEO_SLA_DAYS="sidewalk=2,parking=0.5"``. Overdue = past ``due_at`` and
still open (reported, verified or in progress).

Moves (:func:`change_status`, :func:`record_recurrence`, and :func:`apply_moves` inside an
ingest's transaction) update the incident, append a status event and an audit entry in
one transaction (:mod:`geo.store._move_history`); the history tables are append-only and
hash-chained (:mod:`geo.store._chain`).

Clearing needs a photo (issue 13): an incident of a type ``GEO_CLEAR_NEEDS_PHOTO`` names
(default awnings and sidewalk encroachment) moves to ``cleared`` only when an ``after``
photo is stored for it (:mod:`geo.store.photos`); otherwise the move is refused. Every
move goes through :func:`apply_moves`, so the app, the CLI and a later file's status
column obey the same rule. An incident *imported* as already cleared is not a move: it
is kept and flagged :data:`CLEARED_UNVERIFIED` (:func:`unverified_clearances`), so old
records can be migrated.

A move may carry the ward's public note for residents (:mod:`geo.store.public_notes`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, insert, select, update

from geo import settings
from geo.errors import NotFound, WorkflowError
from geo.store import _chain, photos
from geo.store._instants import Instant, to_utc
from geo.store._move_history import Moved, write_history
from geo.store._values import clean, utcnow
from geo.store.places import place_incidents
from geo.store.public_notes import public_note_text, set_public_note
from geo.vocab import STATE_CODES, STATES

if TYPE_CHECKING:
    from geo.store._core import Store

#: One move: (incident id, target state, when — None for now —, note).
Move = tuple[int, str, Instant | None, str | None]

#: Allowed moves: from → targets.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("verified", "in_progress", "cleared"),
    "verified": ("in_progress", "cleared"),
    "in_progress": ("cleared",),
    "cleared": ("recurred",),
    "recurred": (),
}

#: States in which an incident still needs action.
OPEN_STATES: tuple[str, ...] = ("reported", "verified", "in_progress")
#: States in which it does not (``cleared_at`` is set when it got there).
CLOSED_STATES: tuple[str, ...] = ("cleared", "recurred")

#: Default service levels per violation type, in days from the report.
DEFAULT_SLA_DAYS: dict[str, float] = {
    "parking": 1.0,  # a parked car moves or is towed the same day
    "sidewalk": 3.0,  # goods, stalls, tables on the pavement
    "materials": 3.0,  # building materials / waste on the street
    "awning": 7.0,  # dismantling needs notice to the owner
    "signboard": 14.0,  # billboards need a permit check and a contractor
    "other": 7.0,
}


#: The flag of an incident imported as already cleared without the after photo its type
#: needs (``GEO_CLEAR_NEEDS_PHOTO``); attaching an after photo later removes it.
CLEARED_UNVERIFIED = photos.CLEARED_UNVERIFIED

_LABELS = {s.code: (s.label_vi, s.label_en) for s in STATES}
assert set(TRANSITIONS) == set(STATE_CODES)


def check_state(state: str, *, where: str = "") -> str:
    """``state`` if it is a workflow state, else a bilingual :class:`WorkflowError`.

    Parameters
    ----------
    state
        A status code.
    where
        Named in the message (a file row and field, an incident).

    Returns
    -------
    str
        ``state`` itself.
    """
    if state not in TRANSITIONS:
        at = f" ({where})" if where else ""
        known = ", ".join(STATE_CODES)
        raise WorkflowError(
            f"Trạng thái không hợp lệ {state!r}{at}; các trạng thái: {known}.",
            f"Unknown status {state!r}{at}; valid statuses: {known}.",
        )
    return state


def can_transition(from_state: str, to_state: str) -> bool:
    """Whether the workflow allows the move from ``from_state`` to ``to_state``.

    Parameters
    ----------
    from_state, to_state
        Status codes.

    Returns
    -------
    bool
        True for a move of :data:`TRANSITIONS`.
    """
    return to_state in TRANSITIONS.get(from_state, ())


def check_transition(from_state: str, to_state: str, *, where: str = "") -> None:
    """Refuse a move the workflow does not allow, naming both states in both languages.

    Parameters
    ----------
    from_state, to_state
        Status codes.
    where
        Named in the message.

    Returns
    -------
    None
        Raises :class:`~geo.errors.WorkflowError` instead when the move is not allowed.
    """
    check_state(to_state, where=where)
    if can_transition(from_state, to_state):
        return
    at = f"{where}: " if where else ""
    allowed = TRANSITIONS.get(from_state, ())
    fvi, fen = _LABELS.get(from_state, (from_state, from_state))
    tvi, ten = _LABELS[to_state]
    vi_allowed = ", ".join(_LABELS[s][0] for s in allowed) or "không có (trạng thái cuối)"
    en_allowed = ", ".join(allowed) or "none (final state)"
    raise WorkflowError(
        f"{at}không thể chuyển từ “{fvi}” sang “{tvi}”; được phép: {vi_allowed}.",
        f"{at}cannot move from {from_state!r} ({fen}) to {to_state!r} ({ten}); "
        f"allowed: {en_allowed}.",
    )


def needs_photo(incident_type: str) -> bool:
    """Whether clearing an incident of this type needs an after photo (``GEO_CLEAR_NEEDS_PHOTO``).

    Parameters
    ----------
    incident_type : str
        The incident's type code.

    Returns
    -------
    bool
        True for a type ``GEO_CLEAR_NEEDS_PHOTO`` names.
    """
    return incident_type in settings.clear_needs_photo()


def unverified_clearances(types: pd.Series, statuses: pd.Series) -> pd.Series:
    """Which incidents stored as ``cleared`` by an import lack the photo their type needs.

    Parameters
    ----------
    types, statuses
        Type and status codes of the new incidents, aligned.

    Returns
    -------
    pandas.Series
        True where :data:`CLEARED_UNVERIFIED` applies.
    """
    return statuses.eq("cleared") & types.isin(settings.clear_needs_photo())


def check_clear_photo(incident_id: int, incident_type: str, has_after_photo: bool) -> None:
    """Refuse clearing an incident whose type needs an after photo it does not have.

    Parameters
    ----------
    incident_id : int
        The incident being cleared.
    incident_type : str
        The incident's type code.
    has_after_photo : bool
        Whether an after photo is stored for it.

    Raises
    ------
    WorkflowError
        Bilingual, naming the incident, its type and how to attach a photo.

    Returns
    -------
    None
        Raises :class:`~geo.errors.WorkflowError` instead when refused.
    """
    if has_after_photo or not needs_photo(incident_type):
        return
    raise WorkflowError(
        f"Sự việc {incident_id} (loại {incident_type!r}) chưa thể chuyển sang “Đã xử lý”: "
        "loại vi phạm này cần ảnh sau khi xử lý (GEO_CLEAR_NEEDS_PHOTO). Hãy đính kèm ảnh "
        f"“sau” (python -m geo photos add {incident_id} ẢNH --role after) rồi thử lại.",
        f"Incident {incident_id} (type {incident_type!r}) cannot be cleared: this type needs "
        "an after photo (GEO_CLEAR_NEEDS_PHOTO). Attach an after photo (python -m geo "
        f"photos add {incident_id} FILE --role after) and try again.",
    )


def sla_days(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """Service levels in days: defaults, then ``GEO_SLA_DAYS``, then ``overrides``.

    Parameters
    ----------
    overrides
        Days per type code, applied last.

    Returns
    -------
    dict
        Days per type code.
    """
    levels = {**DEFAULT_SLA_DAYS, **settings.sla_days()}
    if overrides:
        levels.update(overrides)
    return levels


def due_dates(
    types: pd.Series, reported_at: pd.Series, levels: Mapping[str, float] | None = None
) -> pd.Series:
    """``reported_at`` plus the service level of each type (``other``'s for unknown types).

    Parameters
    ----------
    types
        Type codes.
    reported_at
        Report instants, aligned with ``types``.
    levels
        Days per type (default: :func:`sla_days`).

    Returns
    -------
    pandas.Series
        The deadlines, UTC.
    """
    table = sla_days() if levels is None else dict(levels)
    days = types.map(table).fillna(table.get("other", DEFAULT_SLA_DAYS["other"]))
    return pd.to_datetime(reported_at, utc=True) + pd.to_timedelta(days.astype(float), unit="D")


# -- moves ---------------------------------------------------------------------------------


def _not_found(incident_id: int) -> NotFound:
    return NotFound(f"Không có sự việc số {incident_id}.", f"There is no incident {incident_id}.")


#: Incidents locked, or moved to one status, per statement.
_CHUNK = 5_000


def _write_states(
    store: Store,
    conn: Connection,
    final: Mapping[int, tuple[str, Any]],
    before: Mapping[int, tuple[str, Any]],
    now: Any,
) -> None:
    """Write the incidents' new status (and ``cleared_at`` where it changed), set-based:
    one ``UPDATE … WHERE id IN (…)`` per target status for the moves that keep their
    ``cleared_at`` (an ingest's recurrences: thousands at once), one row at a time only
    for those whose clearance time is new."""
    t = store.tables["incidents"]
    same: dict[str, list[int]] = {}
    changed = []
    for k, (status, cleared) in final.items():
        if cleared == before[k][1]:
            same.setdefault(status, []).append(k)
        else:
            changed.append({"b_id": k, "b_status": status, "b_cleared": cleared})
    for status, ids in same.items():
        ids.sort()  # each chunk a run of neighbouring rows: its pages are read once, not per chunk
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            conn.execute(update(t).where(t.c.id.in_(chunk)).values(status=status, updated_at=now))
    if changed:
        conn.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(status=bindparam("b_status"), cleared_at=bindparam("b_cleared"), updated_at=now),
            changed,
        )


def apply_moves(
    store: Store,
    conn: Connection,
    moves: Sequence[Move],
    *,
    actor: str,
    batch_id: int | None,
    recurrences: Sequence[Move] = (),
) -> int:
    """Apply moves in order inside the open write transaction ``conn``.

    A move to the incident's current state is skipped; any other move the workflow does
    not allow raises (and so rolls the whole transaction back).

    The incidents' rows are locked before their status is read (``FOR UPDATE`` on
    PostgreSQL, in id order so that two writers cannot deadlock; SQLite's writer holds
    the database), and the time of the moves is taken after that: concurrent moves of
    one incident are decided one after the other, each on the status the other left,
    and their history is in the order they committed.

    Parameters
    ----------
    store, conn
        The store and a connection in its open write transaction.
    moves
        (incident_id, to_status, at, note) in the order they happened.
    actor, batch_id
        Recorded on each status event (``batch_id``: the ingest batch, or None).
    recurrences
        Moves to ``recurred`` made only when the incident is ``cleared`` (an ingest's new
        incidents that repeat an earlier one).

    Returns
    -------
    int
        How many incidents moved.
    """
    if not moves and not recurrences:
        return 0
    t = store.tables["incidents"]
    wanted = sorted({m[0] for m in moves} | {r[0] for r in recurrences})
    state: dict[int, tuple[str, Any]] = {}
    kinds: dict[int, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        locked = select(t.c.id, t.c.status, t.c.cleared_at, t.c.type).where(t.c.id.in_(chunk))
        for row in conn.execute(locked.order_by(t.c.id).with_for_update()):
            state[int(row.id)] = (row.status, row.cleared_at)
            kinds[int(row.id)] = row.type
    state_before = dict(state)
    clearing = {m[0] for m in moves if m[1] == "cleared" and needs_photo(kinds.get(m[0], ""))}
    with_photo = photos.with_after_photo(store, conn, clearing) if clearing else set()
    now = utcnow()  # ``updated_at``, the audit time, and ``at`` of moves without one
    moved = Moved([], [], [], [], [])
    final: dict[int, tuple[str, Any]] = {}
    tagged = [(m, False) for m in moves] + [(r, True) for r in recurrences]
    for (incident_id, to_status, at, raw_note), optional in tagged:
        note = clean(raw_note)
        if incident_id not in state:
            raise _not_found(incident_id)
        current, cleared_at = state[incident_id]
        if to_status == current or (optional and current != "cleared"):
            continue
        check_transition(current, to_status, where=f"incident {incident_id}")
        if to_status == "cleared":
            check_clear_photo(incident_id, kinds[incident_id], incident_id in with_photo)
        at_utc = to_utc(at) if at is not None and not pd.isna(at) else now
        if to_status == "cleared":
            cleared_at = at_utc
        state[incident_id] = final[incident_id] = (to_status, cleared_at)
        moved.add(int(incident_id), current, to_status, at_utc, note)
    if final:
        _write_states(store, conn, final, state_before, now)
        write_history(store, conn, moved, actor=actor, batch_id=batch_id, now=now)
    return len(moved.incident)


def change_status(
    store: Store,
    incident_id: int,
    to_status: str,
    *,
    actor: str,
    note: str | None = None,
    at: Instant | None = None,
    public_note: str | None = None,
) -> dict[str, Any]:
    """Move one incident through the workflow; records the event and an audit entry.

    No rights check here (that is :func:`geo.services.change_status`).

    Parameters
    ----------
    store
        The store.
    incident_id
        The incident to move.
    to_status
        A state the workflow allows from the current one (not the current one itself).
    actor, note
        Recorded on the status event and the audit entry (``note`` is internal).
    at
        When it happened (default: now).
    public_note
        The ward's public note for residents
        (:func:`~geo.store.public_notes.set_public_note`), in the same
        transaction; None or blank leaves the current one.

    Returns
    -------
    dict
        ``id``, ``from`` and ``to``.
    """
    check_state(to_status, where="to_status")
    public = public_note_text(public_note)

    def work(conn: Connection) -> dict[str, Any]:
        t = store.tables["incidents"]
        mine = select(t.c.status).where(t.c.id == int(incident_id)).with_for_update()
        current = conn.execute(mine).scalar()  # locked: a concurrent move waits for this one
        if current is None:
            raise _not_found(incident_id)
        if current == to_status:
            raise WorkflowError(
                f"Sự việc {incident_id} đã ở trạng thái {to_status!r}.",
                f"Incident {incident_id} is already {to_status!r}.",
            )
        apply_moves(store, conn, [(int(incident_id), to_status, at, note)], actor=actor, batch_id=None)
        if public:
            set_public_note(store, conn, int(incident_id), public, actor=actor)
        return {"id": int(incident_id), "from": current, "to": to_status}

    return store.write(work)


def open_recurrence(
    store: Store,
    conn: Connection,
    incident_id: int,
    *,
    actor: str,
    note: str | None = None,
    at: Instant | None = None,
    batch_id: int | None = None,
) -> int:
    """:func:`record_recurrence` inside the caller's open write transaction (a
    re-inspection's ``violation`` result stores its inspection in the same one).

    The new incident gets its place (:func:`geo.store.places.place_incidents`) like every
    stored incident; it is linked already, so no second link is made.

    Parameters
    ----------
    store
        The store.
    conn
        An open write transaction.
    incident_id
        The cleared incident whose place is violated again.
    actor, note
        Recorded on the status events and the audit entry.
    at
        When the repeat was seen (default: now).
    batch_id
        The results file's batch, if any.

    Returns
    -------
    int
        The new incident's id.
    """
    note = clean(note)
    t = store.tables["incidents"]
    mine = select(t).where(t.c.id == int(incident_id)).with_for_update()
    old = conn.execute(mine).mappings().first()  # locked, as in change_status
    if old is None:
        raise _not_found(incident_id)
    now = utcnow()
    when = to_utc(at) if at is not None else now
    check_transition(old["status"], "recurred", where=f"incident {incident_id}")
    new_id = store.backend.reserve_ids(conn, "incidents", 1)[0]
    fields = {k: old[k] for k in ("source", "type", "type_text", "lat", "lon", "ward_code",
                                  "street", "address", "flags")}
    due = due_dates(pd.Series([old["type"]]), pd.Series([when]), sla_days()).iloc[0]
    conn.execute(
        insert(t).values(
            id=new_id, **fields, source_id=None, fingerprint=f"{old['fingerprint']}#r{new_id}",
            note=note, status="reported", reported_at=when, due_at=due,
            recurrence_of=int(incident_id), batch_id=batch_id, created_at=now, updated_at=now,
        )
    )
    _chain.append(
        store, conn, "status_events",
        [{"incident_id": new_id, "from_status": None, "to_status": "reported", "at": when,
          "actor": actor, "note": note, "batch_id": batch_id}],
    )
    place_incidents(
        store, conn,
        pd.DataFrame({"type": [old["type"]], "ward_code": [old["ward_code"]],
                      "lon": [np.nan if old["lon"] is None else float(old["lon"])],
                      "lat": [np.nan if old["lat"] is None else float(old["lat"])]}),
        [new_id], link=False,
    )  # fmt: skip
    apply_moves(
        store, conn,
        [(int(incident_id), "recurred", when, f"tái phạm / recurred as incident {new_id}")],
        actor=actor, batch_id=batch_id,
    )
    store.audit(actor, "recurrence", "incident", new_id, {"recurrence_of": int(incident_id)}, conn=conn)
    return new_id


def record_recurrence(
    store: Store, incident_id: int, *, actor: str, note: str | None = None, at: Instant | None = None
) -> int:
    """The place of a cleared incident is violated again: mark it ``recurred`` and open a
    new ``reported`` incident (same place and type, ``recurrence_of`` = the old one).

    Parameters
    ----------
    store
        The store.
    incident_id
        The cleared incident whose place is violated again.
    actor, note
        Recorded on both incidents' status events and the audit entry.
    at
        When the repeat was seen (default: now); the new incident's ``reported_at``.

    Returns
    -------
    int
        The new incident's id.
    """
    return store.write(
        lambda conn: open_recurrence(store, conn, incident_id, actor=actor, note=note, at=at)
    )
