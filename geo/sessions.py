"""Signed-in sessions that survive a reload or a new tab, and the one-time setup token.

A session is a random id the browser keeps in a cookie (``SameSite=Strict``; ``Secure``
when the app is served over HTTPS) and the store keeps only as its SHA-256, with the
account, the last activity and an absolute end. It ends on the first of: sign-out,
``GEO_SESSION_IDLE_MINUTES`` without activity, ``GEO_SESSION_MAX_HOURS`` after sign-in,
or the account being disabled (``users disable`` ends its sessions in the same
transaction). Every run of the app re-reads the session, so an end in one tab, or on the
CLI, signs every tab out at its next click.

Why a hash: a copy of the database (a backup, a read-only replica) must not let anyone
sign in, and the ids are 256 random bits, so a plain SHA-256 is enough (no slow hash).
The same holds for the setup token that lets the first visitor of a fresh install create
the first admin. Nothing here is ever put in a URL except that one-time token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from geo import settings

#: The cookie holding the session id.
COOKIE_NAME = "geo_session"
#: What :func:`new_secret` makes: 32 random bytes, URL-safe base64 without padding.
_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")
#: Last activity is written at most this often (a write per click is not needed).
TOUCH_EVERY = timedelta(seconds=30)

#: Why a session ended (``sessions.end_reason``, a ``session_end`` audit entry's ``reason``)
#: → its words (Vietnamese, English), which the administration page shows instead of the
#: code. The store refuses any other code (:func:`require_end_reason`), so a new way for a
#: session to end cannot reach the page without words (tests/test_code_words.py).
END_REASONS: dict[str, tuple[str, str]] = {
    "sign_out": ("người dùng đăng xuất", "signed out"),
    "idle": ("không thao tác quá lâu", "idle too long"),
    "expired": ("hết thời hạn tối đa của phiên", "reached its maximum length"),
    "disabled": ("tài khoản bị khoá", "the account was disabled"),
}


def require_end_reason(reason: str) -> None:
    """Refuse a session-end code not declared in :data:`END_REASONS` (a bug, not input).

    Parameters
    ----------
    reason : str
        The code about to be stored.

    Returns
    -------
    None
        When ``reason`` is declared.

    Raises
    ------
    ValueError
        ``reason`` is not declared.
    """
    if reason not in END_REASONS:
        raise ValueError(f"undeclared session end reason {reason!r}: add it to geo.sessions.END_REASONS")


def new_secret() -> str:
    """A fresh session id or setup token (256 bits from the OS's random source).

    Returns
    -------
    str
        43 URL-safe characters.
    """
    return secrets.token_urlsafe(32)


def is_secret(value: object) -> bool:
    """Whether ``value`` has the shape of :func:`new_secret` (anything else is ignored
    before it reaches the store or a page's script).

    Parameters
    ----------
    value : object
        A cookie's or query parameter's value.

    Returns
    -------
    bool
        True for 43 URL-safe base64 characters.
    """
    return isinstance(value, str) and bool(_SECRET.match(value))


def digest(secret: str) -> str:
    """The SHA-256 (hex) the store keeps instead of the secret.

    Parameters
    ----------
    secret : str
        A session id or setup token.

    Returns
    -------
    str
        64 hex digits.
    """
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


def idle_timeout() -> timedelta:
    """``GEO_SESSION_IDLE_MINUTES`` as a duration.

    Returns
    -------
    datetime.timedelta
        The idle time after which a session ends.
    """
    return timedelta(minutes=settings.session_idle_minutes())


def max_age() -> timedelta:
    """``GEO_SESSION_MAX_HOURS`` as a duration (also the cookie's ``Max-Age``).

    Returns
    -------
    datetime.timedelta
        The longest a session lasts from its sign-in.
    """
    return timedelta(hours=settings.session_max_hours())


def state(row: Mapping[str, Any], now: datetime) -> str:
    """``"active"``, ``"ended"`` (signed out, disabled…), ``"idle"`` or ``"expired"``.

    Parameters
    ----------
    row
        A ``sessions`` row.
    now
        The instant asked about.

    Returns
    -------
    str
        The session's state at ``now``.
    """
    if row.get("ended_at") is not None:
        return "ended"
    if now >= row["expires_at"]:
        return "expired"
    if now - row["last_seen_at"] > idle_timeout():
        return "idle"
    return "active"


def cookie_script(secret: str | None, *, max_age_s: int = 0) -> str:
    """The ``<script>`` that sets (``secret``) or clears (None) the session cookie.

    ``SameSite=Strict`` keeps other sites' pages from sending it; ``Secure`` is added when
    the page itself was loaded over HTTPS. The value is checked with :func:`is_secret`
    first, so nothing else can ever be written into the script.

    Parameters
    ----------
    secret : str or None
        The session id to store, or None to clear the cookie.
    max_age_s : int
        The cookie's lifetime in seconds (``GEO_SESSION_MAX_HOURS``).

    Returns
    -------
    str
        One ``<script>`` element.

    Raises
    ------
    ValueError
        ``secret`` is not a session id.
    """
    if secret is not None and not is_secret(secret):
        raise ValueError("not a session id")
    value, age = (secret, max_age_s) if secret is not None else ("", 0)
    return (
        "<script>(function(){var s=location.protocol==='https:'?'; Secure':'';"
        f"document.cookie='{COOKIE_NAME}={value}; Path=/; Max-Age={int(age)}; "
        "SameSite=Strict'+s;})();</script>"
    )
