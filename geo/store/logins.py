"""Failed sign-ins and sign-in locks: the state :mod:`geo.throttle` judges, kept in the store.

Kept in the database, not in the app's memory, so that every app process (and a restart)
sees the same counts, and an admin's ``users unlock`` from the CLI lifts a lock the app
set. Each failure is one row (the name typed and the client address); rows older than
the counting window are pruned as new ones are written. Every change is audited in the
same transaction. No rights checks here (that is :mod:`geo.services.accounts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, insert, select

from geo.throttle import Policy, Recent, locks_due

if TYPE_CHECKING:
    from geo.store._core import Store


def _scopes(account: str, address: str | None) -> list[tuple[str, str]]:
    """(scope, key) pairs an attempt is counted under (no address: the account only)."""
    pairs = [("account", account)]
    if address:
        pairs.append(("address", address))
    return pairs


def _recent(
    store: Store, conn: Connection, pairs: Sequence[tuple[str, str]], since: datetime
) -> list[Recent]:
    failures = store.tables["login_failures"]
    locks = store.tables["login_locks"]
    found = []
    for scope, key in pairs:
        column = failures.c.account if scope == "account" else failures.c.address
        times = conn.execute(
            select(failures.c.at).where(column == key, failures.c.at > since)
        ).scalars().all()
        until = conn.execute(
            select(locks.c.until).where(locks.c.scope == scope, locks.c.key == key)
        ).scalar()
        found.append(Recent(scope, key, tuple(times), until))
    return found


def recent(
    store: Store, account: str, address: str | None, *, since: datetime
) -> list[Recent]:
    """The failures since ``since`` and any lock, per scope of an attempt.

    Parameters
    ----------
    store
        The store.
    account
        The user name typed (whether or not an account has it).
    address
        The client address, or None when unknown (then only the name counts).
    since
        Start of the counting window.

    Returns
    -------
    list of Recent
        One per scope: ``account``, then ``address`` when given.
    """
    with store.read() as conn:
        return _recent(store, conn, _scopes(account, address), since)


def record_failure(
    store: Store, account: str, address: str | None, *, now: datetime, policy: Policy,
    details: dict[str, object] | None = None,
) -> list[Recent]:
    """Count one failed sign-in; lock the scopes that reach the threshold. One transaction
    writes the failure, the ``login_failed`` audit entry and any lock with its
    ``login_locked`` entry.

    Parameters
    ----------
    store
        The store.
    account, address
        The name typed and the client address (None: unknown).
    now
        The attempt's instant (injected, so tests need no sleeping).
    policy
        The throttling numbers.
    details
        Extra facts for the ``login_failed`` entry.

    Returns
    -------
    list of Recent
        The scopes locked by this failure (empty for most failures).
    """
    failures = store.tables["login_failures"]
    locks = store.tables["login_locks"]
    pairs = _scopes(account, address)

    def work(conn: Connection) -> list[Recent]:
        conn.execute(delete(failures).where(failures.c.at <= now - policy.window))
        conn.execute(insert(failures).values(at=now, account=account, address=address))
        store.audit(
            account or "anonymous", "login_failed", "user", account or None,
            {**(details or {}), "address": address}, conn=conn,
        )
        due = locks_due(policy, _recent(store, conn, pairs, now - policy.window), now)
        for item in due:
            until = now + policy.lock_for
            conn.execute(delete(locks).where(locks.c.scope == item.scope, locks.c.key == item.key))
            conn.execute(insert(locks).values(scope=item.scope, key=item.key, since=now, until=until))
            store.audit(
                account or "anonymous", "login_locked", item.scope, item.key,
                {"until": until.isoformat(), "failures": len(item.failures), "address": address},
                conn=conn,
            )
        return due

    return store.write(work)


def forget_failures(store: Store, account: str) -> None:
    """A successful sign-in clears the name's failures (not the address's: an attacker must
    not reset the count of the address they guess from by signing in to their own account).

    Parameters
    ----------
    store
        The store.
    account
        The account that signed in.

    Returns
    -------
    None
    """
    failures = store.tables["login_failures"]
    store.write(lambda conn: conn.execute(delete(failures).where(failures.c.account == account)))


def unlock(store: Store, scope: str, key: str, *, actor: str) -> int:
    """Lift a lock and forget the failures of one user name or client address, audited.

    Parameters
    ----------
    store
        The store.
    scope
        ``"account"`` or ``"address"``.
    key
        The user name or the address.
    actor
        Named in the ``login_unlock`` audit entry.

    Returns
    -------
    int
        How many locks were lifted (0 or 1).
    """
    failures = store.tables["login_failures"]
    locks = store.tables["login_locks"]
    column = failures.c.account if scope == "account" else failures.c.address

    def work(conn: Connection) -> int:
        lifted = conn.execute(delete(locks).where(locks.c.scope == scope, locks.c.key == key)).rowcount
        cleared = conn.execute(delete(failures).where(column == key)).rowcount
        store.audit(
            actor, "login_unlock", scope, key, {"locks": lifted, "failures": cleared}, conn=conn
        )
        return int(lifted or 0)

    return store.write(work)
