"""Sign-in for the app: first-start admin, local accounts, optional OIDC, idle timeout.

The router calls :func:`signed_in_user` once per run, before ``st.navigation(...).run()``::

    user = signed_in_user()
    if user is None:
        st.stop()          # the forms (and the public view, if on) are already drawn

Rights are not enforced here: pages pass :func:`current_user` to :mod:`geo.services`,
which refuses what the role does not allow. This module only establishes who is acting.

* **First start** (no account in the store): a form creates the first administrator.
  There is no default password.
* **Local accounts**: user name + password, checked against the argon2 hash in the store.
* **OIDC** (optional): when ``.streamlit/secrets.toml`` has an ``[auth]`` section, a button
  signs in through ``st.login()`` (needs ``Authlib>=1.3.2``). The identity's e-mail must
  match an account made with ``python -m geo users add EMAIL --role … --oidc``.
* **Idle timeout**: after ``GEO_SESSION_IDLE_MINUTES`` (default 30) without a rerun the
  session is signed out. The account is re-read on every run, so disabling it or
  changing its wards takes effect at the user's next click.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import streamlit as st

from app_pages._common import lang, t
from app_pages._common import store as default_store
from app_pages._safe import md_plain
from geo import auth, services
from geo.auth import User
from geo.errors import GeoError

if TYPE_CHECKING:
    from geo.store import Store

USER_KEY = "auth_user"
LAST_KEY = "auth_last"
OIDC_KEY = "auth_oidc"
EXPIRED_KEY = "auth_expired"


def oidc_configured() -> bool:
    """``[auth]`` is in the app's secrets (``st.login`` is usable)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def current_user() -> User | None:
    """The user :func:`signed_in_user` established in this run (None when signed out)."""
    user = st.session_state.get("_auth_current")
    return user if isinstance(user, User) else None


def _remember(user: User, now: datetime, *, oidc: bool = False) -> None:
    st.session_state[USER_KEY] = user.username
    st.session_state[LAST_KEY] = now
    st.session_state[OIDC_KEY] = oidc
    st.session_state.pop(EXPIRED_KEY, None)


def _forget() -> None:
    for key in (USER_KEY, LAST_KEY, OIDC_KEY, "_auth_current"):
        st.session_state.pop(key, None)


def sign_out() -> None:
    oidc = bool(st.session_state.get(OIDC_KEY))
    _forget()
    if oidc:
        st.logout()  # removes the identity cookie and starts a new session
    else:
        st.rerun()


def _error(exc: GeoError) -> None:
    # the message may name the user: markdown-escape it so it renders as plain text
    st.error(md_plain(exc.message(lang())))


def _sidebar(user: User) -> None:
    roles = ", ".join(t(f"role.{r}") for r in sorted(user.roles))
    st.sidebar.caption(t("auth.signed_in_as", user=user.username, roles=roles))
    if user.wards:
        st.sidebar.caption(t("auth.wards", wards=", ".join(sorted(user.wards))))
    if st.sidebar.button(t("auth.sign_out"), key="auth_sign_out"):
        sign_out()


def _first_admin_form(store: Store, now: datetime) -> None:
    st.subheader(t("auth.first_title"))
    st.caption(t("auth.first_caption", n=auth.MIN_PASSWORD_CHARS))
    with st.form("auth_first_admin"):
        username = st.text_input(t("auth.username"), key="auth_first_name")
        password = st.text_input(t("auth.password"), type="password", key="auth_first_pw")
        repeat = st.text_input(t("auth.password_repeat"), type="password", key="auth_first_pw2")
        submitted = st.form_submit_button(t("auth.first_submit"))
    if not submitted:
        return
    if password != repeat:
        st.error(t("auth.mismatch"))
        return
    try:
        user = services.create_first_admin(store, username, password)
    except GeoError as exc:
        _error(exc)
        return
    _remember(user, now)
    st.rerun()


def _sign_in_form(store: Store, now: datetime) -> None:
    st.subheader(t("auth.title"))
    if st.session_state.get(EXPIRED_KEY):
        minutes = auth.idle_timeout().total_seconds() / 60
        st.info(t("auth.expired", minutes=f"{minutes:g}"))
    with st.form("auth_sign_in"):
        username = st.text_input(t("auth.username"), key="auth_name")
        password = st.text_input(t("auth.password"), type="password", key="auth_pw")
        submitted = st.form_submit_button(t("auth.submit"))
    if submitted:
        try:
            user = services.authenticate(store, username, password)
        except GeoError as exc:
            _error(exc)
        else:
            _remember(user, now)
            st.rerun()
    if oidc_configured() and st.button(t("auth.oidc"), key="auth_oidc_login"):
        st.login()


def _public_view(store: Store) -> None:
    if not auth.public_view_enabled():
        return
    st.divider()
    st.subheader(t("auth.public_title"))
    st.caption(t("auth.public_caption"))
    try:
        stats = services.public_ward_stats(store, None)
    except GeoError as exc:
        _error(exc)
        return
    st.dataframe(stats, hide_index=True, use_container_width=True)


def signed_in_user(store: Store | None = None) -> User | None:
    """The signed-in :class:`User`, drawing the sign-in (or first-admin) form when needed.

    Returns None when nobody is signed in; the caller then stops the run.
    """
    store = store if store is not None else default_store()
    now = datetime.now(UTC)
    st.session_state.pop("_auth_current", None)
    name = st.session_state.get(USER_KEY)
    if name:
        if auth.session_expired(st.session_state.get(LAST_KEY), now):
            oidc = bool(st.session_state.get(OIDC_KEY))
            _forget()
            st.session_state[EXPIRED_KEY] = True
            if oidc:
                st.logout()
        else:
            user = services.load_user(store, str(name))
            if user is not None and not user.disabled:
                st.session_state[LAST_KEY] = now
                st.session_state["_auth_current"] = user
                _sidebar(user)
                return user
            _forget()

    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        identity = st.user.get("email") or st.user.get("preferred_username") or ""
        try:
            user = services.sign_in_oidc(store, str(identity))
        except GeoError as exc:
            _error(exc)
            if st.button(t("auth.sign_out"), key="auth_oidc_out"):
                st.logout()
            return None
        _remember(user, now, oidc=True)
        st.session_state["_auth_current"] = user
        _sidebar(user)
        return user

    try:
        first = services.needs_first_admin(store)
    except GeoError as exc:
        _error(exc)
        return None
    if first:
        _first_admin_form(store, now)
    else:
        _sign_in_form(store, now)
        _public_view(store)
    return None
