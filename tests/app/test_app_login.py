"""The sign-in form under password guessing, and the first-admin form behind the setup link
(issue 11 §3), as AppTests of ``app_pages/_auth.py`` on real SQLite stores."""

from __future__ import annotations

import pytest

from geo import services, sessions
from geo.store import open_store, queries
from tests.conftest import REPO

PASSWORD = "correct horse battery"
WRONG = "Sai tên đăng nhập hoặc mật khẩu."


@pytest.fixture(autouse=True)
def _defaults(monkeypatch):
    for name in ("GEO_LOGIN_DELAY_AFTER", "GEO_LOGIN_LOCK_AFTER", "GEO_LOGIN_WINDOW_MINUTES",
                 "GEO_LOGIN_LOCK_MINUTES"):
        monkeypatch.delenv(name, raising=False)


_SCRIPT = """
import sys
sys.path.insert(0, {repo!r})
import streamlit as st
from app_pages._auth import signed_in_user
user = signed_in_user()
if user is None:
    st.stop()
st.markdown("SIGNED-IN:" + user.username)
"""


@pytest.fixture
def app(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    monkeypatch.delenv("GEO_PUBLIC_VIEW", raising=False)
    return AppTest.from_string(_SCRIPT.format(repo=str(REPO)), default_timeout=60), url


def _signed_in(at) -> str | None:
    found = [m.value for m in at.markdown if m.value.startswith("SIGNED-IN:")]
    return found[0].removeprefix("SIGNED-IN:") if found else None


def _sign_in(at, name: str, password: str) -> list[str]:
    at.text_input(key="auth_name").input(name)
    at.text_input(key="auth_pw").input(password)
    at.button[0].click().run()
    assert not at.exception
    return [e.value.replace("\\", "") for e in at.error]


def test_app_sign_in_form_shows_the_lock_alike_for_any_name(app, monkeypatch):
    at, url = app
    monkeypatch.setenv("GEO_LOGIN_DELAY_AFTER", "1000")
    monkeypatch.setenv("GEO_LOGIN_LOCK_AFTER", "2")
    with open_store(url) as store:
        services.create_first_admin(store, "boss", PASSWORD)
    at.run()
    answers = {}
    for name in ("boss", "nobody-here"):
        seen = [_sign_in(at, name, "guess"), _sign_in(at, name, "guess")]
        seen.append(_sign_in(at, name, PASSWORD))  # right password for boss: still locked
        answers[name] = seen
        assert _signed_in(at) is None
    assert answers["boss"] == answers["nobody-here"]
    assert answers["boss"][0] == [WRONG]
    assert answers["boss"][2] == [
        "Đăng nhập tạm bị khoá vì sai quá nhiều lần; hãy thử lại sau 15 phút hoặc nhờ quản "
        "trị viên mở khoá."
    ]
    with open_store(url) as store:
        services.unlock(store, services.load_user(store, "boss"), username="boss")  # type: ignore[arg-type]
    assert _sign_in(at, "boss", PASSWORD) == []
    assert _signed_in(at) == "boss"


def test_app_first_admin_form_only_through_the_printed_link(app, capsys):
    at, url = app
    at.run()
    out = capsys.readouterr().out
    assert "Setup URL: http://localhost:8501/?setup=" in out
    token = out.split("?setup=")[1].split()[0]
    assert not at.text_input and _signed_in(at) is None
    # the page points at the console line by its printed label, commands as code (plain
    # quotes let the browser break 'python -m' at its hyphen)
    (hint,) = at.info
    assert "`Setup URL:`" in hint.value and "`python -m geo users add TÊN --role admin`" in hint.value
    # a made-up token, and a link printed by an earlier start, open nothing
    for wrong in (sessions.new_secret(), "not-a-token"):
        at.query_params["setup"] = wrong
        at.run()
        assert not at.text_input
        assert "Mã cài đặt trong đường dẫn không đúng" in at.error[0].value
    at.query_params["setup"] = token
    at.run()
    at.text_input(key="auth_first_name").input("boss")
    at.text_input(key="auth_first_pw").input(PASSWORD)
    at.text_input(key="auth_first_pw2").input(PASSWORD)
    at.button[0].click().run()
    assert _signed_in(at) == "boss"
    with open_store(url) as store:
        assert not services.setup_token_valid(store, token)  # spent
        log = queries.audit_log(store, None)
        assert "user_first_admin" in set(log["action"])


def test_app_sign_in_form_starts_the_unknown_name_hash_before_any_click(app):
    """Showing the sign-in form starts the unknown-name hash in the background, so the
    first sign-in of a freshly started app does not wait for it after the click."""
    from geo import auth

    at, url = app
    store = open_store(url)
    services.create_first_admin(store, "chief", PASSWORD)
    store.close()
    auth._dummy_hash.cache_clear()
    auth._DUMMY_THREAD.clear()
    at.run()
    assert not at.exception
    assert at.text_input(key="auth_name") is not None  # the sign-in form, nothing typed
    assert len(auth._DUMMY_THREAD) == 1
    auth._DUMMY_THREAD[0].join(timeout=60)
    assert auth._dummy_hash.cache_info().currsize == 1


def test_the_sidebar_names_an_officers_wards_not_their_codes(app):
    """An officer of 00070 read "Phường phụ trách: 00070" under their name (seen in Chromium
    on a fresh clone, session 25): the wards are named as the layer in use names them."""
    from tests._signin import sign_in_apptest

    at, url = app
    at.session_state["lang"] = "vi"
    sign_in_apptest(at, url, "officer", ("00070", "00004"))
    at.run()
    assert not at.exception, at.exception
    captions = [c.value for c in at.sidebar.caption]
    assert "Phường phụ trách: Phường Ba Đình, Phường Hoàn Kiếm" in captions, captions
    assert not any("00070" in c for c in captions if c.startswith("Phường phụ trách"))
