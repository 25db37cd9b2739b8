"""A store that cannot be reached, opened or written: a bilingual message naming the store
and exit code 2, never a traceback, and the data already stored intact (issue 11 §5,
issue 16 §4).

The full disk is SQLite's own SQLITE_FULL, raised by a page-count ceiling on the store's
connections (``PRAGMA max_page_count``) rather than by filling a real disk.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.cli import main
from geo.ingest import IngestOptions, ingest
from geo.store import _sqlite, _sqlite_bulk, open_store
from tests._files import ROWS, csv_text
from tests._signin import ensure_account

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _incident_file(path, n: int) -> None:
    rng = np.random.default_rng(3)
    pd.DataFrame({
        "mã": [f"F-{i}" for i in range(n)],
        "vĩ độ": np.round(21.02 + rng.random(n) * 0.03, 6),
        "kinh độ": np.round(105.83 + rng.random(n) * 0.03, 6),
        "loại": rng.choice(["Lấn chiếm vỉa hè", "Mái che", "Đỗ xe trái phép"], n),
        "ghi chú": ["x" * 400] * n,
        "ngày": "05/07/2025",
    }).to_csv(path, index=False)  # fmt: skip


def _cli(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "geo", *args],
        cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


@pytest.fixture
def loaded(tmp_path, wards):
    """(url, path, account, counts): a SQLite store with wards, one batch and a field user."""
    path = tmp_path / "full.sqlite"
    url = f"sqlite:///{path}"
    store = open_store(url)
    first = tmp_path / "first.csv"
    first.write_text(csv_text(ROWS), encoding="utf-8")
    ingest(first, store, IngestOptions(wards=wards), actor="setup")
    store.close()
    user = ensure_account(url, "field")
    store = open_store(url)
    counts = store.row_counts()
    store.close()
    return url, path, user, counts


def _page_ceiling(path, spare_pages: int) -> str:
    con = sqlite3.connect(path)
    try:
        (pages,) = con.execute("PRAGMA page_count").fetchone()
    finally:
        con.close()
    return f"PRAGMA max_page_count = {pages + spare_pages}"


def _counts(url: str) -> dict[str, int]:
    store = open_store(url)
    try:
        return store.row_counts()
    finally:
        store.close()


@pytest.mark.parametrize("path_taken", ["bound", "staged"])
def test_a_full_disk_during_ingest_is_a_clear_refusal(
    loaded, tmp_path, monkeypatch, capsys, path_taken
):
    url, path, user, before = loaded
    big = tmp_path / "big.csv"
    _incident_file(big, 3_000)  # about 1.5 MB of rows: more than the 64 kB left
    monkeypatch.setattr(_sqlite, "_PRAGMAS", (*_sqlite._PRAGMAS, _page_ceiling(path, 2)))
    if path_taken == "staged":  # the large-batch path: staged, then INSERT … SELECT
        monkeypatch.setattr(_sqlite_bulk, "STAGE_MIN_ROWS", 100)
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    assert main(["ingest", str(big), "--user", user]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Lỗi / Error: Không ghi được vào cơ sở dữ liệu {path}: ")
    assert f"Cannot write to the database {path}: database or disk is full." in err
    assert "Nothing was stored; the data already there is intact." in err
    assert "Traceback" not in err
    monkeypatch.setattr(_sqlite, "_PRAGMAS", _sqlite._PRAGMAS[:-1])
    assert _counts(url) == before


def test_a_full_temp_directory_while_staging_is_a_clear_refusal(
    loaded, tmp_path, monkeypatch, capsys
):
    url, _, user, before = loaded
    big = tmp_path / "big.csv"
    _incident_file(big, 3_000)
    monkeypatch.setattr(_sqlite_bulk, "STAGE_MIN_ROWS", 100)
    monkeypatch.setattr(_sqlite_bulk, "STAGE_PRAGMAS", (*_sqlite_bulk.STAGE_PRAGMAS, "max_page_count = 2"))
    monkeypatch.setenv("GEO_DATABASE_URL", url)
    assert main(["ingest", str(big), "--user", user]) == 2
    err = capsys.readouterr().err
    assert "Lỗi / Error: Không ghi được tệp tạm " in err
    assert "Cannot write the scratch file " in err and "the temp directory may be full" in err
    assert "Traceback" not in err
    assert _counts(url) == before
    scratch = Path(tempfile.gettempdir()).glob(f"{_sqlite_bulk.STAGE_PREFIX}{os.getpid()}-*")
    assert not list(scratch)  # the scratch file is gone


def test_a_store_that_cannot_be_written_is_a_clear_refusal(loaded, tmp_path):
    # The store file without write permission, whoever runs the test (root reads and
    # writes through chmod): SQLite opens it read-only.
    url, path, user, before = loaded
    small = tmp_path / "small.csv"
    small.write_text(csv_text([[f"R{r[0]}", *r[1:]] for r in ROWS]), encoding="utf-8")
    done = _cli(["ingest", str(small), "--user", user],
                GEO_DATABASE_URL=f"sqlite:///file:{path}?mode=ro&uri=true")  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"Không ghi được vào cơ sở dữ liệu {path}: attempt to write a readonly database" in (
        done.stderr
    )
    assert f"Cannot write to the database {path}: attempt to write a readonly database" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr
    assert _counts(url) == before
    assert not (tmp_path / "file:").exists() and not os.path.exists(os.path.join(REPO, "file:"))


def test_a_store_path_that_cannot_be_opened_is_a_clear_refusal(tmp_path):
    taken = tmp_path / "store.sqlite"
    taken.mkdir()  # a directory where the file should be: no user can open it as one
    done = _cli(["stats"], GEO_DATABASE_URL=f"sqlite:///{taken}")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"Lỗi / Error: Không mở được cơ sở dữ liệu {taken}: ")
    assert f"Cannot open the database {taken}: unable to open database file" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreachable_server_is_a_clear_refusal(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://geo:s3cret@127.0.0.1:{port}/geo"
    small = tmp_path / "small.csv"
    small.write_text(csv_text(ROWS), encoding="utf-8")
    for args in (["ingest", str(small), "--user", "someone"], ["stats"]):
        done = _cli(args, GEO_DATABASE_URL=url)
        assert done.returncode == 2, done.stderr
        name = f"postgresql+psycopg://geo:***@127.0.0.1:{port}/geo"
        assert done.stderr.startswith(f"Lỗi / Error: Không mở được cơ sở dữ liệu {name}: ")
        assert f"Cannot open the database {name}: " in done.stderr
        assert "Connection refused" in done.stderr
        assert "s3cret" not in done.stderr and "Traceback" not in done.stderr
