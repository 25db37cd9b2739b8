"""Probe a SQLite file's write lock from outside (the kill -9 tests kill a writer only
while it is inside its transaction)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def write_locked(db_path: str | Path) -> bool:
    """True while another connection holds the database's write lock."""
    con = sqlite3.connect(db_path, timeout=0)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.rollback()
        return False
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc) or "busy" in str(exc)
    finally:
        con.close()
