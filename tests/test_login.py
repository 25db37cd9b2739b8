"""Password guessing, sessions and the setup token (issue 11 §3), on real stores.

The throttling rule is checked against its statement in ``geo/throttle.py`` and the README
(1 s after ``GEO_LOGIN_DELAY_AFTER`` failures, doubling; a lock after
``GEO_LOGIN_LOCK_AFTER``), with the clock injected: no test sleeps or times anything.
``store`` (tests/conftest.py) is a fresh store on SQLite and on PostGIS.
"""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from geo import services, sessions
from geo.auth import User
from geo.cli import main
from geo.errors import AccessDenied, TooManyAttempts
from geo.store import open_store, queries

PASSWORD = "correct horse battery"
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WRONG = "Sai tên đăng nhập hoặc mật khẩu."


@pytest.fixture(autouse=True)
def _defaults(monkeypatch):
    for name in ("GEO_LOGIN_DELAY_AFTER", "GEO_LOGIN_LOCK_AFTER", "GEO_LOGIN_WINDOW_MINUTES",
                 "GEO_LOGIN_LOCK_MINUTES", "GEO_SESSION_IDLE_MINUTES", "GEO_SESSION_MAX_HOURS"):
        monkeypatch.delenv(name, raising=False)


def _boss(store) -> User:
    return services.create_first_admin(store, "boss", PASSWORD)


def _attempt(store, name: str, password: str, at: datetime, address: str | None = None) -> str:
    """'ok', or the refusal's Vietnamese message, of one sign-in at ``at``."""
    try:
        services.authenticate(store, name, password, address=address, now=at)
    except AccessDenied as exc:
        return exc.message_vi
    return "ok"


def _actions(store) -> list[str]:
    return list(queries.audit_log(store, None)["action"])[::-1]


# -- the delay -----------------------------------------------------------------------------


def test_delay_starts_after_five_failures_and_doubles(store):
    _boss(store)
    # four failures, one a second: nothing waits yet
    for i in range(4):
        assert _attempt(store, "boss", "guess", T0 + timedelta(seconds=i)) == WRONG
    fifth = T0 + timedelta(seconds=4)
    assert _attempt(store, "boss", "guess", fifth) == WRONG
    # after the 5th failure: 1 s; even the right password is refused before that
    with pytest.raises(TooManyAttempts, match="1 giây"):
        services.authenticate(store, "boss", PASSWORD, now=fifth + timedelta(milliseconds=500))
    sixth = fifth + timedelta(seconds=1)
    assert _attempt(store, "boss", "guess", sixth) == WRONG
    # after the 6th: 2 s
    assert "giây" in _attempt(store, "boss", PASSWORD, sixth + timedelta(milliseconds=1900))
    seventh = sixth + timedelta(seconds=2)
    assert _attempt(store, "boss", "guess", seventh) == WRONG
    # after the 7th: 4 s
    assert "giây" in _attempt(store, "boss", PASSWORD, seventh + timedelta(milliseconds=3900))
    assert _attempt(store, "boss", PASSWORD, seventh + timedelta(seconds=4)) == "ok"
    actions = _actions(store)
    assert actions.count("login_failed") == 7
    assert actions.count("login_throttled") == 3
    # a success clears the name's count: the next typo does not wait
    later = seventh + timedelta(seconds=5)
    assert _attempt(store, "boss", "guess", later) == WRONG
    assert _attempt(store, "boss", PASSWORD, later) == "ok"


def test_failures_older_than_the_window_are_forgotten(store, monkeypatch):
    monkeypatch.setenv("GEO_LOGIN_DELAY_AFTER", "3")
    _boss(store)
    for i in range(3):
        _attempt(store, "boss", "guess", T0 + timedelta(seconds=i))
    assert "giây" in _attempt(store, "boss", PASSWORD, T0 + timedelta(seconds=2, milliseconds=10))
    # 15 minutes (the default window) after them, they no longer count
    assert _attempt(store, "boss", PASSWORD, T0 + timedelta(minutes=15, seconds=3)) == "ok"


# -- the lock ------------------------------------------------------------------------------


def test_lock_after_twenty_failures_until_unlocked(store, monkeypatch):
    monkeypatch.setenv("GEO_LOGIN_DELAY_AFTER", "1000")  # the delay is tested above
    boss = _boss(store)
    services.add_user(store, boss, "lan", PASSWORD, ["viewer"])
    for i in range(19):
        assert _attempt(store, "lan", "guess", T0 + timedelta(seconds=i)) == WRONG
    assert "login_locked" not in _actions(store)
    twentieth = T0 + timedelta(seconds=19)
    assert _attempt(store, "lan", "guess", twentieth) == WRONG
    assert _actions(store)[-2:] == ["login_failed", "login_locked"]
    # locked for 15 minutes: the right password is refused too
    refused = _attempt(store, "lan", PASSWORD, twentieth + timedelta(minutes=14))
    assert "tạm bị khoá" in refused and "15 phút" not in refused
    assert "1 phút" in refused
    # only an admin may unlock; the refusal is audited
    with pytest.raises(AccessDenied):
        services.unlock(store, services.load_user(store, "lan"), username="lan")  # type: ignore[arg-type]
    assert services.unlock(store, boss, username="lan") == 1
    assert _actions(store)[-1] == "login_unlock"
    assert _attempt(store, "lan", PASSWORD, twentieth + timedelta(minutes=1)) == "ok"


def test_the_lock_ends_by_itself(store, monkeypatch):
    monkeypatch.setenv("GEO_LOGIN_DELAY_AFTER", "1000")
    monkeypatch.setenv("GEO_LOGIN_LOCK_AFTER", "3")
    monkeypatch.setenv("GEO_LOGIN_LOCK_MINUTES", "10")
    _boss(store)
    for i in range(3):
        _attempt(store, "boss", "guess", T0 + timedelta(seconds=i))
    assert "tạm bị khoá" in _attempt(store, "boss", PASSWORD, T0 + timedelta(minutes=10))
    assert _attempt(store, "boss", PASSWORD, T0 + timedelta(minutes=10, seconds=3)) == "ok"


def test_an_address_is_throttled_across_names(store, monkeypatch):
    monkeypatch.setenv("GEO_LOGIN_DELAY_AFTER", "1000")
    monkeypatch.setenv("GEO_LOGIN_LOCK_AFTER", "3")
    _boss(store)
    for i, name in enumerate(["an", "binh", "chi"]):  # spraying one guess over many names
        assert _attempt(store, name, "guess", T0 + timedelta(seconds=i), "203.0.113.7") == WRONG
    later = T0 + timedelta(seconds=5)
    assert "tạm bị khoá" in _attempt(store, "boss", PASSWORD, later, "203.0.113.7")
    # the same account from another address, and from an unknown one, is not locked
    assert _attempt(store, "boss", PASSWORD, later, "198.51.100.2") == "ok"
    assert _attempt(store, "boss", PASSWORD, later) == "ok"
    boss = services.load_user(store, "boss")
    assert services.unlock(store, boss, address="203.0.113.7") == 1  # type: ignore[arg-type]
    assert _attempt(store, "boss", PASSWORD, later, "203.0.113.7") == "ok"


def test_answers_do_not_tell_whether_an_account_exists(store, monkeypatch):
    monkeypatch.setenv("GEO_LOGIN_LOCK_AFTER", "7")
    _boss(store)
    answers = {}
    for name in ("boss", "nobody-here"):
        seen = []
        # five wrong, one too early, two more wrong (the 7th locks), one while locked
        for second in (0, 1, 2, 3, 4, 4.5, 5, 7, 7.5):
            seen.append(_attempt(store, name, "guess", T0 + timedelta(seconds=second)))
        answers[name] = seen
    assert answers["boss"] == answers["nobody-here"]
    assert WRONG in answers["boss"]
    assert any("giây" in a for a in answers["boss"])
    assert "tạm bị khoá" in answers["boss"][-1]


def test_unknown_names_cost_a_password_hash(store, monkeypatch):
    _boss(store)
    checked: list[str] = []
    from geo import auth

    real = auth._safe_verify
    monkeypatch.setattr(auth, "_safe_verify", lambda h, p: checked.append(p) or real(h, p))
    _attempt(store, "nobody-here", "guess-1", T0)
    _attempt(store, "boss", "guess-2", T0)
    assert checked.count("guess-1") == checked.count("guess-2") == 1


# -- sessions ------------------------------------------------------------------------------


def test_session_resumes_until_sign_out(store):
    boss = _boss(store)
    secret = services.start_session(store, boss, now=T0)
    id_hash = sessions.digest(secret)
    resumed = services.resume_session(store, id_hash, now=T0 + timedelta(minutes=29))
    assert resumed.user is not None and resumed.user.username == "boss"
    # only the hash is stored
    with store.read() as conn:
        rows = conn.execute(select(store.tables["sessions"])).mappings().all()
    assert [r["id_hash"] for r in rows] == [id_hash] and secret not in str(list(map(dict, rows)))
    assert services.end_session(store, id_hash, now=T0 + timedelta(minutes=30))
    assert services.resume_session(store, id_hash, now=T0 + timedelta(minutes=31)).state == "ended"
    assert _actions(store)[-1] == "session_end"


def test_session_ends_when_idle_and_at_its_max_age(store, monkeypatch):
    boss = _boss(store)
    idle = sessions.digest(services.start_session(store, boss, now=T0))
    assert services.resume_session(store, idle, now=T0 + timedelta(minutes=31)).state == "idle"
    # ended for good: activity afterwards does not bring it back
    assert services.resume_session(store, idle, now=T0 + timedelta(minutes=31)).state == "ended"
    monkeypatch.setenv("GEO_SESSION_MAX_HOURS", "2")
    busy = sessions.digest(services.start_session(store, boss, now=T0))
    for minutes in range(20, 120, 20):  # active every 20 minutes
        assert services.resume_session(store, busy, now=T0 + timedelta(minutes=minutes)).user
    assert services.resume_session(store, busy, now=T0 + timedelta(minutes=120)).state == "expired"


def test_disabling_an_account_ends_its_sessions(store):
    boss = _boss(store)
    services.add_user(store, boss, "lan", PASSWORD, ["viewer"])
    lan = services.load_user(store, "lan")
    id_hash = sessions.digest(services.start_session(store, lan))  # type: ignore[arg-type]
    services.disable_user(store, boss, "lan")
    assert services.resume_session(store, id_hash).state == "ended"
    services.disable_user(store, boss, "lan", disabled=False)
    assert services.resume_session(store, id_hash).state == "ended"  # re-enabling is no resume


def test_unknown_or_forged_session_ids_sign_no_one_in(store):
    _boss(store)
    assert services.resume_session(store, sessions.digest(sessions.new_secret())).user is None
    assert not sessions.is_secret("x' + alert(1) + '")
    with pytest.raises(ValueError):
        sessions.cookie_script("x'; document.location='//evil'; '")


# -- the setup token -----------------------------------------------------------------------


def test_setup_token_is_one_time(store):
    first = services.issue_setup_token(store)
    token = services.issue_setup_token(store)  # a newer link replaces the older one
    assert first and token and first != token
    assert not services.setup_token_valid(store, first)
    with pytest.raises(AccessDenied):
        services.create_first_admin(store, "early", PASSWORD, setup_token=first)
    assert services.needs_first_admin(store)  # nothing was written
    with store.read() as conn:
        stored = conn.execute(select(store.tables["setup_tokens"])).mappings().all()
    assert [r["token_hash"] for r in stored] == [sessions.digest(token)]
    services.create_first_admin(store, "boss", PASSWORD, setup_token=token)
    assert not services.setup_token_valid(store, token)
    assert services.issue_setup_token(store) is None  # accounts exist: no new token


# -- the CLI -------------------------------------------------------------------------------


def _cli(monkeypatch, capsys, argv, stdin=""):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_users_unlock(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("GEO_LOGIN_LOCK_AFTER", "2")
    monkeypatch.delenv("GEO_USER", raising=False)
    with open_store(url) as store:
        boss = _boss(store)
        services.add_user(store, boss, "lan", PASSWORD, ["viewer"])
        for _ in range(2):
            _attempt(store, "lan", "guess", datetime.now(UTC))
        assert "tạm bị khoá" in _attempt(store, "lan", PASSWORD, datetime.now(UTC))
    code, _, err = _cli(monkeypatch, capsys, ["users", "unlock", "lan", "--user", "lan", "--database", url])
    assert code == 2 and "manage user accounts" in err
    code, out, err = _cli(monkeypatch, capsys, ["users", "unlock", "lan", "--user", "boss", "--database", url])
    assert code == 0, err
    assert "lan" in out and "lock lifted" in out
    with open_store(url) as store:
        assert _attempt(store, "lan", PASSWORD, datetime.now(UTC)) == "ok"
        log = queries.audit_log(store, None)
        entry = log[log["action"] == "login_unlock"].iloc[0]
        assert (entry["actor"], entry["object_id"]) == ("boss", "lan")
    code, _, err = _cli(monkeypatch, capsys, ["users", "unlock", "--user", "boss", "--database", url])
    assert code == 2 and "exactly one" in err
