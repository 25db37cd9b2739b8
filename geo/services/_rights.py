"""The one rights check every entry point makes, audited when it refuses."""

from __future__ import annotations

from typing import Any

from geo import auth
from geo.auth import User
from geo.errors import AccessDenied
from geo.store import Store

#: The audit log's actor for someone not signed in.
ANONYMOUS = "anonymous"


def actor_name(actor: User | None) -> str:
    """The name the audit log records for ``actor``."""
    return actor.username if actor is not None else ANONYMOUS


def check(
    store: Store, actor: User | None, action: str, ward_code: str | None = None,
    *, object_type: str = "", object_id: Any = None,
) -> None:
    """:func:`geo.auth.require`, recording a refusal in the audit log before raising.

    Parameters
    ----------
    store
        Where a refusal is recorded.
    actor
        The acting user (None: not signed in).
    action
        One of :data:`geo.auth.ACTIONS`.
    ward_code
        The incident's ward, for the actions limited to an officer's wards.
    object_type, object_id
        What was asked for, as the audit entry names it (default: the action).

    Raises
    ------
    AccessDenied
        When ``actor`` may not do ``action`` (after the refusal is recorded).
    """
    try:
        auth.require(actor, action, ward_code)
    except AccessDenied as exc:
        store.audit(
            actor_name(actor), "denied", object_type or action, object_id,
            {"action": action, "ward_code": ward_code, "reason": exc.message_en},
        )
        raise
