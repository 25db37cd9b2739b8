"""Who may do what: local accounts, roles, the rights matrix and session rules.

Rights are enforced here and in :mod:`geo.services`, never only by hiding buttons: the app
and the CLI both call the service functions, which call :func:`require` with the acting
:class:`User` before touching the store.

Roles (a user may hold several; rights add up):

* ``viewer`` — leaders: every map, comparison, report and export; no edits.
* ``field`` — field teams: upload incident files (and see the maps).
* ``officer`` — status changes and residents' reports, only in their own ward code(s).
* ``admin`` — everything: users, boundary layers, backups, the audit log, any ward.

Passwords are argon2id hashes (argon2-cffi, salted, parameters stored in the hash). An
account without a hash can only sign in through OIDC (``st.login``). Environment:
``GEO_SESSION_IDLE_MINUTES`` (default 30) and ``GEO_PUBLIC_VIEW`` (off by default: a
read-only, aggregates-only view for people who are not signed in). How failed sign-ins
are throttled is :mod:`geo.throttle`; how a session outlives a reload, :mod:`geo.sessions`.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geo import settings
from geo.admin_units import official_wards, ward_code_from_text
from geo.errors import AccessDenied
from geo.i18n import t

ROLES: tuple[str, ...] = ("viewer", "field", "officer", "admin")

#: Every action the services check, with its Vietnamese and English description.
ACTIONS: dict[str, tuple[str, str]] = {
    "view": ("xem bản đồ, số liệu và chi tiết vụ việc", "view maps, figures and incident details"),
    "view_public": ("xem số liệu tổng hợp công khai", "view the public aggregates"),
    "export": ("xuất dữ liệu", "export data"),
    "upload": ("tải lên tệp vụ việc", "upload incident files"),
    "change_status": ("đổi trạng thái vụ việc", "change an incident's status"),
    "manage_users": ("quản lý tài khoản", "manage user accounts"),
    "replace_boundaries": ("thay lớp ranh giới phường", "replace the ward boundary layer"),
    "backup": ("sao lưu cơ sở dữ liệu", "back up the database"),
    "view_audit": ("xem nhật ký thao tác", "view the audit log"),
    "view_photo_originals": (
        "xem ảnh gốc kèm siêu dữ liệu (vị trí GPS)",
        "see original photos with their metadata (GPS position)",
    ),
    "moderate_reports": ("xử lý phản ánh của người dân", "moderate residents' reports"),
    "manage_api_keys": ("quản lý khóa API Open311", "manage Open311 API keys"),
    "erase_personal_data": (
        "xóa thông tin cá nhân của người phản ánh", "erase a resident's personal data"
    ),
    "rebuild_places": ("dựng lại các điểm vi phạm", "rebuild the places"),
}

#: The rights matrix: role → actions. ``change_status`` for an officer is further limited
#: to their wards (see :func:`can`); ``view_public`` also needs ``GEO_PUBLIC_VIEW``.
RIGHTS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view", "view_public", "export"}),
    "field": frozenset({"view", "view_public", "upload"}),
    "officer": frozenset(
        {"view", "view_public", "export", "upload", "change_status", "moderate_reports"}
    ),
    "admin": frozenset(ACTIONS),
}

#: Actions limited to the officer's own wards.
WARD_SCOPED: frozenset[str] = frozenset({"change_status", "moderate_reports"})

IDLE_ENV = settings.session_idle_minutes.name
PUBLIC_ENV = settings.public_view.name
DEFAULT_IDLE_MINUTES = settings.session_idle_minutes.default
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
_USERNAME = re.compile(r"^[\w.@+-]{2,100}$")

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified when the user name is unknown, so a wrong name costs as long as a wrong
    password (made on first use: hashing costs a fifth of a second)."""
    return _hasher.hash("geo-no-such-user-placeholder")


@dataclass(frozen=True)
class User:
    """The acting user, as the services see it (never carries the password hash)."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    wards: frozenset[str] = field(default_factory=frozenset)
    disabled: bool = False
    has_password: bool = True

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> User:
        """A :class:`User` from a ``users`` row, so pages and services never read raw columns.

        Parameters
        ----------
        row : mapping of str to Any
            The row (``username``, ``roles``, ``wards``, ``disabled``, ``password_hash``).

        Returns
        -------
        User
            The account; ``has_password`` tells whether a hash is stored, never the hash itself.
        """
        return cls(
            username=str(row["username"]),
            roles=frozenset(split_codes(row.get("roles"))),
            wards=frozenset(split_codes(row.get("wards"))),
            disabled=bool(row.get("disabled")),
            has_password=bool(row.get("password_hash")),
        )

    @property
    def is_admin(self) -> bool:
        """True for an enabled account with the ``admin`` role (a disabled admin has no rights)."""
        return "admin" in self.roles and not self.disabled


def split_codes(value: Any) -> list[str]:
    """``"a,b"`` (the stored form) or an iterable → sorted unique non-empty codes.

    Parameters
    ----------
    value : str or iterable of str or None
        Comma-separated codes (as stored) or any iterable of codes/roles; None means none.

    Returns
    -------
    list of str
        The stripped, non-empty items, each once, sorted.
    """
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return sorted({i.strip() for i in items if i and i.strip()})


def check_username(username: str) -> str:
    """A user name in one canonical form, so "Lan" typed twice is one account.

    Parameters
    ----------
    username : str
        The name as typed; NFC-normalised and stripped.

    Returns
    -------
    str
        The normalised name (2–100 letters, digits or ``. _ @ + -``).

    Raises
    ------
    geo.errors.AccessDenied
        The name is too short, too long or has other characters.
    """
    name = unicodedata.normalize("NFC", str(username)).strip()
    if not _USERNAME.match(name):
        raise AccessDenied(
            f"Tên đăng nhập {username!r} không hợp lệ: 2–100 ký tự chữ, số, . _ @ + -.",
            f"Invalid user name {username!r}: 2–100 letters, digits or . _ @ + -.",
        )
    return name


def check_roles(roles: Iterable[str]) -> list[str]:
    """Known roles only, so a typo never creates an account with no rights or unknown ones.

    Parameters
    ----------
    roles : iterable of str
        Role names, or one comma-separated string (see :func:`split_codes`).

    Returns
    -------
    list of str
        The roles, sorted and unique, each one of :data:`ROLES`.

    Raises
    ------
    geo.errors.AccessDenied
        A role is unknown, or none is given.
    """
    found = split_codes(roles)
    unknown = [r for r in found if r not in ROLES]
    if unknown or not found:
        raise AccessDenied(
            f"Vai trò không hợp lệ: {', '.join(unknown) or '(trống)'}; chọn trong {', '.join(ROLES)}.",
            f"Invalid role(s): {', '.join(unknown) or '(none)'}; choose from {', '.join(ROLES)}.",
        )
    return found


def check_wards(wards: Iterable[str]) -> list[str]:
    """Official ward codes (``geo.admin_units``); a ward name ("Láng") is turned into its code.

    Parameters
    ----------
    wards : iterable of str
        Ward codes or names, or one comma-separated string (see :func:`split_codes`).

    Returns
    -------
    list of str
        The official 2025 ward codes, sorted and unique.

    Raises
    ------
    geo.errors.AccessDenied
        An item matches no ward of the official register.
    """
    known = set(official_wards()["code"])
    found: set[str] = set()
    unknown: list[str] = []
    for item in split_codes(wards):
        code = item if item in known else ward_code_from_text(item)
        if code is None or code not in known:
            unknown.append(item)
        else:
            found.add(code)
    if unknown:
        raise AccessDenied(
            f"Mã phường, xã không có trong danh mục chính thức: {', '.join(unknown)}.",
            f"Ward code(s) not in the official register: {', '.join(unknown)}.",
        )
    return sorted(found)


# -- passwords ---------------------------------------------------------------------------


def check_password_strength(password: str) -> None:
    """Long enough to resist guessing; no other composition rules (NIST SP 800-63B).

    Parameters
    ----------
    password : str
        The new password.

    Returns
    -------
    None
        The password is acceptable.

    Raises
    ------
    geo.errors.AccessDenied
        Shorter than :data:`MIN_PASSWORD_CHARS`, longer than :data:`MAX_PASSWORD_CHARS`,
        or containing a NUL character.
    """
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccessDenied(
            f"Mật khẩu phải dài ít nhất {MIN_PASSWORD_CHARS} ký tự.",
            f"The password must be at least {MIN_PASSWORD_CHARS} characters long.",
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccessDenied(
            f"Mật khẩu dài quá {MAX_PASSWORD_CHARS} ký tự.",
            f"The password is longer than {MAX_PASSWORD_CHARS} characters.",
        )
    if "\x00" in password:
        raise AccessDenied("Mật khẩu chứa ký tự NUL.", "The password contains a NUL character.")


def hash_password(password: str) -> str:
    """A password's argon2id hash (never the password itself is stored), after the strength check.

    Parameters
    ----------
    password : str
        The new password.

    Returns
    -------
    str
        The argon2id hash string (algorithm, parameters and salt included).

    Raises
    ------
    geo.errors.AccessDenied
        The password fails :func:`check_password_strength`.
    """
    check_password_strength(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash (OIDC-only account) never matches.

    Parameters
    ----------
    stored_hash : str or None
        The account's argon2 hash; None or empty for an account without a password.
    password : str
        The password as typed.

    Returns
    -------
    bool
        True when it matches; a malformed hash is a mismatch, not an error.
    """
    if not stored_hash:
        _safe_verify(_dummy_hash(), password)
        return False
    return _safe_verify(stored_hash, password)


def _safe_verify(stored_hash: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def prepare_dummy_hash(*, background: bool = False) -> None:
    """Make the unknown-name hash now, so that the first unknown name does not cost a
    hashing more than a known one (called before every sign-in; cached after the first).

    Parameters
    ----------
    background : bool
        Make it in a thread of its own, once per process (the sign-in form asks for it
        when it is shown, so the first sign-in of a freshly started app does not wait
        for a hash it does not check: argon2 releases the GIL while it hashes).

    Returns
    -------
    None
    """
    if not background:
        _dummy_hash()
        return
    with _DUMMY_LOCK:
        if _DUMMY_THREAD:
            return
        _DUMMY_THREAD.append(threading.Thread(target=_dummy_hash, name="geo-dummy-hash", daemon=True))
    _DUMMY_THREAD[0].start()


_DUMMY_LOCK = threading.Lock()
_DUMMY_THREAD: list[threading.Thread] = []  # the one background hashing, once started


def dummy_verify(password: str) -> None:
    """Spend the time of one verification (for unknown user names).

    Parameters
    ----------
    password : str
        The password as typed (checked against a throwaway hash).

    Returns
    -------
    None
        Only the time spent matters: an unknown name answers as slowly as a wrong password.
    """
    _safe_verify(_dummy_hash(), password)


def needs_rehash(stored_hash: str) -> bool:
    """Whether a stored hash uses weaker parameters than today's, so sign-in can upgrade it.

    Parameters
    ----------
    stored_hash : str
        The account's argon2 hash string.

    Returns
    -------
    bool
        True when the hash should be recomputed with the current parameters.
    """
    return _hasher.check_needs_rehash(stored_hash)


# -- the rights matrix -------------------------------------------------------------------


def public_view_enabled() -> bool:
    """``GEO_PUBLIC_VIEW`` is 1/true/yes/on/có (off by default).

    Returns
    -------
    bool
        True when anonymous visitors may see the public view.
    """
    return settings.public_view()


def can(user: User | None, action: str, ward_code: str | None = None) -> bool:
    """May ``user`` do ``action`` (on an incident in ``ward_code``)?

    ``None`` is the anonymous visitor: only ``view_public``, and only when the public view
    is on. A disabled account may do nothing. An officer's ``change_status`` needs the
    incident's ward among their wards; an incident with no ward is for admins only.

    Parameters
    ----------
    user : User or None
        The acting user; None for an anonymous visitor.
    action : str
        One of :data:`ACTIONS` (e.g. ``"view_public"``, ``"change_status"``).
    ward_code : str or None
        The 2025 code of the incident's ward, for ward-scoped actions.

    Returns
    -------
    bool
        True when the action is allowed.

    Raises
    ------
    ValueError
        ``action`` is not one of :data:`ACTIONS` (a programming error, not a refusal).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    if user is None:
        return action == "view_public" and public_view_enabled()
    if user.disabled:
        return False
    for role in user.roles:
        if action not in RIGHTS.get(role, frozenset()):
            continue
        if role == "admin" or action not in WARD_SCOPED:
            return True
        if ward_code is not None and str(ward_code) in user.wards:
            return True
    return False


def require(user: User | None, action: str, ward_code: str | None = None) -> User | None:
    """Return ``user`` when :func:`can`; else raise a bilingual :class:`AccessDenied`.

    Parameters
    ----------
    user : User or None
        The acting user; None for an anonymous visitor.
    action : str
        One of :data:`ACTIONS`.
    ward_code : str or None
        The 2025 code of the incident's ward, for ward-scoped actions.

    Returns
    -------
    User or None
        ``user`` itself (None only for an allowed anonymous ``view_public``).

    Raises
    ------
    geo.errors.AccessDenied
        Not signed in, account disabled, wrong ward, or a role without the right.
    """
    if can(user, action, ward_code):
        return user
    what_vi, what_en = ACTIONS[action]
    if user is None:
        raise AccessDenied(
            f"Cần đăng nhập để {what_vi}.", f"You must sign in to {what_en}."
        )
    if user.disabled:
        raise AccessDenied(
            f"Tài khoản {user.username!r} đã bị khoá.", f"The account {user.username!r} is disabled."
        )
    # the roles by their names, not their codes (an officer read "vai trò: officer")
    held = [r for r in ROLES if r in user.roles]
    roles_vi = ", ".join(t(f"role.{r}", "vi") for r in held) or t("common.none", "vi")
    roles_en = ", ".join(t(f"role.{r}", "en") for r in held) or t("common.none", "en")
    if action in WARD_SCOPED and any(action in RIGHTS[r] for r in user.roles):
        mine = ", ".join(sorted(user.wards)) or "-"
        where = ward_code or "?"
        raise AccessDenied(
            f"Người dùng {user.username!r} chỉ được {what_vi} ở phường, xã {mine}, "
            f"không được ở {where}.",
            f"User {user.username!r} may {what_en} only in ward(s) {mine}, not in {where}.",
        )
    raise AccessDenied(
        f"Người dùng {user.username!r} với vai trò {roles_vi} không có quyền {what_vi}.",
        f"User {user.username!r}, with the role(s) {roles_en}, is not allowed to {what_en}.",
    )


# -- sessions ----------------------------------------------------------------------------


def idle_timeout() -> timedelta:
    """How long a signed-in session may stay idle (``GEO_SESSION_IDLE_MINUTES``, default 30).

    Returns
    -------
    datetime.timedelta
        The idle limit from the setting, in minutes.
    """
    return timedelta(minutes=settings.session_idle_minutes())


def session_expired(
    last_activity: datetime | None, now: datetime | None = None, timeout: timedelta | None = None
) -> bool:
    """True when the last activity is older than the idle timeout (or unknown).

    Parameters
    ----------
    last_activity : datetime.datetime or None
        When the session was last used; a naive value is read as UTC; None means unknown.
    now : datetime.datetime or None
        The present instant (aware; default: now in UTC).
    timeout : datetime.timedelta or None
        The idle limit (default: :func:`idle_timeout`).

    Returns
    -------
    bool
        True when the session must sign in again.
    """
    if last_activity is None:
        return True
    now = now or datetime.now(UTC)
    if last_activity.tzinfo is None:
        last_activity = last_activity.replace(tzinfo=UTC)
    return now - last_activity > (timeout if timeout is not None else idle_timeout())
