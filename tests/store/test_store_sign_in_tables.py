"""Schema 4 (issue 11 §3): a store made before it gains the sign-in tables on opening,
with everything it held unchanged, on SQLite and PostGIS."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text

from geo import services, sessions
from geo.errors import AccessDenied
from geo.store import open_store
from geo.store._schema import SCHEMA_VERSION, SIGN_IN_TABLES

PASSWORD = "correct horse battery"


def test_a_version_5_store_gains_the_sign_in_tables(store_url):
    store = open_store(store_url)
    services.create_first_admin(store, "boss", PASSWORD)
    before = {k: v for k, v in store.row_counts().items() if k not in SIGN_IN_TABLES}
    with store.engine.begin() as conn:
        for name in SIGN_IN_TABLES:
            conn.exec_driver_sql(f"DROP TABLE {name}")
        conn.exec_driver_sql("UPDATE schema_version SET version = 5 WHERE version >= 6")
    store.close()

    store = open_store(store_url)
    try:
        assert store.schema_version() == SCHEMA_VERSION
        with store.read() as conn:
            names = set(inspect(conn).get_table_names())
            described = conn.execute(
                text("SELECT description FROM schema_version WHERE version = 6")
            ).scalar()
        assert set(SIGN_IN_TABLES) <= names
        assert "sign-in" in str(described)
        after = store.row_counts()
        assert {k: v for k, v in after.items() if k in before and k != "schema_version"} == {
            k: v for k, v in before.items() if k != "schema_version"
        }
        # and they work: a failure is counted, a session kept
        with pytest.raises(AccessDenied, match="Sai tên"):
            services.authenticate(store, "boss", "guess", now=datetime.now(UTC))
        user = services.authenticate(store, "boss", PASSWORD)
        secret = services.start_session(store, user)
        assert services.resume_session(store, sessions.digest(secret)).user == user
    finally:
        store.close()
