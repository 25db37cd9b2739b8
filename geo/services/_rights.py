"""The one rights check every entry point makes, audited when it refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

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
        record_refusal(
            store, actor_name(actor), action, exc, ward_code,
            object_type=object_type, object_id=object_id,
        )  # fmt: skip
        raise


def record_refusal(
    store: Store, name: str, action: str, refusal: AccessDenied, ward_code: str | None = None,
    *, object_type: str = "", object_id: Any = None,
) -> None:
    """Audit a refused attempt (``denied``): who, which right, on what and why.

    For :func:`check`, and for refusals made before there is a :class:`User` to check
    (the CLI's unknown or disabled ``--user``), so both leave the same entry.

    Parameters
    ----------
    store
        Where the refusal is recorded.
    name
        Who tried (a user name, or :data:`ANONYMOUS`).
    action
        The right that was needed.
    refusal
        The error the caller raises: its English message is the entry's ``reason`` (as
        older entries have it) and its Vietnamese one ``reason_vi``, so the administration
        page reads the refusal in its own language (:func:`geo.i18n.audit_details`).
    ward_code, object_type, object_id
        As for :func:`check`.
    """
    store.audit(
        name, "denied", object_type or action, object_id,
        {"action": action, "ward_code": ward_code, "reason": refusal.message_en,
         "reason_vi": refusal.message_vi},
    )


P = ParamSpec("P")
R = TypeVar("R")


def viewing(
    read: Callable[Concatenate[Store, P], R], object_type: str
) -> Callable[Concatenate[Store, User | None, P], R]:
    """``read`` behind the ``view`` right: the same call with the acting user after the store.

    Most reads of the app need nothing but the ``view`` right, so their entry points are
    made here rather than written out one by one: the domain function keeps the only
    signature and docstring, and the entry point checks the right before it runs.

    Parameters
    ----------
    read
        A domain read taking the store first.
    object_type
        What a refusal's audit entry names.

    Returns
    -------
    callable
        ``entry(store, actor, ...)``: :func:`check` for ``view``, then ``read(store, ...)``.
    """

    def entry(store: Store, actor: User | None, /, *args: P.args, **kwargs: P.kwargs) -> R:
        check(store, actor, "view", object_type=object_type)
        return read(store, *args, **kwargs)

    entry.__name__ = entry.__qualname__ = read.__name__
    entry.__doc__ = _with_actor(read.__doc__ or "", "Needs ``view`` (checked first; a refusal is audited).")
    return entry


def _with_actor(doc: str, right: str) -> str:
    """``doc`` with an ``actor`` entry after ``store`` in its numpy-style Parameters."""
    lines = doc.splitlines()
    at = next((i for i, line in enumerate(lines) if line.strip() == "store"), None)
    if at is None:
        return f"{doc.rstrip()}\n\nThe acting user comes after the store. {right}"
    indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    end = at + 1
    while end < len(lines) and lines[end].startswith(indent + " "):
        end += 1
    return "\n".join([*lines[:end], f"{indent}actor", f"{indent}    {right}", *lines[end:]])
