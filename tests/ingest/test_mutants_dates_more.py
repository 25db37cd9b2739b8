"""More of the date rule, for mutation testing (``python -m benchmarks.mutation --module dates``).

Each case is written from a rule, not from the module's tables:

- a time that never happened on Hà Nội's clock is a rejected row, never an exception,
  whichever reader reads it (here the pandas-format reader of non-padded values);
- :class:`geo.ingest._dates.Dates` holds UTC times (``datetime64[ns, UTC]``), NaT where
  there is none, also for a file without date columns;
- ISO 8601 / RFC 3339 §5.6: the zone designator "Z" may be written in lower case;
- a cell with no value at all (None, NaN, NaT, NA) says what an empty cell says: no date was
  written. A missing reported date is ``missing_date`` (the file's date may stand in for it);
  a missing cleared date is no clearance, not an unreadable one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geo.ingest._background import Background
from geo.ingest._dates import FILE_DATE, DateJobs, finish_dates, parse_dates
from geo.ingest._reasons import Verdicts

NOW = pd.Timestamp("2026-01-01", tz="UTC")


@pytest.mark.parametrize(
    "text",
    [
        # Asia/Ho_Chi_Minh moved from UTC+8 to UTC+9 at 23:00 on 14 March 1945 (clocks
        # went to midnight): 23:30 on 14 March never happened. "3" (month) is not
        # fixed-width, so pandas' "%d/%m/%Y %H:%M" reads it, not the byte reader.
        "14/3/1945 23:30",
        "14/3/1945 23:30:00",
        # and at 23:00 on 31 December 1959 from +7 to +8 (two spaces: not fixed-width)
        "31/12/1959  23:30",
    ],
)
def test_a_time_the_clock_skipped_is_rejected_by_the_pandas_format_reader(text):
    out, fmt, error = parse_dates(pd.Series([text], dtype=object), now=NOW)
    assert error.tolist()[0] in ("bad_date", "date_out_of_range")
    assert fmt.tolist() == [""] and out.isna().all()


def test_a_file_without_date_columns_has_utc_nat_dates_and_every_row_is_missing_its_date():
    verdicts = Verdicts(3)
    dates = finish_dates(DateJobs(None, None, None, None), verdicts, pd.RangeIndex(3))
    for times in (dates.reported, dates.cleared):
        assert str(times.dtype) == "datetime64[ns, UTC]"
        assert times.isna().all() and times.index.tolist() == [0, 1, 2]
    assert verdicts.reason.tolist() == ["missing_date"] * 3
    assert dates.from_file.tolist() == [False] * 3


def test_a_file_date_dates_every_row_of_a_file_without_a_date_column():
    day = pd.Timestamp("2025-07-04 17:00", tz="UTC")  # 5 July 2025, Hà Nội midnight
    verdicts = Verdicts(2)
    dates = finish_dates(DateJobs(None, None, None, None, day), verdicts, pd.RangeIndex(2))
    assert str(dates.reported.dtype) == "datetime64[ns, UTC]"
    assert dates.reported.tolist() == [day, day]
    assert dates.fmt.tolist() == [FILE_DATE] * 2 and dates.from_file.tolist() == [True, True]
    assert verdicts.reason.tolist() == ["", ""]
    assert str(dates.cleared.dtype) == "datetime64[ns, UTC]" and dates.cleared.isna().all()


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2025-07-05T10:00:00z", "2025-07-05 10:00"),
        ("2025-07-05 10:00z", "2025-07-05 10:00"),
        ("2025-07-05T10:00:00.5z", "2025-07-05 10:00:00.5"),
    ],
)
def test_a_lower_case_z_is_utc(text, utc):
    """RFC 3339 §5.6 (ISO 8601 profile): "Z" may be written "z"."""
    out, fmt, error = parse_dates(pd.Series([text], dtype=object), now=NOW)
    assert out.tolist() == [pd.Timestamp(utc, tz="UTC")]
    assert fmt.tolist() == ["iso_zoned"] and error.tolist() == [""]


@pytest.mark.parametrize("none", [None, np.nan, pd.NA, pd.NaT])
def test_a_cell_without_a_value_is_a_missing_date_like_an_empty_one(none):
    values = pd.Series([none, "", "05/07/2025"], index=[7, 8, 9], dtype=object)
    out, fmt, error = parse_dates(values, now=NOW)
    assert error.tolist() == ["missing_date", "missing_date", ""]
    assert fmt.tolist() == ["", "", "dd/mm/yyyy"]
    assert out.index.tolist() == [7, 8, 9] and out[[7, 8]].isna().all()
    assert out[9] == pd.Timestamp("2025-07-04 17:00", tz="UTC")


def test_a_cell_without_a_value_takes_the_file_date_and_is_no_unreadable_clearance():
    """Through the stage: the row with None in both date columns is dated by the file and
    kept, as the row with empty cells is."""
    day = pd.Timestamp("2025-07-04 17:00", tz="UTC")
    reported = pd.Series([None, "", "06/07/2025"], dtype=object)
    cleared = pd.Series([None, "", "hôm qua"], dtype=object)
    jobs = DateJobs(
        "ngay", Background(parse_dates, reported, now=NOW),
        "ngay_xu_ly", Background(parse_dates, cleared, now=NOW), day,
    )  # fmt: skip
    verdicts = Verdicts(3)
    dates = finish_dates(jobs, verdicts, pd.RangeIndex(3))
    assert verdicts.reason.tolist() == ["", "", "bad_cleared_date"]
    assert dates.from_file.tolist() == [True, True, False]
    assert dates.reported.tolist()[:2] == [day, day]
    assert dates.cleared.isna().all()
