"""Sign-in throttling: when a failed password guess makes the next attempt wait or locks.

The rule is counted twice, once per **user name typed** and once per **client address**,
and the stricter answer wins. Within ``GEO_LOGIN_WINDOW_MINUTES`` (default 15):

* after ``GEO_LOGIN_DELAY_AFTER`` failures (default 5) every further attempt waits
  1 s after the last failure, then 2 s, 4 s, … (doubling per failure, capped at the
  window), so a person who mistyped a few times hardly notices while a guessing script
  gets a few dozen tries an hour instead of five a second;
* after ``GEO_LOGIN_LOCK_AFTER`` failures (default 20) sign-in is locked for
  ``GEO_LOGIN_LOCK_MINUTES`` (default 15), until then or until an admin runs
  ``python -m geo users unlock NAME``.

Names are counted whether or not an account has them, so a throttled or locked answer
tells nothing about which accounts exist. This module is pure rules over instants (the
store keeps the failures, :mod:`geo.store.logins`); the clock is always passed in, so
tests move time instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from geo import settings

#: The two things failures are counted by.
SCOPES: tuple[str, ...] = ("account", "address")
#: The first wait once the delay starts; each further failure doubles it.
BASE_DELAY = timedelta(seconds=1)


@dataclass(frozen=True)
class Policy:
    """The throttling numbers (from ``GEO_LOGIN_*`` by :meth:`from_settings`)."""

    delay_after: int = 5
    lock_after: int = 20
    window: timedelta = timedelta(minutes=15)
    lock_for: timedelta = timedelta(minutes=15)

    @classmethod
    def from_settings(cls) -> Policy:
        """The policy configured now (read when used, like every setting)."""
        return cls(
            delay_after=settings.login_delay_after(),
            lock_after=settings.login_lock_after(),
            window=timedelta(minutes=settings.login_window_minutes()),
            lock_for=timedelta(minutes=settings.login_lock_minutes()),
        )

    def delay(self, failures: int) -> timedelta:
        """The wait after the last of ``failures`` recent failures (zero below the threshold)."""
        if failures < self.delay_after:
            return timedelta(0)
        doublings = min(failures - self.delay_after, 40)  # 2**40 s is far past any window
        return min(BASE_DELAY * (2**doublings), self.window)


@dataclass(frozen=True)
class Recent:
    """What the store holds for one scope: failures in the window and any lock."""

    scope: str
    key: str
    failures: Sequence[datetime] = ()
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """May an attempt go ahead now? If not, until when, and why."""

    allowed: bool
    scope: str | None = None
    key: str | None = None
    until: datetime | None = None
    locked: bool = False

    def wait_seconds(self, now: datetime) -> int:
        """Whole seconds until the attempt may be made (at least 1 when refused)."""
        if self.until is None:
            return 0
        return max(1, int(-(-(self.until - now).total_seconds() // 1)))


ALLOWED = Verdict(allowed=True)


def judge(policy: Policy, recent: Sequence[Recent], now: datetime) -> Verdict:
    """The verdict for an attempt at ``now``: a lock first, then the longest delay.

    Parameters
    ----------
    policy
        The numbers.
    recent
        One :class:`Recent` per scope that applies (no address: only the account).
    now
        The attempt's instant.

    Returns
    -------
    Verdict
        ``ALLOWED``, or the refusal that ends last.
    """
    refusals: list[Verdict] = []
    for item in recent:
        if item.locked_until is not None and item.locked_until > now:
            refusals.append(Verdict(False, item.scope, item.key, item.locked_until, locked=True))
            continue
        in_window = [t for t in item.failures if t > now - policy.window]
        wait = policy.delay(len(in_window))
        if wait and in_window and max(in_window) + wait > now:
            refusals.append(Verdict(False, item.scope, item.key, max(in_window) + wait))
    if not refusals:
        return ALLOWED
    return max(refusals, key=lambda v: (v.locked, v.until))


def locks_due(policy: Policy, recent: Sequence[Recent], now: datetime) -> list[Recent]:
    """The scopes whose failures (the one just recorded included) reach the lock threshold
    and are not locked yet.

    Parameters
    ----------
    policy
        The numbers.
    recent
        One :class:`Recent` per scope, read after the failure was written.
    now
        The failure's instant.

    Returns
    -------
    list of Recent
        The scopes to lock now.
    """
    due = []
    for item in recent:
        if item.locked_until is not None and item.locked_until > now:
            continue
        if sum(1 for t in item.failures if t > now - policy.window) >= policy.lock_after:
            due.append(item)
    return due
