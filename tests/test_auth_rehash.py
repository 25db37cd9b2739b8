"""Password hashes made with older parameters are upgraded at the next good sign-in
(issue 16 §4), on both backends.

The parameters the project promises are argon2id with RFC 9106's low-memory profile
(geo/auth.py, README "Security"): time cost 3, 64 MiB, 4 lanes. An account whose hash was
made with weaker ones (an older release, or a hash imported from elsewhere) keeps signing
in, and its hash is replaced by one with the current parameters, audited as
``user_rehash``; a wrong password changes nothing.
"""

from __future__ import annotations

import argon2
import pytest

from geo import services
from geo.errors import AccessDenied
from geo.store import queries
from geo.store import users as user_rows

PASSWORD = "an-old-but-good-password"
#: RFC 9106, second recommended option ("low memory"), written out from the RFC.
RFC_9106_LOW_MEMORY = {"type": argon2.Type.ID, "time_cost": 3, "memory_cost": 65536, "parallelism": 4}
#: What an older release might have stored: argon2id, far cheaper.
OLD = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def _params(digest: str) -> dict[str, object]:
    p = argon2.extract_parameters(digest)
    return {"type": p.type, "time_cost": p.time_cost, "memory_cost": p.memory_cost,
            "parallelism": p.parallelism}  # fmt: skip


def _hash_of(store, name: str) -> str:
    row = user_rows.get_user(store, name)
    assert row is not None
    return str(row["password_hash"])


def _rehashes(store, name: str) -> int:
    log = queries.audit_log(store)
    return int(((log["action"] == "user_rehash") & (log["actor"] == name)).sum())


@pytest.fixture
def old_account(store):
    boss = services.create_first_admin(store, "boss", "a-long-admin-password")
    services.add_user(store, boss, "old_officer", PASSWORD, ["viewer"])
    old = OLD.hash(PASSWORD)
    user_rows.update_user(store, "old_officer", {"password_hash": old}, actor="test", action="user_passwd")
    return store, old


def test_a_hash_with_old_parameters_is_upgraded_at_the_next_good_sign_in(old_account):
    store, old = old_account
    assert _params(old) != RFC_9106_LOW_MEMORY  # the setup is what the test says
    user = services.authenticate(store, "old_officer", PASSWORD)
    assert user.username == "old_officer"
    new = _hash_of(store, "old_officer")
    assert new != old
    assert _params(new) == RFC_9106_LOW_MEMORY
    assert argon2.PasswordHasher().verify(new, PASSWORD)  # the same password, a new hash
    assert _rehashes(store, "old_officer") == 1
    # the next sign-in works with the new hash and rewrites nothing
    services.authenticate(store, "old_officer", PASSWORD)
    assert _hash_of(store, "old_officer") == new
    assert _rehashes(store, "old_officer") == 1


def test_a_wrong_password_never_rehashes(old_account):
    store, old = old_account
    with pytest.raises(AccessDenied):
        services.authenticate(store, "old_officer", "not-the-password-at-all")
    assert _hash_of(store, "old_officer") == old
    assert _rehashes(store, "old_officer") == 0


def test_a_current_hash_is_left_alone(store):
    boss = services.create_first_admin(store, "boss", "a-long-admin-password")
    services.add_user(store, boss, "new_officer", PASSWORD, ["viewer"])
    current = _hash_of(store, "new_officer")
    assert _params(current) == RFC_9106_LOW_MEMORY
    services.authenticate(store, "new_officer", PASSWORD)
    assert _hash_of(store, "new_officer") == current
    assert _rehashes(store, "new_officer") == 0
