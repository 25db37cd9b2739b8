"""The public note of an incident: the ward's own text for residents, the only note
Open311 shows (``status_notes``, issue 14).

Apart from :mod:`geo.store.workflow`, which writes it with a move
(:func:`geo.store.workflow.change_status`): a resident's report accepted or merged
(:mod:`geo.store.reports`) sets it too, and the same length rule holds for both. The notes
on status events are officers' own and stay internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, update

from geo.errors import InvalidArgument
from geo.store._values import clean

if TYPE_CHECKING:
    from geo.store._core import Store

#: The longest public note (the ward's text shown to residents by Open311, issue 14).
PUBLIC_NOTE_CHARS = 1000


def public_note_text(note: str | None) -> str | None:
    """A public note as stored: cleaned, at most :data:`PUBLIC_NOTE_CHARS`; blank is None.

    Parameters
    ----------
    note
        The note as typed.

    Returns
    -------
    str or None
        The note, or None when blank.
    """
    text = clean(str(note)).strip() if note is not None else ""
    if len(text) > PUBLIC_NOTE_CHARS:
        raise InvalidArgument(
            f"Ghi chú công khai dài quá {PUBLIC_NOTE_CHARS} ký tự ({len(text)}).",
            f"The public note is longer than {PUBLIC_NOTE_CHARS} characters ({len(text)}).",
        )
    return text or None


def set_public_note(
    store: Store, conn: Connection, incident_id: int, note: str | None, *, actor: str
) -> None:
    """Write an incident's public note inside the open transaction, audited (``public_note``).

    The public note is the only note Open311 shows (``status_notes``); the notes on
    status events are officers' own and stay internal.

    Parameters
    ----------
    store, conn
        The store and a connection in its open write transaction.
    incident_id
        The incident.
    note
        The note (cleaned by :func:`public_note_text` already; None clears it).
    actor
        Named in the audit entry.

    Returns
    -------
    None
        The note is stored.
    """
    t = store.tables["incidents"]
    conn.execute(update(t).where(t.c.id == int(incident_id)).values(public_note=note))
    store.audit(actor, "public_note", "incident", int(incident_id), {"public_note": note}, conn=conn)
