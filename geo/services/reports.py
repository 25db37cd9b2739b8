"""Residents' reports: moderation by the responsible ward, API keys, personal data.

An officer lists and moderates the reports of their own wards, an admin those of every
ward (``moderate_reports``, ward-scoped like status changes). API keys and the erasure
of a resident's personal data are for admins. Each change is audited by the store in
its own transaction; a refusal is audited by :func:`~geo.services._rights.check`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from geo.auth import User, can
from geo.open311.endpoints import lookup
from geo.services._rights import check
from geo.store import Store
from geo.store import reports as stored


def list_reports(
    store: Store, actor: User, *, ward: str | None = None, status: str | None = "pending"
) -> pd.DataFrame:
    """The reports the actor may moderate: their own wards (all wards for an admin).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``moderate_reports`` (in ``ward`` when it is given).
    ward
        Only this ward's reports.
    status
        A report state (default ``pending``), or None for every state.

    Returns
    -------
    pandas.DataFrame
        :data:`geo.store.reports.REPORT_COLUMNS`, oldest first; no personal data.
    """
    if ward is not None:
        check(store, actor, "moderate_reports", ward, object_type="resident_report")
        return stored.reports(store, wards=[ward], status=status)
    if actor.is_admin:
        return stored.reports(store, status=status)
    allowed = [w for w in sorted(actor.wards) if can(actor, "moderate_reports", w)]
    if not allowed:  # refused, and the refusal audited
        check(store, actor, "moderate_reports", None, object_type="resident_report")
    return stored.reports(store, wards=allowed, status=status)


def _checked(store: Store, actor: User, report_id: int) -> None:
    ward = stored.ward_of_report(store, report_id)
    check(store, actor, "moderate_reports", ward, object_type="resident_report", object_id=report_id)


def accept_report(store: Store, actor: User, report_id: int, public_note: str | None = None) -> int:
    """Accept a pending report of the actor's ward: a new incident (``reported``, source
    ``open311``). Returns the incident's id, the resident's ``service_request_id``.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``moderate_reports`` in the report's ward.
    report_id
        A pending report.
    public_note
        The ward's note for the resident (shown by Open311).

    Returns
    -------
    int
        The new incident's id.
    """
    _checked(store, actor, report_id)
    return stored.accept(store, int(report_id), actor=actor.username, public_note=public_note)


def merge_report(
    store: Store, actor: User, report_id: int, incident_id: int, public_note: str | None = None
) -> None:
    """Attach a pending report of the actor's ward to an existing incident.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``moderate_reports`` in the report's ward.
    report_id
        A pending report.
    incident_id
        The incident the resident will follow.
    public_note
        Replaces the incident's public note when given.

    Returns
    -------
    None
        The report is ``merged``, audited.
    """
    _checked(store, actor, report_id)
    stored.merge(store, int(report_id), int(incident_id), actor=actor.username, public_note=public_note)


def reject_report(store: Store, actor: User, report_id: int, reason: str) -> None:
    """Reject a pending report of the actor's ward with a public reason.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``moderate_reports`` in the report's ward.
    report_id
        A pending report.
    reason
        Shown publicly to the resident (required).

    Returns
    -------
    None
        The report is ``rejected``, audited.
    """
    _checked(store, actor, report_id)
    stored.reject(store, int(report_id), reason, actor=actor.username)


def duplicate_suggestions(store: Store, actor: User, report_id: int) -> pd.DataFrame:
    """Open incidents of the report's type within 30 m (nearest first): merge candidates.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``moderate_reports`` in the report's ward.
    report_id
        The report.

    Returns
    -------
    pandas.DataFrame
        :func:`geo.store.reports.nearby_open_incidents`' columns (empty without a point).
    """
    _checked(store, actor, report_id)
    found = stored.report(store, int(report_id))
    if found["lat"] is None or found["long"] is None:  # an address-only report
        return pd.DataFrame(columns=["id", "status", "lat", "lon", "reported_at", "address", "distance_m"])
    return stored.nearby_open_incidents(store, float(found["long"]), float(found["lat"]), found["service_code"])


def erase_personal_data(store: Store, actor: User, report_id: int) -> None:
    """Blank one report's personal data (admins).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``erase_personal_data`` (admins).
    report_id
        The report.

    Returns
    -------
    None
        The personal data is blank, audited.
    """
    check(store, actor, "erase_personal_data", object_type="resident_report", object_id=report_id)
    stored.erase_contact(store, int(report_id), actor=actor.username)


def public_lookup(store: Store, text: str) -> dict[str, Any] | None:
    """A request by id or a report by token, as the resident sees it; no right needed
    (the public lookup page answers anyone, as ``GET requests/{id}`` and ``GET tokens``
    do). See :func:`geo.open311.endpoints.lookup`.

    Parameters
    ----------
    store
        The store.
    text
        A request number or a report token.

    Returns
    -------
    dict or None
        The fields shown to the resident, or None.
    """
    return lookup(store, text)


def add_api_key(store: Store, actor: User, name: str) -> str:
    """Issue an API key (admins); the secret is returned once.

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``manage_api_keys`` (admins).
    name
        Who the key is for.

    Returns
    -------
    str
        The secret, shown once.
    """
    check(store, actor, "manage_api_keys", object_type="api_key")
    return stored.add_api_key(store, name, actor=actor.username)


def list_api_keys(store: Store, actor: User) -> pd.DataFrame:
    """Every API key, without secrets or hashes (admins).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``manage_api_keys`` (admins).

    Returns
    -------
    pandas.DataFrame
        :func:`geo.store.reports.list_api_keys`' columns.
    """
    check(store, actor, "manage_api_keys", object_type="api_key")
    return stored.list_api_keys(store)


def revoke_api_key(store: Store, actor: User, name: str) -> None:
    """Revoke an API key by name (admins).

    Parameters
    ----------
    store
        The store.
    actor
        Needs ``manage_api_keys`` (admins).
    name
        The active key's name.

    Returns
    -------
    None
        The key no longer opens, audited.
    """
    check(store, actor, "manage_api_keys", object_type="api_key", object_id=name)
    stored.revoke_api_key(store, name, actor=actor.username)
