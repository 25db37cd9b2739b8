"""Accounts: sign-in, the first administrator, and user management (``manage_users``).

Passwords are hashed in :mod:`geo.auth`; the rows live in :mod:`geo.store.users`, which
audits every change with the acting administrator's name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime

import pandas as pd

from geo import auth, sessions, throttle
from geo.auth import User
from geo.errors import AccessDenied, InvalidArgument, NotFound, TooManyAttempts
from geo.services._rights import ANONYMOUS, check
from geo.store import Store, logins
from geo.store import users as user_rows
from geo.store._values import utcnow


def load_user(store: Store, username: str) -> User | None:
    """The account as a :class:`User` (re-read on every request, so a disable bites at once).

    Parameters
    ----------
    store : Store
        The store.
    username : str
        The account's user name (exact).

    Returns
    -------
    User or None
        The account, or None when there is none.
    """
    row = user_rows.get_user(store, username)
    return User.from_row(row) if row is not None else None


def needs_first_admin(store: Store) -> bool:
    """Whether the store has no account yet, so the app offers to create the first admin.

    Parameters
    ----------
    store : Store
        The store.

    Returns
    -------
    bool
        True when there is no account at all.
    """
    return user_rows.count_users(store) == 0


def create_first_admin(
    store: Store, username: str, password: str, *, setup_token: str | None = None
) -> User:
    """First start only: with no account at all, create an admin. There is no default password.

    The app's form passes the one-time ``setup_token`` from its link (spent in the same
    transaction; a wrong or spent one is refused); the CLI, run by whoever holds the
    server, passes none.

    Parameters
    ----------
    store : Store
        The store.
    username : str
        The new admin's user name.
    password : str
        The new admin's password.
    setup_token : str, optional
        The token of the printed setup link (the app); None from the CLI.

    Returns
    -------
    User
        The admin account.

    Raises
    ------
    geo.errors.AccessDenied
        The user name, password or setup token is not acceptable.
    geo.errors.StorageError
        An account exists already.
    """
    name = auth.check_username(username)
    token_hash = None
    if setup_token is not None:
        if not sessions.is_secret(setup_token):
            raise AccessDenied(
                "Mã cài đặt không đúng hoặc đã được dùng.", "The setup token is wrong or used already."
            )
        token_hash = sessions.digest(setup_token)
    digest = auth.hash_password(password)
    user_rows.insert_user(
        store, username=name, password_hash=digest, roles="admin", wards="", actor=name,
        only_if_empty=True, setup_token_hash=token_hash,
    )
    user = load_user(store, name)
    assert user is not None
    return user


def _throttled(verdict: throttle.Verdict, now: datetime) -> TooManyAttempts:
    if verdict.locked:
        minutes = max(1, -(-verdict.wait_seconds(now) // 60))
        return TooManyAttempts(
            f"Đăng nhập tạm bị khoá vì sai quá nhiều lần; hãy thử lại sau {minutes} phút "
            "hoặc nhờ quản trị viên mở khoá.",
            f"Sign-in is locked after too many failed attempts; try again in {minutes} min "
            "or ask an administrator to unlock it.",
        )
    seconds = verdict.wait_seconds(now)
    return TooManyAttempts(
        f"Đăng nhập sai nhiều lần; hãy thử lại sau {seconds} giây.",
        f"Too many failed sign-ins; try again in {seconds} s.",
    )


def authenticate(
    store: Store, username: str, password: str, *, address: str | None = None,
    now: datetime | None = None,
) -> User:
    """The signed-in user, or one vague bilingual refusal.

    Which of name or password was wrong is not revealed, and neither is whether the name
    is an account: failures are counted (and throttled, :mod:`geo.throttle`) per name
    typed and per client ``address`` alike, and an unknown name costs one password hash
    as a wrong password does. A throttled attempt is refused before any hash is checked
    and audited (``login_throttled``).

    Parameters
    ----------
    store : Store
        The store (failed, throttled and successful sign-ins are audited).
    username : str
        The user name as typed.
    password : str
        The password as typed.
    address : str, optional
        The client's address (None: unknown, then only the name is counted).
    now : datetime, optional
        The attempt's instant (default: now; tests inject it instead of sleeping).

    Returns
    -------
    User
        The signed-in account (its hash upgraded when its parameters are old).

    Raises
    ------
    geo.errors.TooManyAttempts
        Throttled or locked (:mod:`geo.throttle`), whatever the password.
    geo.errors.AccessDenied
        Unknown name, wrong password, or a disabled account.
    """
    auth.prepare_dummy_hash()
    now = now or utcnow()
    name = unicodedata.normalize("NFC", str(username or "")).strip()[:100]
    policy = throttle.Policy.from_settings()
    verdict = throttle.judge(policy, logins.recent(store, name, address, since=now - policy.window), now)
    if not verdict.allowed:
        store.audit(
            name or ANONYMOUS, "login_throttled", verdict.scope or "user", verdict.key,
            {"until": verdict.until.isoformat() if verdict.until else None,
             "locked": verdict.locked, "address": address},
        )
        raise _throttled(verdict, now)
    row = user_rows.get_user(store, name) if name else None
    if row is None:
        auth.dummy_verify(password)
        ok = False
    else:
        ok = auth.verify_password(row.get("password_hash"), password)
    if not ok:
        logins.record_failure(store, name, address, now=now, policy=policy)
        raise AccessDenied(
            "Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."
        )
    assert row is not None
    user = User.from_row(row)
    if user.disabled:
        store.audit(user.username, "login_failed", "user", user.username, {"disabled": True})
        raise AccessDenied(
            f"Tài khoản {user.username!r} đã bị khoá.", f"The account {user.username!r} is disabled."
        )
    if auth.needs_rehash(row["password_hash"]):
        user_rows.update_user(
            store, user.username, {"password_hash": auth.hash_password(password)},
            actor=user.username, action="user_rehash",
        )
    logins.forget_failures(store, user.username)
    store.audit(user.username, "login", "user", user.username, {"address": address})
    return user


def unlock(store: Store, actor: User, *, username: str | None = None, address: str | None = None) -> int:
    """Lift the sign-in lock of a user name or a client address and forget its failures
    (``manage_users``; audited ``login_unlock``). Any name may be unlocked, an account or
    not, since names are throttled alike.

    Parameters
    ----------
    store : Store
        The store.
    actor : User
        Needs ``manage_users`` (a refusal is audited).
    username : str, optional
        The user name to unlock, as typed at sign-in.
    address : str, optional
        A client address to unlock instead.

    Returns
    -------
    int
        How many locks were lifted (0 or 1); the failures are forgotten either way.

    Raises
    ------
    geo.errors.InvalidArgument
        Neither or both of ``username`` and ``address``.
    geo.errors.AccessDenied
        ``actor`` may not manage users.
    """
    if (username is None) == (address is None):
        raise InvalidArgument(
            "Cần đúng một trong tên đăng nhập hoặc địa chỉ.", "Give exactly one of a user name or an address."
        )
    scope, key = ("account", username) if username is not None else ("address", address)
    check(store, actor, "manage_users", object_type=scope, object_id=key)
    assert key is not None
    return logins.unlock(store, scope, key.strip(), actor=actor.username)


def sign_in_oidc(store: Store, identity: str) -> User:
    """Map an OIDC identity (e-mail) to a local account; there must be one, enabled.

    Parameters
    ----------
    store : Store
        The store (the sign-in is audited).
    identity : str
        The identity the OIDC provider vouched for (the e-mail used as user name).

    Returns
    -------
    User
        The local account.

    Raises
    ------
    geo.errors.AccessDenied
        There is no such account, or it is disabled.
    """
    name = str(identity or "").strip()
    user = load_user(store, name) if name else None
    if user is None or user.disabled:
        store.audit(name[:100] or ANONYMOUS, "login_failed", "user", name[:100] or None, {"oidc": True})
        raise AccessDenied(
            f"Tài khoản {name!r} chưa được cấp hoặc đã bị khoá; hãy nhờ quản trị viên thêm "
            "bằng 'python -m geo users add'.",
            f"No enabled account {name!r}; ask an administrator to add it with "
            "'python -m geo users add'.",
        )
    store.audit(user.username, "login", "user", user.username, {"oidc": True})
    return user


def _checked_grants(roles: Iterable[str], wards: Iterable[str]) -> tuple[list[str], list[str]]:
    role_list = auth.check_roles(roles)
    ward_list = auth.check_wards(wards)
    if "officer" in role_list and not ward_list:
        raise AccessDenied(
            "Cán bộ phường (officer) cần ít nhất một phường, xã (--ward).",
            "An officer needs at least one ward (--ward).",
        )
    return role_list, ward_list


def add_user(
    store: Store,
    actor: User,
    username: str,
    password: str | None,
    roles: Iterable[str],
    wards: Iterable[str] = (),
) -> User:
    """Add an account. ``password=None`` makes an OIDC-only account (no local sign-in).

    Parameters
    ----------
    store : Store
        The store.
    actor : User
        The acting user (needs ``manage_users``).
    username : str
        The new account's user name.
    password : str or None
        Its password, or None for an OIDC-only account.
    roles : iterable of str
        Its roles (:data:`geo.auth.ROLES`).
    wards : iterable of str
        Its ward codes or names (for officers).

    Returns
    -------
    User
        The new account.

    Raises
    ------
    geo.errors.AccessDenied
        No right, or an invalid name, password, role or ward.
    geo.errors.StorageError
        The account exists already.
    """
    check(store, actor, "manage_users", object_type="user", object_id=username)
    name = auth.check_username(username)
    role_list, ward_list = _checked_grants(roles, wards)
    digest = auth.hash_password(password) if password is not None else None
    user_rows.insert_user(
        store, username=name, password_hash=digest, roles=",".join(role_list),
        wards=",".join(ward_list), actor=actor.username,
    )
    user = load_user(store, name)
    assert user is not None
    return user


def list_users(store: Store, actor: User) -> pd.DataFrame:
    """Every account for the admin page, password hashes left out, after the right is checked.

    Parameters
    ----------
    store : Store
        The store.
    actor : User
        The acting user (needs ``manage_users``).

    Returns
    -------
    pandas.DataFrame
        :data:`geo.store.users.PUBLIC_COLUMNS`, sorted by user name.

    Raises
    ------
    geo.errors.AccessDenied
        The actor may not manage users.
    """
    check(store, actor, "manage_users", object_type="users")
    return user_rows.list_users(store)


def _refuse_last_admin(store: Store, username: str) -> None:
    if user_rows.active_admins(store) == [username]:
        raise AccessDenied(
            f"{username!r} là quản trị viên cuối cùng còn hoạt động; hãy cấp quyền quản trị cho "
            "người khác trước.",
            f"{username!r} is the last active administrator; make someone else an admin first.",
        )


def disable_user(store: Store, actor: User, username: str, *, disabled: bool = True) -> None:
    """Disable (or re-enable) an account; the last active admin cannot be disabled.

    Parameters
    ----------
    store : Store
        The store.
    actor : User
        The acting user (needs ``manage_users``).
    username : str
        The account to change.
    disabled : bool
        True to disable, False to enable again.

    Returns
    -------
    None
        The change is stored and audited.

    Raises
    ------
    geo.errors.AccessDenied
        No right, or it is the last active admin.
    geo.errors.NotFound
        There is no such account.
    """
    check(store, actor, "manage_users", object_type="user", object_id=username)
    if disabled:
        _refuse_last_admin(store, username)
    user_rows.update_user(
        store, username, {"disabled": disabled}, actor=actor.username,
        action="user_disable" if disabled else "user_enable",
    )


def set_password(
    store: Store, actor: User, username: str, new_password: str, *, old_password: str | None = None
) -> None:
    """An admin sets anyone's password; a user changes their own with the current one.

    Parameters
    ----------
    store : Store
        The store.
    actor : User
        The acting user: an admin, or the account's own user.
    username : str
        The account whose password changes.
    new_password : str
        The new password.
    old_password : str or None
        The current password, needed when a non-admin changes their own.

    Returns
    -------
    None
        The new hash is stored and audited.

    Raises
    ------
    geo.errors.AccessDenied
        No right, a wrong current password, or a weak new one.
    geo.errors.NotFound
        There is no such account.
    """
    if actor.username == username and not actor.is_admin:
        row = user_rows.get_user(store, username)
        if row is None or not auth.verify_password(row.get("password_hash"), old_password or ""):
            store.audit(actor.username, "denied", "user", username, {"action": "passwd"})
            raise AccessDenied("Mật khẩu hiện tại không đúng.", "The current password is wrong.")
    else:
        check(store, actor, "manage_users", object_type="user", object_id=username)
    digest = auth.hash_password(new_password)
    user_rows.update_user(store, username, {"password_hash": digest}, actor=actor.username, action="user_passwd")


def grant(
    store: Store,
    actor: User,
    username: str,
    roles: Iterable[str] = (),
    wards: Iterable[str] = (),
    *,
    replace: bool = False,
) -> User:
    """Add roles and wards to an account (``replace``: set exactly these).

    Parameters
    ----------
    store : Store
        The store.
    actor : User
        The acting user (needs ``manage_users``).
    username : str
        The account to change.
    roles : iterable of str
        Roles to add (or the full set, with ``replace``).
    wards : iterable of str
        Ward codes or names to add (or the full set, with ``replace``).
    replace : bool
        Set exactly ``roles`` and ``wards`` instead of adding to them.

    Returns
    -------
    User
        The account after the change.

    Raises
    ------
    geo.errors.AccessDenied
        No right, an invalid role or ward, no role left, or the last admin losing ``admin``.
    geo.errors.NotFound
        There is no such account.
    """
    check(store, actor, "manage_users", object_type="user", object_id=username)
    current = load_user(store, username)
    if current is None:
        raise NotFound(f"Không có tài khoản {username!r}.", f"There is no account {username!r}.")
    new_roles = list(roles) if replace else [*current.roles, *roles]
    new_wards = list(wards) if replace else [*current.wards, *wards]
    role_list, ward_list = _checked_grants(new_roles, new_wards)
    if "admin" in current.roles and "admin" not in role_list:
        _refuse_last_admin(store, username)
    user_rows.update_user(
        store, username, {"roles": ",".join(role_list), "wards": ",".join(ward_list)},
        actor=actor.username, action="user_grant",
        details={"roles": role_list, "wards": ward_list,
                 "before": {"roles": sorted(current.roles), "wards": sorted(current.wards)}},
    )
    user = load_user(store, username)
    assert user is not None
    return user


def revoke(
    store: Store, actor: User, username: str, roles: Iterable[str] = (), wards: Iterable[str] = ()
) -> User:
    """Take roles or wards away from an account.

    Parameters
    ----------
    store : Store
        The store.
    actor : User
        The acting user (needs ``manage_users``).
    username : str
        The account to change.
    roles : iterable of str
        Roles to take away.
    wards : iterable of str
        Ward codes or names to take away.

    Returns
    -------
    User
        The account after the change.

    Raises
    ------
    geo.errors.AccessDenied
        No right, no role left, or the last admin losing ``admin``.
    geo.errors.NotFound
        There is no such account.
    """
    check(store, actor, "manage_users", object_type="user", object_id=username)
    current = load_user(store, username)
    if current is None:
        raise NotFound(f"Không có tài khoản {username!r}.", f"There is no account {username!r}.")
    drop_roles = set(auth.split_codes(roles))
    drop_wards = set(auth.check_wards(wards)) if wards else set()
    return grant(
        store, actor, username,
        roles=sorted(current.roles - drop_roles), wards=sorted(current.wards - drop_wards),
        replace=True,
    )
