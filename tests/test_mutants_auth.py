"""Edges of the rights and account rules in ``geo/auth.py`` (module docstring, NIST
SP 800-63B lengths, the 2–100 character user names), pinned for mutation testing:
``python -m benchmarks.mutation --module auth``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from geo import auth
from geo.auth import User
from geo.errors import AccessDenied


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        (" officer , viewer,,officer ", ["officer", "viewer"]),
        (["b", " a ", "", "b"], ["a", "b"]),
        ((70, 199), ["199", "70"]),
    ],
)
def test_split_codes(value, expected):
    assert auth.split_codes(value) == expected


def test_user_from_a_row_never_holds_the_hash():
    row = {"username": "lan", "roles": "viewer,officer", "wards": "00199", "disabled": 0,
           "password_hash": "$argon2id$..."}  # fmt: skip
    user = User.from_row(row)
    assert user == User("lan", frozenset({"officer", "viewer"}), frozenset({"00199"}), False, True)
    oidc = User.from_row(
        {"username": "mai", "roles": "admin", "disabled": 1, "password_hash": None}
    )
    assert (oidc.has_password, oidc.disabled, oidc.wards) == (False, True, frozenset())
    assert not oidc.is_admin  # a disabled admin has no rights
    assert User("x", frozenset({"admin"})).is_admin
    assert not User("x", frozenset({"officer"})).is_admin


@pytest.mark.parametrize("name", ["ab", "x" * 100, "lan_nguyen-2+test@hà.nội"])
def test_user_names_of_two_to_a_hundred_characters_are_kept(name):
    assert auth.check_username(name) == name


def test_user_names_are_nfc_and_the_refusal_names_the_name():
    decomposed = "La\u0303n"  # a + combining tilde → one precomposed "ã" after NFC
    assert auth.check_username(decomposed) == "Lãn"
    with pytest.raises(AccessDenied) as err:
        auth.check_username("a b")
    assert (
        err.value.message_vi == "Tên đăng nhập 'a b' không hợp lệ: 2–100 ký tự chữ, số, . _ @ + -."
    )
    assert err.value.message_en == "Invalid user name 'a b': 2–100 letters, digits or . _ @ + -."


def test_role_and_ward_refusals_in_both_languages():
    with pytest.raises(AccessDenied) as err:
        auth.check_roles("root, viewer, god")
    assert err.value.message_vi == (
        "Vai trò không hợp lệ: god, root; chọn trong viewer, field, officer, admin."
    )
    assert (
        err.value.message_en
        == "Invalid role(s): god, root; choose from viewer, field, officer, admin."
    )
    with pytest.raises(AccessDenied) as err:
        auth.check_roles("")
    assert (
        err.value.message_vi
        == "Vai trò không hợp lệ: (trống); chọn trong viewer, field, officer, admin."
    )
    assert (
        err.value.message_en
        == "Invalid role(s): (none); choose from viewer, field, officer, admin."
    )
    with pytest.raises(AccessDenied) as err:
        auth.check_wards("00070, Nowhere, 99999")
    assert (
        err.value.message_vi == "Mã phường, xã không có trong danh mục chính thức: 99999, Nowhere."
    )
    assert err.value.message_en == "Ward code(s) not in the official register: 99999, Nowhere."
    assert auth.check_wards("") == []


@pytest.mark.parametrize("length", [10, 1024])
def test_password_lengths_at_the_limits_are_accepted(length):
    auth.check_password_strength("p" * length)
    assert auth.verify_password(auth.hash_password("q" * length), "q" * length)


@pytest.mark.parametrize(
    ("password", "vi", "en"),
    [
        (
            "p" * 9,
            "Mật khẩu phải dài ít nhất 10 ký tự.",
            "The password must be at least 10 characters long.",
        ),
        (
            "p" * 1025,
            "Mật khẩu dài quá 1024 ký tự.",
            "The password is longer than 1024 characters.",
        ),
        ("p" * 10 + "\x00", "Mật khẩu chứa ký tự NUL.", "The password contains a NUL character."),
    ],
)
def test_password_refusals_in_both_languages(password, vi, en):
    with pytest.raises(AccessDenied) as err:
        auth.hash_password(password)
    assert (err.value.message_vi, err.value.message_en) == (vi, en)


def test_verify_never_matches_without_a_hash_or_with_a_broken_one():
    assert auth.verify_password(None, "anything at all") is False
    assert auth.verify_password("", "") is False
    assert auth.verify_password("not-a-hash", "anything at all") is False
    good = auth.hash_password("correct horse battery")
    assert auth.verify_password(good, "correct horse battery") is True
    assert auth.verify_password(good, "correct horse batterY") is False
    assert auth.dummy_verify("whatever") is None


def test_weaker_hashes_need_a_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse battery")
    assert auth.needs_rehash(weak) is True
    assert auth.needs_rehash(auth.hash_password("correct horse battery")) is False


def test_each_role_has_exactly_its_rights():
    """The matrix of the module docstring, written out."""
    expected = {
        "viewer": {"view", "view_public", "export"},
        "field": {"view", "view_public", "upload"},
        "officer": {"view", "view_public", "export", "upload", "change_status", "moderate_reports"},
        "admin": set(auth.ACTIONS),
    }
    for role, actions in expected.items():
        user = User("u", frozenset({role}), frozenset({"00070"}))
        allowed = {a for a in auth.ACTIONS if auth.can(user, a, "00070")}
        assert allowed == actions, role


def test_admin_changes_status_in_any_ward_and_for_incidents_without_one():
    admin = User("boss", frozenset({"admin"}))
    assert auth.can(admin, "change_status", "00199") and auth.can(admin, "change_status", None)
    officer = User("lan", frozenset({"officer"}), frozenset({"00199"}))
    assert auth.can(officer, "change_status", 199) is False  # codes are text: "00199"


def test_refusals_name_the_user_roles_and_action():
    with pytest.raises(AccessDenied) as err:
        auth.require(User("lan", frozenset({"viewer", "field"})), "backup")
    assert (
        err.value.message_vi
        == "Người dùng 'lan' với vai trò Lãnh đạo (chỉ xem), Tổ công tác (tải lên) "
        "không có quyền sao lưu cơ sở dữ liệu."
    )
    assert (
        err.value.message_en
        == "User 'lan', with the role(s) Viewer (read only), Field team (upload), "
        "is not allowed to back up the database."
    )
    with pytest.raises(AccessDenied) as err:
        auth.require(User("nobody"), "view")
    assert "với vai trò (không có) không" in err.value.message_vi
    assert "with the role(s) (none), is" in err.value.message_en
    with pytest.raises(AccessDenied) as err:
        auth.require(User("mai", frozenset({"admin"}), disabled=True), "view")
    assert err.value.message_vi == "Tài khoản 'mai' đã bị khoá."
    assert err.value.message_en == "The account 'mai' is disabled."
    with pytest.raises(AccessDenied) as err:
        auth.require(None, "export")
    assert err.value.message_vi == "Cần đăng nhập để xuất dữ liệu."
    assert err.value.message_en == "You must sign in to export data."
    with pytest.raises(AccessDenied) as err:
        auth.require(User("lan", frozenset({"officer"})), "change_status")
    assert err.value.message_vi == (
        "Người dùng 'lan' chỉ được đổi trạng thái vụ việc ở phường, xã -, không được ở ?."
    )
    assert (
        err.value.message_en
        == "User 'lan' may change an incident's status only in ward(s) -, not in ?."
    )
    viewer = User("v", frozenset({"viewer"}))
    assert auth.require(viewer, "export") is viewer


def test_a_session_idle_exactly_the_limit_is_still_open():
    now = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)
    limit = timedelta(minutes=20)
    assert not auth.session_expired(now - limit, now, timeout=limit)
    assert auth.session_expired(now - limit - timedelta(microseconds=1), now, timeout=limit)
    # without ``now``: the present; a session used a moment ago is open
    assert not auth.session_expired(datetime.now(UTC) - timedelta(seconds=5), timeout=limit)
    assert auth.session_expired(datetime.now(UTC) - timedelta(hours=1), timeout=limit)


def test_a_right_of_any_of_the_users_roles_counts():
    """Rights add up over roles: viewer+field may export (viewer's) and upload (field's),
    whichever role is looked at first; an unknown role (a row from an older version)
    grants nothing and breaks nothing."""
    both = User("lan", frozenset({"viewer", "field"}))
    assert auth.can(both, "export") and auth.can(both, "upload")
    assert not auth.can(both, "backup")
    legacy = User("old", frozenset({"auditor", "viewer"}))
    assert auth.can(legacy, "view") and not auth.can(legacy, "upload")


def test_unknown_action_lists_the_known_ones():
    with pytest.raises(ValueError) as err:
        auth.can(User("x", frozenset({"viewer"})), "fly")
    assert str(err.value) == "unknown action 'fly'; known: " + ", ".join(auth.ACTIONS)


def test_ward_refusal_lists_the_officers_wards_and_others_get_the_role_refusal():
    officer = User("lan", frozenset({"officer"}), frozenset({"00073", "00070"}))
    with pytest.raises(AccessDenied) as err:
        auth.require(officer, "change_status", "00199")
    assert err.value.message_en == (
        "User 'lan' may change an incident's status only in ward(s) 00070, 00073, not in 00199."
    )
    # an action the user's roles lack altogether is the role refusal, never the ward one
    with pytest.raises(AccessDenied) as err:
        auth.require(officer, "manage_users")
    assert err.value.message_en == (
        "User 'lan', with the role(s) Ward officer (status changes), is not allowed to manage user accounts."
    )
    # the roles by their names, never the codes (an officer read "vai trò: officer")
    assert "officer" not in err.value.message_vi and "Cán bộ phường (đổi trạng thái)" in err.value.message_vi
    viewer = User("vy", frozenset({"viewer"}), frozenset({"00070"}))
    with pytest.raises(AccessDenied) as err:  # ward-scoped, but no role of theirs has it
        auth.require(viewer, "change_status", "00070")
    assert err.value.message_en == (
        "User 'vy', with the role(s) Viewer (read only), is not allowed to change an incident's status."
    )


def test_split_codes_drops_blank_items():
    assert auth.split_codes("00070, ,00073,   ,") == ["00070", "00073"]
    assert auth.split_codes(["00070", "  ", ""]) == ["00070"]
