"""Residents' personal data sent with a report (``open311_contacts``): written once, erased on request.

Names, e-mail, phone, device and account ids live in a table of their own so that no
read of reports, requests or incidents can return them: this module writes them when a
report arrives (:func:`record`) and blanks them (:func:`erase_contact`); nothing reads
them back. Erasing also drops the report's dedup hash, which was made from the device id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy import Connection, insert, select, update

from geo.errors import NotFound
from geo.store._values import clean, utcnow

if TYPE_CHECKING:
    from geo.store._core import Store

#: The personal-data fields of a report (``open311_contacts``).
CONTACT_FIELDS: tuple[str, ...] = (
    "email", "first_name", "last_name", "phone", "device_id", "account_id",
)


def record(store: Store, conn: Connection, request_id: int, contact: Mapping[str, str | None]) -> None:
    """Write a new report's personal data, in the transaction that stores the report.

    Parameters
    ----------
    store
        The store.
    conn
        The open write transaction.
    request_id
        The report's id.
    contact
        :data:`CONTACT_FIELDS` as sent (missing ones are stored blank).

    Returns
    -------
    None
        One ``open311_contacts`` row.
    """
    values = {k: clean(contact.get(k)) for k in CONTACT_FIELDS}
    conn.execute(insert(store.tables["open311_contacts"]).values(request_id=request_id, **values))


def erase_contact(store: Store, report_id: int, *, actor: str) -> None:
    """Blank a report's personal data (and its dedup hash); the report itself stays.

    Parameters
    ----------
    store
        The store.
    report_id
        The report.
    actor
        Named in the contact row and the audit entry.

    Returns
    -------
    None
        The fields are blank.
    """
    c = store.tables["open311_contacts"]
    t = store.tables["open311_requests"]

    def work(conn: Connection) -> None:
        if conn.execute(select(t.c.id).where(t.c.id == int(report_id))).first() is None:
            raise NotFound(f"Không có phản ánh số {report_id}.", f"There is no report {report_id}.")
        blank = dict.fromkeys(CONTACT_FIELDS)
        conn.execute(update(c).where(c.c.request_id == int(report_id)).values(
            **blank, erased_at=utcnow(), erased_by=actor))
        conn.execute(update(t).where(t.c.id == int(report_id)).values(submitter=None))
        store.audit(actor, "report_erase_personal", "resident_report", report_id, {}, conn=conn)

    store.write(work)


__all__ = ["CONTACT_FIELDS", "erase_contact", "record"]
