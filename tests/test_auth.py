"""Accounts, passwords, sessions and the ``python -m geo users`` command, on real stores."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app_pages._safe import md_unescape
from geo import auth, services, sessions
from geo.auth import User
from geo.cli import main
from geo.errors import AccessDenied, StorageError
from geo.store import open_store, queries
from geo.store import wards as stored_wards
from tests._signin import start_session

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"


# ``store`` (tests/conftest.py): a fresh store on SQLite and on PostGIS.


# -- passwords ---------------------------------------------------------------------------


def test_hashes_are_salted_argon2id_and_verify():
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and second.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert PASSWORD not in first
    assert auth.verify_password(first, PASSWORD)
    assert not auth.verify_password(first, PASSWORD + " ")
    assert not auth.verify_password(first, "")
    assert not auth.verify_password(None, PASSWORD)  # OIDC-only account
    assert not auth.verify_password("not-a-hash", PASSWORD)


@pytest.mark.parametrize("bad", ["short", "x" * 9, "a-long-one\x00with-nul", "y" * 2000])
def test_weak_or_odd_passwords_are_refused(bad):
    with pytest.raises(AccessDenied) as info:
        auth.hash_password(bad)
    assert " / " in str(info.value)


def test_user_names_roles_and_wards_are_checked():
    assert auth.check_username(" lan.nguyen@hanoi.gov.vn ") == "lan.nguyen@hanoi.gov.vn"
    for bad in ("", "a", "<script>", "a b", "x" * 101, "name\x00"):
        with pytest.raises(AccessDenied):
            auth.check_username(bad)
    assert auth.check_roles(["officer", "viewer", "officer"]) == ["officer", "viewer"]
    with pytest.raises(AccessDenied, match="root"):
        auth.check_roles(["root"])
    with pytest.raises(AccessDenied):
        auth.check_roles([])
    assert auth.check_wards(["Láng", "00070", "Phường Hoàn Kiếm"]) == ["00070", "00199"]
    with pytest.raises(AccessDenied, match="99999"):
        auth.check_wards(["99999"])


# -- the rights matrix (pure) ------------------------------------------------------------


def test_can_follows_roles_and_wards():
    officer = User("lan", frozenset({"officer"}), frozenset({"00199"}))
    assert auth.can(officer, "change_status", "00199")
    assert not auth.can(officer, "change_status", "00070")
    assert not auth.can(officer, "change_status", None)
    assert not auth.can(officer, "manage_users")
    both = User("mai", frozenset({"officer", "viewer"}), frozenset({"00070"}))
    assert auth.can(both, "export") and auth.can(both, "change_status", "00070")
    admin = User("boss", frozenset({"admin"}))
    assert all(auth.can(admin, a, "00070") for a in auth.ACTIONS)
    assert not any(auth.can(User("x", frozenset({"admin"}), disabled=True), a) for a in auth.ACTIONS)
    assert not auth.can(User("nobody"), "view")
    with pytest.raises(ValueError, match="fly"):
        auth.can(admin, "fly")


def test_refusal_names_the_user_the_wards_and_the_action_in_both_languages():
    officer = User("lan", frozenset({"officer"}), frozenset({"00199"}))
    with pytest.raises(AccessDenied) as info:
        auth.require(officer, "change_status", "00070")
    err = info.value
    assert isinstance(err, PermissionError)
    assert "00199" in err.message_vi and "00070" in err.message_vi and "phường" in err.message_vi
    assert "00199" in err.message_en and "00070" in err.message_en and "ward" in err.message_en
    with pytest.raises(AccessDenied, match="sign in"):
        auth.require(None, "view")


def test_public_view_is_off_by_default(monkeypatch):
    monkeypatch.delenv("GEO_PUBLIC_VIEW", raising=False)
    assert not auth.public_view_enabled()
    assert not auth.can(None, "view_public")
    for value in ("1", "true", "on"):
        monkeypatch.setenv("GEO_PUBLIC_VIEW", value)
        assert auth.can(None, "view_public")
        assert not auth.can(None, "view")
    monkeypatch.setenv("GEO_PUBLIC_VIEW", "0")
    assert not auth.can(None, "view_public")


# -- sessions ----------------------------------------------------------------------------


def test_idle_timeout_from_environment(monkeypatch):
    monkeypatch.delenv("GEO_SESSION_IDLE_MINUTES", raising=False)
    assert auth.idle_timeout() == timedelta(minutes=30)
    monkeypatch.setenv("GEO_SESSION_IDLE_MINUTES", "5")
    assert auth.idle_timeout() == timedelta(minutes=5)
    for bad in ("soon", "0", "-3"):
        monkeypatch.setenv("GEO_SESSION_IDLE_MINUTES", bad)
        with pytest.raises(AccessDenied, match="GEO_SESSION_IDLE_MINUTES"):
            auth.idle_timeout()


def test_session_expires_after_idle_time(monkeypatch):
    monkeypatch.setenv("GEO_SESSION_IDLE_MINUTES", "15")
    now = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
    assert not auth.session_expired(now - timedelta(minutes=14, seconds=59), now)
    assert auth.session_expired(now - timedelta(minutes=15, seconds=1), now)
    assert auth.session_expired(None, now)
    naive = datetime(2025, 9, 1, 7, 0)  # taken as UTC
    assert auth.session_expired(naive, now)
    assert not auth.session_expired(now - timedelta(hours=2), now, timeout=timedelta(hours=3))


# -- accounts in the store ---------------------------------------------------------------


def test_first_admin_only_in_an_empty_store(store):
    assert services.needs_first_admin(store)
    boss = services.create_first_admin(store, "boss", PASSWORD)
    assert boss.roles == {"admin"} and boss.is_admin
    assert not services.needs_first_admin(store)
    with pytest.raises(StorageError, match="first admin"):
        services.create_first_admin(store, "intruder", PASSWORD)
    assert services.load_user(store, "intruder") is None
    entry = queries.audit_log(store, 1).iloc[0]
    assert (entry["actor"], entry["action"], entry["object_id"]) == ("boss", "user_first_admin", "boss")


def test_sign_in_is_vague_about_what_was_wrong(store):
    boss = services.create_first_admin(store, "boss", PASSWORD)
    assert services.authenticate(store, "boss", PASSWORD) == boss
    with pytest.raises(AccessDenied) as wrong_password:
        services.authenticate(store, "boss", "not the password")
    with pytest.raises(AccessDenied) as unknown_user:
        services.authenticate(store, "nobody", PASSWORD)
    assert str(wrong_password.value) == str(unknown_user.value)
    actions = queries.audit_log(store)["action"].tolist()
    assert actions.count("login") == 1 and actions.count("login_failed") == 2


def test_disabled_and_oidc_only_accounts_cannot_sign_in_with_a_password(store):
    boss = services.create_first_admin(store, "boss", PASSWORD)
    services.add_user(store, boss, "lan", "lan-password-123", ["officer"], ["Láng"])
    services.add_user(store, boss, "mai@hanoi.gov.vn", None, ["viewer"])
    services.disable_user(store, boss, "lan")
    with pytest.raises(AccessDenied, match="disabled"):
        services.authenticate(store, "lan", "lan-password-123")
    with pytest.raises(AccessDenied):
        services.authenticate(store, "mai@hanoi.gov.vn", "")
    assert services.sign_in_oidc(store, "mai@hanoi.gov.vn").roles == {"viewer"}
    with pytest.raises(AccessDenied, match="lan"):
        services.sign_in_oidc(store, "lan")
    with pytest.raises(AccessDenied, match="users add"):
        services.sign_in_oidc(store, "stranger@example.com")
    services.disable_user(store, boss, "lan", disabled=False)
    assert services.authenticate(store, "lan", "lan-password-123").wards == {"00199"}


def test_user_list_never_shows_hashes(store):
    boss = services.create_first_admin(store, "boss", PASSWORD)
    services.add_user(store, boss, "lan", "lan-password-123", ["officer"], ["00199"])
    frame = services.list_users(store, boss)
    assert list(frame["username"]) == ["boss", "lan"]
    assert "password_hash" not in frame.columns
    assert not frame.astype(str).apply(lambda c: c.str.contains("argon2")).any().any()


def test_last_admin_cannot_be_removed_and_officers_need_a_ward(store):
    boss = services.create_first_admin(store, "boss", PASSWORD)
    with pytest.raises(AccessDenied, match="last active administrator"):
        services.disable_user(store, boss, "boss")
    with pytest.raises(AccessDenied, match="last active administrator"):
        services.grant(store, boss, "boss", ["viewer"], replace=True)
    with pytest.raises(AccessDenied, match="ward"):
        services.add_user(store, boss, "lan", "lan-password-123", ["officer"])
    services.add_user(store, boss, "second", "second-password-1", ["admin"])
    services.disable_user(store, boss, "boss")  # now allowed: another admin remains
    assert services.load_user(store, "boss").disabled  # type: ignore[union-attr]


def test_grant_and_revoke_change_roles_and_wards(store):
    boss = services.create_first_admin(store, "boss", PASSWORD)
    services.add_user(store, boss, "lan", "lan-password-123", ["field"])
    lan = services.grant(store, boss, "lan", ["officer"], ["Láng", "Hoàn Kiếm"])
    assert lan.roles == {"field", "officer"} and lan.wards == {"00070", "00199"}
    lan = services.revoke(store, boss, "lan", wards=["00070"])
    assert lan.wards == {"00199"}
    lan = services.revoke(store, boss, "lan", roles=["field"])
    assert lan.roles == {"officer"}
    entry = queries.audit_log(store, 1).iloc[0]
    assert entry["action"] == "user_grant" and entry["details"]["before"]["roles"] == ["field", "officer"]


def test_own_password_needs_the_current_one(store):
    boss = services.create_first_admin(store, "boss", PASSWORD)
    lan = services.add_user(store, boss, "lan", "lan-password-123", ["field"])
    with pytest.raises(AccessDenied):
        services.set_password(store, lan, "lan", "new-password-456", old_password="wrong")
    services.set_password(store, lan, "lan", "new-password-456", old_password="lan-password-123")
    assert services.authenticate(store, "lan", "new-password-456") == lan
    with pytest.raises(AccessDenied, match="manage user accounts"):
        services.set_password(store, lan, "boss", "taken-over-12345")
    services.set_password(store, boss, "lan", "reset-by-admin-1")  # an admin resets anyone's
    assert services.authenticate(store, "lan", "reset-by-admin-1") == lan


def test_hostile_user_names_are_refused_and_stored_text_stays_data(store):
    boss = services.create_first_admin(store, "boss", PASSWORD)
    for name in ("<img src=x onerror=alert(1)>", "admin'--", "a;DROP TABLE users"):
        with pytest.raises(AccessDenied):
            services.add_user(store, boss, name, "some-long-password", ["viewer"])
    # a sign-in attempt with SQL in the name is just a wrong name (parameterised queries)
    with pytest.raises(AccessDenied):
        services.authenticate(store, "' OR '1'='1", "' OR '1'='1")
    assert list(services.list_users(store, boss)["username"]) == ["boss"]


# -- the command line --------------------------------------------------------------------


def _cli(monkeypatch, capsys, argv, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_users_lifecycle(tmp_path, monkeypatch, capsys):
    db = ["--database", f"sqlite:///{tmp_path / 'cli.sqlite'}"]
    monkeypatch.delenv("GEO_USER", raising=False)
    # the first account must be an admin
    code, _, err = _cli(monkeypatch, capsys, ["users", "add", "lan", "--role", "field", "--password-stdin", *db], PASSWORD + "\n")
    assert code == 2 and "admin" in err
    code, out, _ = _cli(monkeypatch, capsys, ["users", "add", "boss", "--role", "admin", "--password-stdin", *db], PASSWORD + "\n")
    assert code == 0 and "boss" in out
    code, _, err = _cli(monkeypatch, capsys, ["users", "add", "lan", "--role", "officer", "--ward", "Láng", "--password-stdin", "--user", "boss", *db], "lan-password-123\n")
    assert code == 0, err
    # a non-admin cannot manage users
    code, _, err = _cli(monkeypatch, capsys, ["users", "list", "--user", "lan", *db])
    assert code == 2 and "lan" in err and "manage user accounts" in err
    code, out, _ = _cli(monkeypatch, capsys, ["users", "grant", "lan", "--ward", "00070", "--user", "boss", *db])
    assert code == 0 and "00070,00199" in out
    code, out, _ = _cli(monkeypatch, capsys, ["users", "disable", "lan", "--as", "boss", *db])
    assert code == 0
    monkeypatch.setenv("GEO_USER", "boss")
    code, out, _ = _cli(monkeypatch, capsys, ["users", "list", *db])
    assert code == 0
    assert "lan\tofficer\t00070,00199\tdisabled\tpassword" in out
    assert "argon2" not in out
    code, out, _ = _cli(monkeypatch, capsys, ["users", "passwd", "lan", "--password-stdin", *db], "brand-new-password\n")
    assert code == 0
    store = open_store(db[1])
    try:
        row = services.load_user(store, "lan")
        assert row is not None and row.disabled
        from geo.store.users import get_user

        assert auth.verify_password(get_user(store, "lan")["password_hash"], "brand-new-password")  # type: ignore[index]
    finally:
        store.close()


def test_cli_takes_no_password_on_the_command_line(tmp_path, monkeypatch, capsys):
    db = ["--database", f"sqlite:///{tmp_path / 'cli.sqlite'}"]
    with pytest.raises(SystemExit):
        main(["users", "add", "boss", "--role", "admin", "--password", PASSWORD, *db])
    # without a terminal and without --password-stdin it refuses rather than hang or guess
    result = subprocess.run(
        [sys.executable, "-m", "geo", "users", "add", "boss", "--role", "admin", *db],
        cwd=REPO, input="", capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 2
    assert "--password-stdin" in result.stderr
    capsys.readouterr()


# -- the app's sign-in piece (Streamlit AppTest, real store) ------------------------------

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
def signin_app(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    monkeypatch.delenv("GEO_PUBLIC_VIEW", raising=False)
    monkeypatch.delenv("GEO_SESSION_IDLE_MINUTES", raising=False)
    return AppTest.from_string(_SCRIPT.format(repo=str(REPO)), default_timeout=60), url


def _signed_in(at) -> str | None:
    for md in at.markdown:
        if md.value.startswith("SIGNED-IN:"):
            return md.value.removeprefix("SIGNED-IN:")
    return None


def _printed_token(out: str) -> str:
    """The token of the last setup link the app printed (``…/?setup=TOKEN``)."""
    links = re.findall(r"Setup URL: http://localhost:\d+/\?setup=([A-Za-z0-9_-]+)", out)
    assert links, out
    return links[-1]


def test_app_first_start_asks_for_an_admin_then_signs_in(signin_app, capsys):
    at, url = signin_app
    at.run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["Tạo tài khoản quản trị đầu tiên"]
    assert not at.text_input  # no form without the setup link
    assert "?setup=" in at.info[0].value
    token = _printed_token(capsys.readouterr().out)
    at.query_params["setup"] = token
    at.run()
    assert _signed_in(at) is None
    at.text_input(key="auth_first_name").input("boss")
    at.text_input(key="auth_first_pw").input(PASSWORD)
    at.text_input(key="auth_first_pw2").input(PASSWORD + "x")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["Hai lần nhập mật khẩu không khớp."]
    at.text_input(key="auth_first_pw2").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert _signed_in(at) == "boss"
    assert "setup" not in at.query_params  # the spent token leaves the address bar
    store = open_store(url)
    try:
        assert services.load_user(store, "boss").roles == {"admin"}  # type: ignore[union-attr]
    finally:
        store.close()


def test_app_sign_in_wrong_then_right_password(signin_app):
    at, url = signin_app
    store = open_store(url)
    services.create_first_admin(store, "boss", PASSWORD)
    at.run()
    assert [s.value for s in at.subheader] == ["Đăng nhập"]
    at.text_input(key="auth_name").input("boss")
    at.text_input(key="auth_pw").input("guess-guess-guess")
    at.button[0].click().run()
    assert [md_unescape(e.value) for e in at.error] == ["Sai tên đăng nhập hoặc mật khẩu."]
    assert _signed_in(at) is None
    at.text_input(key="auth_pw").input(PASSWORD)
    at.button[0].click().run()
    assert _signed_in(at) == "boss"
    # disabling the account signs it out at the next run
    second = services.add_user(store, services.load_user(store, "boss"), "boss2", PASSWORD, ["admin"])  # type: ignore[arg-type]
    services.disable_user(store, second, "boss")
    at.run()
    assert _signed_in(at) is None
    store.close()


def test_app_session_expires_after_the_idle_time(signin_app, monkeypatch):
    at, url = signin_app
    monkeypatch.setenv("GEO_SESSION_IDLE_MINUTES", "20")
    store = open_store(url)
    services.create_first_admin(store, "boss", PASSWORD)
    store.close()
    # sessions whose last activity was 5 and 21 minutes ago (the clock is injected)
    fresh = start_session(url, "boss", now=datetime.now(UTC) - timedelta(minutes=5))
    stale = start_session(url, "boss", now=datetime.now(UTC) - timedelta(minutes=21))
    at.session_state["auth_session"] = sessions.digest(fresh)
    at.run()
    assert _signed_in(at) == "boss"
    at.session_state["auth_session"] = sessions.digest(stale)
    at.run()
    assert _signed_in(at) is None
    assert [i.value for i in at.info] == [
        "Phiên làm việc đã hết hạn sau 20 phút không thao tác; hãy đăng nhập lại."
    ]


def test_app_public_view_shows_aggregates_only_when_on(signin_app, monkeypatch, wards):
    at, url = signin_app
    store = open_store(url)
    services.create_first_admin(store, "boss", PASSWORD)
    stored_wards.ensure(store, wards)
    store.close()
    at.run()
    assert not at.dataframe
    monkeypatch.setenv("GEO_PUBLIC_VIEW", "1")
    at.run()
    assert len(at.dataframe) == 1
    table = at.dataframe[0].value
    assert len(table) == 126
    assert set(table.columns) <= set(services.PUBLIC_COLUMNS)
    assert _signed_in(at) is None


def test_the_unknown_name_hash_can_be_made_in_the_background_once():
    """The sign-in form starts the dummy hash while the name is typed: one thread per
    process, and afterwards a sign-in finds it made."""
    from geo import auth

    auth._dummy_hash.cache_clear()
    auth._DUMMY_THREAD.clear()
    auth.prepare_dummy_hash(background=True)
    auth.prepare_dummy_hash(background=True)
    assert len(auth._DUMMY_THREAD) == 1
    auth._DUMMY_THREAD[0].join(timeout=60)
    assert auth._dummy_hash.cache_info().currsize == 1
    auth.dummy_verify("anything at all")  # uses the hash made in the thread
    assert auth._dummy_hash.cache_info().hits >= 1
