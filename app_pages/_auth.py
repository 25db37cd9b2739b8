"""Sign-in for the app: first-start admin, local accounts, optional OIDC, lasting sessions.

The router calls :func:`signed_in_user` once per run, before ``st.navigation(...).run()``::

    user = signed_in_user(forms=False)
    ...                    # st.navigation(...): which page was asked for
    if user is None and not public:
        sign_in_forms()    # the forms (and the public view, if on)
        st.stop()

Rights are not enforced here: pages pass :func:`current_user` to :mod:`geo.services`,
which refuses what the role does not allow. This module only establishes who is acting.

* **First start** (no account in the store): the first run prints a one-time setup link
  (``http://localhost:8501/?setup=…``) in the console, under the URL ``streamlit run``
  printed; the first-admin form opens only through it. There is no default password.
  ``python -m geo users add NAME --role admin`` still works without a link.
* **Local accounts**: user name + password, checked against the argon2 hash in the store,
  throttled per name and per client address (:mod:`geo.throttle`).
* **OIDC** (optional): when ``.streamlit/secrets.toml`` has an ``[auth]`` section, a button
  signs in through ``st.login()`` (needs ``Authlib>=1.3.2``). The identity's e-mail must
  match an account made with ``python -m geo users add EMAIL --role … --oidc``.
* **Sessions** (:mod:`geo.sessions`): a sign-in starts a server-side session whose random
  id the browser keeps in the ``geo_session`` cookie (``SameSite=Strict``, ``Secure`` over
  HTTPS), set by a one-line script (``st.html``; Streamlit offers no other way to set a
  cookie) and read back from ``st.context.cookies`` when a reload or a new tab starts a
  new Streamlit session. Every run re-reads the session and the account, so sign-out in
  one tab, ``users disable``, ``GEO_SESSION_IDLE_MINUTES`` idle or ``GEO_SESSION_MAX_HOURS``
  end it everywhere at the next click.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import streamlit as st

from app_pages._common import lang, t, wards
from app_pages._common import store as default_store
from app_pages._safe import md_plain
from geo import auth, services, sessions
from geo.auth import User
from geo.errors import GeoError

if TYPE_CHECKING:
    from geo.store import Store

USER_KEY = "auth_user"
SESSION_KEY = "auth_session"
OIDC_KEY = "auth_oidc"
EXPIRED_KEY = "auth_expired"
_COOKIE_SET = "_auth_cookie_set"
_COOKIE_CLEAR = "_auth_cookie_clear"
_COOKIE_DEAD = "_auth_cookie_dead"

#: Store URLs whose setup link this process has printed (one link per process and store).
_ANNOUNCED: set[str] = set()


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


def _remember(user: User, id_hash: str, *, oidc: bool = False) -> None:
    st.session_state[USER_KEY] = user.username
    st.session_state[SESSION_KEY] = id_hash
    st.session_state[OIDC_KEY] = oidc
    st.session_state.pop(EXPIRED_KEY, None)


def _start(store: Store, user: User, *, oidc: bool = False) -> None:
    """A new session for ``user``: remembered in this tab, its id written to the cookie."""
    secret = services.start_session(store, user)
    _remember(user, sessions.digest(secret), oidc=oidc)
    st.session_state[_COOKIE_SET] = secret


def _forget() -> None:
    for key in (USER_KEY, SESSION_KEY, OIDC_KEY, "_auth_current"):
        st.session_state.pop(key, None)


def _cookie_ops() -> None:
    """Write or clear the session cookie when a sign-in or sign-out asked for it."""
    secret = st.session_state.pop(_COOKIE_SET, None)
    clear = st.session_state.pop(_COOKIE_CLEAR, False)
    if secret is None and not clear:
        return
    max_age = int(sessions.max_age().total_seconds())
    st.html(sessions.cookie_script(secret, max_age_s=max_age), unsafe_allow_javascript=True)


def _cookie_session() -> str | None:
    """The hash of the session id in the browser's cookie (as sent when this tab connected)."""
    try:
        value = st.context.cookies.get(sessions.COOKIE_NAME)
    except Exception:  # no browser connection (a bare script run)
        return None
    if not sessions.is_secret(value):
        return None
    id_hash = sessions.digest(str(value))
    return None if st.session_state.get(_COOKIE_DEAD) == id_hash else id_hash


def _client_address() -> str | None:
    """The client's address for throttling (None on localhost, where Streamlit gives none)."""
    try:
        address = st.context.ip_address
    except Exception:
        return None
    return address if isinstance(address, str) and address else None


def _oidc_signed_in() -> bool:
    """Whether Streamlit's OIDC identity cookie is set (a session resumed from our cookie
    after a reload may have begun with ``st.login``: its sign-out must clear both)."""
    return bool(st.session_state.get(OIDC_KEY)) or (
        oidc_configured() and bool(getattr(st.user, "is_logged_in", False))
    )


def sign_out(store: Store | None = None) -> None:
    """End the session (every tab holding its cookie), clear the cookie, rerun."""
    store = store if store is not None else default_store()
    id_hash = st.session_state.get(SESSION_KEY)
    oidc = _oidc_signed_in()
    if id_hash:
        services.end_session(store, str(id_hash))
        st.session_state[_COOKIE_DEAD] = id_hash
    _forget()
    st.session_state[_COOKIE_CLEAR] = True
    if oidc:
        st.logout()  # removes the identity cookie and starts a new session
    else:
        st.rerun()


def _error(exc: GeoError) -> None:
    # the message may name the user: markdown-escape it so it renders as plain text
    st.error(md_plain(exc.message(lang())))


def _ward_names(codes: list[str]) -> list[str]:
    """The wards' names in the layer in use (an officer knows "Phường Hoàn Kiếm", not
    "00070"); a code the layer lacks is shown as itself."""
    layer = wards()
    names = dict(zip(layer["code"].astype(str), layer["name"].astype(str), strict=True))
    return [names.get(code, code) for code in codes]


def _sidebar(store: Store, user: User) -> None:
    roles = ", ".join(t(f"role.{r}") for r in sorted(user.roles))
    st.sidebar.caption(t("auth.signed_in_as", user=user.username, roles=roles))
    if user.wards:
        st.sidebar.caption(t("auth.wards", wards=", ".join(_ward_names(sorted(user.wards)))))
    if st.sidebar.button(t("auth.sign_out"), key="auth_sign_out"):
        sign_out(store)


def setup_link(token: str) -> str:
    """The first-admin link as printed: this server's port and base path, ``?setup=``."""
    port = st.get_option("server.port")
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    address = str(st.get_option("server.address") or "")
    host = address if address and address not in {"0.0.0.0", "::"} else "localhost"
    return f"http://{host}:{port}/{base + '/' if base else ''}?setup={token}"


def _announce_setup_link(store: Store) -> None:
    """Print a fresh setup link once per process for an accountless store, in the console
    where ``streamlit run`` printed its URL (as Jupyter prints its token link)."""
    if store.url in _ANNOUNCED:
        return
    _ANNOUNCED.add(store.url)
    token = services.issue_setup_token(store)
    if token is not None:
        print(
            "\n  Tạo tài khoản quản trị đầu tiên / Create the first administrator:\n"
            f"  Setup URL: {setup_link(token)}\n",
            flush=True,
        )


def _first_admin_form(store: Store) -> None:
    _announce_setup_link(store)
    st.subheader(t("auth.first_title"))
    token = st.query_params.get("setup")
    if not token:
        st.info(t("auth.setup_needed"))
        return
    if not services.setup_token_valid(store, token):
        st.error(t("auth.setup_bad"))
        return
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
        user = services.create_first_admin(store, username, password, setup_token=token)
    except GeoError as exc:
        _error(exc)
        return
    del st.query_params["setup"]  # spent: not left in the address bar or the history
    _start(store, user)
    st.rerun()


def _sign_in_form(store: Store) -> None:
    st.subheader(t("auth.title"))
    if st.session_state.get(EXPIRED_KEY):
        minutes = auth.idle_timeout().total_seconds() / 60
        st.info(t("auth.expired", minutes=minutes))
    auth.prepare_dummy_hash(background=True)  # while the name is typed, not after the click
    with st.form("auth_sign_in"):
        username = st.text_input(t("auth.username"), key="auth_name")
        password = st.text_input(t("auth.password"), type="password", key="auth_pw")
        submitted = st.form_submit_button(t("auth.submit"))
    if submitted:
        try:
            user = services.authenticate(store, username, password, address=_client_address())
        except GeoError as exc:
            _error(exc)
        else:
            _start(store, user)
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


def _resume(store: Store, now: datetime) -> User | None:
    """The user of this tab's session, or of the cookie's when the tab is new."""
    id_hash = st.session_state.get(SESSION_KEY) or _cookie_session()
    if id_hash is None:
        return None
    resumed = services.resume_session(store, str(id_hash), now=now)
    if resumed.user is not None:
        _remember(resumed.user, str(id_hash), oidc=bool(st.session_state.get(OIDC_KEY)))
        return resumed.user
    oidc = _oidc_signed_in()
    _forget()
    st.session_state[_COOKIE_DEAD] = id_hash
    st.session_state[_COOKIE_CLEAR] = True
    if resumed.state == "idle":
        st.session_state[EXPIRED_KEY] = True
    if oidc:
        st.logout()
    return None


def sign_in_forms(store: Store | None = None) -> None:
    """The first-admin form (no account yet) or the sign-in form, and the public view."""
    store = store if store is not None else default_store()
    try:
        first = services.needs_first_admin(store)
    except GeoError as exc:
        _error(exc)
        return
    if first:
        _first_admin_form(store)
    else:
        _sign_in_form(store)
        _public_view(store)


def signed_in_user(store: Store | None = None, *, forms: bool = True) -> User | None:
    """The signed-in :class:`User`, drawing the sign-in (or first-admin) form when needed.

    Returns None when nobody is signed in; the caller then stops the run. ``forms=False``
    leaves the forms to the caller (:func:`sign_in_forms`), which knows the page: a
    resident opening the public lookup is not met by the staff's sign-in form.
    """
    store = store if store is not None else default_store()
    now = datetime.now(UTC)
    st.session_state.pop("_auth_current", None)
    user = _resume(store, now)
    if user is None and oidc_configured() and getattr(st.user, "is_logged_in", False):
        identity = st.user.get("email") or st.user.get("preferred_username") or ""
        try:
            user = services.sign_in_oidc(store, str(identity))
        except GeoError as exc:
            _error(exc)
            if st.button(t("auth.sign_out"), key="auth_oidc_out"):
                st.logout()
            return None
        _start(store, user, oidc=True)
    _cookie_ops()
    if user is not None:
        st.session_state["_auth_current"] = user
        _sidebar(store, user)
        return user
    if forms:
        sign_in_forms(store)
    return None
