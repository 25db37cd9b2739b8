"""Test helper: sign a session in as a real account of a real store (no bypass in the app).

AppTest: ``sign_in_apptest(at, store_url, "admin")`` before ``at.run()``.
Browser: ``sign_in_browser(page, url, "admin")`` fills the sign-in form of a running app.
Both create the account in the store first when it does not exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geo import services, sessions
from geo.auth import User
from geo.store import open_store

PASSWORD = "test-password-0123"
_BOOT = "bootstrap_admin"


def ensure_account(store_url: str, role: str = "admin", wards: tuple[str, ...] = ()) -> str:
    """The user name of an enabled account with ``role`` (created on first use)."""
    name = f"test_{role}" + ("_" + "_".join(wards) if wards else "")
    store = open_store(store_url)
    try:
        if services.needs_first_admin(store):
            services.create_first_admin(store, _BOOT, PASSWORD)
        if services.load_user(store, name) is None:
            boss = User(_BOOT, frozenset({"admin"}))
            services.add_user(store, boss, name, PASSWORD, [role], list(wards))
    finally:
        store.close()
    return name


def start_session(store_url: str, name: str, **kwargs: Any) -> str:
    """A real session of ``name`` in the store (as a sign-in makes); returns its id."""
    store = open_store(store_url)
    try:
        user = services.load_user(store, name)
        assert user is not None, name
        return services.start_session(store, user, **kwargs)
    finally:
        store.close()


def sign_in_apptest(at: Any, store_url: str, role: str = "admin", wards: tuple[str, ...] = ()) -> str:
    """Give the AppTest's session a real signed-in session of an account with ``role``."""
    name = ensure_account(store_url, role, wards)
    at.session_state["auth_user"] = name
    at.session_state["auth_session"] = sessions.digest(start_session(store_url, name))
    return name


def sign_in_browser(page: Any, base_url: str, store_url: str, role: str = "admin",
                    wards: tuple[str, ...] = (), timeout_ms: float = 60_000) -> str:
    """Open ``base_url`` and sign in through the form, as a person would."""
    name = ensure_account(store_url, role, wards)
    page.goto(base_url, wait_until="domcontentloaded")
    user_box = page.get_by_label("Tên đăng nhập")
    user_box.wait_for(timeout=timeout_ms)
    user_box.fill(name)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text(f"Đã đăng nhập: {name}").wait_for(timeout=timeout_ms)
    return name


def open_page(page: str, url: str, monkeypatch: Any, role: str = "viewer",
              wards: tuple[str, ...] = (), **params: str) -> Any:
    """An AppTest of the whole app on ``url``, signed in as ``role`` (any of
    :data:`geo.auth.ROLES`; an officer of ``wards``), switched to ``page`` with ``params``
    in the URL, run once and checked for exceptions and errors."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO

    monkeypatch.setenv("GEO_DATABASE_URL", url)
    monkeypatch.delenv("GEO_BOUNDARIES", raising=False)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.session_state["test_user"] = sign_in_apptest(at, url, role, wards)  # sign-in comes first
    for key, value in params.items():
        at.query_params[key] = value
    if Path(page).stem != "map":
        # the map is the default page and runs without switching; before the first run
        # AppTest finds a page by its file's name, and "map" is the url_path of the hidden
        # page that sends a typed /map to "/", so every run would go through that switch
        # (which a browser never does: it asks for the page it is on)
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at
