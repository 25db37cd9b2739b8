"""One report date for a whole file (issue 11 §6): ward sheets dated in their title or
name, with no date per row.

Rule: rows without a date of their own take the file's date, Hà Nội midnight, flagged
``date_from_file``; rows with a date keep theirs; without a file date such rows are
rejected ``missing_date`` and the CLI says to add ``--date``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from geo.errors import InvalidArgument
from geo.ingest import IngestOptions, ingest, parse_file_date, preview
from geo.store import open_store, queries
from tests._files import HEADER, ROWS, csv_text
from tests._signin import ensure_account

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATE = HEADER.index("Ngày phát hiện")
#: The ward's sheet without its date column.
UNDATED_HEADER = [h for h in HEADER if h != "Ngày phát hiện"]
UNDATED_ROWS = [tuple(v for i, v in enumerate(r) if i != DATE) for r in ROWS]
#: 5 July 2025, 00:00 in Hà Nội (UTC+7).
FIVE_JULY_UTC = pd.Timestamp("2025-07-04 17:00", tz="UTC")


@pytest.fixture
def undated(tmp_path):
    path = tmp_path / "bao_cao_phuong_05-07-2025.csv"
    path.write_text(csv_text(UNDATED_ROWS, UNDATED_HEADER), encoding="utf-8")
    return path


def test_the_file_date_dates_every_row_of_a_sheet_without_dates(undated, wards, tmp_path):
    p = preview(undated, IngestOptions(wards=wards, file_date=dt.date(2025, 7, 5)))
    s = p.summary()
    assert (s["accepted"], s["rejected"]) == (3, 0)
    assert s["flags"]["date_from_file"] == 3 and s["date_formats"] == {"file_date": 3}
    assert p.rows["reported_at"].tolist() == [FIVE_JULY_UTC] * 3
    assert p.rows["flags"].str.contains("date_from_file").all()
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        done = ingest(undated, store, IngestOptions(wards=wards, file_date=dt.date(2025, 7, 5)),
                      actor="t")  # fmt: skip
        stored = queries.incidents(store)
        assert stored["reported_at"].tolist() == [FIVE_JULY_UTC] * 3
        with store.read() as conn:
            counts = conn.exec_driver_sql("SELECT counts FROM batches").scalar_one()
        counts = json.loads(counts) if isinstance(counts, str) else counts
        assert counts["flag_date_from_file"] == 3 and done.batch_id is not None
    finally:
        store.close()


def test_without_a_file_date_the_rows_are_missing_their_date(undated, wards):
    p = preview(undated, IngestOptions(wards=wards))
    assert p.summary()["reasons"] == {"missing_date": 3}
    assert p.rows["message_en"].tolist()[0] == "Row 1: the reported date is missing."


def test_rows_with_their_own_date_keep_it(tmp_path, wards):
    rows = [list(r) for r in ROWS]
    rows[1][DATE] = ""  # one blank date in a dated sheet
    path = tmp_path / "mixed.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    p = preview(path, IngestOptions(wards=wards, file_date=dt.date(2025, 7, 9)))
    by_row = p.rows.set_index("row")
    assert by_row["outcome"].tolist() == ["accepted"] * 3
    assert by_row["reported_at"].tolist() == [
        pd.Timestamp("2025-07-04 17:00", tz="UTC"),  # 05/07/2025 as written
        pd.Timestamp("2025-07-08 17:00", tz="UTC"),  # the file's 9 July
        pd.Timestamp("2025-07-06 17:00", tz="UTC"),  # 07/07/2025 as written
    ]
    assert [("date_from_file" in f) for f in by_row["flags"]] == [False, True, False]
    assert p.date_formats == {"dd/mm/yyyy": 2, "file_date": 1}
    # an unreadable date is not missing: the file's date does not paper over it
    rows[1][DATE] = "hôm qua"
    path.write_text(csv_text(rows), encoding="utf-8")
    p = preview(path, IngestOptions(wards=wards, file_date=dt.date(2025, 7, 9)))
    assert p.summary()["reasons"] == {"bad_date": 1}


def test_a_file_date_in_the_future_or_before_2000_is_refused(undated, wards):
    now = pd.Timestamp("2025-08-01 12:00", tz="UTC")
    for day in (dt.date(2025, 8, 3), dt.date(1999, 12, 31)):
        with pytest.raises(InvalidArgument, match="before 2000 or in the future"):
            preview(undated, IngestOptions(wards=wards, file_date=day, now=now))
    assert preview(undated, IngestOptions(wards=wards, file_date=dt.date(2025, 8, 1), now=now))


def test_the_file_date_is_read_day_first():
    assert parse_file_date("05/07/2025", label="--date") == dt.date(2025, 7, 5)
    assert parse_file_date("5/7/2025", label="--date") == dt.date(2025, 7, 5)
    assert parse_file_date("2025-07-05", label="--date") == dt.date(2025, 7, 5)
    with pytest.raises(InvalidArgument, match="month/day") as err:
        parse_file_date("07/13/2025", label="--date")
    assert err.value.message_vi.startswith("--date '07/13/2025': ngày chỉ đọc được")
    with pytest.raises(InvalidArgument, match="cannot be read"):
        parse_file_date("hôm qua", label="--date")


def _cli(args, db_path):
    url = f"sqlite:///{db_path}"
    user = ensure_account(url, "field")
    return subprocess.run(
        [sys.executable, "-m", "geo", "ingest", *args, "--user", user],
        cwd=REPO, env=dict(os.environ, GEO_DATABASE_URL=url), capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_cli_date(undated, tmp_path):
    db = tmp_path / "cli.sqlite"
    without = _cli([str(undated), "--json", "--dry-run"], db)
    assert without.returncode == 0, without.stderr
    assert json.loads(without.stdout)["reasons"] == {"missing_date": 3}
    assert "the file has no reported-date column; add --date DATE (dd/mm/yyyy)" in without.stderr
    assert "tệp không có cột ngày phát hiện; thêm --date NGÀY" in without.stderr

    done = _cli([str(undated), "--json", "--date", "05/07/2025"], db)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["accepted"] == 3 and summary["flags"]["date_from_file"] == 3
    assert "--date" not in done.stderr

    bad = _cli([str(tmp_path / "not_there.csv"), "--date", "13/13/2025"], db)
    assert bad.returncode == 2
    assert "--date '13/13/2025': the date cannot be read" in bad.stderr  # before the file
